"""Validate requests against Google's discovery documents (data/), converted to JSON Schema.

A discovery document is not JSON Schema: ``$ref`` values are bare schema ids, ``int64`` integers travel as
strings, and ``annotations.required`` lists the method ids for which a property is required. This module
rewrites the ``schemas`` section into a JSON Schema document and checks the per-method required rule and the
query parameters (type, enum, minimum, maximum) separately.

Unknown properties are refused (``additionalProperties: false`` where the discovery document declares the
properties of an object and says nothing about extra ones): Google answers "Invalid JSON payload received.
Unknown name" to them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema

DATA = Path(__file__).parent / "data"


def _convert(node: Any) -> Any:
    if isinstance(node, list):
        return [_convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for name, value in node.items():
        if name == "$ref":
            out["$ref"] = f"#/schemas/{value}"
        elif name in ("id", "annotations", "description", "enumDescriptions", "location", "readOnly"):
            continue
        elif name == "properties":
            out["properties"] = {prop: _convert(schema) for prop, schema in value.items()}
        elif name == "format":
            if value in ("date-time", "date"):
                out["format"] = value  # checked by _FORMATS; other discovery formats are not JSON Schema's
        else:
            out[name] = _convert(value)
    if node.get("format") in ("int64", "uint64") and node.get("type") in ("string", "integer"):
        out["type"] = "string"
        out["pattern"] = r"^-?\d+$"
    if "properties" in node and "additionalProperties" not in node:
        out["additionalProperties"] = False
    return out


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FORMATS = jsonschema.FormatChecker(formats=())
_FORMATS.checks("date-time")(lambda value: not isinstance(value, str) or bool(_RFC3339.match(value)))
_FORMATS.checks("date")(lambda value: not isinstance(value, str) or bool(_DATE.match(value)))


class Discovery:
    """One discovery document, ready to validate request bodies and query parameters."""

    def __init__(self, filename: str) -> None:
        self.document: dict[str, Any] = json.loads((DATA / filename).read_text(encoding="utf-8"))
        self.schema_document = {"schemas": {name: _convert(schema) for name, schema in self.document["schemas"].items()}}

    def method(self, method_id: str) -> dict[str, Any]:
        """The discovery entry of a method, e.g. ``calendar.events.insert``."""
        parts = method_id.split(".")[1:]
        node: Any = self.document
        for resource in parts[:-1]:
            node = node["resources"][resource]
        return dict(node["methods"][parts[-1]])

    def validate_body(self, method_id: str, body: Any) -> None:
        """Check a request body against the method's request schema and its per-method required fields.

        Raises:
            jsonschema.ValidationError: The body does not fit.
        """
        schema_id = self.method(method_id)["request"]["$ref"]
        schema = {**self.schema_document, "$ref": f"#/schemas/{schema_id}"}
        jsonschema.Draft202012Validator(schema, format_checker=_FORMATS).validate(body)
        for name, prop in self.document["schemas"][schema_id]["properties"].items():
            required_for = prop.get("annotations", {}).get("required", [])
            if method_id in required_for and name not in body:
                raise jsonschema.ValidationError(f"{name} is required for {method_id}")

    def validate_response(self, method_id: str, body: Any) -> None:
        """Check an answer against the method's response schema (a simulator's, say).

        Raises:
            jsonschema.ValidationError: The answer does not fit.
        """
        schema_id = self.method(method_id)["response"]["$ref"]
        schema = {**self.schema_document, "$ref": f"#/schemas/{schema_id}"}
        jsonschema.Draft202012Validator(schema, format_checker=_FORMATS).validate(body)

    def validate_query(self, method_id: str, query: Mapping[str, list[str]]) -> None:
        """Check query parameters: known names, enums, integer bounds, booleans.

        Raises:
            jsonschema.ValidationError: A parameter is unknown or out of range.
        """
        parameters = {**self.document.get("parameters", {}), **self.method(method_id).get("parameters", {})}
        for name, values in query.items():
            spec = parameters.get(name)
            if spec is None or spec.get("location") != "query":
                raise jsonschema.ValidationError(f"{method_id} has no query parameter {name!r}")
            if len(values) > 1 and not spec.get("repeated"):
                raise jsonschema.ValidationError(f"{name} is not repeatable")
            for value in values:
                if "enum" in spec and value not in spec["enum"]:
                    raise jsonschema.ValidationError(f"{name}={value!r} not in {spec['enum']}")
                if spec.get("type") == "integer":
                    number = int(value)
                    if "minimum" in spec and number < int(spec["minimum"]):
                        raise jsonschema.ValidationError(f"{name}={number} below {spec['minimum']}")
                    if "maximum" in spec and number > int(spec["maximum"]):
                        raise jsonschema.ValidationError(f"{name}={number} above {spec['maximum']}")
                if spec.get("type") == "boolean" and value not in ("true", "false"):
                    raise jsonschema.ValidationError(f"{name}={value!r} is not a boolean")


CALENDAR = "google-calendar-v3.discovery.json"
DIRECTORY = "google-admin-directory-v1.resources.discovery.json"
