"""Moodle's external-function parameter validation (``external_api::validate_parameters``), as observed.

A description is built from :class:`Value`, :class:`Single` and :class:`Multiple`; :func:`validate` returns
the cleaned parameters or raises :class:`ParamError`, whose ``debuginfo`` reads like Moodle's (shown only
when the site's debugging is DEVELOPER).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["OPTIONAL", "REQUIRED", "Multiple", "ParamError", "Single", "Value", "validate"]

REQUIRED: Any = object()
"""Marker default: the key must be given."""

OPTIONAL: Any = object()
"""Marker default: the key may be left out and then stays absent (``VALUE_OPTIONAL``)."""


class ParamError(Exception):
    """``invalid_parameter_exception`` with its debug information."""

    def __init__(self, debuginfo: str) -> None:
        super().__init__(debuginfo)
        self.debuginfo = debuginfo


def _expecting(value: Any, kind: str) -> ParamError:
    return ParamError(f'Invalid external api parameter: the value is "{value}", the server was expecting "{kind}" type')


_INT = re.compile(r"-?[0-9]+")
_TAG = re.compile(r"<(?![ \t\n\r\v\f])")  # where PHP's strip_tags starts a tag: PARAM_TEXT then changes
_USERNAME = re.compile(r"[a-z0-9_.@-]+")


@dataclass(frozen=True)
class Value:
    """A scalar: ``int``, ``bool``, ``text`` (no tags), ``raw``, ``username``, ``alpha``."""

    kind: str
    default: Any = REQUIRED
    allow_null: bool = False

    def clean(self, value: Any) -> Any:
        """Return the cleaned value or raise :class:`ParamError`."""
        if isinstance(value, dict):
            raise ParamError("Scalar type expected, array or object received.")
        if value is None:
            if self.allow_null:
                return None
            raise ParamError("Null value not allowed")
        text = str(value)
        if self.kind == "int":
            if not _INT.fullmatch(text):
                raise _expecting(text, "int")
            return int(text)
        if self.kind == "bool":
            if text not in ("0", "1", ""):
                raise _expecting(text, "bool")
            return text == "1"
        if self.kind == "text":
            if _TAG.search(text):
                raise _expecting(text, "text")
            return text
        if self.kind == "username":
            if text != text.lower() or not _USERNAME.fullmatch(text):
                raise _expecting(text, "username")
            return text
        if self.kind == "alpha" and not text.isalpha():
            raise _expecting(text, "alpha")
        return text


@dataclass(frozen=True)
class Single:
    """A structure with named keys (PHP associative array)."""

    keys: dict[str, Any]
    default: Any = REQUIRED

    def clean(self, value: Any) -> dict[str, Any]:
        """Check required and unexpected keys, clean each value."""
        if not isinstance(value, dict):
            raise ParamError("Only arrays accepted. The bad value is: '" + str(value) + "'")
        result: dict[str, Any] = {}
        for key, description in self.keys.items():
            if key not in value:
                if description.default is REQUIRED:
                    raise ParamError(f"Missing required key in single structure: {key}")
                if description.default is not OPTIONAL:
                    default = description.default
                    result[key] = list(default) if isinstance(default, list) else default
                continue
            try:
                result[key] = description.clean(value[key])
            except ParamError as exc:
                raise ParamError(f"{key} => Invalid parameter value detected: {exc.debuginfo}") from exc
        unexpected = [str(k) for k in value if k not in self.keys]
        if unexpected:
            raise ParamError(f"Unexpected keys ({', '.join(unexpected)}) detected in parameter array.")
        return result


@dataclass(frozen=True)
class Multiple:
    """A list of one kind of element."""

    item: Any
    default: Any = field(default=REQUIRED)

    def clean(self, value: Any) -> list[Any]:
        """Clean each element (PHP arrays: the element keys are ignored, their order kept)."""
        if not isinstance(value, dict):
            if value == "" or value is None:
                return []
            raise ParamError("Only arrays accepted. The bad value is: '" + str(value) + "'")
        return [self.item.clean(element) for element in value.values()]


def validate(description: Single, params: dict[Any, Any]) -> dict[str, Any]:
    """Validate a function's top-level parameters.

    Raises:
        ParamError: As Moodle would, with Moodle's debug text. Errors inside a top-level key are prefixed
            with the key, like Moodle's.
    """
    return description.clean(params)
