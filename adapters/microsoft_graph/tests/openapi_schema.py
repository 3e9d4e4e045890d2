"""Validate Graph request bodies against Microsoft's OpenAPI description (data/), made strict.

The description is generated from Graph's CSDL metadata: schemas inherit through ``allOf`` and every one allows
``additionalProperties`` of type object. This module resolves each request body schema into one JSON Schema with
``allOf`` merged, ``nullable`` turned into a null type, and unknown properties refused, so that a misspelt or
invented property fails the test. Action parameters (``Comment``, ``Schedules``...) are PascalCase in the
description and camelCase on the wire: their first letter is lowered here (see data/SOURCE.md).
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import jsonschema

DATA = Path(__file__).parent / "data"
SPEC: dict[str, Any] = json.loads((DATA / "msgraph-v1.0-calendar.openapi.json").read_text(encoding="utf-8"))
_SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _resolve(node: Any, *, camel: bool = False, depth: int = 0) -> Any:
    if isinstance(node, list):
        return [_resolve(item, camel=camel, depth=depth) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        if depth > 8:  # recursive types (an event's instances) are cut: request bodies never nest that deep
            return {}
        return _resolve(_SCHEMAS[node["$ref"].rsplit("/", 1)[1]], depth=depth + 1)
    if "allOf" in node or "anyOf" in node:
        merged: dict[str, Any] = {"type": "object", "properties": {}}
        options = node.get("allOf") or []
        for part in options:
            resolved = _resolve(part, camel=camel, depth=depth + 1)
            merged["properties"].update(resolved.get("properties", {}))
        if "anyOf" in node:  # nullable complex property: the referenced type or null
            alternatives = [_resolve(part, depth=depth + 1) for part in node["anyOf"]]
            real = [a for a in alternatives if a]
            return {"anyOf": [*real, {"type": "null"}]} if real else {}
        merged["additionalProperties"] = False
        return merged
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("description", "title", "x-ms-navigationProperty", "example", "readOnly", "format"):
            continue
        if key == "properties":
            out["properties"] = {
                (_camel(name) if camel else name): _resolve(schema, depth=depth + 1) for name, schema in value.items()
            }
        elif key == "additionalProperties" or key == "nullable":
            continue
        else:
            out[key] = _resolve(value, depth=depth + 1)
    if "properties" in out:
        out["additionalProperties"] = False
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if "enum" in out and node.get("nullable"):
        out["enum"] = [*out["enum"], None]
    return out


def _operation(method: str, path: str) -> tuple[str, dict[str, Any]]:
    """The description's path template and operation that a concrete request path names."""
    for template, item in SPEC["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)).replace("microsoft\\.graph\\.", "(?:microsoft\\.graph\\.)?") + "$"
        pattern = pattern.replace("\\(\\)", "(?:\\(\\))?")
        if re.match(pattern, path) and method.lower() in item:
            return template, item[method.lower()]
    raise AssertionError(f"{method} {path} is not in Graph's OpenAPI description (subset)")


def body_schema(method: str, path: str) -> dict[str, Any] | None:
    """The strict JSON Schema of the request body of ``method path`` (None when the operation takes none)."""
    template, operation = _operation(method, path)
    body = operation.get("requestBody")
    if body is None:
        return None
    if "$ref" in body:
        body = SPEC["components"]["requestBodies"][body["$ref"].rsplit("/", 1)[1]]
    schema = body["content"]["application/json"]["schema"]
    is_action = "microsoft.graph." in template.rsplit("/", 1)[-1]
    return _resolve(schema, camel=is_action)  # type: ignore[no-any-return]


@functools.cache
def _validator(method: str, template: str) -> jsonschema.protocols.Validator | None:
    schema = body_schema(method, template)
    if schema is None:
        return None
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)  # type: ignore[no-any-return]


def validate_request(method: str, path: str, body: Any) -> str:
    """Validate one request (path relative to ``/v1.0``) against the description; return its path template."""
    template, _ = _operation(method, path)
    validator = _validator(method, template.replace("{", "").replace("}", ""))
    if validator is not None:
        validator.validate(body)
    return template
