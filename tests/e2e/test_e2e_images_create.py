"""Creating labs by image class, tag and reference, and the spawn form's image fields.

Images come from kubesim's demo registry (``kubesim/data/registry.yaml``): ``recommended``
points at ``w_2026_46``; the newest weekly is ``w_2026_47``, the newest release ``r28_0_0``.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
import trio

from kubesim.registry import FakeRegistry
from tests.e2e.harness import RunningController
from web.simulate import DEMO_REPOSITORY

ENV = {"JUPYTERHUB_SERVICE_PREFIX": "/nb/user/alice/"}


class FormFields(HTMLParser):
    """Every form control: radios/checkboxes as (name, value, checked), select options."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[tuple[str, str, str, bool]] = []
        self.options: list[tuple[str, str]] = []
        self._select: str | None = None
        self._option: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        fields = dict(attrs)
        if tag == "input":
            kind, name = fields.get("type") or "", fields.get("name") or ""
            self.inputs.append((kind, name, fields.get("value") or "", "checked" in fields))
        elif tag == "select":
            self._select = fields.get("name")
        elif tag == "option":
            self._option = fields.get("value") or ""

    def handle_data(self, data: str) -> None:
        if self._option is not None:
            self.options.append((self._option, data))
            self._option = None

    def radios(self, name: str) -> list[tuple[str, bool]]:
        return [(value, checked) for kind, n, value, checked in self.inputs if n == name]


def _digest(nublado: RunningController, tag: str) -> str:
    registry = nublado.site.mounted("/v2")
    assert isinstance(registry, FakeRegistry)
    return registry.data.repositories[DEMO_REPOSITORY].tags[tag].digest


async def _create(nublado: RunningController, options: dict[str, Any]) -> tuple[int, Any]:
    body = {"options": {"size": ["small"], **options}, "env": ENV}
    async with nublado.client("alice") as alice:
        reply = await alice.post(f"{nublado.prefix}/spawner/v1/labs/alice/create", json=body)
    return reply.status_code, reply.json() if reply.content else None


async def _lab_image(nublado: RunningController) -> str:
    async with nublado.client("hub") as hub:
        state = (await hub.get(f"{nublado.prefix}/spawner/v1/labs/alice")).json()
        assert (await hub.delete(f"{nublado.prefix}/spawner/v1/labs/alice")).status_code == 204
    image: str = state["options"]["image"]
    return image


@pytest.mark.parametrize(
    ("image_class", "tag", "pinned_tag"),
    [
        ("recommended", "recommended", "recommended"),
        ("latest-weekly", "w_2026_47", "w_2026_47"),
        ("latest-release", "r28_0_0", "r28_0_0"),
        ("latest-daily", "d_2026_11_20_c0048.002", "d_2026_11_20_c0048.002"),
    ],
)
async def test_create_by_class_runs_the_prepull_set_image(
    nublado: RunningController, image_class: str, tag: str, pinned_tag: str
) -> None:
    with trio.fail_after(30):
        status, _ = await _create(nublado, {"image_class": [image_class]})
        assert status == 201
        image = await _lab_image(nublado)
    assert image == f"{nublado.image(pinned_tag)}@{_digest(nublado, tag)}"


async def test_create_by_tag_outside_the_prepull_set_asks_the_registry(
    nublado: RunningController,
) -> None:
    with trio.fail_after(30):
        status, _ = await _create(nublado, {"image_tag": ["w_2026_40"]})
        assert status == 201
        image = await _lab_image(nublado)
    assert image == f"{nublado.image('w_2026_40')}@{_digest(nublado, 'w_2026_40')}"


async def test_create_with_an_alias_and_a_known_digest_runs_the_primary_image(
    nublado: RunningController,
) -> None:
    digest = _digest(nublado, "w_2026_46")
    with trio.fail_after(30):
        status, _ = await _create(
            nublado, {"image_dropdown": [f"{nublado.image('latest_weekly')}@{digest}"]}
        )
        assert status == 201
        image = await _lab_image(nublado)
    assert image == f"{nublado.image('w_2026_46')}@{digest}"


@pytest.mark.parametrize(
    ("options", "status", "error_type", "attribute"),
    [
        ({"image_tag": ["w_1999_01"]}, 400, "unknown_image", "image_tag"),
        ({"image_list": ["elsewhere.org/x/y:w_2026_46"]}, 400, "unknown_image", "image_list"),
        (
            {"image_dropdown": ["REGISTRY/lsstsqre/sciplat-lab"]},
            422,
            "invalid_docker_reference",
            "image_dropdown",
        ),
        ({"image_dropdown": ["no-registry"]}, 422, "invalid_docker_reference", "image_dropdown"),
    ],
)
async def test_create_refuses_unknown_images_with_the_attribute_as_location(
    nublado: RunningController,
    options: dict[str, list[str]],
    status: int,
    error_type: str,
    attribute: str,
) -> None:
    options = {
        key: [value.replace("REGISTRY", nublado.registry) for value in values]
        for key, values in options.items()
    }
    with trio.fail_after(30):
        got, body = await _create(nublado, options)
    assert got == status
    assert body["detail"][0]["type"] == error_type
    assert body["detail"][0]["loc"] == ["body", "options", attribute]


async def test_form_offers_the_menu_first_then_the_dropdown(nublado: RunningController) -> None:
    with trio.fail_after(30):
        async with nublado.client("admin") as admin:
            while (await admin.get(f"{nublado.prefix}/spawner/v1/prepulls")).json()["images"][
                "pending"
            ]:
                await trio.sleep(0.1)
        async with nublado.client("alice") as alice:
            reply = await alice.get(f"{nublado.prefix}/spawner/v1/lab-form/alice")
    assert reply.headers["content-type"].startswith("text/html")
    form = FormFields()
    form.feed(reply.text)
    pinned = {
        tag: f"{nublado.image(tag)}@{_digest(nublado, tag)}"
        for tag in ("recommended", "r28_0_0", "w_2026_47", "d_2026_11_20_c0048.002")
    }
    assert form.radios("image_list") == [
        (pinned["recommended"], True),
        (pinned["r28_0_0"], False),
        (pinned["w_2026_47"], False),
        (pinned["d_2026_11_20_c0048.002"], False),
        ("use_image_from_dropdown", False),
    ]
    labels = dict(form.options)
    assert labels[pinned["recommended"]] == "Recommended (Weekly 2026_46)"
    assert labels[f"{nublado.image('latest_weekly')}"] == "Latest Weekly"
    assert f"{nublado.image('r27_0_0')}" in labels
    assert not any("arm64" in value for value in labels)
    assert [value for value, _ in form.radios("size")] == ["small", "medium", "large"]


async def test_a_menu_choice_creates_a_lab_with_that_image(nublado: RunningController) -> None:
    with trio.fail_after(30):
        async with nublado.client("alice") as alice:
            reply = await alice.get(f"{nublado.prefix}/spawner/v1/lab-form/alice")
        form = FormFields()
        form.feed(reply.text)
        first, _ = form.radios("image_list")[0]
        status, _ = await _create(
            nublado, {"image_list": [first], "image_dropdown": [form.options[-1][0]]}
        )
        assert status == 201
        image = await _lab_image(nublado)
    # The recommended radio names the image by alias and digest; the lab runs the primary tag.
    assert first == f"{nublado.image('recommended')}@{_digest(nublado, 'w_2026_46')}"
    assert image == f"{nublado.image('w_2026_46')}@{_digest(nublado, 'w_2026_46')}"
