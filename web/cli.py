"""The ``nublado-trio`` command line.

Each subcommand is one ``add_<name>_command(subparsers)`` function that declares its
arguments and sets ``run`` (a function of the parsed arguments returning the exit code);
adding a subcommand is one such function plus one entry in ``COMMANDS``.

The simulator (``kubesim``, and ``web.simulate`` which builds on it) is imported only by the
two commands that run it, ``serve --simulate`` and ``simulate``: a production ``serve`` does
not load test infrastructure (the fake Gafaelfawr and its demo tokens, fault injection)
into the controller's process.

Exit codes: 0 after a clean shutdown (SIGTERM/SIGINT), 1 when the controller fails while
running or cannot listen on its port (one line on stderr), 2 for a usage or configuration error
(one paragraph on stderr naming the bad key and why, never a traceback) and when another
installed distribution provides one of this one's top-level packages (:mod:`web.distribution`).

``check-config`` validates a configuration file without a cluster (0 valid, 2 not). The client
commands (``labs``, ``spawn``, ``delete``, ``actors``, ``images``, ``prepulls``) talk to a
running controller; they live in ``web.client``. Options are never abbreviated: argparse's
prefix matching would turn a typo such as ``serve --simulat`` into a real option.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from functools import partial
from typing import TYPE_CHECKING

import structlog
import trio

from actors.config import ConfigError, ControllerConfig, load_config
from actors.controller import Controller, ControllerSetupError, open_controller
from actors.labs.builder import LabBuildError
from web.app import controller_app
from web.client.commands import CLIENT_COMMANDS
from web.client.connection import DEFAULT_URL
from web.distribution import conflict_message, foreign_providers
from web.http_server import CannotListen, open_listeners
from web.logging import configure_logging
from web.server import (
    LISTEN_BACKLOG,
    ActorSystemFailed,
    RunningServer,
    freeze_import_time_objects,
    serve,
)

if TYPE_CHECKING:
    from web.simulate import SimulatedSite

__all__ = ["COMMANDS", "EXIT_CONFIG", "EXIT_FAILURE", "EXIT_OK", "build_parser", "main"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CONFIG = 2

CONFIG_PATH_ENV = "NUBLADO_CONFIG_PATH"
DEFAULT_CONFIG_PATH = "/etc/nublado/config.yaml"
DEFAULT_HOST = "0.0.0.0"
SIMULATE_HOST = "127.0.0.1"  # the simulated site's demo tokens are public
DEFAULT_PORT = 8080

ControllerFactory = Callable[[ControllerConfig], AbstractAsyncContextManager[Controller]]
"""Opens the controller for a configuration (production: ``actors.controller.open_controller``)."""

Runner = Callable[[argparse.Namespace, ControllerFactory], int]

_log = structlog.stdlib.get_logger(__name__)


def _print_error(message: str) -> None:
    print(f"nublado-trio: {message}", file=sys.stderr)


async def _load_config(path: str) -> ControllerConfig | None:
    """The configuration at ``path``, or ``None`` after telling the operator what is wrong."""
    try:
        return await trio.to_thread.run_sync(load_config, path)
    except ConfigError as error:
        _print_error(str(error))
    except OSError as error:
        _print_error(f"cannot read configuration file {path}: {error.strerror or error}")
    return None


async def _serve_controller(
    config: ControllerConfig,
    controller: Controller,
    *,
    listeners: list[trio.SocketListener],
    on_serving: Callable[[RunningServer], None] | None = None,
) -> int:
    """Serve ``controller`` on ``listeners`` until SIGTERM/SIGINT; the exit code says how.

    ``on_serving`` runs once the port is open (the simulated mode prints its URLs then).
    """
    app = controller_app(config, controller)
    exit_code = EXIT_OK
    try:
        async with trio.open_nursery() as nursery:
            server: RunningServer = await nursery.start(
                partial(
                    serve,
                    config,
                    listeners=listeners,
                    system=controller.system,
                    app=app,
                    ready=controller.wait_ready,
                    replicas=controller.replicas,
                )
            )
            if on_serving is not None:
                on_serving(server)
    except* ActorSystemFailed as group:
        failure = _first_leaf(group)
        _log.critical(
            "Actor system failed, exiting",
            reason=str(failure.__cause__ or failure),
            exc_info=failure,
        )
        exit_code = EXIT_FAILURE
    except* Exception as group:
        reason = str(_first_leaf(group))
        _log.critical("Controller failed, exiting", reason=reason, exc_info=group)
        exit_code = EXIT_FAILURE
    return exit_code


def _first_leaf(error: BaseException) -> BaseException:
    """The first real error inside (possibly nested) exception groups."""
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error


async def _serve_main(args: argparse.Namespace, controller_factory: ControllerFactory) -> int:
    if args.simulate:
        return await _serve_simulated(args)
    config = await _load_config(args.config)
    if config is None:
        return EXIT_CONFIG
    configure_logging(level=config.log_level, profile=config.log_profile)
    host = args.host if args.host is not None else DEFAULT_HOST
    listeners = await _bind(host, args.port)
    if listeners is None:
        return EXIT_FAILURE
    exit_code = EXIT_CONFIG
    try:
        async with controller_factory(config) as controller:
            exit_code = await _serve_controller(config, controller, listeners=listeners)
    except* (ControllerSetupError, LabBuildError) as group:
        _print_error(str(_first_leaf(group)))
    return exit_code


async def _bind(host: str, port: int) -> list[trio.SocketListener] | None:
    """Bind the HTTP port before anything slow starts, or say in one line why it cannot be."""
    try:
        return await open_listeners(host, port, LISTEN_BACKLOG)
    except CannotListen as error:
        _print_error(str(error))
        return None


async def _serve_simulated(args: argparse.Namespace) -> int:
    # The simulator is imported here, not at the top: a production ``serve`` never loads it.
    from web.simulate import simulated_site

    host = args.host if args.host is not None else SIMULATE_HOST
    listeners = await _bind(host, args.port)
    if listeners is None:
        return EXIT_FAILURE
    async with simulated_site() as simulation:
        config = simulation.config
        configure_logging(level=config.log_level, profile=config.log_profile)

        def announce(server: RunningServer) -> None:
            print(_simulation_banner(args, server, simulation), flush=True)

        return await _serve_controller(
            config, simulation.controller, listeners=listeners, on_serving=announce
        )


def _simulation_banner(
    args: argparse.Namespace, server: RunningServer, simulation: SimulatedSite
) -> str:
    base = server.base_url
    prefix = simulation.config.path_prefix
    loopback = (
        "Listening on loopback only: the demo tokens are public (pass --host to change this)."
        if args.host is None
        else f"Listening on {args.host} as asked: anyone who can reach it can use the demo tokens."
    )
    url_option = "" if f"{base}{prefix}" == DEFAULT_URL else f" --url {base}{prefix}"
    return "\n".join(
        [
            "",
            "nublado-trio is running on a simulated cluster.",
            f"  Dashboard:        {base}{prefix}/admin/  (sign in with admin-demo-token)",
            f"  Controller API:   {base}{prefix}",
            f"  Command line:     nublado-trio labs{url_option}  (also spawn alice --follow,",
            "                    delete, actors --watch, images, prepulls)",
            f"  Simulated site:   {simulation.site.url}  (Kubernetes API, Gafaelfawr, registry)",
            f"  Alerts posted:    {simulation.site.url}/slack/posts  (fake Slack webhook)",
            f"  Discovery:        {simulation.site.url}/repertoire/discovery  (fake Repertoire)",
            "  Demo tokens:      alice-demo-token, bob-demo-token (users),",
            "                    hub-demo-token (JupyterHub), admin-demo-token (admin)",
            f"  {loopback}",
            "",
        ]
    )


def _run_serve(args: argparse.Namespace, controller_factory: ControllerFactory) -> int:
    freeze_import_time_objects()
    return trio.run(_serve_main, args, controller_factory)


def add_serve_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``serve``: run the controller (HTTP API and actors) until SIGTERM/SIGINT."""
    parser = subparsers.add_parser(
        "serve",
        help="run the lab controller",
        description="Run the lab controller: the actor system and the HTTP API.",
        allow_abbrev=False,
    )
    parser.add_argument(
        "--config",
        default=os.environ.get(CONFIG_PATH_ENV, DEFAULT_CONFIG_PATH),
        metavar="PATH",
        help=f"configuration file (default: ${CONFIG_PATH_ENV}, else {DEFAULT_CONFIG_PATH})",
    )
    parser.add_argument(
        "--simulate",
        action="store_true",
        help="run on an in-process simulated cluster with demo users (ignores --config)",
    )
    parser.add_argument(
        "--host",
        default=None,
        help=f"address to listen on (default: {DEFAULT_HOST}; {SIMULATE_HOST} with --simulate)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port to listen on (default: {DEFAULT_PORT})",
    )
    parser.set_defaults(run=_run_serve)


