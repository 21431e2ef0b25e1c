"""The flowtrack server: the REST API, the MLflow-compatible API and (later) the web UI,
served by ``flowtrack server`` and ``flowtrack ui``."""
