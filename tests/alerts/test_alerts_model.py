"""Which alerts count as repeats of one another (the de-duplication key)."""

from __future__ import annotations

from actors.alerts.model import Alert

REFUSED = "KubernetesError: ConfigMap {user}-nb-{name} in nublado-{user}: 403 Forbidden: no"


def _spawn_failure(user: str, *names: str) -> Alert:
    error = "; ".join(REFUSED.format(user=user, name=name) for name in names)
    return Alert("lab spawn", error, user)


def test_the_same_refusal_for_other_users_and_other_objects_is_a_repeat() -> None:
    # A lab's objects are created at once: which were refused before the others were
    # cancelled is timing, as is which user met it.
    first = _spawn_failure("ann", "env")
    assert _spawn_failure("ben", "nss").key == first.key
    assert _spawn_failure("cat", "nss", "files", "env").key == first.key


def test_another_cause_or_operation_is_not_a_repeat() -> None:
    first = _spawn_failure("ann", "env")
    assert Alert("lab spawn", first.error.replace("403 Forbidden", "500 Internal"), "ann").key != (
        first.key
    )
    assert Alert("lab delete", first.error, "ann").key != first.key
