"""What the API server checks and normalises on a ``coordination.k8s.io/v1`` Lease.

Why a module of its own: leader election rests on a Lease, and a client that writes one
wrongly on a real cluster (a renew time without its microseconds, a duration sent as a
string) is refused there. kubesim must refuse the same bodies in the same way, or the
mistake would only show in production.

A real server reads the body into typed fields first, then validates:

* **Decoding** (400 ``BadRequest``, ``Lease in version "v1" cannot be handled as a Lease:
  ...``): ``holderIdentity`` must be a string, ``leaseDurationSeconds`` and
  ``leaseTransitions`` 32-bit integers (``15.0`` and ``true`` are not), ``acquireTime`` and
  ``renewTime`` *MicroTime* strings: RFC 3339 with exactly six fractional digits
  (``2026-12-05T13:00:00.123456Z``; ``...:00Z`` or ``...:00.123Z`` are refused). ``null``
  means absent.
* **Validation** (422 ``Invalid`` with one cause per field): ``leaseDurationSeconds``
  greater than 0 and ``leaseTransitions`` at least 0 when set.
* **Normalisation**: the times are stored in UTC (a time sent with an offset comes back
  with ``Z``), absent fields are left out, and ``strategy``/``preferredHolder`` are dropped:
  they belong to coordinated leader election, an alpha feature that is off on the
  Kubernetes version kubesim reports (1.31), and a server with it off drops them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from kubesim.errors import bad_request

__all__ = ["causes", "decode"]

#: The Go layout a real server parses MicroTime with, quoted in its error messages.
MICRO_LAYOUT = "2006-01-02T15:04:05.000000Z07:00"
_MICRO_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})[.,](\d{6})(Z|[+-]\d{2}:\d{2})$"
)
_INT32 = (-(2**31), 2**31 - 1)
_INTEGERS = ("leaseDurationSeconds", "leaseTransitions")
_TIMES = ("acquireTime", "renewTime")
#: Fields of coordinated leader election (alpha, feature gate off): dropped on write.
_GATED = ("strategy", "preferredHolder")
#: Longest piece of a client's value quoted back in an error message.
_QUOTE_MAX = 64


def _json_type(value: Any) -> str:
    """How Go's JSON decoder names the JSON type of ``value`` in its errors."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _quote(value: str) -> str:
    return value if len(value) <= _QUOTE_MAX else value[:_QUOTE_MAX] + "..."


def _refuse(detail: str) -> Exception:
    return bad_request(f'Lease in version "v1" cannot be handled as a Lease: {detail}')


def _type_error(field: str, value: Any, go_type: str) -> Exception:
    shown = _json_type(value)
    if shown == "number":
        shown = f"number {_quote(repr(value))}"
    return _refuse(
        f"json: cannot unmarshal {shown} into Go struct field LeaseSpec.spec.{field}"
        f" of type {go_type}"
    )


def parse_micro_time(value: str) -> datetime | None:
    """The instant a MicroTime string names, or ``None`` if a real server would refuse it."""
    match = _MICRO_TIME.match(value)
    if match is None:
        return None
    year, month, day, hour, minute, second, micro, zone = match.groups()
    if zone == "Z":
        tz: timezone = UTC
    else:
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            return None
        offset = timedelta(hours=hours, minutes=minutes)
        tz = timezone(-offset if zone[0] == "-" else offset)
    try:
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            int(micro),
            tzinfo=tz,
        )
    except ValueError:
        return None


def format_micro_time(moment: datetime) -> str:
    """A MicroTime as a real server writes it: UTC, six fractional digits, ``Z``."""
    utc = moment.astimezone(UTC)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:"
        f"{utc.second:02d}.{utc.microsecond:06d}Z"
    )


def decode(obj: dict[str, Any]) -> None:
    """Refuse (400) a spec a real server could not decode; normalise it in place."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return  # absent, or not an object: the generic validation reports the latter
    for field in [*_GATED, *(key for key, value in spec.items() if value is None)]:
        spec.pop(field, None)
    holder = spec.get("holderIdentity")
    if holder is not None and not isinstance(holder, str):
        raise _type_error("holderIdentity", holder, "string")
    for field in _INTEGERS:
        value = spec.get(field)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise _type_error(field, value, "int32")
        if not _INT32[0] <= value <= _INT32[1]:
            raise _type_error(field, value, "int32")
    for field in _TIMES:
        value = spec.get(field)
        if value is None:
            continue
        if not isinstance(value, str):
            raise _refuse(
                f"spec.{field}: json: cannot unmarshal {_json_type(value)} into Go"
                " value of type string"
            )
        moment = parse_micro_time(value)
        if moment is None:
            raise _refuse(
                f'spec.{field}: parsing time "{_quote(value)}" as "{MICRO_LAYOUT}": a MicroTime'
                " is RFC 3339 with exactly six fractional digits"
            )
        spec[field] = format_micro_time(moment)


def causes(obj: dict[str, Any]) -> list[tuple[str, str]]:
    """The 422 causes of a decoded Lease (empty when valid)."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return []
    found: list[tuple[str, str]] = []
    duration = spec.get("leaseDurationSeconds")
    if duration is not None and duration <= 0:
        found.append(
            ("spec.leaseDurationSeconds", f"Invalid value: {duration}: must be greater than 0")
        )
    transitions = spec.get("leaseTransitions")
    if transitions is not None and transitions < 0:
        found.append(
            (
                "spec.leaseTransitions",
                f"Invalid value: {transitions}: must be greater than or equal to 0",
            )
        )
    return found
