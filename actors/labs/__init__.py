"""User labs: their models, the pure builder of their Kubernetes objects, and their actors."""
