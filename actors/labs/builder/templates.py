"""The tiny template language of ``lab.namespaceAnnotations`` values.

Upstream renders these values with Jinja and exactly two variables, ``uid`` and ``gid``. In
practice they are OpenShift ranges such as ``"{{uid}}/1"``, so instead of depending on a
template engine this module supports precisely what such values need:

* ``{{ uid }}`` and ``{{ gid }}``, with any amount of whitespace (including none) inside the
  braces, are replaced by the user's UID and primary GID in decimal;
* every other character is copied unchanged.

Anything else that Jinja would interpret — another variable name, filters or expressions
(``{{ uid + 1 }}``, ``{{ uid | string }}``), statements (``{% ... %}``), comments
(``{# ... #}``) or an unbalanced ``{{``/``}}`` — is refused with a ``NamespaceAnnotationError``
naming the annotation, rather than rendered differently from upstream.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .errors import NamespaceAnnotationError

__all__ = ["TEMPLATE_VARIABLES", "check_template", "render_template"]

TEMPLATE_VARIABLES = ("uid", "gid")
"""The only names a template may use."""

_EXPRESSION_RE = re.compile(r"\{\{(?P<body>.*?)\}\}", re.DOTALL)
_VARIABLE_RE = re.compile(r"^\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*$")
_FORBIDDEN_DELIMITERS = {
    "{%": "statements ({% ... %}) are not supported",
    "%}": "statements ({% ... %}) are not supported",
    "{#": "comments ({# ... #}) are not supported",
    "#}": "comments ({# ... #}) are not supported",
    "{{": "unbalanced {{ (missing }})",
    "}}": "unbalanced }} (missing {{)",
}


def render_template(key: str, template: str, variables: Mapping[str, int]) -> str:
    """Render one annotation value; ``key`` only names the annotation in errors."""
    pieces: list[str] = []
    position = 0
    for match in _EXPRESSION_RE.finditer(template):
        pieces.append(_literal(key, template[position : match.start()]))
        pieces.append(str(_lookup(key, match["body"], variables)))
        position = match.end()
    pieces.append(_literal(key, template[position:]))
    return "".join(pieces)


def check_template(key: str, template: str) -> None:
    """Raise ``NamespaceAnnotationError`` if the value is not a supported template.

    Lets the controller refuse a bad configuration at startup instead of at the first spawn.
    """
    render_template(key, template, dict.fromkeys(TEMPLATE_VARIABLES, 0))


def _literal(key: str, text: str) -> str:
    for delimiter, problem in _FORBIDDEN_DELIMITERS.items():
        if delimiter in text:
            raise NamespaceAnnotationError(key, problem)
    return text


def _lookup(key: str, body: str, variables: Mapping[str, int]) -> int:
    match = _VARIABLE_RE.match(body)
    if match is None:
        raise NamespaceAnnotationError(
            key, f"unsupported expression {{{{{body}}}}}: only {{{{ uid }}}} and {{{{ gid }}}}"
        )
    name = match["name"]
    if name not in TEMPLATE_VARIABLES or name not in variables:
        raise NamespaceAnnotationError(
            key, f"unknown variable {name}: only uid and gid are available"
        )
    return variables[name]
