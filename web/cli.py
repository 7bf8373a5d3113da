"""The ``nublado-trio`` command line.

Each subcommand is one ``add_<name>_command(subparsers)`` function that declares its
arguments and sets ``run`` (a function of the parsed arguments returning the exit code);
adding a subcommand is one such function plus one entry in ``COMMANDS``.

Exit codes: 0 after a clean shutdown (SIGTERM/SIGINT), 1 when the controller fails while
running (its actor system fails, it cannot listen), 2 for a usage or configuration error
(one paragraph on stderr naming the bad key and why, never a traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

import structlog
import trio

from actors.config import ConfigError, ControllerConfig, load_config
from actors.runtime import ActorSystem
from actors.tree import build_system
from web.logging import configure_logging
from web.server import ActorSystemFailed, serve

__all__ = ["COMMANDS", "EXIT_CONFIG", "EXIT_FAILURE", "EXIT_OK", "build_parser", "main"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CONFIG = 2

CONFIG_PATH_ENV = "NUBLADO_CONFIG_PATH"
DEFAULT_CONFIG_PATH = "/etc/nublado/config.yaml"
DEFAULT_HOST = "0.0.0.0"  # the controller serves the cluster network
DEFAULT_PORT = 8080

SystemFactory = Callable[[ControllerConfig], ActorSystem]
"""Builds the actor system for a configuration (production: ``actors.tree.build_system``)."""

Runner = Callable[[argparse.Namespace, SystemFactory], int]

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


async def _serve_main(args: argparse.Namespace, system_factory: SystemFactory) -> int:
    config = await _load_config(args.config)
    if config is None:
        return EXIT_CONFIG
    configure_logging(level=config.log_level, profile=config.log_profile)
    exit_code = EXIT_OK
    try:
        await serve(config, host=args.host, port=args.port, system=system_factory(config))
    except* ActorSystemFailed as group:
        failure = group.exceptions[0]
        _log.critical(
            "Actor system failed, exiting",
            reason=str(failure.__cause__ or failure),
            exc_info=failure,
        )
        exit_code = EXIT_FAILURE
    except* Exception as group:
        _log.critical("Controller failed, exiting", reason=str(group.exceptions[0]), exc_info=group)
        exit_code = EXIT_FAILURE
    return exit_code


def _run_serve(args: argparse.Namespace, system_factory: SystemFactory) -> int:
    return trio.run(_serve_main, args, system_factory)


def add_serve_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``serve``: run the controller (HTTP API and actors) until SIGTERM/SIGINT."""
    parser = subparsers.add_parser(
        "serve",
        help="run the lab controller",
        description="Run the lab controller: the actor system and the HTTP API.",
    )
    parser.add_argument(
        "--config",
        default=os.environ.get(CONFIG_PATH_ENV, DEFAULT_CONFIG_PATH),
        metavar="PATH",
        help=f"configuration file (default: ${CONFIG_PATH_ENV}, else {DEFAULT_CONFIG_PATH})",
    )
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to listen on (default: {DEFAULT_HOST})"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port to listen on (default: {DEFAULT_PORT})",
    )
    parser.set_defaults(run=_run_serve)


COMMANDS: tuple[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None], ...] = (
    add_serve_command,
)
"""Every subcommand, in the order ``--help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand of ``COMMANDS``."""
    parser = argparse.ArgumentParser(
        prog="nublado-trio", description="Lab controller for Jupyter science platforms."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add_command in COMMANDS:
        add_command(subparsers)
    return parser


def main(argv: Sequence[str] | None = None, *, system_factory: SystemFactory = build_system) -> int:
    """Entry point of the ``nublado-trio`` console script; returns the exit code.

    ``system_factory`` lets tests run the real CLI with a small actor tree of their own.
    """
    args = build_parser().parse_args(argv)
    runner: Runner = args.run
    try:
        return runner(args, system_factory)
    except KeyboardInterrupt:
        # Only before serving starts (it handles SIGINT itself): nothing to clean up.
        return 130


if __name__ == "__main__":
    sys.exit(main())
