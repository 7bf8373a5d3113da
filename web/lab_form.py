"""The spawn form fragment JupyterHub embeds in its spawn page (``api.md`` §5.7).

Only the field names and values are contractual (they feed the create route); the markup is
ours. Everything user- or registry-supplied is escaped. Which sizes are offered, and whether
the user may spawn at all, follows the same quota comparison as the create route.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from actors.common.models import NotebookQuota
from actors.common.requests import DROPDOWN_SENTINEL
from actors.common.resources import container_size_label, size_resources
from actors.config import LabSize, SizeConfig

__all__ = ["MenuImage", "offered_sizes", "render_lab_form", "render_unavailable"]

RESET_DIRECTORIES = (".cache", ".conda", ".config", ".eups", ".jupyter", ".local", ".user_setups")


@dataclass(frozen=True)
class MenuImage:
    """One image choice: the reference to submit and the name to show."""

    reference: str
    display_name: str


def offered_sizes(sizes: Sequence[SizeConfig], quota: NotebookQuota | None) -> list[SizeConfig]:
    """The configured sizes whose limits fit in the user's notebook quota, in config order."""
    if quota is None:
        return list(sizes)
    return [
        size
        for size in sizes
        if size.resources.limits.cpu <= quota.cpu
        and size.resources.limits.memory <= quota.memory_bytes
    ]


def render_unavailable() -> str:
    """The fragment for a user who may not spawn a notebook now."""
    return (
        '<div class="nublado-unavailable">\n'
        "  <h2>Notebooks unavailable</h2>\n"
        "  <p>Creating a new notebook is currently not possible.</p>\n"
        "</div>\n"
    )


def _radio(name: str, value: str, label: str, *, checked: bool, element_id: str) -> str:
    mark = " checked" if checked else ""
    return (
        f'<div class="nublado-choice"><input type="radio" name="{name}" id="{escape(element_id)}"'
        f' value="{escape(value)}"{mark}>'
        f' <label for="{escape(element_id)}">{escape(label)}</label></div>'
    )


def render_lab_form(
    sizes: Sequence[SizeConfig],
    default_size: LabSize | None,
    *,
    menu: Sequence[MenuImage] = (),
    dropdown: Sequence[MenuImage] = (),
) -> str:
    """The form: image radios (menu, then the dropdown sentinel), the image dropdown, sizes,
    and the debug and reset options.

    Without a dropdown list, the dropdown is a text field for a full image reference.
    """
    parts: list[str] = ['<div class="nublado-lab-form">', "<h3>Image</h3>"]
    for index, image in enumerate(menu):
        parts.append(
            _radio(
                "image_list",
                image.reference,
                image.display_name,
                checked=index == 0,
                element_id=f"image_list_{index}",
            )
        )
    parts.append(
        _radio(
            "image_list",
            DROPDOWN_SENTINEL,
            "Select uncached image (slower start):",
            checked=not menu,
            element_id=DROPDOWN_SENTINEL,
        )
    )
    choose_dropdown = f"document.getElementById('{DROPDOWN_SENTINEL}').checked = true"
    if dropdown:
        options = "".join(
            f'<option value="{escape(image.reference)}">{escape(image.display_name)}</option>'
            for image in dropdown
        )
        parts.append(
            f'<select name="image_dropdown" onchange="{choose_dropdown}">{options}</select>'
        )
    else:
        parts.append(
            '<input type="text" name="image_dropdown" size="60"'
            ' placeholder="registry/repository:tag"'
            f' oninput="{choose_dropdown}">'
        )

    parts.append("<h3>Size</h3>")
    offered = [size.size for size in sizes]
    preselected = default_size if default_size in offered else (offered[0] if offered else None)
    for size in sizes:
        label = container_size_label(size.size, size_resources(size))
        parts.append(
            _radio(
                "size",
                size.size.value,
                label,
                checked=size.size == preselected,
                element_id=f"size_{size.size.value}",
            )
        )

    parts.append("<h3>Options</h3>")
    parts.append(
        '<div class="nublado-choice"><input type="checkbox" name="enable_debug" id="enable_debug"'
        ' value="true"> <label for="enable_debug">Enable debug logs</label></div>'
    )
    moved = ", ".join(RESET_DIRECTORIES)
    parts.append(
        '<div class="nublado-choice"><input type="checkbox" name="reset_user_env"'
        ' id="reset_user_env" value="true"> <label for="reset_user_env">Reset user environment:'
        f" relocate {escape(moved)}</label></div>"
    )
    parts.append("</div>")
    return "\n".join(parts) + "\n"
