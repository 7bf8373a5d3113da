"""Refusals of the create and form routes (``api.md`` §2.3, §3, §5.3.2 to §5.3.4, §5.7, A.3).

Requests are sent as JupyterHub forwards them (form fields as lists of strings) with the
demo users of kubesim's fake Gafaelfawr: alice (roomy quota), bob (small quota), carol (no
UID), dave (quota forbids spawning).
"""

from __future__ import annotations

from typing import Any

import httpx
import trio

from tests.e2e.harness import RunningController
from tests.e2e.spawner_client import SpawnerClient, SpawnForm, jupyterhub_env, open_spawner


def error(msg: str, error_type: str, loc: list[str] | None = None) -> dict[str, Any]:
    """A controller-raised error body (§3.1): one element, ``loc`` omitted when absent."""
    item: dict[str, Any] = {"msg": msg, "type": error_type}
    if loc is not None:
        item = {"loc": loc, **item}
    return {"detail": [item]}


async def create(
    spawner: SpawnerClient, options: dict[str, Any], env: dict[str, str] | None = None
) -> httpx.Response:
    return await spawner.create(options, env or jupyterhub_env(spawner.username))


async def test_quota_refuses_sizes_beyond_the_users_notebook_quota(
    nublado: RunningController,
) -> None:
    with trio.fail_after(20):
        async with open_spawner(nublado, "bob") as bob:
            refused = await create(bob, {"image_dropdown": [nublado.image()], "size": ["medium"]})
            accepted = await create(bob, {"image_dropdown": [nublado.image()], "size": ["small"]})
    assert refused.status_code == 403
    assert refused.json() == error(
        "Insufficient quota to spawn requested lab",
        "insufficient_quota",
        ["body", "options", "size"],
    )
    assert accepted.status_code == 201


async def test_sizes_must_be_configured_size_words(nublado: RunningController) -> None:
    image = nublado.image()
    with trio.fail_after(20):
        async with open_spawner(nublado, "alice") as alice:
            unconfigured = await create(alice, {"image_dropdown": [image], "size": ["colossal"]})
            custom = await create(alice, {"image_dropdown": [image], "size": ["custom"]})
            not_a_size = await create(alice, {"image_dropdown": [image], "size": ["enormous"]})
            two_sizes = await create(alice, {"image_dropdown": [image], "size": ["small", "large"]})
            title_case = await create(alice, {"image_dropdown": [image], "size": ["Small"]})
    assert unconfigured.status_code == 422
    assert unconfigured.json() == error(
        'Invalid lab size "colossal"', "invalid_lab_size", ["body", "options", "size"]
    )
    assert custom.status_code == 422
    assert custom.json()["detail"][0]["type"] == "invalid_lab_size"
    assert not_a_size.status_code == 422
    assert not_a_size.json()["detail"][0]["loc"][:3] == ["body", "options", "size"]
    assert two_sizes.status_code == 422
    assert "Too many values for size" in two_sizes.text
    assert title_case.status_code == 201, "size names are case-insensitive"


async def test_image_references_must_name_a_tag_of_the_configured_repository(
    nublado: RunningController,
) -> None:
    untagged = f"{nublado.registry}/lsstsqre/sciplat-lab"
    elsewhere = "registry.example.org/rubin/sciplat-lab:w_2026_46"
    with trio.fail_after(20):
        async with open_spawner(nublado, "alice") as alice:
            no_tag = await create(alice, {"image_dropdown": [untagged], "size": ["small"]})
            other = await create(alice, {"image_list": [elsewhere], "size": ["small"]})
            garbage = await create(alice, {"image_dropdown": ["sciplat-lab"], "size": ["small"]})
            bad_tag = await create(alice, {"image_tag": ["w_1999_01"], "size": ["small"]})
    assert no_tag.status_code == 422
    assert no_tag.json() == error(
        f'Docker reference "{untagged}" has no tag',
        "invalid_docker_reference",
        ["body", "options", "image_dropdown"],
    )
    assert other.status_code == 400
    assert other.json() == error(
        f'Docker reference "{elsewhere}" not found',
        "unknown_image",
        ["body", "options", "image_list"],
    )
    assert garbage.status_code == 422
    assert garbage.json()["detail"][0]["type"] == "invalid_docker_reference"
    assert garbage.json()["detail"][0]["loc"] == ["body", "options", "image_dropdown"]
    assert bad_tag.status_code == 400
    assert bad_tag.json() == error(
        'Docker tag "w_1999_01" not found', "unknown_image", ["body", "options", "image_tag"]
    )


