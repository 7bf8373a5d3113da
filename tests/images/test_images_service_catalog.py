"""The image catalog on the worked example of images.md §11 (Docker source), and node rules.

The source here is an in-memory implementation of the ``ImageSource`` protocol (no HTTP is
involved in collecting images; the registry clients have their own tests over HTTP).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import trio

from actors.common.models import ImageClass, ResolvedImage
from actors.config import ControllerConfig
from actors.config.images import DropdownMenuConfig
from actors.config.kubernetes import Toleration
from actors.errors import InvalidDockerReferenceError, UnknownDockerImageError
from actors.images.catalog import ImageCatalog, NeedsDigest
from actors.images.errors import UnknownTagError
from actors.images.nodes import Taint, node_images, untolerated_taint_comment
from actors.images.refresh import assemble_catalog, collect_images
from actors.images.remote import RemoteImage, RemoteImages
from actors.images.status import PrepullerOptions

REGISTRY = "lighthouse.ceres"
REPOSITORY = "library/sketchbook"
BASE = f"{REGISTRY}/{REPOSITORY}"
DIGESTS = {
    "latest_weekly": "sha256:5678",
    "w_2077_43": "sha256:5678",
    "recommended": "sha256:5678",
    "latest_daily": "sha256:1234",
    "d_2077_10_23": "sha256:1234",
    "w_2077_44-amd64": "sha256:5679",
}
LOC = ["body", "options", "image_list"]


class MemorySource:
    """The §11 registry: lists tags without digests; counts digest lookups."""

    registry = REGISTRY
    repository = REPOSITORY

    def __init__(self) -> None:
        self.lookups: list[str] = []

    async def list_images(self) -> RemoteImages:
        return RemoteImages(REGISTRY, REPOSITORY, tuple(RemoteImage(tag) for tag in DIGESTS))

    async def resolve_tag(self, tag: str) -> str:
        self.lookups.append(tag)
        if tag not in DIGESTS:
            raise UnknownTagError(tag, REPOSITORY)
        return DIGESTS[tag]


def _config(**lab: Any) -> ControllerConfig:
    return ControllerConfig.model_validate(
        {
            "metrics": {"enabled": False, "application": "nublado"},
            "fsadmin": {},
            "images": {
                "source": {"type": "docker", "registry": REGISTRY, "repository": REPOSITORY}
            },
            "lab": {
                "namespacePrefix": "nublado",
                "sizes": [
                    {
                        "size": "small",
                        "resources": {
                            "limits": {"cpu": 1, "memory": "2Gi"},
                            "requests": {"cpu": 0.5, "memory": "1Gi"},
                        },
                    }
                ],
                "volumes": [{"name": "home", "source": {"type": "hostPath", "path": "/home"}}],
                **lab,
            },
        }
    )


def _node(name: str, *digests: str, taints: list[dict[str, str]] | None = None) -> Any:
    return {
        "metadata": {"name": name},
        "spec": {"taints": taints or []},
        "status": {
            "images": [
                {
                    "names": [f"{BASE}@{d}", f"{BASE}:t"],
                    "sizeBytes": 65537 if d.endswith("78") else 69105,
                }
                for d in digests
            ]
        },
    }


async def _catalog(*nodes: Any, **lab: Any) -> tuple[ImageCatalog, MemorySource]:
    source = MemorySource()
    config = _config(**lab)
    remote = await collect_images(config.images, source)
    return assemble_catalog(config, remote, list(nodes), digests_complete=False), source


async def _standard() -> tuple[ImageCatalog, MemorySource]:
    return await _catalog(
        _node("node1", "sha256:1234", "sha256:5678"), _node("node2", "sha256:5678")
    )


async def test_only_the_prepull_set_is_looked_up_and_recommended_resolves() -> None:
    with trio.fail_after(5):
        catalog, source = await _standard()
    assert sorted(source.lookups) == ["d_2077_10_23", "recommended", "w_2077_43"]
    images = catalog.spawner_images()
    assert images.recommended is not None
    assert images.recommended.name == "Recommended (Weekly 2077_43)"
    assert images.recommended.aliases == ["w_2077_43"]
    assert images.latest_weekly is not None
    assert images.latest_weekly.tag == "w_2077_43"
    assert images.latest_release is None
    unresolved = {i.tag: i for i in images.all}["latest_daily"]
    assert (unresolved.digest, unresolved.aliases, unresolved.prepulled) == (None, [], False)


async def test_menu_holds_recommended_and_fully_prepulled_images_only() -> None:
    with trio.fail_after(5):
        catalog, _ = await _standard()
    menu = [(e.reference, e.display_name) for e in catalog.menu()]
    assert menu == [(f"{BASE}:recommended@sha256:5678", "Recommended (Weekly 2077_43)")]
    catalog.record_pulled("sha256:1234", "node2")
    assert [e.display_name for e in catalog.menu()] == [
        "Recommended (Weekly 2077_43)",
        "Daily 2077_10_23",
    ]


async def test_dropdown_lists_every_generic_tag_with_digests_where_known() -> None:
    with trio.fail_after(5):
        catalog, _ = await _standard()
    dropdown = catalog.dropdown(DropdownMenuConfig(), datetime(2077, 11, 1, tzinfo=UTC))
    assert [(e.reference, e.display_name) for e in dropdown] == [
        (f"{BASE}:recommended@sha256:5678", "Recommended (Weekly 2077_43)"),
        (f"{BASE}:w_2077_43@sha256:5678", "Weekly 2077_43"),
        (f"{BASE}:d_2077_10_23@sha256:1234", "Daily 2077_10_23"),
        (f"{BASE}:latest_weekly", "latest_weekly"),
        (f"{BASE}:latest_daily", "latest_daily"),
    ]


async def test_prepuller_status_and_plan_name_the_missing_daily_on_node2() -> None:
    with trio.fail_after(5):
        catalog, _ = await _standard()
    status = catalog.prepuller_status(_options())
    prepulled = [(i.tag, i.nodes, i.size) for i in status.images.prepulled]
    pending = [(i.tag, i.nodes, i.missing, i.size) for i in status.images.pending]
    assert prepulled == [("w_2077_43", ["node1", "node2"], 65537)]
    assert pending == [("d_2077_10_23", ["node1"], ["node2"], 69105)]
    plan = catalog.prepull_plan()
    assert {node: [t.reference for t in ts] for node, ts in plan.items()} == {
        "node2": [f"{BASE}:d_2077_10_23@sha256:1234"]
    }


def _options() -> PrepullerOptions:
    return PrepullerOptions.from_config(_config().images)


async def test_a_tainted_node_is_listed_but_never_planned() -> None:
    gpu = [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]
    with trio.fail_after(5):
        catalog, _ = await _catalog(
            _node("node1", "sha256:1234", "sha256:5678"), _node("gpu1", taints=gpu)
        )
    assert catalog.prepull_plan() == {}
    nodes = {n.name: n for n in catalog.prepuller_status(_options()).nodes}
    assert nodes["gpu1"].eligible is False
    assert nodes["gpu1"].comment == "Node is tainted (NoSchedule, dedicated = gpu)"
    assert [e.display_name for e in catalog.menu()][-1] == "Daily 2077_10_23"


async def test_a_tolerated_taint_makes_the_node_eligible() -> None:
    gpu = [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]
    tolerations = [{"key": "dedicated", "operator": "Equal", "value": "gpu"}]
    with trio.fail_after(5):
        catalog, _ = await _catalog(_node("gpu1", taints=gpu), tolerations=tolerations)
    assert list(catalog.prepull_plan()) == ["gpu1"]


@pytest.mark.parametrize(
    ("toleration", "taint", "tolerated"),
    [
        ({"operator": "Exists"}, Taint("any", "NoSchedule", "x"), True),
        ({"operator": "Exists", "key": "a"}, Taint("a", "NoExecute"), True),
        ({"operator": "Exists", "key": "a"}, Taint("b", "NoExecute"), False),
        ({"key": "a", "value": "1", "effect": "NoExecute"}, Taint("a", "NoSchedule", "1"), False),
        ({"key": "a", "value": "1"}, Taint("a", "NoSchedule", "2"), False),
        ({"operator": "Exists", "tolerationSeconds": 60}, Taint("a", "NoExecute"), False),
        ({"operator": "Exists", "key": "z"}, Taint("a", "PreferNoSchedule"), True),
    ],
)
def test_toleration_rules(toleration: dict[str, Any], taint: Taint, tolerated: bool) -> None:
    rules = [Toleration.model_validate(toleration)]
    assert (untolerated_taint_comment([taint], rules) is None) is tolerated


def test_node_cache_matches_by_digest_and_skips_entries_without_one() -> None:
    node = {
        "metadata": {"name": "n"},
        "status": {
            "images": [
                {"names": ["other.host/x/y@sha256:aa", "other.host/x/y:t"], "sizeBytes": 5},
                {"names": ["busybox:1.36"], "sizeBytes": 7},
                {"names": [], "sizeBytes": 9},
            ]
        },
    }
    assert node_images(node, []).digests == {"sha256:aa": 5}


async def test_resolution_by_class_reference_and_tag() -> None:
    with trio.fail_after(5):
        catalog, _ = await _standard()
    weekly = catalog.by_class(ImageClass.LATEST_WEEKLY, LOC)
    assert weekly == ResolvedImage(f"{BASE}:w_2077_43@sha256:5678", "sha256:5678", "Weekly 2077_43")
    assert catalog.by_class(ImageClass.RECOMMENDED, LOC).description == (
        "Recommended (Weekly 2077_43)"
    )
    by_digest = catalog.by_reference(f"{BASE}:latest_daily@sha256:1234", LOC)
    assert isinstance(by_digest, ResolvedImage)
    assert by_digest.reference == f"{BASE}:d_2077_10_23@sha256:1234"
    needs = catalog.by_tag("latest_weekly", LOC)
    assert isinstance(needs, NeedsDigest)
    assert needs.pinned("sha256:5678").reference == f"{BASE}:latest_weekly@sha256:5678"


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        (f"{BASE}", InvalidDockerReferenceError, f'Docker reference "{BASE}" has no tag'),
        ("no-slash", InvalidDockerReferenceError, 'Docker reference "no-slash" is not valid'),
        (f"elsewhere.org/{REPOSITORY}:w_2077_43", UnknownDockerImageError, None),
        (
            f"{BASE}:w_2099_01",
            UnknownDockerImageError,
            f'Docker reference "{BASE}:w_2099_01" not found',
        ),
    ],
)
async def test_reference_refusals(text: str, error: type[Exception], message: str | None) -> None:
    with trio.fail_after(5):
        catalog, _ = await _standard()
    with pytest.raises(error) as raised:
        catalog.by_reference(text, LOC)
    assert getattr(raised.value, "loc", None) == LOC
    if message is not None:
        assert str(raised.value) == message


async def test_missing_class_and_unknown_tag_are_unknown_images() -> None:
    with trio.fail_after(5):
        catalog, _ = await _standard()
    with pytest.raises(UnknownDockerImageError, match="No latest-release image found"):
        catalog.by_class(ImageClass.LATEST_RELEASE, LOC)
    with pytest.raises(UnknownDockerImageError, match='Docker tag "nope" not found'):
        catalog.by_tag("nope", LOC)


def test_an_empty_catalog_defers_tags_to_the_registry() -> None:
    config = _config().images
    catalog = ImageCatalog.empty(config, registry=REGISTRY, repository=REPOSITORY)
    assert isinstance(catalog.by_tag("w_2077_43", LOC), NeedsDigest)
    assert catalog.menu() == []
    with pytest.raises(UnknownDockerImageError, match="No recommended image found"):
        catalog.by_class(ImageClass.RECOMMENDED, LOC)
