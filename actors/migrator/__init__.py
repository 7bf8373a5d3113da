"""The home-directory migrator (``api.md`` §12, ``kubernetes-objects.md`` §6).

* ``builder.py`` — pure builder of a migration pod and its claims; pair names and validation.
* ``migration.py`` — ``MigrationActor`` (``migration/<old>-to-<new>``): one pair's pod, watch
  and final status.
* ``manager.py`` — ``migration-manager``: which pairs run (the reverse-pair rule), startup
  adoption of migration pods.
* ``service.py`` — ``MigratorService``, the facade routes use; owns the ``migrations`` subtree.
"""
