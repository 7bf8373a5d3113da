"""The API document as one self-contained HTML page, rendered on the server.

No scripts and nothing fetched from elsewhere (no CDN): the page works behind an ingress
without internet access and under any content-security policy. It lists every operation by
route group with its parameters, body and answers, and every schema as JSON.
"""

from __future__ import annotations

import html
import json
from typing import Any

__all__ = ["render_page"]

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;
line-height:1.4;color:#1b1f23}
h2{border-bottom:1px solid #ccd;padding-bottom:.2rem;margin-top:2.5rem}
.op{border:1px solid #dde;border-radius:6px;margin:1rem 0;padding:.6rem 1rem}
.method{font-weight:700;font-family:monospace;padding:.1rem .4rem;border-radius:4px;
background:#e8eefc}
code,pre{font-family:ui-monospace,monospace;font-size:.9em}
pre{background:#f6f8fa;padding:.6rem;overflow-x:auto;border-radius:4px}
table{border-collapse:collapse}td,th{border:1px solid #dde;padding:.2rem .5rem;
text-align:left;vertical-align:top}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _schema_name(schema: dict[str, Any] | None) -> str:
    if not schema:
        return ""
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        return f'<a href="#schema-{_e(name)}"><code>{_e(name)}</code></a>'
    return f"<code>{_e(json.dumps(schema, sort_keys=True))}</code>"


def _content(content: dict[str, Any] | None) -> str:
    if not content:
        return ""
    return "<br>".join(
        f"<code>{_e(media)}</code> {_schema_name(value.get('schema'))}"
        for media, value in content.items()
    )


def _operation(path: str, method: str, op: dict[str, Any]) -> str:
    parts = [
        f'<div class="op" id="{_e(op["operationId"])}">',
        f'<p><span class="method">{_e(method.upper())}</span> <code>{_e(path)}</code>'
        f" — {_e(op.get('summary', ''))}</p>",
    ]
    if op.get("description"):
        parts.append(f"<p>{_e(op['description'])}</p>")
    if op.get("security"):
        parts.append("<p>Authentication: bearer token.</p>")
    params = op.get("parameters", [])
    if params:
        rows = "".join(
            f"<tr><td><code>{_e(p['name'])}</code></td><td>{_e(p['in'])}</td>"
            f"<td>{_e(p.get('description', ''))}</td></tr>"
            for p in params
        )
        parts.append(f"<table><tr><th>Parameter</th><th>In</th><th></th></tr>{rows}</table>")
    body = op.get("requestBody")
    if body:
        parts.append(f"<p>Body: {_content(body.get('content'))}</p>")
    rows = "".join(
        f"<tr><td>{_e(status)}</td><td>{_e(answer.get('description', ''))}</td>"
        f"<td>{_content(answer.get('content'))}</td></tr>"
        for status, answer in op.get("responses", {}).items()
    )
    parts.append(f"<table><tr><th>Status</th><th>Meaning</th><th>Body</th></tr>{rows}</table>")
    parts.append("</div>")
    return "".join(parts)


def render_page(document: dict[str, Any], openapi_url: str) -> str:
    """The HTML page of ``document``; ``openapi_url`` is where its JSON is served."""
    info = document.get("info", {})
    groups: dict[str, list[str]] = {}
    for path, methods in document.get("paths", {}).items():
        for method, op in methods.items():
            group = (op.get("tags") or ["other"])[0]
            groups.setdefault(group, []).append(_operation(path, method, op))
    sections = [
        f'<h2 id="group-{_e(group)}">{_e(group)}</h2>{"".join(ops)}'
        for group, ops in groups.items()
    ]
    sockets = "".join(
        f"<li><code>{_e(ws['path'])}</code> ({_e(ws['group'])}): {_e(ws['summary'])}</li>"
        for ws in document.get("x-websockets", [])
    )
    schemas = "".join(
        f'<h3 id="schema-{_e(name)}">{_e(name)}</h3>'
        f"<pre>{_e(json.dumps(schema, indent=2, sort_keys=True))}</pre>"
        for name, schema in document.get("components", {}).get("schemas", {}).items()
    )
    title = f"{info.get('title', 'API')} {info.get('version', '')}".strip()
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)} API</title><style>{_STYLE}</style></head><body>"
        f"<h1>{_e(title)}</h1><p>{_e(info.get('description', ''))}</p>"
        f'<p>Machine-readable: <a href="{_e(openapi_url)}"><code>{_e(openapi_url)}</code></a>'
        " (OpenAPI 3.1).</p>"
        f"{''.join(sections)}"
        f"<h2>WebSockets</h2><ul>{sockets}</ul>"
        f"<h2>Schemas</h2>{schemas}"
        "</body></html>\n"
    )
