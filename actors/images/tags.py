"""The RSP image tag grammar (SQR-059 convention; images.md §3).

A tag string parses into an :class:`RSPImageTag`: its type (which is also its menu priority),
version or base name, optional SAL cycle, RSP build, free text and architecture, a date for
weeklies and dailies, and a human display name. Parsing never fails: a string that matches no
known form is an ``Unknown`` tag displayed as itself.

Ordering invariants (§3.4):

* only tags of the same type are ordered; ``<`` between types raises ``TypeError``, and ``==``
  between types is false;
* within a type the order is a *total* order given by :attr:`RSPImageTag.sort_key`: version
  (or base name when there is no version), cycle, cycle build, RSP build, free text, then
  architecture with "no architecture" highest, and finally the tag string itself so that two
  distinct tags are never equal (which keeps ``==`` consistent with hashing on the tag);
* tags with a version sort below tags without one. The spec phrases the first step pairwise
  ("if either lacks a version compare bases, null lowest"); since every versioned tag has no
  base, comparing (has-version, version) before bases is the same order, made transitive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import Enum
from typing import Any

__all__ = [
    "ImageType",
    "RSPImageTag",
    "SemanticVersion",
]


class ImageType(Enum):
    """Tag types, declared in menu priority order (Alias first, Unknown last)."""

    ALIAS = "Alias"
    RELEASE = "Release"
    WEEKLY = "Weekly"
    DAILY = "Daily"
    CANDIDATE = "Release Candidate"
    EXPERIMENTAL = "Experimental"
    UNKNOWN = "Unknown"

    @property
    def priority(self) -> int:
        """1 for Alias ... 7 for Unknown (images.md §3.1)."""
        return _PRIORITY[self]


_PRIORITY = {image_type: index + 1 for index, image_type in enumerate(ImageType)}

_SEMVER_RE = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?"
)


@dataclass(frozen=True, slots=True)
class SemanticVersion:
    """A semantic version with semver precedence (build metadata is ignored).

    A pre-release is lower than the same version without one; pre-release identifiers
    compare numerically when both are numbers, numbers below words, words as strings
    (so ``rc10 < rc2``, exactly as semver.org defines it).
    """

    major: int
    minor: int
    patch: int
    prerelease: str | None = None
    key: tuple[Any, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.prerelease is None:
            pre: tuple[Any, ...] = (1,)
        else:
            pre = (
                0,
                tuple(
                    (0, int(part), "") if part.isdigit() else (1, 0, part)
                    for part in self.prerelease.split(".")
                ),
            )
        object.__setattr__(self, "key", (self.major, self.minor, self.patch, pre))

    @classmethod
    def parse(cls, text: str) -> SemanticVersion:
        """Parse ``major.minor.patch[-pre][+build]``; ``ValueError`` for anything else."""
        match = _SEMVER_RE.fullmatch(text)
        if match is None:
            raise ValueError(f"{text!r} is not a semantic version")
        return cls(int(match[1]), int(match[2]), int(match[3]), match[4])

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        return f"{text}-{self.prerelease}" if self.prerelease else text

    def __lt__(self, other: SemanticVersion) -> bool:
        return self.key < other.key

    def __le__(self, other: SemanticVersion) -> bool:
        return self.key <= other.key

    def __gt__(self, other: SemanticVersion) -> bool:
        return self.key > other.key

    def __ge__(self, other: SemanticVersion) -> bool:
        return self.key >= other.key


# --- grammar building blocks (images.md §3.2) ---------------------------------------------

_RELEASE = r"r(?P<major>\d+)_(?P<minor>\d+)_(?P<patch>\d+)"
_CANDIDATE = r"r(?P<major>\d+)_(?P<minor>\d+)_(?P<patch>\d+)_(?P<pre>rc\d+)"
_WEEKLY = r"w_(?P<year>\d+)_(?P<week>\d+)"
_DAILY = r"d_(?P<year>\d+)_(?P<month>\d+)_(?P<day>\d+)"
_EXPERIMENTAL = r"exp_(?P<rest>.+)"
_UNKNOWN = r"(?P<tag>.*?)"
_UNKNOWN_WITH_CYCLE = r"(?P<tag>.*?)_c(?P<cycle>\d+)"
_CYCLE = r"(?:_c(?P<cycle>\d+)\.(?P<cbuild>\d+))?"
_RSP = r"(?:_rsp(?P<build>\d+))?"
_REST = r"(?:_(?P<rest>.+?))?"
_ARCH = r"(?:-(?P<arch>[a-z0-9]+))?"
_SUFFIXES = _CYCLE + _RSP + _REST + _ARCH

# Patterns are used with fullmatch (Python's ``$`` would also match before a final newline).
_CANDIDATE_RE = re.compile(_CANDIDATE + _SUFFIXES, re.DOTALL)
_RELEASE_RE = re.compile(_RELEASE + _SUFFIXES, re.DOTALL)
_OLD_RELEASE_RE = re.compile(r"r(?P<major>\d\d)(?P<minor>\d)")
_WEEKLY_RE = re.compile(_WEEKLY + _SUFFIXES, re.DOTALL)
_DAILY_RE = re.compile(_DAILY + _SUFFIXES, re.DOTALL)
_EXPERIMENTAL_RE = re.compile(_EXPERIMENTAL, re.DOTALL)
_UNKNOWN_WITH_CYCLE_RE = re.compile(_UNKNOWN_WITH_CYCLE + _ARCH, re.DOTALL)
_UNKNOWN_RE = re.compile(_UNKNOWN + _ARCH, re.DOTALL)

_NO_BASE: tuple[Any, ...] = (-1,)


def _optional_int(value: int | None) -> tuple[int, int]:
    return (0, 0) if value is None else (1, value)


@dataclass(frozen=True, slots=True, eq=False)
class RSPImageTag:
    """One parsed tag. Build with :meth:`parse` or :meth:`parse_alias`, not directly."""

    tag: str
    image_type: ImageType
    display_name: str
    base: str | None = None
    version: SemanticVersion | None = None
    semantic: bool = False
    cycle: int | None = None
    cycle_build: int | None = None
    build: int | None = None
    architecture: str | None = None
    extra: str | None = None
    date: datetime | None = None
    sort_key: tuple[Any, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.version is not None:
            first: tuple[Any, ...] = (0, self.version.key)
        elif self.base is not None:
            first = (1, self.base)
        else:
            first = _NO_BASE
        key = (
            first,
            _optional_int(self.cycle),
            _optional_int(self.cycle_build),
            _optional_int(self.build),
            (0, "") if self.extra is None else (1, self.extra),
            (1, "") if self.architecture is None else (0, self.architecture),
            self.tag,
        )
        object.__setattr__(self, "sort_key", key)

    # -- construction ----------------------------------------------------------------------

    @classmethod
    def parse(cls, tag: str, aliases: frozenset[str] | set[str] = frozenset()) -> RSPImageTag:
        """Parse ``tag`` (empty means ``latest``). Tags in ``aliases`` become Alias tags."""
        tag = tag or "latest"
        if tag in aliases:
            return cls.parse_alias(tag)
        return _parse(tag)

    @classmethod
    def parse_alias(cls, tag: str) -> RSPImageTag:
        """Build an Alias tag (``latest_weekly_c0046`` shows ``Latest Weekly (SAL Cycle 0046)``)."""
        match = _UNKNOWN_WITH_CYCLE_RE.fullmatch(tag) or _UNKNOWN_RE.fullmatch(tag)
        assert match is not None  # the plain unknown pattern matches every string
        base = match["tag"]
        groups = match.groupdict()
        cycle_text = groups.get("cycle")
        arch = match["arch"]
        display = base.replace("_", " ").title()
        if cycle_text is not None:
            display += f" (SAL Cycle {cycle_text})"
        if arch is not None:
            display += f" [{arch}]"
        return cls(
            tag=tag,
            image_type=ImageType.ALIAS,
            display_name=display,
            base=base,
            cycle=None if cycle_text is None else int(cycle_text),
            architecture=arch,
        )

    def resolved_to(self, target: RSPImageTag) -> RSPImageTag:
        """This Alias/Unknown tag resolved as an alias of ``target`` (images.md §3.5).

        The cycle always comes from the target; architecture and date only when this tag has
        none. The display name is ``<Base Name> (<target display, flattened>)`` plus this
        tag's architecture.
        """
        architecture = self.architecture if self.architecture is not None else target.architecture
        detail = target.display_name
        if " (" in detail:
            detail = detail.replace(" (", ", ").replace(")", "")
        if architecture is not None:
            detail = detail.replace(f" [{architecture}]", "")
        display = f"{(self.base or self.tag).replace('_', ' ').title()} ({detail})"
        if architecture is not None:
            display += f" [{architecture}]"
        return replace(
            self,
            image_type=ImageType.ALIAS,
            display_name=display,
            cycle=target.cycle,
            architecture=architecture,
            date=self.date if self.date is not None else target.date,
        )

    # -- properties ------------------------------------------------------------------------

    @property
    def is_possible_alias(self) -> bool:
        """Alias and Unknown tags may turn out to be aliases of another image (§3.5)."""
        return self.image_type in (ImageType.ALIAS, ImageType.UNKNOWN)

    @property
    def architecture_specific(self) -> bool:
        """True for tags with an architecture suffix such as ``-amd64``."""
        return self.architecture is not None

    # -- comparison ------------------------------------------------------------------------

    def _check(self, other: object) -> RSPImageTag:
        if not isinstance(other, RSPImageTag):
            raise TypeError(f"cannot compare RSPImageTag with {type(other).__name__}")
        if other.image_type is not self.image_type:
            raise TypeError(
                f"cannot compare {self.image_type.value} tag {self.tag!r} with"
                f" {other.image_type.value} tag {other.tag!r}"
            )
        return other

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RSPImageTag):
            return NotImplemented
        return other.image_type is self.image_type and other.sort_key == self.sort_key

    def __hash__(self) -> int:
        return hash(self.tag)

    def __lt__(self, other: RSPImageTag) -> bool:
        return self.sort_key < self._check(other).sort_key

    def __le__(self, other: RSPImageTag) -> bool:
        return self.sort_key <= self._check(other).sort_key

    def __gt__(self, other: RSPImageTag) -> bool:
        return self.sort_key > self._check(other).sort_key

    def __ge__(self, other: RSPImageTag) -> bool:
        return self.sort_key >= self._check(other).sort_key


# --- parsing ------------------------------------------------------------------------------


def _suffix_display(match: re.Match[str]) -> str:
    """The display parts for cycle, RSP build, free text and architecture, in that order."""
    text = ""
    cycle, cbuild, build, rest, arch = match.group("cycle", "cbuild", "build", "rest", "arch")
    if cycle is not None:
        text += f" (SAL Cycle {cycle}, Build {cbuild})"
    if build is not None:
        text += f" (RSP Build {build})"
    if rest is not None:
        text += f" [{rest}]"
    if arch is not None:
        text += f" [{arch}]"
    return text


def _versioned(
    tag: str,
    image_type: ImageType,
    match: re.Match[str],
    version: SemanticVersion,
    head: str,
    *,
    semantic: bool,
    date: datetime | None,
) -> RSPImageTag:
    cycle, cbuild, build = match.group("cycle", "cbuild", "build")
    return RSPImageTag(
        tag=tag,
        image_type=image_type,
        display_name=head + _suffix_display(match),
        version=version,
        semantic=semantic,
        cycle=None if cycle is None else int(cycle),
        cycle_build=None if cbuild is None else int(cbuild),
        build=None if build is None else int(build),
        architecture=match["arch"],
        extra=match["rest"],
        date=date,
    )


def _release(tag: str, match: re.Match[str], image_type: ImageType) -> RSPImageTag:
    pre = match["pre"] if image_type is ImageType.CANDIDATE else None
    version = SemanticVersion(int(match["major"]), int(match["minor"]), int(match["patch"]), pre)
    head = f"{image_type.value} r{version}"
    return _versioned(tag, image_type, match, version, head, semantic=True, date=None)


def _candidate(tag: str, match: re.Match[str]) -> RSPImageTag:
    return _release(tag, match, ImageType.CANDIDATE)


def _full_release(tag: str, match: re.Match[str]) -> RSPImageTag:
    return _release(tag, match, ImageType.RELEASE)


def _old_release(tag: str, match: re.Match[str]) -> RSPImageTag:
    version = SemanticVersion(int(match["major"]), int(match["minor"]), 0)
    return RSPImageTag(
        tag=tag,
        image_type=ImageType.RELEASE,
        display_name=f"Release r{version}",
        version=version,
        semantic=True,
    )


def _weekly(tag: str, match: re.Match[str]) -> RSPImageTag:
    year, week = match["year"], match["week"]
    # Thursday of the ISO week; an impossible week raises ValueError and the parser moves on.
    date = datetime.fromisocalendar(int(year), int(week), 4).replace(tzinfo=UTC)
    version = SemanticVersion(int(year), int(week), 0)
    head = f"Weekly {year}_{week}"
    return _versioned(tag, ImageType.WEEKLY, match, version, head, semantic=False, date=date)


def _daily(tag: str, match: re.Match[str]) -> RSPImageTag:
    year, month, day = match["year"], match["month"], match["day"]
    date = datetime(int(year), int(month), int(day), tzinfo=UTC)
    version = SemanticVersion(int(year), int(month), int(day))
    head = f"Daily {year}_{month}_{day}"
    return _versioned(tag, ImageType.DAILY, match, version, head, semantic=False, date=date)


def _experimental(tag: str, match: re.Match[str]) -> RSPImageTag:
    inner = _parse(match["rest"])
    return replace(
        inner,
        tag=tag,
        image_type=ImageType.EXPERIMENTAL,
        display_name=f"Experimental {inner.display_name}",
    )


def _unknown(tag: str, match: re.Match[str]) -> RSPImageTag:
    base = match["tag"]
    groups = match.groupdict()
    cycle_text = groups.get("cycle")
    arch = match["arch"]
    display = base
    if cycle_text is not None:
        display += f" (SAL Cycle {cycle_text})"
    if arch is not None:
        display += f" [{arch}]"
    return RSPImageTag(
        tag=tag,
        image_type=ImageType.UNKNOWN,
        display_name=display,
        base=base,
        cycle=None if cycle_text is None else int(cycle_text),
        architecture=arch,
    )


_Builder = Any  # Callable[[str, re.Match[str]], RSPImageTag]

_RELEASE_FORMS: tuple[tuple[re.Pattern[str], _Builder], ...] = (
    (_CANDIDATE_RE, _candidate),
    (_RELEASE_RE, _full_release),
    (_OLD_RELEASE_RE, _old_release),
)
_UNKNOWN_FORMS: tuple[tuple[re.Pattern[str], _Builder], ...] = (
    (_UNKNOWN_WITH_CYCLE_RE, _unknown),
    (_UNKNOWN_RE, _unknown),
)
# Every known form starts with a fixed letter, so only the forms that can match are tried;
# the relative order of the forms (and so "first match wins") is the spec's.
_FORMS_BY_PREFIX: dict[str, tuple[tuple[re.Pattern[str], _Builder], ...]] = {
    "r": _RELEASE_FORMS + _UNKNOWN_FORMS,
    "w": ((_WEEKLY_RE, _weekly), *_UNKNOWN_FORMS),
    "d": ((_DAILY_RE, _daily), *_UNKNOWN_FORMS),
    "e": ((_EXPERIMENTAL_RE, _experimental), *_UNKNOWN_FORMS),
}


def _parse(tag: str) -> RSPImageTag:
    for pattern, build in _FORMS_BY_PREFIX.get(tag[:1], _UNKNOWN_FORMS):
        match = pattern.fullmatch(tag)
        if match is None:
            continue
        try:
            result: RSPImageTag = build(tag, match)
        except (ValueError, OverflowError, RecursionError):
            continue  # e.g. week 60 or month 13: fall through to the next form
        return result
    # Unreachable in practice (the plain unknown form matches everything), kept total.
    return RSPImageTag(tag=tag, image_type=ImageType.UNKNOWN, display_name=tag, base=tag)