async def test_the_image_must_be_named_exactly_one_way(nublado: RunningController) -> None:
    image = nublado.image()
    with trio.fail_after(20):
        async with open_spawner(nublado, "alice") as alice:
            twice = await create(
                alice, {"image_dropdown": [image], "image_tag": ["w_2026_46"], "size": ["small"]}
            )
            never = await create(alice, {"image_list": ["use_image_from_dropdown"], "size": ["s"]})
            nothing = await create(alice, {"image_dropdown": [""], "size": ["small"]})
    assert twice.status_code == 422
    [problem] = twice.json()["detail"]
    assert problem["loc"] == ["body", "options"]
    assert "Image specified multiple ways (image_dropdown, image_tag)" in problem["msg"]
    assert never.status_code == 422
    assert nothing.status_code == 422
    [problem] = nothing.json()["detail"]
    assert problem["loc"] == ["body", "options"]
    assert "No image to spawn specified" in problem["msg"]


async def test_form_booleans_and_the_service_prefix_are_checked(
    nublado: RunningController,
) -> None:
    options = {"image_dropdown": [nublado.image()], "size": ["small"]}
    with trio.fail_after(20):
        async with open_spawner(nublado, "alice") as alice:
            checkbox_on = await create(alice, {**options, "enable_debug": ["on"]})
            no_prefix = await create(alice, options, {"JUPYTERHUB_USER": "alice"})
    assert checkbox_on.status_code == 422
    assert checkbox_on.json()["detail"][0]["loc"][:3] == ["body", "options", "enable_debug"]
    assert no_prefix.status_code == 422
    assert [item["loc"] for item in no_prefix.json()["detail"]] == [["body", "env"]]


async def test_an_invalid_token_is_refused_before_anything_else(
    nublado: RunningController,
) -> None:
    with trio.fail_after(20):
        async with nublado.client("expired-demo-token") as expired:
            base = f"{nublado.prefix}/spawner/v1"
            create_response = await expired.post(f"{base}/labs/bob/create", content=b"{not json")
            form = await expired.get(f"{base}/lab-form/alice")
    for response in (create_response, form):
        assert response.status_code == 401, response.text
        assert response.json()["detail"][0]["type"] == "invalid_token"
        assert "loc" not in response.json()["detail"][0]
    assert "expired-demo-token" not in create_response.text


async def test_users_cannot_touch_another_users_lab(nublado: RunningController) -> None:
    base = f"{nublado.prefix}/spawner/v1"
    body = {"options": {"image_dropdown": [nublado.image()], "size": ["small"]}}
    body["env"] = jupyterhub_env("bob")  # type: ignore[assignment]
    with trio.fail_after(20):
        async with nublado.client("bob") as bob, nublado.client("alice") as alice:
            assert (await bob.post(f"{base}/labs/bob/create", json=body)).status_code == 201
            responses = [
                await alice.post(f"{base}/labs/bob/create", json=body),
                await alice.get(f"{base}/labs/bob/events"),
                await alice.get(f"{base}/lab-form/bob"),
            ]
    for response in responses:
        assert response.status_code == 403
        assert response.json() == error("Permission denied", "permission_denied")


async def test_users_without_uid_or_spawn_right_cannot_spawn(
    nublado: RunningController,
) -> None:
    options = {"image_dropdown": [nublado.image()], "size": ["small"]}
    with trio.fail_after(20):
        async with open_spawner(nublado, "carol") as carol, open_spawner(nublado, "dave") as dave:
            no_uid = await create(carol, options)
            forbidden = await create(dave, options)
            dave_form = SpawnForm(await dave.options_form())
    assert no_uid.status_code == 403
    assert no_uid.json() == error("Must have a UID to spawn labs", "permission_denied")
    assert forbidden.status_code == 403
    assert forbidden.json() == error("Spawning a notebook is not permitted", "permission_denied")
    assert dave_form.controls == [], "the unavailable fragment has no form controls"
    assert any("unavailable" in heading.lower() for heading in dave_form.headings)
    assert "creating a new notebook is currently not possible" in dave_form.text.lower()


async def test_the_body_is_validated_before_the_path_username_is_compared(
    nublado: RunningController,
) -> None:
    with trio.fail_after(20):
        async with nublado.client("alice") as alice:
            response = await alice.post(
                f"{nublado.prefix}/spawner/v1/labs/bob/create", content=b"{not json"
            )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


async def test_a_user_refused_before_registration_has_no_stream(
    nublado: RunningController,
) -> None:
    options = {"image_dropdown": [nublado.image()], "size": ["small"]}
    with trio.fail_after(20):
        async with open_spawner(nublado, "carol") as carol:
            assert (await create(carol, options)).status_code == 403
            events = await carol.http.get(
                carol.url("labs", "carol", "events"), headers=dict(carol.credentials.user)
            )
    assert events.status_code == 404
    assert events.json()["detail"][0]["type"] == "unknown_user"
