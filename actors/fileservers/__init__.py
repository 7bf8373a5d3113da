"""Per-user WebDAV file servers (``api.md`` §8, ``kubernetes-objects.md`` §3).

* ``builder/`` — pure builders of a file server's objects (no I/O).
* ``cluster.py`` — the Kubernetes calls: create with replace, wait for the ingress address,
  delete in the specified order, observe one user's objects.
* ``fileserver.py`` — ``FileserverActor`` (``fileserver/<user>``): state, operations, pod watch.
* ``manager.py`` — ``fileserver-manager``: the directory of running servers and reconciliation.
* ``service.py`` — ``FileserverService``, the facade routes use; owns the ``fileservers`` subtree.
"""
