"""The HTTP face of the controller: quart-trio routes that turn requests into actor messages."""
