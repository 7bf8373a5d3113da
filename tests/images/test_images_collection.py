"""Image collections: alias resolution (§3.5), iteration, subset, subtract, filter (§4), and
the worked examples of images.md §11."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from actors.config.images import DropdownMenuConfig
from actors.images.collection import ImageCollection, RSPImage
from actors.images.tags import ImageType

REGISTRY, REPOSITORY = "lighthouse.ceres", "library/sketchbook"


def image(
    tag: str, digest: str | None = None, *, aliases: frozenset[str] = frozenset()
) -> RSPImage:
    return RSPImage.from_tag(
        tag, registry=REGISTRY, repository=REPOSITORY, digest=digest, aliases=aliases
    )


def tags(images: object) -> list[str]:
    return [i.tag for i in images]  # type: ignore[attr-defined]


# -- alias resolution ----------------------------------------------------------------------


@pytest.mark.parametrize("alias_first", [False, True])
def test_possible_alias_resolves_to_the_image_sharing_its_digest(alias_first: bool) -> None:
    target, alias = image("w_2077_43", "sha256:5678"), image("latest_weekly", "sha256:5678")
    collection = ImageCollection([alias, target] if alias_first else [target, alias])
    assert alias.image_type is ImageType.ALIAS
    assert alias.display_name == "Latest Weekly (Weekly 2077_43)"
    assert alias.alias_target == "w_2077_43"
    assert target.aliases == {"latest_weekly"}
    assert alias.all_aliases == ["w_2077_43"]
    assert collection.image_for_digest("sha256:5678") is target


def test_aliases_of_a_target_are_shared() -> None:
    collection = ImageCollection(
        [
            image("recommended", "sha256:5678", aliases=frozenset({"recommended"})),
            image("w_2077_43", "sha256:5678"),
            image("latest_weekly", "sha256:5678"),
        ]
    )
    recommended = collection.image_for_tag("recommended")
    assert recommended is not None
    assert recommended.all_aliases == ["latest_weekly", "w_2077_43"]
    assert collection.image_for_tag("w_2077_43").aliases == {"recommended", "latest_weekly"}  # type: ignore[union-attr]


def test_first_non_alias_image_stays_primary_and_both_are_mutual_aliases() -> None:
    first, second = image("w_2077_43", "sha256:1"), image("r21_0_1", "sha256:1")
    collection = ImageCollection([first, second])
    assert collection.image_for_digest("sha256:1") is first
    assert (first.aliases, second.aliases) == ({"r21_0_1"}, {"w_2077_43"})
    assert first.image_type is ImageType.WEEKLY
    assert second.image_type is ImageType.RELEASE


def test_unknown_tags_sharing_only_with_each_other_stay_unresolved() -> None:
    a, b = image("latest", "sha256:9"), image("stable", "sha256:9")
    ImageCollection([a, b])
    assert a.image_type is ImageType.UNKNOWN
    assert (a.alias_target, a.aliases, b.aliases) == (None, {"stable"}, {"latest"})


def test_resolution_takes_cycle_and_missing_architecture_from_the_target() -> None:
    alias = image("latest_c0040", "sha256:2")
    ImageCollection([image("w_2077_45-amd64", "sha256:2"), alias])
    assert alias.display_name == "Latest (Weekly 2077_45) [amd64]"
    assert (alias.parsed.cycle, alias.parsed.architecture) == (None, "amd64")
    assert alias.parsed.date == datetime(2077, 11, 11, tzinfo=UTC)


def test_cycle_filter_drops_every_other_cycle_including_aliases() -> None:
    collection = ImageCollection(
        [
            image("recommended_c0050", aliases=frozenset({"recommended_c0050"})),
            image("recommended", aliases=frozenset({"recommended"})),
            image("w_2077_43_c0050.002"),
            image("w_2077_43_c0049.001"),
            image("w_2077_43"),
        ],
        cycle=50,
    )
    assert tags(collection.all_images()) == ["recommended_c0050", "w_2077_43_c0050.002"]


# -- iteration, latest, subset, subtract ---------------------------------------------------


def test_iteration_hides_arch_specific_images_unless_asked() -> None:
    collection = ImageCollection([image("w_2077_44-amd64"), image("w_2077_43")])
    assert tags(collection.all_images()) == ["w_2077_43"]
    assert tags(collection.all_images(hide_arch_specific=False)) == [
        "w_2077_44-amd64",
        "w_2077_43",
    ]


def test_latest_per_type_skips_arch_specific_and_may_be_none() -> None:
    collection = ImageCollection(
        [image("w_2077_44-amd64"), image("w_2077_43"), image("d_2077_1_1")]
    )
    assert collection.latest(ImageType.WEEKLY).tag == "w_2077_43"  # type: ignore[union-attr]
    assert collection.latest(ImageType.DAILY).tag == "d_2077_1_1"  # type: ignore[union-attr]
    assert collection.latest(ImageType.RELEASE) is None


def test_subset_counts_only_generic_images_and_includes_pins_even_arch_specific() -> None:
    collection = ImageCollection(
        image(t)
        for t in ["r21_0_1", "r21_0_0", "w_2077_46-amd64", "w_2077_45", "w_2077_44",
                  "w_2077_43", "d_2077_10_23", "r22_0_0_rc1", "exp_random", "w_2077_46-arm64"]
    )  # fmt: skip
    subset = collection.subset(
        releases=1, weeklies=2, dailies=0, include=["r22_0_0_rc1", "w_2077_46-arm64", "nope"]
    )
    assert tags(subset.all_images(hide_arch_specific=False)) == [
        "r21_0_1", "w_2077_46-arm64", "w_2077_45", "w_2077_44", "r22_0_0_rc1",
    ]  # fmt: skip


def test_subset_re_resolves_aliases_within_itself() -> None:
    collection = ImageCollection(
        [image("w_2077_43", "sha256:5"), image("latest_weekly", "sha256:5"), image("w_2077_42")]
    )
    alone = collection.subset(include=["latest_weekly"])
    alias = alone.image_for_tag("latest_weekly")
    assert alias is not None
    assert (alias.image_type, alias.alias_target, alias.aliases) == (ImageType.UNKNOWN, None, set())
    both = collection.subset(weeklies=1, include=["latest_weekly"])
    assert both.image_for_tag("latest_weekly").alias_target == "w_2077_43"  # type: ignore[union-attr]


def test_subtract_keeps_one_primary_per_missing_digest() -> None:
    wanted = ImageCollection(
        [image("recommended", "sha256:a"), image("w_2077_43", "sha256:a"),
         image("d_2077_10_23", "sha256:b"), image("w_2077_42", "sha256:c"), image("unresolved")]
    )  # fmt: skip
    present = ImageCollection([image("w_2077_42", "sha256:c")])
    missing = wanted.subtract(present)
    assert tags(missing.all_images()) == ["w_2077_43", "d_2077_10_23"]


def test_record_on_node_marks_every_tag_of_the_digest() -> None:
    collection = ImageCollection([image("w_2077_43", "sha256:a"), image("recommended", "sha256:a")])
    collection.record_on_node("sha256:a", "node1", size=65537)
    assert [(i.nodes, i.size) for i in collection.all_images()] == [({"node1"}, 65537)] * 2


# -- §4.6 dropdown filter ------------------------------------------------------------------


def test_dropdown_filter_example() -> None:
    policy = DropdownMenuConfig.model_validate(
        {
            "release": {"cutoffBuild": 2600, "cutoffVersion": "27.0.0"},
            "weekly": {"age": "2w"},
            "daily": {"age": "2d", "number": 4},
            "releaseCandidate": {"cutoffVersion": "25.3.1", "number": 1},
            "experimental": {"cutoffDate": "2025-02-07"},
        }
    )
    names = ["recommended", "recommended-amd64", "r29_2_1_rsp2742", "r29_2_1_rsp2332",
             "r28_0_1", "r28_0_1-amd64", "r28_0_0", "r27_0_0", "r26_0_0", "w_2025_07",
             "w_2025_07-arm64", "w_2025_06", "w_2025_05", "w_2025_04", "d_2025_02_19",
             "d_2025_02_18", "d_2025_02_17", "d_2025_02_16", "r28_0_0_rc2-amd64",
             "r28_0_0_rc1", "r27_0_0_rc1", "exp_w_2025_07", "exp_w_2025_06", "exp_w_2025_05",
             "unknown"]  # fmt: skip
    aliases = frozenset({"recommended", "recommended-amd64"})
    collection = ImageCollection(image(n, aliases=aliases) for n in names)
    chosen = collection.filter(policy, datetime(2025, 2, 19, 17, tzinfo=UTC))
    assert tags(chosen) == [
        "recommended", "r29_2_1_rsp2742", "r28_0_1", "r28_0_0", "r27_0_0", "w_2025_07",
        "w_2025_06", "d_2025_02_19", "d_2025_02_18", "r28_0_0_rc1", "exp_w_2025_07", "unknown",
    ]  # fmt: skip


def test_dropdown_filter_number_zero_means_no_limit() -> None:
    policy = DropdownMenuConfig.model_validate({"weekly": {"number": 0}})
    collection = ImageCollection(image(f"w_2077_{n}") for n in range(10, 20))
    assert len(collection.filter(policy, datetime(2077, 1, 1, tzinfo=UTC))) == 10


# -- §11 worked examples ---------------------------------------------------------------------

STANDARD = {
    "latest_weekly": "sha256:5678", "w_2077_43": "sha256:5678", "recommended": "sha256:5678",
    "latest_daily": "sha256:1234", "d_2077_10_23": "sha256:1234",
    "w_2077_44-amd64": "sha256:5679",
}  # fmt: skip


def test_standard_docker_example() -> None:
    aliases = frozenset({"recommended"})
    remote = ImageCollection(image(t, aliases=aliases) for t in STANDARD)
    assert {i.tag: i.image_type.value for i in remote.all_images(hide_arch_specific=False)} == {
        "recommended": "Alias", "w_2077_43": "Weekly", "w_2077_44-amd64": "Weekly",
        "d_2077_10_23": "Daily", "latest_weekly": "Unknown", "latest_daily": "Unknown",
    }  # fmt: skip
    selection = remote.subset(releases=1, weeklies=2, dailies=3, include=["recommended"])
    assert {i.tag for i in selection.all_images(hide_arch_specific=False)} == {
        "recommended", "w_2077_43", "d_2077_10_23",
    }  # fmt: skip
    # The Docker source then fetches one digest per selected tag.
    prepull = ImageCollection(
        image(i.tag, STANDARD[i.tag], aliases=aliases)
        for i in selection.all_images(hide_arch_specific=False)
    )
    recommended = prepull.image_for_tag("recommended")
    assert recommended is not None
    assert recommended.display_name == "Recommended (Weekly 2077_43)"
    assert str(recommended.reference_with_digest) == (
        "lighthouse.ceres/library/sketchbook:recommended@sha256:5678"
    )
    node2 = ImageCollection([image("w_2077_43", "sha256:5678")])
    assert tags(prepull.subtract(node2).all_images()) == ["d_2077_10_23"]
    assert tags(prepull.all_images(hide_aliased=True)) == ["recommended", "d_2077_10_23"]
    assert tags(prepull.all_images(hide_resolved_aliases=True)) == ["w_2077_43", "d_2077_10_23"]


def test_gar_example_resolves_unknown_aliases_automatically() -> None:
    remote = ImageCollection(
        [image("w_2077_43", "sha256:43"), image("recommended", "sha256:43"),
         image("latest_weekly", "sha256:43"), image("w_2077_42", "sha256:42"),
         image("w_2077_41", "sha256:41"), image("exp_w_2077_41_testing", "sha256:e41"),
         image("w_2077_44-amd64", "sha256:44")]
    )  # fmt: skip
    names = {i.tag: i.display_name for i in remote.all_images()}
    assert names["recommended"] == "Recommended (Weekly 2077_43)"
    assert names["latest_weekly"] == "Latest Weekly (Weekly 2077_43)"
    prepull = remote.subset(releases=1, weeklies=2, dailies=3, include=["recommended"])
    assert tags(prepull.all_images()) == ["recommended", "w_2077_43", "w_2077_42"]
    assert tags(prepull.subtract(ImageCollection()).all_images()) == ["w_2077_43", "w_2077_42"]
    assert tags(prepull.all_images(hide_aliased=True)) == ["recommended", "w_2077_42"]


def test_cycle_example() -> None:
    aliases = frozenset({"recommended_c0050", "latest_c0050"})
    digests = {
        "recommended_c0050": "sha256:2", "latest_c0050": "sha256:4",
        "w_2077_43_c0050.004": "sha256:4", "w_2077_43_c0050.003": "sha256:3",
        "w_2077_43_c0050.002": "sha256:2", "w_2077_43_c0050.001": "sha256:1",
        "w_2077_43_c0049.009": "sha256:49", "recommended": "sha256:2",
    }  # fmt: skip
    remote = ImageCollection((image(t, aliases=aliases) for t in digests), cycle=50)
    selection = remote.subset(weeklies=3, include=["recommended_c0050"])
    prepull = ImageCollection(
        image(i.tag, digests[i.tag], aliases=aliases) for i in selection.all_images()
    )
    assert tags(prepull.all_images()) == [
        "recommended_c0050", "w_2077_43_c0050.004", "w_2077_43_c0050.003", "w_2077_43_c0050.002",
    ]  # fmt: skip
    assert prepull.image_for_tag("recommended_c0050").display_name == (  # type: ignore[union-attr]
        "Recommended (Weekly 2077_43, SAL Cycle 0050, Build 002)"
    )
    assert tags(prepull.all_images(hide_aliased=True)) == [
        "recommended_c0050", "w_2077_43_c0050.004", "w_2077_43_c0050.003",
    ]  # fmt: skip
    assert remote.image_for_tag("latest_c0050").display_name == "Latest (SAL Cycle 0050)"  # type: ignore[union-attr]
