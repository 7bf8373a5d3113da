"""A simulated Kubernetes site that speaks the real REST protocol over HTTP.

It stands alone: it imports nothing from ``actors`` or ``web``, so what the controller learns
about Kubernetes it learns over the wire, exactly as it would from a real API server.
"""
