"""Base classes and helpers every configuration model builds on.

Invariants of all configuration models:

* camelCase keys are canonical (that is how they are serialised); the snake_case field name
  is accepted too, because upstream allows it and configs built in Python often use it;
* unknown keys are rejected, everywhere. A model may name keys it *accepts and never reads*
  (``accepted_unused_keys``): keys the deployment tooling (Phalanx) writes into sections
  where they mean nothing, and the keys of a switched-off shape of a section. Those are
  dropped before validation, whatever their value; any other unknown key is an error, so a
  typo inside a disabled section is reported instead of being silently discarded;
* models are frozen: the configuration is shared by many actors and must never change under
  them. Use ``model_copy(update=...)`` to derive a variant.

Cross-field rules that fail report *where* through ``cross_field_error``: the error carries
the offending sub-paths so that ``ConfigError`` can name each key precisely, even though
pydantic attributes a model validator's error to the model as a whole.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator
from pydantic.alias_generators import to_camel, to_snake
from pydantic_core import PydanticCustomError

__all__ = [
    "CROSS_FIELD_ERROR",
    "MISSING",
    "ConfigModel",
    "FalseFlag",
    "Issue",
    "TrueFlag",
    "cross_field_error",
    "discriminate",
    "find_key",
    "lax_bool",
    "raise_issues",
    "tag_name",
    "unused_key_spellings",
]

CROSS_FIELD_ERROR = "config_cross_field"
"""pydantic error type of a failed cross-field rule; its ``ctx["issues"]`` lists the keys."""

Issue = tuple[tuple[str | int, ...], str]
"""A failed rule: the path of the offending key relative to the validated model, and why."""


class ConfigModel(BaseModel):
    """Strict configuration model: camelCase or snake_case keys, unknown keys rejected."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="forbid",
        frozen=True,
    )

    accepted_unused_keys: ClassVar[frozenset[str]] = frozenset()
    """camelCase keys this section accepts (in either spelling) and ignores, value unchecked.

    Only for keys that are known to be harmless here; everything else stays an error."""

    @model_validator(mode="before")
    @classmethod
    def _drop_accepted_unused_keys(cls, data: Any) -> Any:
        # Dropped before validation so that `extra="forbid"` still catches every other key.
        if not cls.accepted_unused_keys or not isinstance(data, Mapping):
            return data
        spellings = unused_key_spellings(cls.accepted_unused_keys)
        return {key: value for key, value in data.items() if key not in spellings}


def unused_key_spellings(keys: frozenset[str]) -> frozenset[str]:
    """Both spellings (camelCase and snake_case) of each accepted-and-unused key."""
    return keys | {to_snake(key) for key in keys}


def cross_field_error(issues: Sequence[Issue]) -> PydanticCustomError:
    """Build the error for one or more failed cross-field rules of the same model."""
    summary = "; ".join(
        f"{_render_relative(path)}: {message}" if path else message for path, message in issues
    )
    return PydanticCustomError(
        CROSS_FIELD_ERROR,
        "{summary}",
        {
            "summary": summary,
            "issues": [(tuple(path), message) for path, message in issues],
        },
    )


def raise_issues(issues: Sequence[Issue]) -> None:
    """Raise the cross-field error if any rule failed; do nothing otherwise."""
    if issues:
        raise cross_field_error(issues)


def _render_relative(path: Sequence[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def tag_name(tag: str) -> str:
    """Name a tagged-union member so that error paths can recognise and drop it.

    pydantic puts the tag of the chosen union member into an error's location. Wrapping it in
    angle brackets keeps it apart from real keys; ``ConfigError`` leaves such parts out.
    """
    return f"<{tag}>"


_TRUE_WORDS = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE_WORDS = frozenset({"0", "off", "f", "false", "n", "no"})


def lax_bool(value: object) -> bool | None:
    """Read a boolean the way pydantic's lax mode does; ``None`` if it is not one.

    Used by union discriminators, which must pick a shape before the field is validated
    (an environment variable arrives as the string ``"false"``).
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    return None


def find_key(data: Mapping[str, Any], *spellings: str) -> str | None:
    """Return the key of ``data`` that matches any spelling, ignoring case and underscores."""
    wanted = {_normalise(spelling) for spelling in spellings}
    for key in data:
        if isinstance(key, str) and _normalise(key) in wanted:
            return key
    return None


def _normalise(key: str) -> str:
    return key.replace("_", "").replace("-", "").lower()


def discriminate(field: str, choose: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    """Wrap a discriminator so it works for dict input and for already-built models."""

    def pick(value: Any) -> str | None:
        if isinstance(value, BaseModel):
            value = value.model_dump(by_alias=True)
        if not isinstance(value, Mapping):
            return None
        key = find_key(value, field)
        return choose(value[key] if key is not None else _MISSING)

    return pick


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Any = _Missing()
MISSING = _MISSING
"""Passed to a discriminator's chooser when the deciding key is absent."""


def _must_be(expected: bool) -> Callable[[bool], bool]:
    def check(value: bool) -> bool:
        if value is not expected:
            raise ValueError(f"must be {str(expected).lower()} in this shape of the section")
        return value

    return check


TrueFlag = Annotated[bool, AfterValidator(_must_be(True))]
"""A boolean that selects a union member and therefore must be true (lax input allowed)."""

FalseFlag = Annotated[bool, AfterValidator(_must_be(False))]
"""A boolean that selects a union member and therefore must be false (lax input allowed)."""
