"""PHP bracket form encoding of web-service parameters, the only body Moodle's REST server reads.

Moodle's REST server takes its parameters from PHP's ``$_POST``, so nested values must be flattened the way
PHP parses them back: ``events[0][name]=...``, ``options[userevents]=0``. A JSON body is silently ignored
(optional parameters then take their defaults, so the mistake can go unnoticed), ``[]`` without an index
starts a new element for every field, and PARAM_BOOL accepts only ``0`` and ``1``. Lists are therefore
always written with explicit indexes, and booleans as ``0``/``1``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["count_fields", "encode_params", "flatten"]


def _scalar(value: Any) -> str:
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "1" if value else "0"
    if isinstance(value, int | float | str):
        return str(value)
    raise TypeError(f"cannot encode a {type(value).__name__} as a Moodle web-service parameter")


def flatten(prefix: str, value: Any) -> list[tuple[str, str]]:
    """Flatten one parameter into PHP bracket fields.

    Args:
        prefix: The field name so far (``"events"``, ``"events[0]"``).
        value: A scalar, a mapping or a sequence (not a string). ``None`` values are left out, so that
            Moodle applies the parameter's default.

    Returns:
        ``(name, value)`` pairs in order.
    """
    if value is None:
        return []
    if isinstance(value, Mapping):
        fields: list[tuple[str, str]] = []
        for key, item in value.items():
            fields.extend(flatten(f"{prefix}[{key}]", item))
        return fields
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        fields = []
        for index, item in enumerate(value):
            fields.extend(flatten(f"{prefix}[{index}]", item))
        return fields
    return [(prefix, _scalar(value))]


def encode_params(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Turn a function's parameters into the ordered form fields Moodle expects.

    Example:
        >>> encode_params({"events": [{"name": "S1", "visible": True}]})
        [('events[0][name]', 'S1'), ('events[0][visible]', '1')]
    """
    fields: list[tuple[str, str]] = []
    for name, value in params.items():
        fields.extend(flatten(name, value))
    return fields


def count_fields(params: Mapping[str, Any]) -> int:
    """How many form fields ``params`` becomes (what PHP's ``max_input_vars`` counts)."""
    return len(encode_params(params))
