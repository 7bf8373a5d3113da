"""Logged errors name their cause: a transport error often says nothing itself."""

from __future__ import annotations

import httpx
import pytest
import trio

from actors.runtime import describe_error


def _raised_from(error: BaseException, cause: BaseException) -> BaseException:
    try:
        raise error from cause
    except BaseException as raised:
        return raised


def test_an_error_without_words_is_described_by_its_cause() -> None:
    error = _raised_from(httpx.ConnectError(""), OSError(111, "Connection refused"))
    assert describe_error(error) == (
        "ConnectError (caused by ConnectionRefusedError: [Errno 111] Connection refused)"
    )


def test_single_error_groups_are_unwrapped_at_every_level() -> None:
    inner = _raised_from(ValueError("bad"), ExceptionGroup("nursery", [KeyError("k")]))
    assert describe_error(ExceptionGroup("outer", [inner])) == (
        "ValueError: bad (caused by KeyError: 'k')"
    )


def _clean_rethrow() -> None:
    try:
        raise KeyError("internal")
    except KeyError:
        raise RuntimeError("clean") from None


def test_a_suppressed_context_is_not_named() -> None:
    with pytest.raises(RuntimeError) as raised:
        _clean_rethrow()
    assert describe_error(raised.value) == "RuntimeError: clean"


async def test_a_real_connect_failure_names_its_reason() -> None:
    with trio.socket.socket() as unused:
        await unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    async with httpx.AsyncClient() as client:
        try:
            await client.get(f"http://127.0.0.1:{port}/")
        except httpx.ConnectError as error:
            description = describe_error(error)
        else:
            raise AssertionError("nothing listens there")
    assert description.startswith("ConnectError")
    assert len(description) > len("ConnectError: "), "the reason is missing"
