"""What one reconciliation pass sees: every lab in the cluster, read from the lab informers.

A pass used to list namespaces, lab env ConfigMaps, lab pods and lab quotas (pages of each, for
every pass); it now reads the four informers' indexes (``informers.py``), which hold the facts
of each object (``builder.facts``). A pass costs no request, and the observation of each lab
is as fresh as the informers: the pass is dated :attr:`LabFeeds.synced_at`, the moment every
index was last known current, so that a lab whose state changed since (a spawn that created
objects the informers have not delivered yet) ignores what the pass says of it.

Deviation from the reference, following its own recommendation (quirk Q8): an incomplete
namespace is only reported (and so deleted) when it carries the lab category label, so a
namespace that merely shares the prefix is never touched.

A namespace Kubernetes is already terminating (a controller stopped in the middle of a
delete) holds a lab that is going away: its state reads ``terminating``, never what its
leftover pod says, so that status, create and delete agree while it goes.

:func:`observe_lab` is the one judgement of what a namespace's objects mean; a pass applies it
to every lab at once, a restarted lab actor to its own objects (``lab.py``).
"""

from __future__ import annotations

from actors.common.models import LabStatus
from actors.common.naming import env_config_map_name, lab_object_name
from actors.config import ControllerConfig
from actors.labs.builder import (
    EnvFacts,
    IncompleteLabError,
    LabPodFacts,
    NamespaceFacts,
    QuotaFacts,
    lab_username,
    rebuild_lab_state,
)
from actors.labs.informers import LabFeeds
from actors.labs.messages import Observation, ObservedKind

__all__ = ["observe_lab", "observe_labs"]


def observe_labs(config: ControllerConfig, feeds: LabFeeds) -> dict[str, Observation]:
    """Observations for every user with a lab namespace, keyed by username (pure: reads the
    indexes, which must have been listed)."""
    started = feeds.synced_at
    observations: dict[str, Observation] = {}
    for (_, namespace), facts in feeds.namespaces.items():
        username = lab_username(config, namespace)
        if username is None:
            continue
        name = lab_object_name(username)
        observation = observe_lab(
            config,
            started,
            namespace=namespace,
            facts=facts,
            env=feeds.env.get((namespace, env_config_map_name(username))),
            pod=feeds.pods.get((namespace, name)),
            quota=feeds.quotas.get((namespace, name)),
        )
        if observation is not None:
            observations[username] = observation
    return observations


def observe_lab(
    config: ControllerConfig,
    started: float,
    *,
    namespace: str,
    facts: NamespaceFacts,
    env: EnvFacts | None,
    pod: LabPodFacts | None,
    quota: QuotaFacts | None,
) -> Observation | None:
    """What one lab namespace and its objects say (pure).

    ``None`` for a namespace that is not a lab's: incomplete and without the lab category
    label. Raises what rebuilding the state raises, ``IncompleteLabError`` excepted.
    """
    try:
        state = rebuild_lab_state(config, namespace, env, pod, quota)
    except IncompleteLabError:
        if not facts.labelled:
            return None
        return Observation(ObservedKind.INCOMPLETE, started)
    if facts.terminating:
        state = state.model_copy(update={"status": LabStatus.TERMINATING, "internal_url": None})
    return Observation(ObservedKind.COMPLETE, started, state)
