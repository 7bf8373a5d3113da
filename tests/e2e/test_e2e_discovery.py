"""Service discovery end to end: Repertoire's document reaches every lab's files ConfigMap.

The site serves kubesim's fake Repertoire; the controller is pointed at it (as
``REPERTOIRE_BASE_URL`` would in a deployment) and tests read the ConfigMap kubesim stores.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import trio

from kubesim.repertoire import API_PREFIX, FakeRepertoire, demo_repertoire
from kubesim.site import Site
from tests.e2e.harness import RunningController, running_controller, serving_controller
from tests.e2e.resilience_support import (
    actor,
    add_user,
    bearer,
    finished_events,
    lab_namespaces,
    spawn_body,
)
from web.simulate import simulated_cluster

from .harness import fast_site_config


def _repertoire(site: Site) -> FakeRepertoire:
    fake = site.mounted(API_PREFIX)
    assert isinstance(fake, FakeRepertoire)
    return fake


def _discovery_file(site: Site, username: str) -> str:
    config_map = site.store.get(
        site.store.resource("configmaps"), f"nublado-{username}", f"{username}-nb-files"
    )
    assert config_map is not None
    text = config_map["data"]["discovery-v1-json"]
    assert isinstance(text, str)
    return text


async def _spawn(nublado: RunningController, username: str, token: str) -> list[Any]:
    async with nublado.client(headers=bearer(token)) as user:
        created = await user.post(
            f"{nublado.prefix}/spawner/v1/labs/{username}/create",
            json=spawn_body(nublado, username),
        )
        assert created.status_code == 201, created.text
        return await finished_events(user, nublado.prefix, username)


async def _refresh(nublado: RunningController) -> None:
    assert nublado.controller.discovery is not None
    await nublado.controller.discovery.refresh()


async def test_a_spawned_lab_gets_the_nublado_view_of_the_discovery_document() -> None:
    async with running_controller() as nublado:
        with trio.fail_after(30):
            token = add_user(nublado.site, "dora", 3001)
            events = await _spawn(nublado, "dora", token)
            assert events[-1].type == "complete", events
            text = _discovery_file(nublado.site, "dora")
    # Serialised with sorted keys and two-space indentation, no final newline.
    document = json.loads(text)
    assert text == json.dumps(document, sort_keys=True, indent=2)
    # Only datasets and InfluxDB databases; each data service reduced to its URLs.
    assert sorted(document) == ["datasets", "influxdb_databases"]
    assert document["datasets"]["dp02"] == {
        "butler_config": "https://data.example.org/api/butler/repo/dp02/butler.yaml",
        "services": {
            "cutout": {
                "url": "https://data.example.org/api/cutout",
                "versions": {"soda-sync-1.0": {"url": "https://data.example.org/api/cutout/sync"}},
            },
            "sia": {"url": "https://data.example.org/api/sia/dp02"},
            "tap": {"url": "https://data.example.org/api/tap"},
        },
    }
    assert document["datasets"]["dp2"] == {}
    assert document["influxdb_databases"]["usdf_efd"] == {
        "credentials_url": "https://data.example.org/repertoire/discovery/influxdb/usdf_efd",
        "database": "efd",
        "local": False,
        "schema_registry": "https://usdf-efd.example.org/schema-registry",
        "url": "https://usdf-efd.example.org/influxdb/",
    }


async def test_new_labs_get_the_new_document_after_a_refresh() -> None:
    async with running_controller() as nublado:
        with trio.fail_after(30):
            fake = _repertoire(nublado.site)
            changed = copy.deepcopy(demo_repertoire())
            changed["datasets"]["dp3"] = {"butler_config": "https://x.example.org/dp3.yaml"}
            fake.document = changed
            await _refresh(nublado)
            token = add_user(nublado.site, "erin", 3002)
            assert (await _spawn(nublado, "erin", token))[-1].type == "complete"
            document = json.loads(_discovery_file(nublado.site, "erin"))
    assert document["datasets"]["dp3"] == {"butler_config": "https://x.example.org/dp3.yaml"}


async def test_an_outage_keeps_the_last_good_copy_for_new_labs() -> None:
    async with running_controller() as nublado:
        with trio.fail_after(30):
            fake = _repertoire(nublado.site)
            first = add_user(nublado.site, "fay", 3003)
            assert (await _spawn(nublado, "fay", first))[-1].type == "complete"
            before = _discovery_file(nublado.site, "fay")

            fake.failure_status = 503
            served = fake.requests
            await _refresh(nublado)
            assert fake.requests > served  # it did ask, and was refused
            async with nublado.client("admin") as admin:
                state = await actor(admin, nublado.prefix, "discovery")
            assert state is not None
            assert state["phase"] == "degraded"
            assert "503" in state["details"]["last_error"]

            second = add_user(nublado.site, "gus", 3004)
            assert (await _spawn(nublado, "gus", second))[-1].type == "complete"
            assert _discovery_file(nublado.site, "gus") == before

            # Repertoire back: the next fetch clears the error.
            fake.failure_status = None
            await _refresh(nublado)
            async with nublado.client("admin") as admin:
                state = await actor(admin, nublado.prefix, "discovery")
            assert state is not None
            assert state["phase"] == "ready"
            assert state["details"]["last_error"] is None


async def test_without_any_copy_a_spawn_is_refused_with_a_reason_and_creates_nothing() -> None:
    async with simulated_cluster(fast_site_config()) as site:
        _repertoire(site).failure_status = 503
        async with serving_controller(site) as nublado:
            with trio.fail_after(30):
                token = add_user(site, "hal", 3005)
                events = await _spawn(nublado, "hal", token)
                assert events[-1].type == "failed"
                errors = [e.message for e in events if e.type == "error"]
                assert any("Service discovery" in message for message in errors), errors
                assert "nublado-hal" not in lab_namespaces(site)

                # Once Repertoire answers, the next spawn goes through.
                _repertoire(site).failure_status = None
                await _refresh(nublado)
                events = await _spawn(nublado, "hal", token)
                assert events[-1].type == "complete", events
                assert json.loads(_discovery_file(site, "hal"))["datasets"]
