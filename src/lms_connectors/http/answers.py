"""Checked shapes of provider answers: the fields an adapter reads, typed, and what an answer of another shape is.

An adapter declares, in its own module, a pydantic model per answer it reads (an :class:`AnswerShape`), and reads
the answer through :func:`checked` (or :meth:`~lms_connectors.http.transport.HttpTransport.request_checked`). An
answer of another shape (a missing field, a string where a number was due, a list where an object was) is then a
:class:`~lms_connectors.errors.MalformedResponse` naming the provider, the endpoint and the wrong field, with the
status, the request id and a redacted excerpt of the body, before any of it is used.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic import ValidationError as PydanticValidationError

from lms_connectors.errors import MalformedResponse
from lms_connectors.http.evidence import response_evidence
from lms_connectors.http.redaction import redact_mapping, redact_text

if TYPE_CHECKING:
    import requests

__all__ = ["AnswerList", "AnswerShape", "JsonPage", "ShapeT", "checked"]

_EXCERPT_CHARS = 300


class AnswerShape(BaseModel):
    """Base of the checked shape of a provider answer: the fields an adapter reads, with their types.

    Fields the adapter does not read are kept as they came (``extra="allow"``: ``model_dump()`` gives the whole
    answer back, for a ``raw`` view) and never checked; the ones it declares are checked in pydantic's lax mode
    (a number where a number is due, a string where a string is, a list where a list is), so an adapter reads
    them without ``isinstance`` tests of its own.
    """

    # defer_build: each shape's validator is built when an answer of that shape is first read, not at import.
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True, defer_build=True)


ShapeT = TypeVar("ShapeT", bound=BaseModel)
ItemT = TypeVar("ItemT")


class JsonPage(AnswerShape, Generic[ItemT]):
    """The checked shape of a page in the common REST form: ``data`` (the items) and ``next_page_token``.

    These are the names :func:`~lms_connectors.http.pagination.paginate_json_by_token` reads by default.
    ``JsonPage[Item]`` checks each item as ``Item``; it also fits an answer that carries a ``data`` list alone (the
    token is then ``None``). An API with other names declares its own page shape.
    """

    data: list[ItemT]
    next_page_token: str | None = None


class AnswerList(BaseModel):
    """Base of the checked shape of an answer that is a JSON list.

    A subclass declares the shape of the items::

        class Users(AnswerList):
            root: list[User]

    Read the items as ``.root``, as from a pydantic ``RootModel``. It is not one, and it is not a generic model:
    importing ``RootModel`` or parametrizing a generic model builds a validator (and runs pydantic's plugin scan)
    at import time. Like every answer shape, its validator is built when an answer is first read.
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    root: list[Any]

    @model_validator(mode="before")
    @classmethod
    def _the_answer_is_the_list(cls, data: Any) -> Any:
        return data if isinstance(data, AnswerList) else {"root": data}


def _field_names(annotation: Any, seen: set[type[BaseModel]] | None = None) -> set[str]:
    """Every field name (and alias) of the models ``annotation`` holds, however deeply (lists, unions...)."""
    seen = set() if seen is None else seen
    names: set[str] = set()
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in seen:
            return names
        seen.add(annotation)
        for name, info in annotation.model_fields.items():
            names.add(name)
            if info.alias:
                names.add(info.alias)
            names |= _field_names(info.annotation, seen)
        return names
    for argument in get_args(annotation):
        names |= _field_names(argument, seen)
    return names


def _field_path(shape: type[BaseModel], location: tuple[int | str, ...]) -> str:
    """The dotted path of a wrong value: list indexes and field names, without pydantic's union-member tags."""
    names = _field_names(shape)
    if issubclass(shape, AnswerList) and location[:1] == ("root",):
        location = location[1:]  # the answer is the list: an item's path starts at its index
    return ".".join(str(part) for part in location if isinstance(part, int) or part in names)


def _payload_excerpt(payload: Any, secrets: Iterable[str]) -> str:
    shown = redact_mapping(payload) if isinstance(payload, dict) else payload
    try:
        text = json.dumps(shown, default=str)
    except (TypeError, ValueError):  # a value json cannot show: its repr is enough for an excerpt
        text = repr(shown)
    return redact_text(text, secrets)[:_EXCERPT_CHARS]


def checked(
    shape: type[ShapeT],
    payload: Any,
    *,
    provider: str | None,
    endpoint: str,
    response: requests.Response | None = None,
    secrets: Iterable[str] = (),
) -> ShapeT:
    """``payload`` (a decoded provider answer) read as ``shape``, or a ``MalformedResponse`` saying what was wrong.

    Args:
        shape: The answer's checked shape (an :class:`AnswerShape`, or an :class:`AnswerList` for a list answer).
        payload: The decoded JSON (or a value the adapter decoded from XML).
        provider: The adapter's name.
        endpoint: The call it answered, as people name it (``"get meeting (GET /meetings/{id})"``).
        response: The HTTP answer it came from, for the status, request id and the body's excerpt; without it
            the excerpt is taken from ``payload``.
        secrets: Secret values to redact from the excerpt (on top of the values of sensitive keys).

    Raises:
        MalformedResponse: The payload does not have the shape; ``field`` is the dotted path of the first wrong
            field (``""`` when the answer as a whole is of another type), ``code`` is ``"unexpected_shape"``.
    """
    try:
        return shape.model_validate(payload)
    except PydanticValidationError as exc:
        problems = exc.errors(include_url=False)
        first = problems[0]
        field = _field_path(shape, tuple(first["loc"]))
        where = f"field {field!r}" if field else "the answer"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        found = type(first.get("input")).__name__ if first["type"] != "missing" else "nothing"
        if response is not None:
            evidence = response_evidence(response, secrets)
        else:
            evidence = {"body_excerpt": _payload_excerpt(payload, secrets)}
        evidence["code"] = "unexpected_shape"
        raise MalformedResponse(
            f"{endpoint}: {where} of the answer is not what the adapter reads: {first['msg']} "
            f"(found {found}){more}",
            provider=provider,
            endpoint=endpoint,
            field=field,
            **evidence,
        ) from None
