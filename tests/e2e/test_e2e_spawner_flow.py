"""JupyterHub's spawner drives a lab through its life (``api.md`` §5, §6.1, §7, A.1, A.2).

Every call goes over HTTP exactly as the Nublado spawner makes it: the form with the user's
token, create and progress with the user's token, status and delete with JupyterHub's token.
"""

from __future__ import annotations

import trio

from tests.e2e.harness import RunningController
from tests.e2e.spawner_client import (
    ProgressEvent,
    SpawnerClient,
    SpawnForm,
    jupyterhub_env,
    open_spawner,
)

POD_EVENT_PROGRESS = [35, 48, 57, 63, 67, 69, 71, 72, 73, 73]
"""§5.5.3: the progress of successive pod events (then 73 for ever)."""


def pod_event_progress(count: int) -> list[int]:
    return (POD_EVENT_PROGRESS + [73] * count)[:count]


def assert_normal_spawn(progress: list[ProgressEvent], username: str) -> None:
    """The progress JupyterHub shows for a spawn: 1, 30, pod events below 75, then 75."""
    assert progress[0] == ProgressEvent(1, "info", f"Starting lab creation for {username}")
    assert progress[1] == ProgressEvent(30, "info", "Created Kubernetes objects for user lab")
    assert progress[-1] == ProgressEvent(75, "info", f"Lab Kubernetes pod started for {username}")
    pod_events = progress[2:-1]
    assert pod_events, "the kubelet's events about the pod are relayed"
    assert [event.progress for event in pod_events] == pod_event_progress(len(pod_events))
    assert all(event.severity == "info" for event in pod_events)
    assert any(f"nublado-{username}/{username}-nb" in event.message for event in pod_events)


def choose_uncached_image(form: SpawnForm, image: str) -> str:
    """Pick ``image`` (``registry/repository:tag``) through the dropdown, as a user would:
    the option for that tag if the dropdown is a menu, else type it; returns what is sent."""
    form.choose("image_list", "use_image_from_dropdown")
    if not [c for c in form.named("image_dropdown") if c.kind == "select"]:
        form.fill("image_dropdown", image)
        return image
    [value] = [
        choice.value
        for choice in form.choices("image_dropdown")
        if choice.value == image or choice.value.startswith(f"{image}@")
    ]
    form.select("image_dropdown", value)
    return value


async def choose_in_form(spawner: SpawnerClient, image: str, size: str) -> dict[str, list[str]]:
    """What a user does on the spawn page: pick an uncached image by reference and a size."""
    form = SpawnForm(await spawner.options_form())
    choose_uncached_image(form, image)
    form.choose("size", size)
    return form.submission()


async def test_the_spawn_form_offers_every_size_and_the_options(
    nublado: RunningController,
) -> None:
    with trio.fail_after(20):
        async with open_spawner(nublado, "alice") as spawner:
            form = SpawnForm(await spawner.options_form())
    assert form.choices("size") == [
        ("small", "Small (1.0 CPU, 2Gi RAM)", False),
        ("medium", "Medium (2.0 CPU, 4Gi RAM)", True),
        ("large", "Large (4.0 CPU, 8Gi RAM)", False),
    ]
    *menu, dropdown_radio = form.choices("image_list")
    assert dropdown_radio.value == "use_image_from_dropdown"
    assert dropdown_radio.selected == (not menu), "pre-selected only without menu images"
    if menu:
        assert menu[0].selected
        assert menu[0].label.startswith("Recommended")
        assert all("@sha256:" in choice.value for choice in menu)
    assert [c.kind for c in form.named("enable_debug")] == ["checkbox"]
    assert [c.kind for c in form.named("reset_user_env")] == ["checkbox"]
    assert [c.value for c in form.named("enable_debug")] == ["true"]
    reset_label = form.labels[form.named("reset_user_env")[0].element_id or ""]
    for directory in (".cache", ".conda", ".config", ".eups", ".jupyter", ".local"):
        assert directory in reset_label
    assert form.named("image_dropdown"), "an uncached image can be chosen"


async def test_bob_is_offered_only_the_sizes_his_quota_allows(
    nublado: RunningController,
) -> None:
    with trio.fail_after(20):
        async with open_spawner(nublado, "bob") as spawner:
            form = SpawnForm(await spawner.options_form())
    assert form.choices("size") == [("small", "Small (1.0 CPU, 2Gi RAM)", True)]


async def test_the_form_as_first_shown_spawns_its_preselected_image_and_size(
    nublado: RunningController,
) -> None:
    with trio.fail_after(30):
        async with open_spawner(nublado, "alice") as spawner:
            form = SpawnForm(await spawner.options_form())
            [preselected] = [c for c in form.choices("image_list") if c.selected]
            submission = form.submission()
            assert submission["size"] == ["medium"]
            assert submission["image_list"] == [preselected.value]
            await spawner.start(submission, jupyterhub_env("alice"))
            state = await spawner.lab_state()
    assert state is not None
    assert state["options"]["size"] == "medium"
    if preselected.value != "use_image_from_dropdown":
        # The same image (digest); an alias tag may be reported by its primary tag (§5.3.4).
        digest = preselected.value.partition("@")[2]
        assert state["options"]["image"].endswith(f"@{digest}")


