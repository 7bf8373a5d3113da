"""The RSP tag grammar: every vector of images.md §3.6 to 3.8, plus property tests."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.images.tags import ImageType, RSPImageTag, SemanticVersion

# -- §3.6 parsing vectors, verbatim --------------------------------------------------------
# (tag, type, version, cycle, cycle build, build, extra, arch, base, date, display name)
PARSE_VECTORS = [
    ("r21_0_1", "Release", "21.0.1", None, None, None, None, None, None, None, "Release r21.0.1"),
    ("r170", "Release", "17.0.0", None, None, None, None, None, None, None, "Release r17.0.0"),
    ("r21_0_1_rsp19", "Release", "21.0.1", None, None, 19, None, None, None, None,
     "Release r21.0.1 (RSP Build 19)"),
    ("r21_0_1_c0020.001_rsp19_20210527-amd64", "Release", "21.0.1", 20, 1, 19, "20210527",
     "amd64", None, None,
     "Release r21.0.1 (SAL Cycle 0020, Build 001) (RSP Build 19) [20210527] [amd64]"),
    ("r21_0_1_c0020", "Release", "21.0.1", None, None, None, "c0020", None, None, None,
     "Release r21.0.1 [c0020]"),
    ("r21_0_1_rc", "Release", "21.0.1", None, None, None, "rc", None, None, None,
     "Release r21.0.1 [rc]"),
    ("r22_0_0_rc1", "Release Candidate", "22.0.0-rc1", None, None, None, None, None, None, None,
     "Release Candidate r22.0.0-rc1"),
    ("r22_0_0_rc1-arm64", "Release Candidate", "22.0.0-rc1", None, None, None, None, "arm64",
     None, None, "Release Candidate r22.0.0-rc1 [arm64]"),
    ("w_2021_22", "Weekly", "2021.22.0", None, None, None, None, None, None, "2021-06-03",
     "Weekly 2021_22"),
    ("w_2021_1", "Weekly", "2021.1.0", None, None, None, None, None, None, "2021-01-07",
     "Weekly 2021_1"),
    ("w_2021_22_rsp19-arm64", "Weekly", "2021.22.0", None, None, 19, None, "arm64", None,
     "2021-06-03", "Weekly 2021_22 (RSP Build 19) [arm64]"),
    ("w_2021_22_rsp19_c0020.001", "Weekly", "2021.22.0", None, None, 19, "c0020.001", None,
     None, "2021-06-03", "Weekly 2021_22 (RSP Build 19) [c0020.001]"),
    ("w_2077_46-amd64", "Weekly", "2077.46.0", None, None, None, None, "amd64", None,
     "2077-11-18", "Weekly 2077_46 [amd64]"),
    ("d_2021_05_27", "Daily", "2021.5.27", None, None, None, None, None, None, "2021-05-27",
     "Daily 2021_05_27"),
    ("d_2021_5_7", "Daily", "2021.5.7", None, None, None, None, None, None, "2021-05-07",
     "Daily 2021_5_7"),
    ("d_2023_02_10_c0030.004", "Daily", "2023.2.10", 30, 4, None, None, None, None,
     "2023-02-10", "Daily 2023_02_10 (SAL Cycle 0030, Build 004)"),
    ("exp_random", "Experimental", None, None, None, None, None, None, "random", None,
     "Experimental random"),
    ("exp_20230209", "Experimental", None, None, None, None, None, None, "20230209", None,
     "Experimental 20230209"),
    ("exp_random_c0027-amd64", "Experimental", None, 27, None, None, None, "amd64", "random",
     None, "Experimental random (SAL Cycle 0027) [amd64]"),
    ("exp_w_2021_22", "Experimental", "2021.22.0", None, None, None, None, None, None,
     "2021-06-03", "Experimental Weekly 2021_22"),
    ("exp_w_2021_22_c0020.001_rsp19_foo-amd64", "Experimental", "2021.22.0", 20, 1, 19, "foo",
     "amd64", None, "2021-06-03",
     "Experimental Weekly 2021_22 (SAL Cycle 0020, Build 001) (RSP Build 19) [foo] [amd64]"),
    ("exp_r28_0_1_exp", "Experimental", "28.0.1", None, None, None, "exp", None, None, None,
     "Experimental Release r28.0.1 [exp]"),
    ("exp_", "Unknown", None, None, None, None, None, None, "exp_", None, "exp_"),
    ("recommended", "Unknown", None, None, None, None, None, None, "recommended", None,
     "recommended"),
    ("recommended_c0027", "Unknown", None, 27, None, None, None, None, "recommended", None,
     "recommended (SAL Cycle 0027)"),
    ("recommended_c0027-arm64", "Unknown", None, 27, None, None, None, "arm64", "recommended",
     None, "recommended (SAL Cycle 0027) [arm64]"),
    ("latest-amd64", "Unknown", None, None, None, None, None, "amd64", "latest", None,
     "latest [amd64]"),
    ("latest_c0027-amd64", "Unknown", None, 27, None, None, None, "amd64", "latest", None,
     "latest (SAL Cycle 0027) [amd64]"),
    ("latest_c0027_extra", "Unknown", None, None, None, None, None, None, "latest_c0027_extra",
     None, "latest_c0027_extra"),
    ("not_a_normal_format", "Unknown", None, None, None, None, None, None,
     "not_a_normal_format", None, "not_a_normal_format"),
    ("MiXeD_CaSe_TaG", "Unknown", None, None, None, None, None, None, "MiXeD_CaSe_TaG", None,
     "MiXeD_CaSe_TaG"),
    ("r21_0_1-Amd64", "Unknown", None, None, None, None, None, None, "r21_0_1-Amd64", None,
     "r21_0_1-Amd64"),
    ("", "Unknown", None, None, None, None, None, None, "latest", None, "latest"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("tag", "kind", "version", "cycle", "cbuild", "build", "extra", "arch", "base", "date",
     "display"),
    PARSE_VECTORS,
    ids=[v[0] or "<empty>" for v in PARSE_VECTORS],
)  # fmt: skip
def test_parse_vectors(
    tag: str,
    kind: str,
    version: str | None,
    cycle: int | None,
    cbuild: int | None,
    build: int | None,
    extra: str | None,
    arch: str | None,
    base: str | None,
    date: str | None,
    display: str,
) -> None:
    parsed = RSPImageTag.parse(tag)
    assert parsed.tag == (tag or "latest")
    assert parsed.image_type.value == kind
    assert (None if parsed.version is None else str(parsed.version)) == version
    assert (parsed.cycle, parsed.cycle_build, parsed.build) == (cycle, cbuild, build)
    assert (parsed.extra, parsed.architecture, parsed.base) == (extra, arch, base)
    expected_date = None if date is None else datetime.fromisoformat(date).replace(tzinfo=UTC)
    assert parsed.date == expected_date
    assert parsed.display_name == display


def test_semantic_flag_marks_releases_candidates_and_their_experimental_builds() -> None:
    semantic = {t for t, *_ in PARSE_VECTORS if RSPImageTag.parse(t).semantic}
    assert semantic == {
        "r21_0_1", "r170", "r21_0_1_rsp19", "r21_0_1_c0020.001_rsp19_20210527-amd64",
        "r21_0_1_c0020", "r21_0_1_rc", "r22_0_0_rc1", "r22_0_0_rc1-arm64", "exp_r28_0_1_exp",
    }  # fmt: skip


def test_impossible_dates_fall_through_to_unknown() -> None:
    for tag in ("w_2021_60", "d_2021_13_01", "d_2021_02_30-amd64"):
        parsed = RSPImageTag.parse(tag)
        assert parsed.image_type is ImageType.UNKNOWN
    assert RSPImageTag.parse("d_2021_02_30-amd64").display_name == "d_2021_02_30 [amd64]"


# -- §3.6 variant composition ----------------------------------------------------------------

BASES = {
    "d_2021_05_27": ("Daily", "2021.5.27", "Daily 2021_05_27"),
    "w_2021_22": ("Weekly", "2021.22.0", "Weekly 2021_22"),
    "r22_0_0_rc1": ("Release Candidate", "22.0.0-rc1", "Release Candidate r22.0.0-rc1"),
    "r21_0_1": ("Release", "21.0.1", "Release r21.0.1"),
}


def variants() -> list[tuple[str, bool, bool, bool, str | None, bool]]:
    return list(
        itertools.product(BASES, [False, True], [False, True], [False, True],
                          [None, "20210527", "random"], [False, True])
    )  # fmt: skip


@pytest.mark.parametrize(("base", "exp", "cycle", "rsp", "rest", "arch"), variants())
def test_every_suffix_combination(
    base: str, exp: bool, cycle: bool, rsp: bool, rest: str | None, arch: bool
) -> None:
    tag = ("exp_" if exp else "") + base
    tag += ("_c0020.001" if cycle else "") + ("_rsp19" if rsp else "")
    tag += (f"_{rest}" if rest else "") + ("-amd64" if arch else "")
    kind, version, display = BASES[base]
    display = ("Experimental " if exp else "") + display
    display += " (SAL Cycle 0020, Build 001)" if cycle else ""
    display += " (RSP Build 19)" if rsp else ""
    display += f" [{rest}]" if rest else ""
    display += " [amd64]" if arch else ""

    parsed = RSPImageTag.parse(tag)
    assert parsed.image_type.value == ("Experimental" if exp else kind)
    assert str(parsed.version) == version
    assert (parsed.cycle, parsed.cycle_build) == ((20, 1) if cycle else (None, None))
    assert parsed.build == (19 if rsp else None)
    assert parsed.extra == rest
    assert parsed.architecture == ("amd64" if arch else None)
    assert parsed.display_name == display


# -- §3.7 alias constructor ----------------------------------------------------------------

ALIAS_VECTORS = [
    ("recommended", "Recommended", "recommended", None, None),
    ("latest_weekly", "Latest Weekly", "latest_weekly", None, None),
    ("latest_weekly_c0046", "Latest Weekly (SAL Cycle 0046)", "latest_weekly", 46, None),
    ("latest-amd64", "Latest [amd64]", "latest", None, "amd64"),
    ("latest_c0046-arm64", "Latest (SAL Cycle 0046) [arm64]", "latest", 46, "arm64"),
    ("recommended_c0050", "Recommended (SAL Cycle 0050)", "recommended", 50, None),
]


@pytest.mark.parametrize(("tag", "display", "base", "cycle", "arch"), ALIAS_VECTORS)
def test_alias_constructor(
    tag: str, display: str, base: str, cycle: int | None, arch: str | None
) -> None:
    parsed = RSPImageTag.parse(tag, aliases={tag})
    assert parsed.image_type is ImageType.ALIAS
    assert (parsed.display_name, parsed.base, parsed.cycle, parsed.architecture) == (
        display, base, cycle, arch,
    )  # fmt: skip
    assert (parsed.version, parsed.date, parsed.semantic) == (None, None, False)


# -- §3.7 alias resolution (the tag part; collection tests cover the digest matching) --------

RESOLUTION_VECTORS = [
    ("recommended", False, "d_2077_10_23_c0045.003",
     "Recommended (Daily 2077_10_23, SAL Cycle 0045, Build 003)", 45, None),
    ("latest_daily_c0045", True, "d_2077_10_23_c0045.003",
     "Latest Daily (Daily 2077_10_23, SAL Cycle 0045, Build 003)", 45, None),
    ("latest", False, "r21_0_2_rsp64_stuff-amd64",
     "Latest (Release r21.0.2, RSP Build 64 [stuff]) [amd64]", None, "amd64"),
    ("latest_c0040", False, "w_2077_45-amd64", "Latest (Weekly 2077_45) [amd64]", None, "amd64"),
    ("latest_weekly-arm64", False, "w_2077_45-amd64",
     "Latest Weekly (Weekly 2077_45 [amd64]) [arm64]", None, "arm64"),
    ("recommended_c0050", False, "w_2077_43_c0050.002",
     "Recommended (Weekly 2077_43, SAL Cycle 0050, Build 002)", 50, None),
    ("latest_weekly", False, "w_2077_43", "Latest Weekly (Weekly 2077_43)", None, None),
    ("recommended", False, "r28_0_1_rsp2742", "Recommended (Release r28.0.1, RSP Build 2742)",
     None, None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("alias", "declared", "target", "display", "cycle", "arch"), RESOLUTION_VECTORS
)
def test_alias_resolution_display(
    alias: str, declared: bool, target: str, display: str, cycle: int | None, arch: str | None
) -> None:
    possible = RSPImageTag.parse(alias, aliases={alias} if declared else set())
    resolved = possible.resolved_to(RSPImageTag.parse(target))
    assert resolved.image_type is ImageType.ALIAS
    assert resolved.display_name == display
    assert (resolved.cycle, resolved.architecture) == (cycle, arch)
    assert resolved.semantic is False


# -- §3.8 ordering -------------------------------------------------------------------------

ASCENDING_RELEASES = """
r21_0_1 < r21_0_1_rsp29 < r21_0_1_rsp103 < r21_0_1_rsp103_extra
  < r21_0_1_rsp103_foo-amd64 < r21_0_1_rsp103_foo-arm64 < r21_0_1_rsp103_foo
  < r21_0_1_c0031.004 < r21_0_1_c0031.004_rsp103 < r21_0_1_c0032.004_rsp102
  < r21_0_1_c0032.004_rsp103 < r21_0_1_c0032.005_rsp101
