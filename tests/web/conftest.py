"""Fixtures: a minimal configuration, a small actor tree, the real server on 127.0.0.1:0."""

from __future__ import annotations

import io
import json
import logging
import math
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
import yaml
from quart_trio import QuartTrio

from actors.config import ControllerConfig
from actors.runtime import ActorSystem
from tests.web.trees import small_system
from web.app import create_app
from web.logging import configure_logging
from web.server import RunningServer, ServerTuning, serve

SERVE_DEADLINE = 10.0


def minimal_config_data(**overrides: Any) -> dict[str, Any]:
    """The smallest configuration the controller accepts, as it would appear in YAML."""
    data: dict[str, Any] = {
        "metrics": {"enabled": False, "application": "nublado"},
        "fsadmin": {},
        "images": {"source": {"type": "docker", "repository": "lsstsqre/sciplat-lab"}},
        "lab": {
            "namespacePrefix": "nublado",
            "sizes": [
                {
                    "size": "small",
                    "resources": {
                        "limits": {"cpu": 1.0, "memory": "4Gi"},
                        "requests": {"cpu": 0.5, "memory": "2Gi"},
                    },
                }
            ],
            "volumes": [{"name": "home", "source": {"type": "hostPath", "path": "/home"}}],
        },
    }
    data.update(overrides)
    return data


def write_config(path: Path, data: dict[str, Any]) -> Path:
    """Write ``data`` as a YAML config file and return its path."""
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def config() -> ControllerConfig:
    return ControllerConfig.model_validate(minimal_config_data())


@pytest.fixture
def system() -> ActorSystem:
    return small_system()


@pytest.fixture
def app(config: ControllerConfig, system: ActorSystem) -> QuartTrio:
    return create_app(config, system)


@asynccontextmanager
async def run_server(
    config: ControllerConfig,
    system: ActorSystem,
    *,
    app: QuartTrio | None = None,
    tuning: ServerTuning | None = None,
    **serve_options: Any,
) -> AsyncIterator[RunningServer]:
    """Serve on 127.0.0.1:0 for the block, then shut down gracefully (or fail the test).

    ``serve_options`` go to ``serve`` as they are (``leader=`` for a follower, say)."""
    with trio.fail_after(math.inf) as shutdown_deadline:
        async with trio.open_nursery() as nursery:
            server: RunningServer = await nursery.start(
                partial(
                    serve,
                    config,
                    host="127.0.0.1",
                    port=0,
                    system=system,
                    app=app,
                    tuning=tuning,
                    shutdown_signals=(),
                    **serve_options,
                )
            )
            yield server
            server.request_shutdown()
            shutdown_deadline.deadline = trio.current_time() + SERVE_DEADLINE


@pytest.fixture
async def server(
    config: ControllerConfig, system: ActorSystem, app: QuartTrio
) -> AsyncIterator[RunningServer]:
    async with run_server(config, system, app=app) as running:
        yield running


@pytest.fixture
async def client(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=5.0) as http:
        yield http


class LogCapture:
    """Everything the process logged (through ``web.logging``) during a test."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def records(self) -> list[dict[str, Any]]:
        """Each line parsed as JSON (fails the test if a line is not a JSON object)."""
        return [json.loads(line) for line in self.text.splitlines()]

    async def wait_for(self, matches: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The first record that ``matches``, waiting for it to be logged (use a deadline)."""
        while True:
            found = [record for record in self.records() if matches(record)]
            if found:
                return found[0]
            await trio.sleep(0.01)


@pytest.fixture
def logs() -> Iterator[LogCapture]:
    capture = LogCapture()
    handler = configure_logging(level="INFO", profile="production", stream=capture.stream)
    yield capture
    logging.getLogger().removeHandler(handler)
