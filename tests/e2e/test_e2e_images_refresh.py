"""Refreshes over time: new registry tags reach the spawn form; an outage keeps what it had.

The spawn form is parsed with ``html.parser`` and only its fields and values are compared.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html.parser import HTMLParser
from typing import Any

import pytest
import trio

from kubesim.registry import FakeRegistry, Repository
from tests.e2e.harness import (
    RunningController,
    anonymous_registry_images,
    fast_site_config,
    serving_controller,
)
from web.simulate import DEMO_REPOSITORY, simulated_cluster

REFRESH_INTERVAL = 0.5


class MenuParser(HTMLParser):
    """The ``image_list`` radio values (in order) and ``image_dropdown`` option values."""

    def __init__(self) -> None:
        super().__init__()
        self.menu: list[str] = []
        self.dropdown: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        fields = dict(attrs)
        if tag == "input" and fields.get("name") == "image_list":
            self.menu.append(fields.get("value") or "")
        elif tag == "option" and fields.get("value"):
            self.dropdown.append(fields["value"] or "")


@asynccontextmanager
async def refreshing_controller(*, outage: bool = False) -> AsyncIterator[RunningController]:
    """A controller refreshing its images every half second, on an anonymous registry.

    With ``outage`` the registry has lost the repository when the controller starts; it is
    put back once the controller serves.
    """
    async with simulated_cluster(fast_site_config()) as site:
        images = anonymous_registry_images(site, DEMO_REPOSITORY, refresh_interval=REFRESH_INTERVAL)
        registry = site.mounted("/v2")
        assert isinstance(registry, FakeRegistry)
        lost = registry.data.repositories.pop(DEMO_REPOSITORY) if outage else None
        async with serving_controller(site, config_overrides={"images": images}) as running:
            if lost is not None:
                registry.data.repositories[DEMO_REPOSITORY] = lost
            yield running


@pytest.fixture
async def nublado() -> AsyncIterator[RunningController]:
    async with refreshing_controller() as running:
        yield running


def _repository(nublado: RunningController) -> Repository:
    registry = nublado.site.mounted("/v2")
    assert isinstance(registry, FakeRegistry)
    return registry.data.repositories[DEMO_REPOSITORY]


async def _form(nublado: RunningController) -> MenuParser:
    async with nublado.client("alice") as alice:
        reply = await alice.get(f"{nublado.prefix}/spawner/v1/lab-form/alice")
    assert reply.status_code == 200
    parser = MenuParser()
    parser.feed(reply.text)
    return parser


async def _images_actor(nublado: RunningController) -> dict[str, Any]:
    async with nublado.client("admin") as admin:
        reply = await admin.get(f"{nublado.prefix}/admin/actors/images")
    assert reply.status_code == 200
    details: dict[str, Any] = reply.json()["details"]
    return details


async def _prepulls_settled(nublado: RunningController) -> None:
    async with nublado.client("admin") as admin:
        while True:
            status = (await admin.get(f"{nublado.prefix}/spawner/v1/prepulls")).json()
            if status["images"]["prepulled"] and not status["images"]["pending"]:
                return
            await trio.sleep(0.1)


async def test_a_new_weekly_reaches_the_menu_after_a_refresh_and_its_prepull(
    nublado: RunningController,
) -> None:
    new = f"{nublado.registry}/{DEMO_REPOSITORY}:w_2026_48@"
    with trio.fail_after(60):
        assert not any(value.startswith(new) for value in (await _form(nublado)).menu)
        _repository(nublado).set_tag("w_2026_48", size=7_100_000_000)
        while not any(value.startswith(new) for value in (await _form(nublado)).menu):
            await trio.sleep(0.1)
    form = await _form(nublado)
    assert any(value.startswith(new) for value in form.dropdown)
    weekly_46 = f"{nublado.registry}/{DEMO_REPOSITORY}:w_2026_46@"
    # Two weeklies are prepulled: 48 and 47; 46 stays only as the recommended image's target.
    assert not any(value.startswith(weekly_46) for value in form.menu)


async def test_a_registry_outage_keeps_the_menu_and_is_reported(
    nublado: RunningController,
) -> None:
    registry = nublado.site.mounted("/v2")
    assert isinstance(registry, FakeRegistry)
    with trio.fail_after(60):
        await _prepulls_settled(nublado)
        before = await _form(nublado)
        # recommended (w_2026_46), r28_0_0, w_2026_47, the daily, and the dropdown sentinel
        assert len(before.menu) == 5
        repository = registry.data.repositories.pop(DEMO_REPOSITORY)
        while (await _images_actor(nublado))["last_error"] is None:
            await trio.sleep(0.1)
        during = await _form(nublado)
        assert during.menu == before.menu
        assert during.dropdown == before.dropdown
        assert "listing images failed" in (await _images_actor(nublado))["last_error"]
        registry.data.repositories[DEMO_REPOSITORY] = repository
        while (await _images_actor(nublado))["last_error"] is not None:
            await trio.sleep(0.1)
    assert (await _form(nublado)).menu == before.menu


async def test_a_registry_down_at_startup_does_not_stop_the_controller() -> None:
    with trio.fail_after(60):
        async with refreshing_controller(outage=True) as nublado:
            # The first refresh ran (and failed) before the controller reported ready.
            assert (await _images_actor(nublado))["failures"] >= 1
            while len((await _form(nublado)).menu) < 2:
                await trio.sleep(0.1)
            assert (await _images_actor(nublado))["last_error"] is None
