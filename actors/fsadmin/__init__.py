"""The fsadmin pod (``api.md`` §9, ``kubernetes-objects.md`` §4).

* ``builder.py`` — pure builder of the pod and its claims; shared pieces for the migrator.
* ``actor.py`` — the ``fsadmin`` singleton actor: create, status, delete, one at a time.
* ``service.py`` — ``FSAdminService``, the facade routes use.
"""
