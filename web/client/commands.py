"""The client subcommands of ``nublado-trio``: ``labs``, ``spawn``, ``delete``, ``actors``,
``images`` and ``prepulls``, each one ``add_<name>_command`` function (see ``web.cli``).

Exit codes: 0 when the command did what it says (``spawn --follow``: the lab started), 1
when the controller refused, failed or could not be reached (``spawn --follow``: the spawn
failed), 2 for a usage error (such as no token for a remote controller).

The controller itself never uses ``rich``; these commands import it when they run.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from typing import Any, TypeAlias

import httpx

from web.client.connection import (
    ClientError,
    Connection,
    UsageError,
    checked,
    describe,
    resolve_connection,
    send,
)

__all__ = ["CLIENT_COMMANDS"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Handler = Callable[[argparse.Namespace], int]

FOLLOW_READ_TIMEOUT = 60.0
"""Seconds without a byte before ``spawn --follow`` gives up (the server pings every 15)."""


def _connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        default=None,
        help="the controller's API root, path prefix included "
        "(default: $NUBLADO_URL, else http://127.0.0.1:8080/nublado)",
    )
    parser.add_argument(
        "--token",
        default=None,
        help="bearer token (default: $NUBLADO_TOKEN; for a loopback URL without one, the "
        "simulated site's public demo token)",
    )


def _client_command(handler: Callable[[argparse.Namespace], int]) -> Handler:
    """Run ``handler`` turning the client's errors into a message and an exit code."""

    def run(args: argparse.Namespace, _factory: object = None) -> int:
        try:
            return handler(args)
        except UsageError as error:
            print(f"nublado-trio: {error}", file=sys.stderr)
            return EXIT_USAGE
        except ClientError as error:
            print(f"nublado-trio: {error}", file=sys.stderr)
            return EXIT_FAILURE

    return run


def _console() -> Any:
    from rich.console import Console

    return Console()


def _admin(args: argparse.Namespace) -> Connection:
    return resolve_connection(args.url, args.token, demo_identity="admin")


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2))


# -- labs -----------------------------------------------------------------------------------------


def _labs(args: argparse.Namespace) -> int:
    rows = _admin(args).get_json("/admin/labs")
    if args.json:
        _print_json(rows)
        return EXIT_OK
    from web.client.render import labs_table

    console = _console()
    console.print(labs_table(sorted(rows, key=lambda row: row["user"]), width=console.width))
    return EXIT_OK


def add_labs_command(subparsers: Subparsers) -> None:
    """``labs``: every lab with its status, size, image, age and progress."""
    parser = subparsers.add_parser(
        "labs",
        allow_abbrev=False,
        help="list labs (admin)",
        description="List every lab the controller knows.",
    )
    _connection_options(parser)
    parser.add_argument("--json", action="store_true", help="print the JSON rows instead")
    parser.set_defaults(run=_client_command(_labs))


# -- spawn ----------------------------------------------------------------------------------------


