"""The HTTP face of the controller: quart-trio routes that translate requests into actor messages."""
