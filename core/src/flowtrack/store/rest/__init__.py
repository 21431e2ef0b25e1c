"""The REST store: talks to a flowtrack server (``flowtrack server``) over its REST API.

``FLOWTRACK_TRACKING_URI=http://server:5000`` selects it. See docs/server.md.
"""
