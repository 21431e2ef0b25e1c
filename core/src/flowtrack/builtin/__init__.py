"""Built-in behaviour, registered as default plugins (see flowtrack.plugins.DEFAULT_PLUGINS)."""
