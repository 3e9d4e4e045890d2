"""How PHP turns a form body into ``$_POST``, and how Moodle's REST server writes XML.

Reproduced behaviours (each recorded on a live Moodle 4.5): bracket names build nested arrays, indexes need
not start at 0, ``[]`` appends a new element for every field, and fields beyond ``max_input_vars`` are
dropped without a word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from xml.sax.saxutils import escape

__all__ = ["fill_optional", "parse_php_form", "render_xml", "render_xml_exception"]

_SEGMENT = re.compile(r"\[([^\]]*)\]")


def _php_key(raw: str) -> str | int:
    # PHP turns canonical decimal integer keys into integers.
    if re.fullmatch(r"-?(0|[1-9][0-9]*)", raw):
        return int(raw)
    return raw


def _next_index(container: dict[str | int, Any]) -> int:
    ints = [k for k in container if isinstance(k, int)]
    return max(ints) + 1 if ints else 0


def parse_php_form(pairs: Iterable[tuple[str, str]], max_input_vars: int = 5000) -> dict[str | int, Any]:
    """Parse ``(name, value)`` pairs like PHP fills ``$_POST``.

    Args:
        pairs: Decoded form fields in order.
        max_input_vars: PHP's limit; later fields are silently ignored.

    Returns:
        Nested dicts (PHP arrays keep insertion order; integer-like keys become ints).
    """
    result: dict[str | int, Any] = {}
    for count, (name, value) in enumerate(pairs):
        if count >= max_input_vars:
            break
        bracket = name.find("[")
        if bracket <= 0:
            result[name] = value
            continue
        base = name[:bracket]
        segments = _SEGMENT.findall(name[bracket:])
        container = result
        key: str | int = base
        for segment in segments:
            child = container.get(key)
            if not isinstance(child, dict):
                child = {}
                container[key] = child
            container = child
            key = _next_index(container) if segment == "" else _php_key(segment)
        container[key] = value
    return result


def _xml_value(value: Any) -> str:
    if value is None:
        return '<VALUE null="null"/>'
    if isinstance(value, bool):
        return f"<VALUE>{1 if value else 0}</VALUE>"
    if isinstance(value, dict):
        keys = "".join(f'<KEY name="{escape(str(k))}">{_xml_value(v)}\n</KEY>\n' for k, v in value.items())
        return f"<SINGLE>\n{keys}</SINGLE>"
    if isinstance(value, list):
        return "<MULTIPLE>\n" + "".join(f"{_xml_value(v)}\n" for v in value) + "</MULTIPLE>"
    return f"<VALUE>{escape(str(value))}</VALUE>"


def _xml_default(optional: Any) -> Any:
    return [] if isinstance(optional, list) else None


def fill_optional(payload: Any, optional: Any) -> Any:
    """Add the optional keys an answer left out, as Moodle's XML writer does (its JSON leaves them out).

    Args:
        payload: The answer.
        optional: Mirrors the answer: a dict maps each optional key to ``None`` (a value, written as null)
            or ``[]`` (a list, written empty), or, to reach keys further in, to a dict or a one-item list
            whose item applies to every element. Left-out keys are added at the end (order is not data).

    Returns:
        The answer with every optional key present.
    """
    if isinstance(optional, list) and optional and isinstance(payload, list):
        return [fill_optional(item, optional[0]) for item in payload]
    if isinstance(optional, dict) and isinstance(payload, dict):
        return {**payload, **{key: fill_optional(payload[key], inner) if key in payload else _xml_default(inner)
                              for key, inner in optional.items()}}
    return payload


def render_xml(payload: Any) -> str:
    """Render a successful answer the way Moodle's REST server does when the format is not ``json``."""
    body = "" if payload is None else _xml_value(payload) + "\n"
    return f'<?xml version="1.0" encoding="UTF-8" ?>\n<RESPONSE>\n{body}</RESPONSE>\n'


def render_xml_exception(payload: dict[str, Any]) -> str:
    """Render an exception answer in Moodle's XML form."""
    parts = [f'<?xml version="1.0" encoding="UTF-8" ?>\n<EXCEPTION class="{escape(str(payload["exception"]))}">\n']
    if payload.get("errorcode") is not None:
        parts.append(f"<ERRORCODE>{escape(str(payload['errorcode']))}</ERRORCODE>\n")
    parts.append(f"<MESSAGE>{escape(str(payload['message']))}</MESSAGE>\n")
    if payload.get("debuginfo"):
        parts.append(f"<DEBUGINFO>{escape(str(payload['debuginfo']))}</DEBUGINFO>\n")
    parts.append("</EXCEPTION>\n")
    return "".join(parts)
