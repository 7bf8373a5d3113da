"""Messages the ``images`` actor receives, and its replies' shapes.

They live apart from the actor so that the prepuller, which asks the images actor for its plan
and reports pulls, imports them without importing the service that builds the prepuller.
"""

from __future__ import annotations

from dataclasses import dataclass

import trio

from actors.common.requests import LabRequestOptions
from actors.runtime import Request

from .catalog import MenuEntry, PrepullTarget, Resolution
from .status import PrepullerStatus, SpawnerImages

__all__ = [
    "FormChoices",
    "GetFormChoices",
    "GetPrepullPlan",
    "GetPrepullerStatus",
    "GetSpawnerImages",
    "RecordPulled",
    "RequestRefresh",
    "Resolve",
]


@dataclass(frozen=True)
class FormChoices:
    """The spawn form's image choices: radio menu and dropdown (images.md §9)."""

    menu: list[MenuEntry]
    dropdown: list[MenuEntry]


@dataclass(frozen=True)
class GetFormChoices(Request[FormChoices]):
    pass


@dataclass(frozen=True)
class GetSpawnerImages(Request[SpawnerImages]):
    pass


@dataclass(frozen=True)
class GetPrepullerStatus(Request[PrepullerStatus]):
    pass


@dataclass(frozen=True)
class Resolve(Request[Resolution]):
    options: LabRequestOptions


@dataclass(frozen=True)
class GetPrepullPlan(Request[dict[str, list[PrepullTarget]]]):
    """What each eligible node lacks, one pull at a time in this order."""


@dataclass(frozen=True)
class RecordPulled(Request[None]):
    """The prepuller pulled ``digest`` onto ``node``."""

    digest: str
    node: str


@dataclass(frozen=True)
class RequestRefresh(Request[trio.Event]):
    """Refresh now; the reply is set when a refresh that started after this request ends."""
