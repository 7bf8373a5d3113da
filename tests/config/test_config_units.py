"""The value types of spec §1.1: duration, memory, cpu, k8s-name, abs-path, semver, dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import TypeAdapter, ValidationError

from actors.config.units import (
    AbsPath,
    Cpu,
    Duration,
    K8sName,
    Memory,
    PositiveDuration,
    SemVer,
    UtcDatetime,
    format_memory_binary,
    parse_cpu,
    parse_duration,
    parse_memory,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (90, timedelta(seconds=90)),
        (1.5, timedelta(seconds=1.5)),
        ("1.5", timedelta(seconds=1.5)),
        (" 90 ", timedelta(seconds=90)),
        ("5m", timedelta(minutes=5)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2w", timedelta(weeks=2)),
        ("1d 2h", timedelta(days=1, hours=2)),
        ("1w2d3h4m5s", timedelta(weeks=1, days=2, hours=3, minutes=4, seconds=5)),
        ("3 weeks 1 day", timedelta(weeks=3, days=1)),
        ("2hr", timedelta(hours=2)),
        ("10mins", timedelta(minutes=10)),
        ("1minute", timedelta(minutes=1)),
        ("30secs", timedelta(seconds=30)),
        ("45seconds", timedelta(seconds=45)),
        (timedelta(minutes=3), timedelta(minutes=3)),
    ],
)
def test_duration_accepts_seconds_and_unit_groups(text: object, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["", "5x", "1m1h", "1.5h", "h", "-5", -1, True, "five minutes", "inf", [5]]
)
def test_duration_rejects_malformed_out_of_order_and_negative(text: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_positive_duration_refuses_zero() -> None:
    adapter = TypeAdapter(PositiveDuration)
    assert adapter.validate_python("1s") == timedelta(seconds=1)
    with pytest.raises(ValidationError, match="greater than zero"):
        adapter.validate_python(0)


def test_duration_is_echoed_as_float_seconds_in_json() -> None:
    adapter = TypeAdapter(Duration)
    assert adapter.dump_python(adapter.validate_python("1h30m"), mode="json") == 5400.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (1024, 1024),
        ("0.75Gi", 805306368),
        ("768Mi", 768 * 1024**2),
        ("3Gi", 3 * 1024**3),
        ("3GiB", 3 * 1024**3),
        ("1Ki", 1024),
        ("2Ti", 2 * 1024**4),
        ("4G", 4 * 1000**3),
        ("4GB", 4 * 1000**3),
        ("1k", 1000),
        ("1.5M", 1_500_000),
        ("2T", 2 * 1000**4),
        ("1000", 1000),
        ("0.5Ki", 512),
        ("1.0001Ki", 1024),  # 1024.1024 bytes, truncated
    ],
)
def test_memory_units(text: object, expected: int) -> None:
    assert parse_memory(text) == expected


@pytest.mark.parametrize("text", ["", "Gi", "1Gb", "1gi", "1 Gibibyte", "-1Gi", -5, True, "1e3"])
def test_memory_rejects_malformed(text: object) -> None:
    with pytest.raises(ValueError, match="memory"):
        parse_memory(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [(1, 1.0), (0.25, 0.25), ("500m", 0.5), ("1.234", 1.234), ("2", 2.0), ("100m", 0.1)],
)
def test_cpu_cores_and_millicores(text: object, expected: float) -> None:
    assert parse_cpu(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["1.2345", "0.5m", "m", "1 core", "-1", -0.5, False])
def test_cpu_rejects_more_than_millicore_precision_and_garbage(text: object) -> None:
    with pytest.raises(ValueError, match="CPU"):
        parse_cpu(text)


def test_memory_and_cpu_types_validate_through_pydantic() -> None:
    assert TypeAdapter(Memory).validate_python("1Mi") == 1048576
    assert TypeAdapter(Cpu).validate_python("250m") == 0.25
    with pytest.raises(ValidationError, match="invalid memory amount"):
        TypeAdapter(Memory).validate_python("lots")


@pytest.mark.parametrize("name", ["home", "a", "nublado-users", "0x1", "a-b-c"])
def test_k8s_name_accepts_dns_labels(name: str) -> None:
    assert TypeAdapter(K8sName).validate_python(name) == name


@pytest.mark.parametrize("name", ["", "Home", "-home", "home-", "my_home", "a.b"])
def test_k8s_name_rejects_others(name: str) -> None:
    with pytest.raises(ValidationError, match="not a valid Kubernetes name"):
        TypeAdapter(K8sName).validate_python(name)


def test_abs_path_requires_leading_slash() -> None:
    assert TypeAdapter(AbsPath).validate_python("/home") == "/home"
    with pytest.raises(ValidationError, match="absolute path"):
        TypeAdapter(AbsPath).validate_python("home")


@pytest.mark.parametrize("version", ["27.0.0", "1.2.3-rc.1", "0.0.1+build.5"])
def test_semver_accepts_full_versions(version: str) -> None:
    assert TypeAdapter(SemVer).validate_python(version) == version


@pytest.mark.parametrize("version", ["27", "27.0", "v27.0.0", "01.0.0"])
def test_semver_rejects_partial_versions(version: str) -> None:
    with pytest.raises(ValidationError, match="semantic version"):
        TypeAdapter(SemVer).validate_python(version)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-02-07T10:00:00", datetime(2025, 2, 7, 10, tzinfo=UTC)),
        ("2025-02-07T10:00:00+02:00", datetime(2025, 2, 7, 8, tzinfo=UTC)),
        (date(2025, 2, 7), datetime(2025, 2, 7, tzinfo=UTC)),
        ("2025-02-07", datetime(2025, 2, 7, tzinfo=UTC)),
    ],
)
def test_utc_datetime_assumes_utc_and_converts(value: object, expected: datetime) -> None:
    parsed = TypeAdapter(UtcDatetime).validate_python(value)
    assert parsed == expected
    assert parsed.tzinfo is UTC


def test_binary_memory_formatting_for_labels() -> None:
    assert format_memory_binary(27 * 1024**3) == "27Gi"
    assert format_memory_binary(768 * 1024**2) == "768Mi"
    assert format_memory_binary(1000) == "1000"
