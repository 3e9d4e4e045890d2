"""Answers that are not what an adapter reads, for each adapter's tests of its checked answer shapes.

An adapter's test serves its simulator with one of these bodies in place of an endpoint's answer (a truncated
JSON body or an HTML page with status 200, plus wrong types and missing fields of its own) and checks the error
with :func:`assert_malformed`: a :class:`~lms_connectors.errors.MalformedResponse` naming the provider and the
endpoint (and the field, for JSON of another shape), with a body excerpt in which no secret shows.
"""

from __future__ import annotations

from collections.abc import Sequence

from lms_connectors.errors import MalformedResponse

__all__ = ["GARBLED", "LEAKY_FIELD", "assert_malformed"]

GARBLED: dict[str, tuple[dict[str, str], bytes]] = {
    "truncated JSON": ({"Content-Type": "application/json"}, b'{"id": 85012345678, "items": [{"email": "ines@exa'),
    "HTML page with status 200": (
        {"Content-Type": "text/html; charset=utf-8"},
        b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>Your session has expired.</body></html>",
    ),
}
"""Bodies that are not JSON at all, by name: headers and body of a 200 answer."""

LEAKY_FIELD: dict[str, str] = {"password": "hunter2-is-a-secret"}
"""A sensitive field to put in a wrong-shape answer: its value must not show in the error's excerpt."""


def assert_malformed(
    error: BaseException,
    *,
    provider: str,
    endpoint: str,
    field: str | None = None,
    hidden: Sequence[str] = (LEAKY_FIELD["password"],),
) -> None:
    """Check that ``error`` is the ``MalformedResponse`` an answer of another shape must give.

    Args:
        error: What the adapter raised.
        provider: The adapter's name the error must carry.
        endpoint: A part of the endpoint the error must name (``"GET /meetings/"``).
        field: The dotted path of the wrong field, for JSON of another shape (``None``: not checked).
        hidden: Values that must not show in the error's message or excerpt (secrets).
    """
    assert isinstance(error, MalformedResponse), f"{type(error).__name__}: {error}"
    assert error.provider == provider, error.evidence()
    assert endpoint in (error.endpoint or ""), error.evidence()
    if field is not None:
        assert error.field == field, error.evidence()
    assert error.body_excerpt, error.evidence()
    for value in hidden:
        assert value not in (error.body_excerpt or ""), error.evidence()
        assert value not in str(error), error.evidence()
