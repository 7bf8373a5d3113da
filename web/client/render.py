"""How the client commands show things: ``rich`` tables, trees and ages."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from rich.table import Table
from rich.text import Text
from rich.tree import Tree

__all__ = ["actor_tree", "age", "images_table", "labs_table", "prepulls_tables", "short_image"]

MAX_CHILDREN = 20
"""Children of one actor listed at most; the others are counted (3,000 labs are one line)."""

WIDE_TERMINAL = 110
"""Columns from which ``labs`` also shows each lab's last event."""

STATUS_STYLE = {
    "running": "green",
    "pending": "blue",
    "terminating": "yellow",
    "failed": "red",
    "restarting": "red",
    "starting": "blue",
    "stopping": "yellow",
    "stopped": "dim",
}


def age(since: float, now: float | None = None) -> str:
    seconds = max(0.0, (time.time() if now is None else now) - since)
    if seconds < 60:
        return f"{int(seconds)}s"
    minutes = seconds / 60
    if minutes < 60:
        return f"{int(minutes)}m"
    hours = minutes / 60
    return f"{int(hours)}h" if hours < 48 else f"{int(hours / 24)}d"


def short_image(reference: str) -> str:
    """``name:tag`` of ``registry/repository/name:tag@digest``."""
    return reference.split("@", 1)[0].rsplit("/", 1)[-1]


def _status(status: str) -> Text:
    return Text(status, style=STATUS_STYLE.get(status, ""))


def labs_table(rows: list[dict[str, Any]], *, width: int = 80) -> Table:
    """The labs; the last event's message only on a terminal wide enough for it."""
    table = Table(title=f"{len(rows)} labs", title_justify="left")
    longest_user = max((len(row["user"]) for row in rows), default=4)
    table.add_column("User", no_wrap=True, min_width=min(max(longest_user, 4), 32))
    table.add_column("Status", no_wrap=True, min_width=7)
    table.add_column("Size", no_wrap=True, min_width=5)
    table.add_column("Image", no_wrap=True, overflow="ellipsis", min_width=10)
    table.add_column("Age", no_wrap=True, min_width=4)
    table.add_column("Progress", no_wrap=True, min_width=8)
    with_message = width >= WIDE_TERMINAL
    if with_message:
        table.add_column("Last event", no_wrap=True, overflow="ellipsis", ratio=1)
    for row in rows:
        progress = row.get("progress")
        outcome = row.get("outcome")
        shown = "" if progress is None else f"{progress}%"
        if outcome:
            shown = f"{shown} {outcome}".strip()
        cells: list[Any] = [
            row["user"],
            _status(row["status"]),
            row["size"],
            short_image(row["image"]),
            age(row["since"]),
            shown,
        ]
        if with_message:
            cells.append(row.get("message") or "")
        table.add_row(*cells)
    return table


def _needs_attention(node: dict[str, Any]) -> bool:
    return bool(
        node["status"] not in ("running", "stopped")
        or node["restarts"]
        or node["last_error"]
        or node["mailbox_depth"] * 2 >= max(node["mailbox_capacity"], 1)
    )


def _label(node: dict[str, Any]) -> Text:
    text = Text(node["name"], style="bold")
    text.append(" ")
    text.append(node["status"], style=STATUS_STYLE.get(node["status"], ""))
    text.append(f" {node['phase']} · mailbox {node['mailbox_depth']}/{node['mailbox_capacity']}")
    if node["restarts"]:
        text.append(f" · restarts {node['restarts']}", style="yellow")
    if node["last_error"]:
        text.append(f"\n{node['last_error']}", style="red")
    return text


def _grow(branch: Tree, node: dict[str, Any]) -> None:
    children = node.get("children") or []
    shown = children
    if len(children) > MAX_CHILDREN:
        shown = [child for child in children if _needs_attention(child)][:MAX_CHILDREN]
    for child in shown:
        _grow(branch.add(_label(child)), child)
    hidden = [child for child in children if child not in shown]
    if hidden:
        counts = Counter(child["status"] for child in hidden)
        summary = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
        branch.add(Text(f"… {len(hidden)} more ({summary})", style="dim italic"))


def actor_tree(root: dict[str, Any]) -> Tree:
    tree = Tree(_label(root))
    _grow(tree, root)
    return tree


def images_table(images: dict[str, Any]) -> Table:
    table = Table(title="Images available for spawning", title_justify="left")
    for column in ("Name", "Tag", "Aliases", "Prepulled", "Digest"):
        table.add_column(column)
    named = {
        key: images[key]["tag"]
        for key in ("recommended", "latest_weekly", "latest_daily", "latest_release")
        if images.get(key)
    }
    for image in images.get("all", []):
        roles = [key for key, tag in named.items() if tag == image["tag"]]
        table.add_row(
            image["name"] + (f" ({', '.join(roles)})" if roles else ""),
            image["tag"],
            ", ".join(image.get("aliases") or []),
            Text("yes", style="green") if image.get("prepulled") else Text("no", style="yellow"),
            (image.get("digest") or "")[:19],
        )
    return table


def prepulls_tables(status: dict[str, Any]) -> tuple[Table, Table]:
    images = Table(title="Prepull set", title_justify="left")
    for column in ("Image", "Tag", "State", "On nodes", "Missing on"):
        images.add_column(column)
    for state, key in (("prepulled", "prepulled"), ("pending", "pending")):
        for image in status["images"][key]:
            images.add_row(
                image["name"],
                image["tag"],
                Text(state, style="green" if state == "prepulled" else "yellow"),
                ", ".join(image["nodes"]),
                ", ".join(image["missing"]),
            )
    nodes = Table(title="Nodes", title_justify="left")
    for column in ("Node", "Eligible", "Cached images", "Comment"):
        nodes.add_column(column)
    for node in status["nodes"]:
        nodes.add_row(
            node["name"],
            Text("yes", style="green") if node["eligible"] else Text("no", style="red"),
            str(len(node["cached"])),
            node.get("comment") or "",
        )
    return images, nodes
