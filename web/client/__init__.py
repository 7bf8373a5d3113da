"""``nublado-trio``'s client commands: talk to a running controller over its HTTP API."""