async def test_jupyterhub_spawns_the_lab_chosen_in_the_form_and_stops_it(
    nublado: RunningController,
) -> None:
    image = nublado.image("w_2026_45")
    with trio.fail_after(30):
        async with open_spawner(nublado, "alice") as spawner:
            assert await spawner.poll() == 0, "no lab yet"
            form = SpawnForm(await spawner.options_form())
            chosen = choose_uncached_image(form, image)
            form.choose("size", "large")
            form.tick("reset_user_env")
            submission = form.submission()
            assert submission == {
                "image_list": ["use_image_from_dropdown"],
                "image_dropdown": [chosen],
                "size": ["large"],
                "reset_user_env": ["true"],
            }

            url = await spawner.start(submission, jupyterhub_env("alice"))

            assert url == "http://lab.nublado-alice:8888/nb/user/alice/"
            assert_normal_spawn(spawner.progress, "alice")
            assert await spawner.poll() is None
            assert await spawner.get_url() == url
            state = await spawner.lab_state()
            assert state is not None
            assert state["status"] == "running"
            assert state["options"]["image"].startswith(f"{image}@sha256:")
            assert state["options"]["size"] == "large"
            assert state["options"]["reset_user_env"] is True
            assert state["options"]["enable_debug"] is False
            assert state["resources"]["limits"] == {"cpu": 4.0, "memory": 8 * 1024**3}
            assert state["quota"] == {"cpu": 4.0, "memory": 16 * 1024**3}

            await spawner.stop()

            assert await spawner.poll() == 0
            assert await spawner.get_url() == url, "falls back to JupyterHub's stored URL"
            await spawner.stop()  # stopping a stopped lab succeeds (404 → success)


async def test_start_replaces_an_existing_lab_after_a_409(nublado: RunningController) -> None:
    with trio.fail_after(30):
        async with open_spawner(nublado, "alice") as spawner:
            options = await choose_in_form(spawner, nublado.image(), "medium")
            await spawner.start(options, jupyterhub_env("alice"))
            conflict = await spawner.create(options, jupyterhub_env("alice"))
            assert conflict.status_code == 409
            assert conflict.json() == {
                "detail": [{"msg": "Lab already exists for alice", "type": "lab_exists"}]
            }
            spawner.progress.clear()

            url = await spawner.start(options, jupyterhub_env("alice"))

            assert url == "http://lab.nublado-alice:8888/nb/user/alice/"
            warning, *spawn = spawner.progress
            assert warning == ProgressEvent(1, "warning", "Deleting existing orphaned lab")
            assert_normal_spawn(spawn, "alice")
            assert await spawner.poll() is None


async def test_poll_says_alive_while_pending_and_stopped_while_terminating(
    nublado: RunningController,
) -> None:
    with trio.fail_after(30):
        async with open_spawner(nublado, "alice") as spawner:
            nublado.site.faults.kubelet_frozen = True
            created = await spawner.create(
                {"image_dropdown": [nublado.image()], "size": ["small"]}, jupyterhub_env("alice")
            )
            assert created.status_code == 201
            assert created.headers["Location"] == f"{spawner.url('labs', 'alice')}"
            assert await spawner.poll() is None, "pending counts as alive"

            nublado.site.faults.kubelet_frozen = False
            events = await spawner.read_events()
            assert events[-1].event == "complete"
            assert await spawner.poll() is None, "running counts as alive"

            nublado.site.faults.add_latency(1.0, verb="delete", resource="namespaces")
            async with trio.open_nursery() as nursery:
                nursery.start_soon(spawner.stop)
                while (await spawner.lab_state() or {}).get("status") != "terminating":
                    await trio.sleep(0.02)
                assert await spawner.poll() == 0, "terminating counts as stopped"
            assert await spawner.poll() == 0


async def test_start_during_a_spawn_cancels_it_and_starts_over(
    nublado: RunningController,
) -> None:
    options = {"image_dropdown": [nublado.image()], "size": ["small"]}
    with trio.fail_after(30):
        async with open_spawner(nublado, "alice") as first, open_spawner(nublado, "alice") as hub:
            nublado.site.faults.kubelet_frozen = True
            assert (await first.create(options, jupyterhub_env("alice"))).status_code == 201
            conflict = await first.create(options, jupyterhub_env("alice"))
            assert conflict.status_code == 409
            assert conflict.json()["detail"][0]["type"] == "operation_in_progress"

            async with first.open_events() as old_stream, trio.open_nursery() as nursery:
                nursery.start_soon(hub.start, options, jupyterhub_env("alice"))
                old_events = [event async for event in old_stream]
                while len(hub.progress) < 2:  # the warning, then the new spawn's first event
                    await trio.sleep(0.02)
                nublado.site.faults.kubelet_frozen = False

    assert old_events[-1].event == "failed"
    assert old_events[-1].data == '{"message": "Operation cancelled"}'
    warning, *spawn = hub.progress
    assert warning == ProgressEvent(1, "warning", "Deleting existing orphaned lab")
    assert_normal_spawn(spawn, "alice")