"""

FULL_ORDER = """
r21_0_1, r20_0_1_c0027.001,
w_2077_46, w_2077_46-amd64, w_2077_45, w_2077_44, w_2077_43, w_2077_42,
w_2077_40_c0027.001, w_2077_40_c0026.001, w_2077_40_c0026.001-amd64,
d_2077_10_21, d_2077_10_20,
r22_0_1_rc1-arm64, r22_0_0_rc1,
exp_w_2021_22,
recommended_c0027, recommended, latest_c0027-arm64, latest-arm64
"""


def split(text: str, separator: str) -> list[str]:
    return [word.strip() for word in text.replace("\n", " ").split(separator) if word.strip()]


def test_release_chain_is_strictly_ascending() -> None:
    tags = [RSPImageTag.parse(t) for t in split(ASCENDING_RELEASES, "<")]
    for lower, higher in itertools.pairwise(tags):
        assert lower < higher, (lower.tag, higher.tag)
        assert not higher < lower
    assert sorted(random.sample(tags, len(tags))) == tags


@pytest.mark.parametrize(
    "chain",
    [
        ["r21_0_1", "r21_0_2"],
        ["d_2023_02_09", "d_2023_02_10_c0030.004", "d_2023_02_10_c0031.004",
         "d_2023_02_10_c0031.005"],
        ["exp_20230209", "exp_random"],
    ],
)  # fmt: skip
def test_other_ordered_pairs(chain: list[str]) -> None:
    tags = [RSPImageTag.parse(t) for t in chain]
    for lower, higher in itertools.pairwise(tags):
        assert lower < higher


def test_comparing_different_types_is_a_type_error_and_never_equal() -> None:
    release, daily = RSPImageTag.parse("r21_0_1"), RSPImageTag.parse("d_2023_02_09")
    with pytest.raises(TypeError, match="Release"):
        _ = release < daily
    assert release != daily


def descending_by_type(
    tags: list[str], aliases: frozenset[str] | set[str] = frozenset()
) -> list[str]:
    parsed = [RSPImageTag.parse(t, aliases) for t in tags]
    ordered = sorted(parsed, key=lambda t: (t.image_type.priority, _Descending(t)))
    return [t.tag for t in ordered]


class _Descending:
    def __init__(self, tag: RSPImageTag) -> None:
        self.tag = tag

    def __lt__(self, other: _Descending) -> bool:
        return other.tag < self.tag


def test_full_collection_order() -> None:
    expected = split(FULL_ORDER, ",")
    shuffled = sorted(expected)
    assert descending_by_type(shuffled) == expected


def test_declared_aliases_move_to_the_front() -> None:
    expected = split(FULL_ORDER, ",")
    ordered = descending_by_type(sorted(expected), {"recommended", "recommended_c0027"})
    assert ordered[:2] == ["recommended_c0027", "recommended"]
    assert ordered[2:] == [t for t in expected if not t.startswith("recommended")]


def test_unversioned_experimental_precedes_versioned_in_descending_order() -> None:
    assert descending_by_type(["exp_w_2021_22", "exp_random"]) == ["exp_random", "exp_w_2021_22"]


def test_type_priority_order() -> None:
    assert [t.value for t in sorted(ImageType, key=lambda t: t.priority)] == [
        "Alias", "Release", "Weekly", "Daily", "Release Candidate", "Experimental", "Unknown",
    ]  # fmt: skip


def test_semver_precedence() -> None:
    versions = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta.2",
                "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "2.0.0", "2.1.0", "2.1.1"]  # fmt: skip
    parsed = [SemanticVersion.parse(v) for v in versions]
    assert sorted(random.sample(parsed, len(parsed))) == parsed
    with pytest.raises(ValueError, match="not a semantic version"):
        SemanticVersion.parse("1.0")


# -- properties ----------------------------------------------------------------------------

_numbers = st.integers(min_value=0, max_value=120).map(str)
_words = st.text("abcdefghijklmnopqrstuvwxyz0123456789._-", min_size=1, max_size=8)
_suffixes = st.tuples(
    st.none() | st.tuples(_numbers, _numbers).map(lambda p: f"_c{p[0]:0>4}.{p[1]:0>3}"),
    st.none() | _numbers.map(lambda n: f"_rsp{n}"),
    st.none() | _words.map(lambda w: f"_{w}"),
    st.none() | st.sampled_from(["-amd64", "-arm64", "-Amd64"]),
).map(lambda parts: "".join(p for p in parts if p))
_families = [
    st.tuples(_numbers, _numbers, _numbers).map(lambda v: f"r{v[0]}_{v[1]}_{v[2]}"),
    st.tuples(_numbers, _numbers, _numbers, _numbers).map(
        lambda v: f"r{v[0]}_{v[1]}_{v[2]}_rc{v[3]}"
    ),
    st.tuples(st.integers(1990, 2100), st.integers(1, 53)).map(lambda v: f"w_{v[0]}_{v[1]}"),
    st.tuples(st.integers(1990, 2100), st.integers(1, 12), st.integers(1, 31)).map(
        lambda v: f"d_{v[0]}_{v[1]:02}_{v[2]:02}"
    ),
    _words,
    st.sampled_from(["recommended", "latest", "latest_weekly", "r170"]),
]


def _tags_of(heads: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda exp, head, suffix: exp + head + suffix,
        st.sampled_from(["", "exp_"]),
        heads,
        _suffixes,
    )


rsp_tags = _tags_of(st.one_of(_families)) | st.text(max_size=20)
# Three tags drawn from one family, so that most triples share a type and really get compared.
same_family_triples = st.sampled_from(_families).flatmap(
    lambda heads: st.tuples(_tags_of(heads), _tags_of(heads), _tags_of(heads))
)


@given(rsp_tags)
def test_parsing_never_fails_and_display_is_stable(tag: str) -> None:
    first, second = RSPImageTag.parse(tag), RSPImageTag.parse(tag)
    assert first.display_name == second.display_name
    assert first == second
    assert hash(first) == hash(second)
    assert first.tag == (tag or "latest")
    assert first.display_name


@given(rsp_tags, rsp_tags)
def test_order_is_antisymmetric_and_total(a: str, b: str) -> None:
    x, y = RSPImageTag.parse(a), RSPImageTag.parse(b)
    if x.image_type is not y.image_type:
        assert x != y
        return
    assert (x < y) + (y < x) + (x == y) == 1  # exactly one holds: total and antisymmetric
    if x <= y and y <= x:
        assert x.tag == y.tag


@given(same_family_triples)
def test_order_is_transitive(triple: tuple[str, str, str]) -> None:
    x, y, z = (RSPImageTag.parse(t) for t in triple)
    if not x.image_type is y.image_type is z.image_type:
        return
    for a, b, c in itertools.permutations((x, y, z)):
        if a <= b and b <= c:
            assert a <= c
        if a < b and b < c:
            assert a < c


@given(st.lists(rsp_tags, max_size=30))
def test_sorting_is_independent_of_input_order(tags: list[str]) -> None:
    once = descending_by_type(tags)
    assert descending_by_type(list(reversed(tags))) == once
    assert descending_by_type(sorted(tags)) == once
