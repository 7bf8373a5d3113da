"""``GET {prefix}/spawner/v1/lab-form/{username}``: the spawn form (user)."""

from __future__ import annotations

from quart import Blueprint, Response

from web.auth import delegated_user
from web.lab_form import MenuImage, offered_sizes, render_lab_form, render_unavailable
from web.state import current_state
from web.usernames import path_username

__all__ = ["lab_form"]

lab_form = Blueprint("lab_form", __name__)
"""Registered with ``url_prefix=config.path_prefix``."""

HTML = "text/html; charset=utf-8"


@lab_form.get("/spawner/v1/lab-form/<username>")
async def get_lab_form(username: str) -> Response:
    """The form fragment, or the "unavailable" fragment when the user may not spawn."""
    caller = await delegated_user()
    path_username(username)
    caller.ensure_owns(username)
    state = current_state()
    lab = state.config.lab
    quota = caller.user.notebook_quota
    sizes = offered_sizes(lab.sizes, quota)
    if quota is not None and (not quota.spawn or not sizes):
        return Response(render_unavailable(), status=200, content_type=HTML)
    menu: list[MenuImage] = []
    dropdown: list[MenuImage] = []
    if state.images is not None:
        choices = await state.images.form_choices()
        menu = [MenuImage(e.reference, e.display_name) for e in choices.menu]
        dropdown = [MenuImage(e.reference, e.display_name) for e in choices.dropdown]
    form = render_lab_form(sizes, lab.default_size, menu=menu, dropdown=dropdown)
    return Response(form, status=200, content_type=HTML)
