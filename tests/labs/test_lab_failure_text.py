"""What a failed lab operation tells the user: the failures' own words, every one of them.

A lab's objects are created concurrently in one nursery. When two creates fail before the
first failure has cancelled the others (both replies arrive in the same scheduling round, as
after equal retry backoffs on a busy machine), the nursery raises a group of two errors, and
the spawn's ``error`` event must still name the Kubernetes failure.
"""

from __future__ import annotations

import trio

from actors.errors import DeleteFailedError, failure_text
from actors.kube import KubernetesError

NAMESPACE = "nublado-alice"


def _create_failed(name: str) -> KubernetesError:
    return KubernetesError(
        status=500,
        reason="InternalError",
        message="kubesim injected fault (create configmaps)",
        kind="ConfigMap",
        namespace=NAMESPACE,
        name=name,
    )


async def _fail_together(*errors: Exception) -> BaseExceptionGroup[BaseException]:
    """The group a nursery raises when its children fail in the same scheduling round."""

    async def fail(error: Exception) -> None:
        raise error

    try:
        async with trio.open_nursery() as nursery:
            for error in errors:
                nursery.start_soon(fail, error)
    except BaseExceptionGroup as group:
        return group
    raise AssertionError("the nursery did not fail")


async def test_concurrent_failures_are_each_named() -> None:
    nss, files = _create_failed("alice-nb-nss"), _create_failed("alice-nb-files")
    group = await _fail_together(nss, files)
    assert len(group.exceptions) == 2

    text = failure_text(group)

    assert "sub-exceptions" not in text
    assert sorted(text.split("; ")) == sorted([str(nss), str(files)])
    assert "500 InternalError" in text


async def test_one_failure_in_a_group_reads_as_itself() -> None:
    error = _create_failed("alice-nb-env")
    assert failure_text(await _fail_together(error)) == str(error)


def test_nested_groups_and_repeated_failures_name_each_failure_once() -> None:
    env = _create_failed("alice-nb-env")
    nested = ExceptionGroup("outer", [ExceptionGroup("inner", [env, env]), DeleteFailedError()])
    assert failure_text(nested) == f"{env}; {DeleteFailedError().msg}"
