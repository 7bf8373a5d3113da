"""``GET {prefix}/spawner/v1/lab-form/{username}``: the spawn form (user)."""

from __future__ import annotations

from quart import Blueprint, Response

from web.auth import delegated_user
from web.lab_form import offered_sizes, render_lab_form, render_unavailable
from web.state import current_state

__all__ = ["lab_form"]

lab_form = Blueprint("lab_form", __name__)
"""Registered with ``url_prefix=config.path_prefix``."""

HTML = "text/html; charset=utf-8"


@lab_form.get("/spawner/v1/lab-form/<username>")
async def get_lab_form(username: str) -> Response:
    """The form fragment, or the "unavailable" fragment when the user may not spawn."""
    caller = await delegated_user()
    caller.ensure_owns(username)
    lab = current_state().config.lab
    quota = caller.user.notebook_quota
    sizes = offered_sizes(lab.sizes, quota)
    if quota is not None and (not quota.spawn or not sizes):
        return Response(render_unavailable(), status=200, content_type=HTML)
    return Response(render_lab_form(sizes, lab.default_size), status=200, content_type=HTML)
