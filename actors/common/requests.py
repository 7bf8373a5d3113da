"""The create request body (``api.md`` §5.3.1) and its normalisation (§5.3.2).

JupyterHub forwards raw form data, where every field is a list of strings; bots send plain
JSON values. Both are accepted: the ``before`` validator turns form lists into values, then
pydantic checks types, and the ``after`` validator enforces "exactly one way to name the
image". Every failure is a pydantic validation error, which the web layer answers with 422
and ``loc`` starting at ``["body", ...]``.

No value is coerced into another JSON type: strings must be JSON strings (``StrictStr``: a
number is not an image tag, nor an environment value), the two flags take a JSON boolean or
exactly ``"true"``/``"false"`` (what a form submits), and the enums take their string values.
Unknown keys are ignored (api.md §1.2), which for ``options`` includes the form-list
unwrapping: an unknown key with several values is still "too many values" (§5.3.2, step 1).
"""

from __future__ import annotations

import re
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator, model_validator

from actors.common.models import ImageClass
from actors.config import LabSize

__all__ = ["DROPDOWN_SENTINEL", "IMAGE_ATTRIBUTES", "LabRequestOptions", "LabSpecification"]

DROPDOWN_SENTINEL = "use_image_from_dropdown"
"""Value of the ``image_list`` radio that means "use the dropdown's choice"."""

IMAGE_ATTRIBUTES = ("image_list", "image_dropdown", "image_class", "image_tag")
"""The ways to name an image, in the order the error location prefers them."""

SERVICE_PREFIX_VARIABLE = "JUPYTERHUB_SERVICE_PREFIX"

_SERVICE_PREFIX = re.compile(r"/(?:[A-Za-z0-9._~!$&'()*+,;=:@%-]+/)*")
"""What JupyterHub sends: an absolute path of URL-safe segments, ending in ``/``."""


def _unwrap_form_value(key: str, value: Any) -> Any:
    if isinstance(value, list):
        if len(value) == 0:
            return None
        if len(value) > 1:
            raise ValueError(f"Too many values for {key}")
        return value[0]
    return value


def _strict_bool(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if value == "true":
        return True
    if value == "false":
        return False
    raise ValueError('must be a boolean or the string "true" or "false"')


class LabRequestOptions(BaseModel):
    """The spawn form's choices (or a bot's equivalent), normalised."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    image_list: StrictStr | None = None
    image_dropdown: StrictStr | None = None
    image_class: ImageClass | None = None
    image_tag: StrictStr | None = None
    size: LabSize
    enable_debug: bool = False
    reset_user_env: bool = False

    @model_validator(mode="before")
    @classmethod
    def _unwrap_form_lists(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        unwrapped = {}
        for key, value in data.items():
            value = _unwrap_form_value(key, value)
            if value is not None:
                unwrapped[key] = value
        return unwrapped

    @field_validator("enable_debug", "reset_user_env", mode="before")
    @classmethod
    def _form_booleans(cls, value: Any) -> Any:
        return _strict_bool(value)

    @field_validator("size", mode="before")
    @classmethod
    def _lower_case_size(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _exactly_one_image(self) -> Self:
        updates: dict[str, Any] = {}
        image_list = self.image_list or None
        if image_list == DROPDOWN_SENTINEL:
            image_list = None
        updates["image_list"] = image_list
        if image_list is not None:
            # The form always submits a dropdown value; the radio choice wins.
            updates["image_dropdown"] = None
        else:
            updates["image_dropdown"] = self.image_dropdown or None
        updates["image_tag"] = self.image_tag or None
        chosen = {**self.__dict__, **updates}
        given = sorted(name for name in IMAGE_ATTRIBUTES if chosen.get(name) is not None)
        if not given:
            raise ValueError("No image to spawn specified")
        if len(given) > 1:
            raise ValueError(f"Image specified multiple ways ({', '.join(given)})")
        for key, value in updates.items():
            object.__setattr__(self, key, value)
        return self

    @property
    def image_attribute(self) -> str:
        """Which attribute names the image (the ``loc`` of image errors)."""
        for name in IMAGE_ATTRIBUTES:
            if getattr(self, name) is not None:
                return name
        raise AssertionError("validated options always name an image")


class LabSpecification(BaseModel):
    """The body of ``POST .../labs/{username}/create``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    options: LabRequestOptions
    env: dict[StrictStr, StrictStr] = Field(
        description="Environment from JupyterHub",
        # What ``_service_prefix_present`` requires, stated for the API document.
        json_schema_extra={
            "required": [SERVICE_PREFIX_VARIABLE],
            "properties": {
                SERVICE_PREFIX_VARIABLE: {
                    "type": "string",
                    "pattern": f"^{_SERVICE_PREFIX.pattern}$",
                }
            },
        },
    )

    @field_validator("env")
    @classmethod
    def _service_prefix_present(cls, env: dict[str, str]) -> dict[str, str]:
        if SERVICE_PREFIX_VARIABLE not in env:
            raise ValueError(f"{SERVICE_PREFIX_VARIABLE} must be set")
        if not _SERVICE_PREFIX.fullmatch(env[SERVICE_PREFIX_VARIABLE]):
            # It becomes the path of the lab's internal URL, the address JupyterHub's proxy
            # is given: anything but a path ("@host:80/x?") could name another host.
            raise ValueError(
                f"{SERVICE_PREFIX_VARIABLE} must be an absolute URL path ending in /"
                " (such as /nb/user/alice/)"
            )
        return env
