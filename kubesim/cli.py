"""Standalone kubesim: ``simulate --port N [--host H] [--config FILE] [--seed S]
[--registry-tls-port N] [--kubeconfig FILE]``.

``main(argv)`` parses the arguments, serves a :class:`~kubesim.site.Site` until SIGINT (Ctrl-C)
or SIGTERM, then exits cleanly, and returns the exit status. ``nublado-trio simulate`` and
``python -m kubesim`` call it. ``--kubeconfig`` writes, once the port is bound, a kubeconfig
whose current context is the site (namespace ``default``, no credentials: kubesim checks
none), for ``kubectl`` and other clients.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
from pathlib import Path

import trio
import yaml

from kubesim.demo import install_all
from kubesim.site import Site, SiteConfig
from kubesim.tls import RegistryTLS, TLSUnavailable, serve_registry_tls


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simulate", description="Run a simulated Kubernetes site (kubesim)."
    )
    parser.add_argument("--port", type=int, default=8001, help="port to listen on (0 = any)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind")
    parser.add_argument("--config", help="YAML configuration file (see docs/kubesim.md)")
    parser.add_argument("--seed", type=int, default=None, help="seed for uids and faults")
    parser.add_argument(
        "--registry-tls-port",
        type=int,
        default=None,
        metavar="N",
        help="also serve the fake registry over HTTPS on port N (0 = any) with a throwaway CA"
        " whose certificate file is printed (needs nublado-trio[simulate-tls])",
    )
    parser.add_argument(
        "--kubeconfig",
        metavar="FILE",
        help="write a kubeconfig for this site to FILE (for kubectl), replacing it",
    )
    return parser


def kubeconfig(server: str) -> dict[str, object]:
    """A kubeconfig whose current context is the simulated site."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kubesim", "cluster": {"server": server}}],
        "users": [{"name": "kubesim", "user": {}}],
        "contexts": [
            {
                "name": "kubesim",
                "context": {"cluster": "kubesim", "user": "kubesim", "namespace": "default"},
            }
        ],
        "current-context": "kubesim",
    }


async def _serve(
    site: Site,
    host: str,
    port: int,
    tls_port: int | None = None,
    kubeconfig_path: str | None = None,
) -> None:
    # The simulated controllers, nodes and fake services (store writes need the Trio loop).
    fakes = install_all(site)
    async with trio.open_nursery() as nursery:
        with (
            trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals,
            tempfile.TemporaryDirectory(prefix="kubesim-tls-") as scratch,
        ):
            bound = await nursery.start(site.serve, host, port)
            print(f"kubesim serving the Kubernetes API on {site.url} (port {bound})", flush=True)
            if kubeconfig_path is not None:
                text = yaml.safe_dump(kubeconfig(site.url or ""), sort_keys=False)
                await trio.Path(kubeconfig_path).write_text(text)
                print(f"kubeconfig written to {kubeconfig_path}", flush=True)
            if tls_port is not None and fakes.registry is not None:
                tls: RegistryTLS = await nursery.start(
                    serve_registry_tls, fakes.registry, Path(scratch), host, tls_port
                )
                print(
                    f"kubesim serving the registry over TLS on {tls.url}"
                    f" (CA certificate: {tls.ca_path})",
                    flush=True,
                )
            async for signum in signals:
                print(f"kubesim stopping ({signal.Signals(signum).name})", flush=True)
                nursery.cancel_scope.cancel()
                break


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = SiteConfig.from_file(args.config) if args.config else SiteConfig()
    except (OSError, ValueError, TypeError) as exc:
        print(f"simulate: cannot load configuration: {exc}", file=sys.stderr)
        return 2
    site = Site(config, seed=args.seed)
    try:
        trio.run(
            _serve,
            site,
            args.host,
            args.port,
            args.registry_tls_port,
            args.kubeconfig,
            strict_exception_groups=False,
        )
    except TLSUnavailable as error:
        print(f"simulate: {error}", file=sys.stderr)
        return 2
    return 0
