"""flowtrack plugin of the Spark adapter.

It registers nothing yet: the JVM listener and its configuration come with the Spark adapter
issue. The entry point exists so installing the distribution already wires it in.
"""