def _spawn_body(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {"size": args.size}
    if args.image is not None:
        options["image_list"] = args.image
    elif args.tag is not None:
        options["image_tag"] = args.tag
    else:
        options["image_class"] = args.image_class
    return {"options": options, "env": {"JUPYTERHUB_SERVICE_PREFIX": f"/nb/user/{args.user}/"}}


def _sse_events(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event, data) pairs of a ``text/event-stream`` body; comments (pings) are skipped."""
    event, data = "message", ""
    for line in lines:
        if not line:
            if data:
                yield event, json.loads(data)
            event, data = "message", ""
        elif line.startswith(":"):
            continue
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()


def _follow(connection: Connection, user: str) -> int:
    """Show the spawn's progress until it ends; the exit code is its outcome."""
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

    timeout = httpx.Timeout(30.0, read=FOLLOW_READ_TIMEOUT)
    outcome = None
    with (
        connection.client(timeout=timeout) as client,
        Progress(
            TextColumn(f"[bold]{user}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.description}"),
            console=_console(),
        ) as progress,
    ):
        task = progress.add_task("waiting for events", total=100)
        try:
            with client.stream("GET", f"/spawner/v1/labs/{user}/events") as response:
                if not response.is_success:
                    response.read()
                    raise ClientError(f"following the events: {describe(response)}")
                for event, data in _sse_events(response.iter_lines()):
                    message = str(data.get("message", ""))
                    if event == "complete":
                        progress.update(task, completed=100, description=message)
                    elif "progress" in data:
                        progress.update(task, completed=data["progress"], description=message)
                    else:
                        progress.update(task, description=message)
                        if event == "error":
                            progress.console.print(f"[red]error:[/red] {message}")
                    if event in ("complete", "failed"):
                        outcome = event
        except httpx.HTTPError as error:
            raise ClientError(f"lost the event stream: {error}") from None
    if outcome == "complete":
        print(f"Lab of {user} started.")
        return EXIT_OK
    if outcome == "failed":
        print(f"nublado-trio: the spawn of {user} failed", file=sys.stderr)
        return EXIT_FAILURE
    print(f"nublado-trio: the event stream of {user} ended without an outcome", file=sys.stderr)
    return EXIT_FAILURE


def _spawn(args: argparse.Namespace) -> int:
    connection = resolve_connection(args.url, args.token, demo_identity=args.user)
    with connection.client() as client:
        response = send(
            client, "POST", f"/spawner/v1/labs/{args.user}/create", json=_spawn_body(args)
        )
        checked(response)
    if not args.follow:
        print(f"Spawn of {args.user} started.")
        return EXIT_OK
    return _follow(connection, args.user)


def add_spawn_command(subparsers: Subparsers) -> None:
    """``spawn USER``: start a lab as that user (the token must be the user's own)."""
    parser = subparsers.add_parser(
        "spawn",
        allow_abbrev=False,
        help="spawn a user's lab (with the user's token)",
        description="Start USER's lab. The token must be USER's own (exec:notebook): the "
        "controller gives it to the lab. With --follow, show the progress until the spawn "
        "ends; the exit code is then 0 if the lab started, 1 if it failed.",
    )
    parser.add_argument("user", metavar="USER")
    _connection_options(parser)
    parser.add_argument("--follow", action="store_true", help="follow the spawn's progress")
    parser.add_argument("--size", default="small", help="lab size (default: small)")
    image = parser.add_mutually_exclusive_group()
    image.add_argument(
        "--image-class",
        default="recommended",
        choices=["recommended", "latest-release", "latest-weekly", "latest-daily"],
        help="which image to run (default: recommended)",
    )
    image.add_argument("--image", default=None, help="an image reference to run")
    image.add_argument("--tag", default=None, help="an image tag to run")
    parser.set_defaults(run=_client_command(_spawn))


# -- delete ---------------------------------------------------------------------------------------


def _delete(args: argparse.Namespace) -> int:
    connection = _admin(args)
    with connection.client() as client:
        # Behind an ingress the dashboard's actions need its CSRF token; bearer callers in
        # direct mode get an empty one, which is then not checked.
        session = checked(send(client, "GET", "/admin/session")).json()
        headers = {"X-CSRF-Token": session.get("csrf") or ""}
        timeout = httpx.Timeout(30.0, read=None)
        response = send(
            client, "DELETE", f"/admin/labs/{args.user}", headers=headers, timeout=timeout
        )
        checked(response)
    print(f"Lab of {args.user} deleted.")
    return EXIT_OK


def add_delete_command(subparsers: Subparsers) -> None:
    """``delete USER``: delete a lab as an administrator, waiting until it is gone."""
    parser = subparsers.add_parser(
        "delete",
        allow_abbrev=False,
        help="delete a user's lab (admin)",
        description="Delete USER's lab and wait until its namespace is gone.",
    )
    parser.add_argument("user", metavar="USER")
    _connection_options(parser)
    parser.set_defaults(run=_client_command(_delete))


# -- actors ---------------------------------------------------------------------------------------


def _actors(args: argparse.Namespace) -> int:
    connection = _admin(args)
    if args.watch:
        from web.client.watch import watch_actors

        return watch_actors(connection)
    tree = connection.get_json("/admin/actors")
    if args.json:
        _print_json(tree)
        return EXIT_OK
    from web.client.render import actor_tree

    _console().print(actor_tree(tree))
    return EXIT_OK


def add_actors_command(subparsers: Subparsers) -> None:
    """``actors``: the actor tree, once or (``--watch``) live."""
    parser = subparsers.add_parser(
        "actors",
        allow_abbrev=False,
        help="show the actor tree (admin)",
        description="Show the actor tree: status, phase, mailbox, restarts and last error of "
        "each actor (large sets of children are reduced to the ones needing attention).",
    )
    _connection_options(parser)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--watch", action="store_true", help="follow the tree live (Ctrl-C ends)")
    mode.add_argument("--json", action="store_true", help="print the JSON tree instead")
    parser.set_defaults(run=_client_command(_actors))


# -- images and prepulls --------------------------------------------------------------------------


def _images(args: argparse.Namespace) -> int:
    images = _admin(args).get_json("/spawner/v1/images")
    if args.json:
        _print_json(images)
        return EXIT_OK
    from web.client.render import images_table

    _console().print(images_table(images))
    return EXIT_OK


def add_images_command(subparsers: Subparsers) -> None:
    """``images``: the images offered for spawning."""
    parser = subparsers.add_parser(
        "images",
        allow_abbrev=False,
        help="list images (admin)",
        description="List the images offered for spawning.",
    )
    _connection_options(parser)
    parser.add_argument("--json", action="store_true", help="print the JSON instead")
    parser.set_defaults(run=_client_command(_images))


def _prepulls(args: argparse.Namespace) -> int:
    status = _admin(args).get_json("/spawner/v1/prepulls")
    if args.json:
        _print_json(status)
        return EXIT_OK
    from web.client.render import prepulls_tables

    console = _console()
    for table in prepulls_tables(status):
        console.print(table)
    return EXIT_OK


def add_prepulls_command(subparsers: Subparsers) -> None:
    """``prepulls``: which images are on which nodes."""
    parser = subparsers.add_parser(
        "prepulls",
        allow_abbrev=False,
        help="show prepull status (admin)",
        description="Show the prepull set, which nodes have each image, and the nodes.",
    )
    _connection_options(parser)
    parser.add_argument("--json", action="store_true", help="print the JSON instead")
    parser.set_defaults(run=_client_command(_prepulls))


CLIENT_COMMANDS: tuple[Callable[[Subparsers], None], ...] = (
    add_labs_command,
    add_spawn_command,
    add_delete_command,
    add_actors_command,
    add_images_command,
    add_prepulls_command,
)
