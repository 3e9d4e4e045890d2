"""A simulator of the Acme LMS API: the reference of how Acme behaves, served on loopback by the contract kit.

All JSON; errors are ``{"error": {"code": ..., "message": ...}}`` (the toolkit's default error body). What a client must know: ``POST /sessions``
needs an ``Idempotency-Key`` (201 new, 200 the same session again, 409 ``idempotency_key_reused`` for the key
with another body); a deleted session stays readable as ``cancelled`` (410 when deleted again, 409
``session_cancelled`` on a change); an enrolment over capacity is refused whole (409 ``session_full``);
listings take ``page_size`` (1..100) and ``page_token``; the token endpoint is OAuth's client credentials.

Every API call needs ``Authorization: Bearer <token>`` with a token the simulator issued and has not revoked
(401 ``invalid_token`` otherwise). Built on the kit's simulator toolkit: a ``BearerSimulator`` (routes, refusals,
the token endpoint at ``/oauth/token`` and the admin's controls ``revoke_tokens()``/``rotate_client_secret()``),
page tokens (``PageCodec.json_page``: Acme's pages are the common ``data``/``next_page_token`` form), the clock
and call limits (``simulator.throttle(calls=5)`` answers Acme's ``429 rate_limited`` with ``Retry-After``, as the
kit's default does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lms_connectors.testing.bearer import BearerSimulator
from lms_connectors.testing.paging import PageCodec
from lms_connectors.testing.refusal import Refusal
from lms_connectors.testing.routing import route
from lms_connectors.testing.sandbox import SandboxRequest, SandboxResponse
from lms_connectors.testing.simclock import SimClock

__all__ = ["AcmeLmsSimulator"]

_MAX_PAGE = 100
_SESSION_FIELDS = ("title", "starts_at", "ends_at", "timezone", "description", "capacity", "location", "meeting_url")


@dataclass
class _Session:
    id: str
    fields: dict[str, Any]
    idempotency_key: str
    status: str = "scheduled"
    version: int = 1
    enrolments: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, **self.fields, "status": self.status, "version": self.version,
                "idempotency_key": self.idempotency_key, "enrolled": len(self.enrolments)}


def _invalid(message: str) -> Refusal:
    return Refusal(422, message, "validation_failed")


def _validated(fields: dict[str, Any]) -> dict[str, Any]:
    title = fields.get("title")
    if not isinstance(title, str) or not 1 <= len(title) <= 200:
        raise _invalid("title must be 1 to 200 characters")
    try:
        starts = datetime.fromisoformat(str(fields.get("starts_at")))
        ends = datetime.fromisoformat(str(fields.get("ends_at")))
    except ValueError as exc:
        raise _invalid("starts_at and ends_at must be ISO 8601 instants") from exc
    if starts.tzinfo is None or ends.tzinfo is None or ends <= starts:
        raise _invalid("ends_at must be after starts_at, both with an offset")
    try:
        ZoneInfo(str(fields.get("timezone")))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise _invalid("timezone must be an IANA zone name") from exc
    capacity = fields.get("capacity")
    if capacity is not None and (not isinstance(capacity, int) or capacity < 1):
        raise _invalid("capacity must be a positive integer or null")
    return {name: fields.get(name) for name in _SESSION_FIELDS}


class AcmeLmsSimulator(BearerSimulator):
    """In-memory Acme LMS tenant with one registered integration.

    Args:
        client_id: The integration's OAuth client id.
        client_secret: Its secret.
        clock: The tenant's clock.
    """

    def __init__(self, client_id: str, client_secret: str, *, clock: SimClock | None = None) -> None:
        super().__init__({client_id: client_secret}, clock=clock, mint=lambda n: f"acme_at_{n:04d}")
        self.sessions: dict[str, _Session] = {}
        self.pages = PageCodec("pt_", refuse=_invalid)  # a bad page size or token: 422 validation_failed

    def _find(self, sid: str) -> _Session:
        session = self.sessions.get(sid)
        if session is None:
            raise Refusal(404, f"no session {sid}", "not_found")
        return session

    def _open(self, sid: str, refusal: str) -> _Session:
        session = self._find(sid)
        if session.status == "cancelled":
            raise Refusal(409, refusal, "session_cancelled")
        return session

    # -- sessions ------------------------------------------------------------------------------------------------

    @route("POST", "/sessions")
    def _create(self, request: SandboxRequest) -> SandboxResponse:
        key = request.headers.get("idempotency-key")
        if not key:
            raise Refusal(400, "POST /sessions needs an Idempotency-Key header", "idempotency_key_required")
        fields = _validated(request.json() or {})
        existing = next((s for s in self.sessions.values() if s.idempotency_key == key), None)
        if existing is not None:
            if existing.fields != fields:
                raise Refusal(409, "this Idempotency-Key was used for another session", "idempotency_key_reused")
            return SandboxResponse(200, existing.as_json(), headers={"Idempotent-Replayed": "true"})
        session = _Session(id=f"ses_{len(self.sessions) + 1:04d}", fields=fields, idempotency_key=key)
        self.sessions[session.id] = session
        return SandboxResponse(201, session.as_json())

    @route("GET", "/sessions/{sid}")
    def _get(self, request: SandboxRequest, sid: str) -> SandboxResponse:
        return SandboxResponse(200, self._find(sid).as_json())

    @route("PATCH", "/sessions/{sid}")
    def _patch(self, request: SandboxRequest, sid: str) -> SandboxResponse:
        session = self._open(sid, "a cancelled session cannot change")
        changes = request.json() or {}
        merged = _validated({**session.fields, **{k: v for k, v in changes.items() if k in _SESSION_FIELDS}})
        if merged != session.fields:
            session.fields = merged
            session.version += 1
        return SandboxResponse(200, session.as_json())

    @route("DELETE", "/sessions/{sid}")
    def _delete(self, request: SandboxRequest, sid: str) -> SandboxResponse:
        session = self._find(sid)
        if session.status == "cancelled":
            raise Refusal(410, "the session is already cancelled", "session_cancelled")
        session.status = "cancelled"
        session.version += 1
        return SandboxResponse(204)

    @route("GET", "/sessions")
    def _list(self, request: SandboxRequest) -> SandboxResponse:
        key = request.query_one("idempotency_key")
        if key is not None:
            found = [s.as_json() for s in self.sessions.values() if s.idempotency_key == key]
            return SandboxResponse(200, {"data": found, "next_page_token": None})
        try:
            starts_from = datetime.fromisoformat(request.query_one("starts_from") or "")
            starts_before = datetime.fromisoformat(request.query_one("starts_before") or "")
        except ValueError as exc:
            raise _invalid("starts_from and starts_before are required ISO 8601 instants") from exc
        chosen = sorted(
            (s for s in self.sessions.values() if starts_from <= datetime.fromisoformat(s.fields["starts_at"]) < starts_before),
            key=lambda s: (s.fields["starts_at"], s.id),
        )
        return self.pages.json_page(request, [s.as_json() for s in chosen], default_size=50, max_size=_MAX_PAGE)

    # -- enrolments ----------------------------------------------------------------------------------------------

    @route("POST", "/sessions/{sid}/enrolments")
    def _enrol(self, request: SandboxRequest, sid: str) -> SandboxResponse:
        session = self._open(sid, "a cancelled session takes no enrolments")
        learners = (request.json() or {}).get("learners")
        if not isinstance(learners, list) or not all(isinstance(x, dict) and x.get("email") for x in learners):
            raise _invalid("learners must be a list of objects with an email")
        new = {str(x["email"]).lower(): x for x in learners if str(x["email"]).lower() not in session.enrolments}
        capacity = session.fields.get("capacity")
        if capacity is not None and len(session.enrolments) + len(new) > capacity:
            raise Refusal(409, f"the session has {capacity} seats", "session_full")
        for email, learner in new.items():
            session.enrolments[email] = {"id": f"enr_{sid}_{len(session.enrolments) + 1:03d}", "email": email,
                                         "name": learner.get("name"), "status": "enrolled"}
        return SandboxResponse(200, {"data": [session.enrolments[str(x["email"]).lower()] for x in learners]})

    @route("DELETE", "/sessions/{sid}/enrolments/{email}")
    def _unenrol(self, request: SandboxRequest, sid: str, email: str) -> SandboxResponse:
        session = self.sessions.get(sid)
        if session is None or email.lower() not in session.enrolments:
            raise Refusal(404, f"{email} is not enrolled in {sid}", "not_found")
        del session.enrolments[email.lower()]
        return SandboxResponse(204)

    @route("GET", "/sessions/{sid}/enrolments")
    def _roster(self, request: SandboxRequest, sid: str) -> SandboxResponse:
        enrolments = list(self._find(sid).enrolments.values())
        return self.pages.json_page(request, enrolments, default_size=50, max_size=_MAX_PAGE)
