"""Canvas's error answers mapped into the lms-connectors error tree: its body shapes and a table of rows.

Canvas answers errors in three JSON shapes and one plain-text one (sources in the README):

* ``{"errors": [{"message": "The specified resource does not exist."}]}`` (404, 401, most refusals), sometimes
  with ``"status": "unauthorized"`` or ``"unauthenticated"`` beside it;
* a model's validation errors, ``{"errors": {"<attribute>": [{"attribute": ..., "type": "taken", "message": ...}]}}``
  (400), read with each attribute and each ``type`` as codes;
* the reservation refusal of an appointment slot, a list ``[{"attribute": "reservation", "type": ..., "message":
  ...}]`` (400);
* the throttling answer, ``403 Forbidden (Rate Limit Exceeded)`` as ``text/plain`` (until October 2025, and on
  instances that keep it) or a 429 (since).

A 401 is refreshed only when it carries ``WWW-Authenticate`` (an expired or deleted token); a 401 without it is a
user who may not do this, which no new token cures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lms_connectors.errors import AuthError, CapacityFull, Conflict, PermissionDenied, RateLimited
from lms_connectors.http.classify import ErrorBody, ErrorFacts, ErrorRule, RuleClassifier

if TYPE_CHECKING:
    import requests

__all__ = ["THROTTLED_TEXT", "CanvasClassifier", "canvas_error_body", "is_throttled"]

THROTTLED_TEXT = "Rate Limit Exceeded"
"""What Canvas's throttling answer says (``403 Forbidden (Rate Limit Exceeded)``)."""


def _entries(items: list[Any]) -> ErrorBody:
    codes: list[str | int] = []
    messages: list[str] = []
    for item in items:
        if isinstance(item, dict):
            attribute, kind, message = item.get("attribute"), item.get("type"), item.get("message")
            codes += [str(value) for value in (attribute, kind) if isinstance(value, str) and value]
            if isinstance(message, str) and message:
                messages.append(f"{attribute}: {message}" if isinstance(attribute, str) and attribute else message)
        elif isinstance(item, str):
            messages.append(item)
    return ErrorBody(tuple(dict.fromkeys(codes)), "; ".join(messages))


def canvas_error_body(payload: Any) -> ErrorBody | None:
    """Read Canvas's error shapes out of a decoded JSON body (``None`` when it holds none)."""
    if isinstance(payload, list):
        found = _entries(payload)
        return found if found.codes or found.message else None
    if not isinstance(payload, dict):
        return None
    errors = payload.get("errors")
    status = payload.get("status")
    prefix: tuple[str | int, ...] = (status,) if isinstance(status, str) and status else ()
    if isinstance(errors, list):
        found = _entries(errors)
        return ErrorBody(prefix + found.codes, found.message)
    if isinstance(errors, dict):
        listed = [entry for value in errors.values() if isinstance(value, list) for entry in value]
        found = _entries(listed)
        # An attribute whose errors are plain strings still names the field.
        names = tuple(str(name) for name in errors)
        return ErrorBody(tuple(dict.fromkeys(prefix + found.codes + names)), found.message or ", ".join(names))
    if isinstance(errors, str):
        return ErrorBody(prefix, errors)
    message = payload.get("message")
    if isinstance(message, str) and message:
        return ErrorBody(prefix, message)
    return None


def is_throttled(response: requests.Response) -> bool:
    """Whether an answer is Canvas's throttling refusal (403 with its text, or 429)."""
    if response.status_code == 429:
        return True
    return response.status_code == 403 and THROTTLED_TEXT.encode() in response.content[:500]


CANVAS_RULES: tuple[ErrorRule, ...] = (
    ErrorRule(RateLimited, "Canvas throttled the call (its request bucket is full)", status={403, 429},
              message=THROTTLED_TEXT),
    ErrorRule(AuthError, "Canvas refused the access token (expired or deleted)", status={401},
              header=("WWW-Authenticate", r"^Bearer"), refresh=True),
    ErrorRule(PermissionDenied, "the token's user may not do this in Canvas", status={401}),
    ErrorRule(CapacityFull, "the appointment slot has no free place", status={400},
              message=r"reservation: .*\bfull\b"),
    ErrorRule(Conflict, "the SIS or integration id is already used in the account", status={400},
              message=r"^taken$|is already in use"),
)
"""Canvas's rows, before the core's (which map 400 to ``InvalidRequest``, 404 to ``NotFound``...)."""


class CanvasClassifier(RuleClassifier):
    """The rule table with Canvas's body reader; a plain-text body is read as the message (the throttling answer)."""

    def __init__(self) -> None:
        super().__init__(CANVAS_RULES, provider="canvas", read_body=canvas_error_body)

    def facts(self, response: requests.Response) -> ErrorFacts:
        """As the base class; a ``text/plain`` error's text becomes its message so that rows can match it."""
        facts = super().facts(response)
        if facts.body is None and "text" in facts.kinds and not response.ok:
            text = response.content[:500].decode("utf-8", errors="replace").strip()
            return ErrorFacts(facts.status, facts.kinds, ErrorBody((), text), facts.headers)
        return facts


canvas_classifier = CanvasClassifier()
"""The table as the README shows it (``python -m lms_connectors.http.error_table``); each adapter builds its own."""
