"""Rows of the dashboard's lab list: what they say, and that unchanged labs are not rebuilt."""

from __future__ import annotations

from actors.common.models import (
    LabOptions,
    LabResources,
    LabSize,
    LabState,
    LabStatus,
    LabUser,
    ResourceQuantity,
)
from actors.labs.events import LabEvent
from actors.labs.summary import SummaryCache, summarize

IMAGE = "registry.example.org/lsstsqre/sciplat-lab:w_2026_46@sha256:abc"


def state(status: LabStatus = LabStatus.PENDING) -> LabState:
    quantity = ResourceQuantity(cpu=1.0, memory=2**30)
    return LabState(
        user=LabUser(username="alice", name=None, uid=1001, gid=1001),
        options=LabOptions(image=IMAGE, size=LabSize.SMALL),
        status=status,
        internal_url=None,
        resources=LabResources(limits=quantity, requests=quantity),
        quota=None,
    )


def test_a_row_carries_the_latest_progress_and_message() -> None:
    events = [
        LabEvent.info("Starting lab creation for alice", 1),
        LabEvent.info("Created Kubernetes objects for user lab", 30),
        LabEvent.info("Pulling image"),
    ]
    row = summarize("alice", state(), 12.5, events, in_progress=True)
    assert (row.status, row.size, row.image) == ("pending", "small", IMAGE)
    assert (row.progress, row.message, row.outcome) == (30, "Pulling image", None)
    assert row.as_json()["in_progress"] is True


def test_a_finished_operation_has_its_outcome() -> None:
    done = [LabEvent.info("x", 72), LabEvent.complete("Lab Kubernetes pod started for alice")]
    row = summarize("alice", state(LabStatus.RUNNING), 0.0, done, in_progress=False)
    assert (row.progress, row.outcome) == (100, "complete")
    failed = [LabEvent.info("x", 48), LabEvent.error("boom"), LabEvent.failed("Lab spawn failed")]
    row = summarize("alice", state(LabStatus.FAILED), 0.0, failed, in_progress=False)
    assert (row.progress, row.outcome, row.message) == (48, "failed", "Lab spawn failed")
    none = summarize("alice", state(LabStatus.RUNNING), 0.0, [], in_progress=False)
    assert (none.progress, none.outcome, none.message) == (None, None, None)


def test_unchanged_labs_keep_their_rows_and_changed_ones_are_rebuilt() -> None:
    cache = SummaryCache()
    alice, bob = state(), state()
    events: dict[str, list[LabEvent]] = {"alice": [LabEvent.info("a", 1)], "bob": []}
    states = {"alice": (alice, 1.0), "bob": (bob, 2.0)}

    def rows() -> dict[str, object]:
        listed = cache.rows(states, lambda u: list(events.get(u, [])), lambda u: u == "alice")
        return {row.user: row for row in listed}

    first = rows()
    second = rows()
    assert second["alice"] is first["alice"]
    assert second["bob"] is first["bob"]
    events["alice"].append(LabEvent.info("b", 30))
    third = rows()
    assert third["alice"] is not first["alice"]
    assert third["bob"] is first["bob"]
    states["bob"] = (state(LabStatus.RUNNING), 2.0)
    assert rows()["bob"].status == "running"
    del states["alice"]
    assert set(rows()) == {"bob"}
