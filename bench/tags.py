"""Tag parsing and ordering throughput: parse N RSP tags, sort them, build a collection.

Prints tags parsed per second (target: >= 100,000/s on one core), the sort time, and the
time to build an ImageCollection with alias resolution and derive the menu-like orderings
(subset for prepulling, dropdown filter, iteration hiding aliased images). Figures only; no
assertions. ``--short`` runs a small sample for CI.

    python bench/tags.py [--count 10000] [--short]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

# Run as a script, this folder is first on sys.path and bench/actors.py would shadow the
# ``actors`` package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]

from actors.config.images import DropdownMenuConfig  # noqa: E402
from actors.images.collection import ImageCollection, RSPImage  # noqa: E402
from actors.images.tags import ImageType, RSPImageTag  # noqa: E402


def make_tags(count: int, seed: int = 7) -> list[str]:
    """A realistic mix: weeklies, dailies, releases, candidates, experimentals, oddities."""
    rng = random.Random(seed)
    tags: set[str] = set()
    while len(tags) < count:
        kind = rng.random()
        year = rng.randint(2020, 2030)
        if kind < 0.35:
            tag = f"w_{year}_{rng.randint(1, 52):02}"
        elif kind < 0.65:
            tag = f"d_{year}_{rng.randint(1, 12):02}_{rng.randint(1, 28):02}"
        elif kind < 0.75:
            tag = f"r{rng.randint(20, 30)}_0_{rng.randint(0, 9)}"
        elif kind < 0.8:
            tag = f"r{rng.randint(20, 30)}_0_0_rc{rng.randint(1, 4)}"
        elif kind < 0.88:
            tag = f"exp_w_{year}_{rng.randint(1, 52)}_{rng.choice(['jupyter', 'test', 'x'])}"
        else:
            tag = rng.choice(["latest", "recommended", "latest_weekly", "tmp", "build"])
            tag += f"_{rng.randint(0, 99999)}"
        if rng.random() < 0.2:
            tag += f"_c00{rng.randint(30, 50)}.{rng.randint(1, 9):03}"
        if rng.random() < 0.2:
            tag += f"_rsp{rng.randint(1, 3000)}"
        if rng.random() < 0.1:
            tag += rng.choice(["-amd64", "-arm64"])
        tags.add(tag)
    return list(tags)


def measure(label: str, seconds: float, count: int | None = None) -> None:
    rate = f"  ({count / seconds:,.0f}/s)" if count else ""
    print(f"{label:<44} {seconds * 1000:9.2f} ms{rate}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--short", action="store_true", help="small sample (CI smoke run)")
    args = parser.parse_args()
    count = 1_000 if args.short else args.count
    repeats = 1 if args.short else 5
    names = make_tags(count)
    aliases = frozenset({"recommended", "latest_weekly"})

    best = min(
        _timed(lambda: [RSPImageTag.parse(t, aliases) for t in names]) for _ in range(repeats)
    )
    measure(f"parse {count:,} tags (best of {repeats})", best, count)

    parsed = [RSPImageTag.parse(t, aliases) for t in names]
    start = time.perf_counter()
    ordered = sorted(parsed, key=lambda t: (t.image_type.priority, _negated(t)))
    measure("sort by type priority, newest first", time.perf_counter() - start, count)

    digests = {name: f"sha256:{index % (count // 2 or 1):064x}" for index, name in enumerate(names)}
    start = time.perf_counter()
    collection = ImageCollection(
        RSPImage(tag, "registry.example", "lab/sciplat", digests[tag.tag]) for tag in parsed
    )
    menu = list(collection.all_images(hide_aliased=True))
    measure("build collection + alias resolution + menu", time.perf_counter() - start, count)

    start = time.perf_counter()
    prepull = collection.subset(releases=1, weeklies=2, dailies=3, include=["recommended"])
    dropdown = collection.filter(
        DropdownMenuConfig.model_validate({"daily": {"age": "30d"}, "weekly": {"number": 50}}),
        datetime(2026, 1, 1, tzinfo=UTC),
    )
    measure("subset + dropdown filter", time.perf_counter() - start)

    resolved = sum(1 for image in collection.all_images() if image.is_resolved_alias)
    print(
        f"tags {len(ordered):,}; menu entries {len(menu):,}; prepull set {len(prepull)};"
        f" dropdown {len(dropdown):,}; resolved aliases {resolved:,};"
        f" newest weekly {collection.latest(ImageType.WEEKLY).tag}"  # type: ignore[union-attr]
    )


def _timed(work: object) -> float:
    start = time.perf_counter()
    work()  # type: ignore[operator]
    return time.perf_counter() - start


class _negated:
    """Sort key wrapper that reverses the order of a same-type tag comparison."""

    __slots__ = ("key",)

    def __init__(self, tag: RSPImageTag) -> None:
        self.key = tag.sort_key

    def __lt__(self, other: _negated) -> bool:
        return other.key < self.key


if __name__ == "__main__":
    main()
