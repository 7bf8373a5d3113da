"""Label and field selector strings from the forms callers find convenient.

Callers pass either a ready selector string (``"a=b,c!=d"``, sent as is) or a mapping of
equality requirements, which is rendered in insertion order. Values that would change the
meaning of the rendered string (containing ``,``, ``=`` or ``!``) are refused rather than
sent, because the server would parse them as extra requirements.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["Selector", "render_selector"]

Selector = str | Mapping[str, str] | None
_FORBIDDEN = frozenset(",=!")


def render_selector(selector: Selector) -> str | None:
    """Return the query-string form of a selector, or ``None`` for "select everything"."""
    if selector is None:
        return None
    if isinstance(selector, str):
        return selector or None
    parts = []
    for key, value in selector.items():
        if not key or _FORBIDDEN & set(key) or _FORBIDDEN & set(value):
            raise ValueError(f"invalid selector requirement {key!r}={value!r}")
        parts.append(f"{key}={value}")
    return ",".join(parts) or None