def _run_simulate(args: argparse.Namespace, _factory: ControllerFactory) -> int:
    from kubesim.cli import main as kubesim_main  # imported here: see _serve_simulated

    return kubesim_main(args.kubesim_args)


def add_simulate_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``simulate``: run only the simulated site (kubesim), for a controller run elsewhere."""
    parser = subparsers.add_parser(
        "simulate",
        help="run the simulated Kubernetes site alone",
        description=(
            "Run kubesim: simulate --port N [--host H] [--config FILE] [--seed S]"
            " [--registry-tls-port N] [--kubeconfig FILE]."
        ),
        add_help=False,
    )
    # Its options are kubesim's own; ``main`` hands them over unparsed.
    parser.set_defaults(run=_run_simulate, passes_through=True)


def _run_check_config(args: argparse.Namespace, _factory: ControllerFactory) -> int:
    try:
        config = load_config(args.file)
    except ConfigError as error:
        _print_error(str(error))
        return EXIT_CONFIG
    except OSError as error:
        _print_error(f"cannot read configuration file {args.file}: {error.strerror or error}")
        return EXIT_CONFIG
    print(f"{args.file}: valid configuration for {config.name} ({config.auth.mode.value} auth)")
    return EXIT_OK


def add_check_config_command(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """``check-config FILE``: validate a configuration as ``serve`` would, without a cluster."""
    parser = subparsers.add_parser(
        "check-config",
        help="validate a configuration file",
        description="Validate FILE as serve would (environment overrides included) without "
        "contacting any cluster. Exit code 0 if it is valid, 2 with the reasons if not.",
        allow_abbrev=False,
    )
    parser.add_argument("file", metavar="FILE")
    parser.set_defaults(run=_run_check_config)


COMMANDS: tuple[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None], ...] = (
    add_serve_command,
    add_simulate_command,
    add_check_config_command,
    *CLIENT_COMMANDS,
)
"""Every subcommand, in the order ``--help`` lists them."""


def _version() -> str:
    from importlib import metadata

    from web.metadata import DISTRIBUTION

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand of ``COMMANDS``."""
    parser = argparse.ArgumentParser(
        prog="nublado-trio",
        description="Lab controller for Jupyter science platforms.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add_command in COMMANDS:
        add_command(subparsers)
    return parser


def main(
    argv: Sequence[str] | None = None, *, controller_factory: ControllerFactory = open_controller
) -> int:
    """Entry point of the ``nublado-trio`` console script; returns the exit code.

    ``controller_factory`` lets tests run the real CLI with a small actor tree of their own.
    Nothing runs when another distribution installs one of this one's top-level packages
    (:mod:`web.distribution`).
    """
    conflicts = foreign_providers()
    if conflicts:
        print(conflict_message(conflicts), file=sys.stderr)
        return EXIT_CONFIG
    parser = build_parser()
    args, unparsed = parser.parse_known_args(argv)
    if getattr(args, "passes_through", False):
        args.kubesim_args = unparsed
    elif unparsed:
        parser.error(f"unrecognized arguments: {' '.join(unparsed)}")
    runner: Runner = args.run
    try:
        return runner(args, controller_factory)
    except KeyboardInterrupt:
        # Only before serving starts (it handles SIGINT itself): nothing to clean up.
        return 130


if __name__ == "__main__":
    sys.exit(main())
