"""The admin dashboard: a live page at ``{prefix}/admin/`` and its routes (see ``routes``)."""

from __future__ import annotations

from quart_trio import QuartTrio

from web.dashboard.access import install_access

__all__ = ["install_dashboard"]


def install_dashboard(app: QuartTrio, prefix: str, *, labs: bool) -> None:
    """Give ``app`` the dashboard's routes (``labs``: with the lab routes) and its (empty)
    session store."""
    from web.dashboard.routes import dashboard, dashboard_labs

    install_access(app.extensions)
    app.register_blueprint(dashboard, url_prefix=prefix)
    if labs:
        app.register_blueprint(dashboard_labs, url_prefix=prefix)
