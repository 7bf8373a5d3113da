"""Value types shared by the configuration and the API models.

Each type is an ``Annotated`` alias that pydantic understands, so a field declared as
``Duration`` accepts every spelling the configuration file allows and always holds a
normalised Python value (``timedelta``, integer bytes, float cores). The parsing functions are
public as well, for code that receives such values outside pydantic (CLI options, tests).

Invariants: durations, memory and CPU amounts are never negative; memory is whole bytes
(fractions truncate); datetimes are timezone-aware and in UTC.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, PlainSerializer

__all__ = [
    "AbsPath",
    "Cpu",
    "Duration",
    "K8sName",
    "Memory",
    "PositiveDuration",
    "SemVer",
    "UtcDatetime",
    "format_memory_binary",
    "parse_cpu",
    "parse_duration",
    "parse_memory",
]

# A plain number of seconds may also arrive as a string ("1.5", " 90 ").
_NUMBER_RE = re.compile(r"^\s*(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$")

# Integer+unit groups in the fixed order weeks, days, hours, minutes, seconds. Whitespace is
# allowed between groups and (a harmless superset of upstream) between a number and its unit.
# Longer unit spellings come first in each alternation so "mins" is not read as "m" + "ins".
_DURATION_RE = re.compile(
    r"^\s*"
    r"(?:(?P<weeks>\d+)\s*(?:weeks|week|w)\s*)?"
    r"(?:(?P<days>\d+)\s*(?:days|day|d)\s*)?"
    r"(?:(?P<hours>\d+)\s*(?:hours|hour|hr|h)\s*)?"
    r"(?:(?P<minutes>\d+)\s*(?:minutes|minute|mins|min|m)\s*)?"
    r"(?:(?P<seconds>\d+)\s*(?:seconds|second|secs|sec|s)\s*)?"
    r"$"
)


def _reject_bool(value: object, what: str) -> None:
    # bool is an int subclass; `true` in YAML must not silently mean one second or one byte.
    if isinstance(value, bool):
        raise ValueError(f"expected {what}, got a boolean")


def parse_duration(value: object) -> timedelta:
    """Turn seconds (number or numeric string) or a string like ``1h30m`` into a timedelta.

    Raises ``ValueError`` for anything else, for negative or non-finite numbers, and for a
    string with no unit group at all.
    """
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    else:
        _reject_bool(value, "a duration")
        if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER_RE.match(value)):
            seconds = float(value)
        elif isinstance(value, str):
            match = _DURATION_RE.match(value)
            if not match or not any(match.groupdict().values()):
                raise ValueError(
                    f"invalid duration {value!r}: use seconds (90) or unit groups in the order"
                    " weeks, days, hours, minutes, seconds (1h30m, 2w, 1d 2h)"
                )
            parts = {unit: int(number or 0) for unit, number in match.groupdict().items()}
            return timedelta(**parts)
        else:
            raise ValueError("expected a duration: seconds or a string like 5m or 1h30m")
    if not math.isfinite(seconds):
        raise ValueError("duration must be finite")
    if seconds < 0:
        raise ValueError("duration must not be negative")
    return timedelta(seconds=seconds)


def _require_positive_duration(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("duration must be greater than zero")
    return value


_BINARY_UNITS = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4}
# "K" is accepted next to Kubernetes' "k" because people write both and neither is ambiguous.
_DECIMAL_UNITS = {"k": 1000, "K": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4}
_MEMORY_RE = re.compile(
    r"^\s*(?P<number>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>Ki|Mi|Gi|Ti|k|K|M|G|T)?(?P<b>B)?\s*$"
)


def parse_memory(value: object) -> int:
    """Turn integer bytes or a string such as ``768Mi``, ``0.75Gi`` or ``4G`` into bytes.

    Suffixes with ``i`` are powers of 1024, without are powers of 1000, either optionally
    followed by ``B``. Fractions are allowed and the result is truncated to whole bytes.
    """
    _reject_bool(value, "a memory amount")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise ValueError("memory must be a non-negative number of bytes")
        return int(value)
    if not isinstance(value, str):
        raise ValueError("expected a memory amount: bytes or a string like 768Mi or 4G")
    match = _MEMORY_RE.match(value)
    if not match:
        raise ValueError(
            f"invalid memory amount {value!r}: use bytes or a number with a unit"
            " (Ki, Mi, Gi, Ti for powers of 1024; k, M, G, T for powers of 1000)"
        )
    try:
        number = Decimal(match["number"])
    except InvalidOperation as exc:  # pragma: no cover - the regex only admits decimals
        raise ValueError(f"invalid memory amount {value!r}") from exc
    unit = match["unit"]
    factor = _BINARY_UNITS.get(unit or "") or _DECIMAL_UNITS.get(unit or "") or 1
    return int(number * factor)


_MILLICORES_RE = re.compile(r"^\s*(?P<millis>\d+)m\s*$")
_CORES_RE = re.compile(r"^\s*(?:\d+(?:\.\d{0,3})?|\.\d{1,3})\s*$")


def parse_cpu(value: object) -> float:
    """Turn a number of cores, ``"500m"`` millicores or ``"1.234"`` into float cores.

    A decimal string may carry at most three fractional digits (a millicore is Kubernetes'
    resolution); a number given as a YAML float is taken as is.
    """
    _reject_bool(value, "a CPU amount")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise ValueError("CPU must be a non-negative number of cores")
        return float(value)
    if not isinstance(value, str):
        raise ValueError("expected a CPU amount: cores or a string like 500m")
    if match := _MILLICORES_RE.match(value):
        return int(match["millis"]) / 1000
    if _CORES_RE.match(value):
        return float(value)
    raise ValueError(
        f"invalid CPU amount {value!r}: use cores (1.5, at most three decimals)"
        " or millicores (500m)"
    )


def format_memory_binary(amount: int) -> str:
    """Render bytes with the largest binary suffix that divides them evenly (``27Gi``).

    Used for human labels such as the lab size menu; amounts that are not a whole number of
    KiB are shown as plain bytes.
    """
    for suffix, factor in (("Ti", 1024**4), ("Gi", 1024**3), ("Mi", 1024**2), ("Ki", 1024)):
        if amount >= factor and amount % factor == 0:
            return f"{amount // factor}{suffix}"
    return str(amount)


def _to_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _date_to_datetime(value: Any) -> Any:
    # YAML turns an unquoted 2025-02-07 into a date; read it as midnight UTC.
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value


def _seconds(value: timedelta) -> float:
    return value.total_seconds()


_SECONDS_SERIALIZER = PlainSerializer(_seconds, return_type=float, when_used="json")

Duration = Annotated[timedelta, BeforeValidator(parse_duration), _SECONDS_SERIALIZER]
"""A non-negative duration; serialised to JSON as float seconds."""

PositiveDuration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    AfterValidator(_require_positive_duration),
    _SECONDS_SERIALIZER,
]
"""A duration that must be greater than zero (timeouts and intervals)."""

Memory = Annotated[int, BeforeValidator(parse_memory)]
"""A memory amount in whole bytes."""

Cpu = Annotated[float, BeforeValidator(parse_cpu)]
"""A CPU amount in (possibly fractional) cores."""

_K8S_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# The regular expression published by semver.org, split for readability.
_SEMVER_RE = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
    r"(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


def _k8s_name(value: str) -> str:
    if not _K8S_NAME_RE.match(value):
        raise ValueError(
            f"{value!r} is not a valid Kubernetes name (lower-case letters, digits and -,"
            " starting and ending with a letter or digit)"
        )
    return value


def _abs_path(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError(f"{value!r} is not an absolute path (must start with /)")
    return value


def _semver(value: str) -> str:
    if not _SEMVER_RE.match(value):
        raise ValueError(f"{value!r} is not a full semantic version such as 27.0.0")
    return value


K8sName = Annotated[str, AfterValidator(_k8s_name)]
"""A Kubernetes name: lower-case alphanumerics and inner dashes."""

AbsPath = Annotated[str, AfterValidator(_abs_path)]
"""An absolute POSIX path (as a string, because it names a path inside a container)."""

SemVer = Annotated[str, AfterValidator(_semver)]
"""A full semantic version string such as ``27.0.0`` or ``1.2.3-rc.1``."""

UtcDatetime = Annotated[datetime, BeforeValidator(_date_to_datetime), AfterValidator(_to_utc)]
"""An ISO 8601 date-time; values without a zone are UTC, others are converted to UTC."""
