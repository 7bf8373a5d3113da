"""Spawns that fail, as JupyterHub's spawner experiences them (``api.md`` §5.5.3, §6.1, A.4).

A failure before the 201 makes ``start`` raise with the controller's answer; a failure after
it arrives as ``error`` + ``failed`` events, the lab's status becomes ``failed`` and ``poll``
says 1 until the next start replaces the lab.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import trio

from tests.e2e.harness import RunningController, running_controller
from tests.e2e.spawner_client import ProgressEvent, SpawnerError, jupyterhub_env, open_spawner
from web.simulate import demo_config_data


def lab_config(**changes: Any) -> dict[str, Any]:
    """The demo ``lab`` configuration section with ``changes`` (config overrides replace whole
    top-level sections)."""
    lab: dict[str, Any] = demo_config_data("http://unused.invalid", Path("/unused"))["lab"]
    return {**lab, **changes}


def dropdown_choice(image: str, size: str = "small") -> dict[str, list[str]]:
    return {"image_list": ["use_image_from_dropdown"], "image_dropdown": [image], "size": [size]}


async def test_an_unknown_image_tag_fails_the_start_before_anything_is_created(
    nublado: RunningController,
) -> None:
    image = nublado.image("w_1999_01")
    with trio.fail_after(20):
        async with open_spawner(nublado, "alice") as spawner:
            with pytest.raises(SpawnerError) as refused:
                await spawner.start(dropdown_choice(image), jupyterhub_env("alice"))
            assert await spawner.poll() == 0
    response = refused.value.response
    assert response is not None
    assert response.status_code == 400
    assert response.json() == {
        "detail": [
            {
                "loc": ["body", "options", "image_dropdown"],
                "msg": f'Docker reference "{image}" not found',
                "type": "unknown_image",
            }
        ]
    }
    namespaces, _ = nublado.site.store.list(nublado.site.store.resource("namespaces"))
    assert "nublado-alice" not in [n["metadata"]["name"] for n in namespaces]


async def test_a_kubernetes_error_after_201_fails_the_spawn_and_the_next_start_replaces_it(
    nublado: RunningController,
) -> None:
    with trio.fail_after(30):
        async with open_spawner(nublado, "alice") as spawner:
            # Every pod creation fails meanwhile (the prepuller's too, so no ``count``).
            fault = nublado.site.faults.add_error(verb="create", resource="pods", status=403)
            with pytest.raises(SpawnerError, match=r"^Lab spawn failed$"):
                await spawner.start(dropdown_choice(nublado.image()), jupyterhub_env("alice"))
            nublado.site.faults.errors.remove(fault)

            *_, error, failed = spawner.progress
            assert error.severity == "error"
            assert "kubesim injected fault" in error.message
            assert failed == ProgressEvent(error.progress, "error", "Lab spawn failed")
            assert await spawner.poll() == 1
            state = await spawner.lab_state()
            assert state is not None
            assert state["status"] == "failed"
            events = await spawner.read_events()
            assert [event.event for event in events][-2:] == ["error", "failed"]
            assert all('"progress"' not in event.data for event in events[-2:])

            spawner.progress.clear()
            await spawner.start(dropdown_choice(nublado.image()), jupyterhub_env("alice"))

            assert [(p.progress, p.message) for p in spawner.progress[:6]] == [
                (1, "Starting lab creation for alice"),
                (2, "Deleting existing failed lab for alice"),
                (5, "Shutting down Kubernetes pod"),
                (12, "Deleting user namespace"),
                (20, "Lab for alice deleted"),
                (30, "Created Kubernetes objects for user lab"),
            ]
            assert spawner.progress[-1].progress == 75
            assert await spawner.poll() is None


async def test_a_spawn_that_outlives_the_spawn_timeout_fails() -> None:
    overrides = {"lab": lab_config(spawnTimeout=1)}
    with trio.fail_after(30):
        async with (
            running_controller(config_overrides=overrides) as nublado,
            open_spawner(nublado, "alice") as spawner,
        ):
            nublado.site.faults.kubelet_frozen = True
            with pytest.raises(SpawnerError, match=r"^Lab spawn failed$"):
                await spawner.start(dropdown_choice(nublado.image()), jupyterhub_env("alice"))
            *_, error, failed = spawner.progress
            assert error.severity == "error"
            timed_out = re.fullmatch(r"Lab spawn timed out after (\d+\.\d+)", error.message)
            assert timed_out is not None, error.message
            assert 1.0 <= float(timed_out[1]) < 5.0
            assert failed.message == "Lab spawn failed"
            assert await spawner.poll() == 1
