"""A simulator of the Acme LMS API: the reference of how Acme behaves, served on loopback by the contract kit.

Endpoints (all JSON; errors are ``{"error": {"code": ..., "message": ...}}``):

=======================================  =====================================================================
``POST /oauth/token``                    form ``grant_type=client_credentials``, ``client_id``, ``client_secret``
                                         -> ``{"access_token", "token_type": "Bearer", "expires_in": 3600}``;
                                         unknown client: 401 ``{"error": "invalid_client"}``
``POST /sessions``                       needs ``Idempotency-Key``; 201 new, 200 the same session for a repeated
                                         key, 409 ``idempotency_key_reused`` for a repeated key with another body
``GET /sessions/:id``                    404 ``not_found``
``PATCH /sessions/:id``                  fields to change; 409 ``session_cancelled``
``DELETE /sessions/:id?notify=``         204 (the session stays readable as ``cancelled``); 410 when already
                                         cancelled
``GET /sessions``                        ``idempotency_key=`` or ``starts_from=``/``starts_before=``, with
                                         ``page_size`` (1..100) and ``page_token``
``POST /sessions/:id/enrolments``        ``{"learners": [...]}``; existing enrolments kept; 409 ``session_full``
                                         (nothing applied) or ``session_cancelled``
``DELETE /sessions/:id/enrolments/:e``   204; 404 when not enrolled
``GET /sessions/:id/enrolments``         paged like sessions
=======================================  =====================================================================

Every API call needs ``Authorization: Bearer <token>`` with a token the simulator issued and has not revoked
(401 ``invalid_token`` otherwise). :meth:`AcmeLmsSimulator.revoke_tokens` and
:meth:`AcmeLmsSimulator.rotate_client_secret` let tests expire a token or break the credentials.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lms_connectors.testing.sandbox import SandboxRequest, SandboxResponse, Simulator

__all__ = ["AcmeLmsSimulator"]

_MAX_PAGE = 100
_DEFAULT_PAGE = 50
_SESSION_FIELDS = ("title", "starts_at", "ends_at", "timezone", "description", "capacity", "location", "meeting_url")


def _error(status: int, code: str, message: str) -> SandboxResponse:
    return SandboxResponse(status, {"error": {"code": code, "message": message}})


@dataclass
class _Session:
    id: str
    fields: dict[str, Any]
    idempotency_key: str
    status: str = "scheduled"
    version: int = 1
    enrolments: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            **self.fields,
            "status": self.status,
            "version": self.version,
            "idempotency_key": self.idempotency_key,
            "enrolled": len(self.enrolments),
        }


class _Invalid(Exception):
    """A request body Acme refuses (422 ``validation_failed``)."""


def _validated(fields: dict[str, Any]) -> dict[str, Any]:
    title = fields.get("title")
    if not isinstance(title, str) or not 1 <= len(title) <= 200:
        raise _Invalid("title must be 1 to 200 characters")
    try:
        starts = datetime.fromisoformat(str(fields.get("starts_at")))
        ends = datetime.fromisoformat(str(fields.get("ends_at")))
    except ValueError as exc:
        raise _Invalid("starts_at and ends_at must be ISO 8601 instants") from exc
    if starts.tzinfo is None or ends.tzinfo is None or ends <= starts:
        raise _Invalid("ends_at must be after starts_at, both with an offset")
    try:
        ZoneInfo(str(fields.get("timezone")))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise _Invalid("timezone must be an IANA zone name") from exc
    capacity = fields.get("capacity")
    if capacity is not None and (not isinstance(capacity, int) or capacity < 1):
        raise _Invalid("capacity must be a positive integer or null")
    return {name: fields.get(name) for name in _SESSION_FIELDS}


class AcmeLmsSimulator(Simulator):
    """In-memory Acme LMS tenant with one registered integration.

    Args:
        client_id: The integration's OAuth client id.
        client_secret: Its secret.
    """

    def __init__(self, client_id: str, client_secret: str) -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.sessions: dict[str, _Session] = {}
        self.tokens_issued = 0
        self._live_tokens: set[str] = set()
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., SandboxResponse]]] = [
            ("POST", re.compile(r"^/oauth/token$"), self._token),
            ("POST", re.compile(r"^/sessions$"), self._create),
            ("GET", re.compile(r"^/sessions$"), self._list),
            ("GET", re.compile(r"^/sessions/(?P<sid>[^/]+)$"), self._get),
            ("PATCH", re.compile(r"^/sessions/(?P<sid>[^/]+)$"), self._patch),
            ("DELETE", re.compile(r"^/sessions/(?P<sid>[^/]+)$"), self._delete),
            ("POST", re.compile(r"^/sessions/(?P<sid>[^/]+)/enrolments$"), self._enrol),
            ("GET", re.compile(r"^/sessions/(?P<sid>[^/]+)/enrolments$"), self._roster),
            ("DELETE", re.compile(r"^/sessions/(?P<sid>[^/]+)/enrolments/(?P<email>[^/]+)$"), self._unenrol),
        ]

    # -- test controls -------------------------------------------------------------------------------------------

    def revoke_tokens(self) -> None:
        """Expire every access token issued so far (the next API call gets a 401; a new token works)."""
        with self.lock:
            self._live_tokens.clear()

    def rotate_client_secret(self, new_secret: str = "rotated-by-the-tenant-admin") -> None:
        """Change the integration's secret and revoke its tokens: the adapter's credentials stop working."""
        with self.lock:
            self.client_secret = new_secret
            self._live_tokens.clear()

    # -- dispatch ------------------------------------------------------------------------------------------------

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        """Route one request."""
        for method, pattern, handler in self._routes:
            match = pattern.match(request.path)
            if match and request.method == method:
                if handler != self._token and not self._authorised(request):
                    return _error(401, "invalid_token", "the access token is invalid or has expired")
                try:
                    return handler(request, **match.groupdict())
                except _Invalid as invalid:
                    return _error(422, "validation_failed", str(invalid))
        return _error(404, "no_such_endpoint", f"{request.method} {request.path} is not an Acme endpoint")

    def _authorised(self, request: SandboxRequest) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and token in self._live_tokens

    def _token(self, request: SandboxRequest) -> SandboxResponse:
        form = dict(request.form())
        if form.get("grant_type") != "client_credentials":
            return SandboxResponse(400, {"error": "unsupported_grant_type"})
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return SandboxResponse(401, {"error": "invalid_client"})
        self.tokens_issued += 1
        token = f"acme_at_{self.tokens_issued:04d}"
        self._live_tokens.add(token)
        return SandboxResponse(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})

    def _find(self, sid: str) -> _Session | None:
        return self.sessions.get(sid)

    # -- sessions ------------------------------------------------------------------------------------------------

    def _create(self, request: SandboxRequest) -> SandboxResponse:
        key = request.headers.get("idempotency-key")
        if not key:
            return _error(400, "idempotency_key_required", "POST /sessions needs an Idempotency-Key header")
        fields = _validated(request.json() or {})
        existing = next((s for s in self.sessions.values() if s.idempotency_key == key), None)
        if existing is not None:
            if existing.fields != fields:
                return _error(409, "idempotency_key_reused", "this Idempotency-Key was used for another session")
            return SandboxResponse(200, existing.as_json(), headers={"Idempotent-Replayed": "true"})
        session = _Session(id=f"ses_{len(self.sessions) + 1:04d}", fields=fields, idempotency_key=key)
        self.sessions[session.id] = session
        return SandboxResponse(201, session.as_json())

    def _get(self, request: SandboxRequest, sid: str) -> SandboxResponse:
        session = self._find(sid)
        if session is None:
            return _error(404, "not_found", f"no session {sid}")
        return SandboxResponse(200, session.as_json())

    def _patch(self, request: SandboxRequest, sid: str) -> SandboxResponse:
        session = self._find(sid)
        if session is None:
            return _error(404, "not_found", f"no session {sid}")
        if session.status == "cancelled":
            return _error(409, "session_cancelled", "a cancelled session cannot change")
        changes = request.json() or {}
        merged = _validated({**session.fields, **{k: v for k, v in changes.items() if k in _SESSION_FIELDS}})
        if merged != session.fields:
            session.fields = merged
            session.version += 1
        return SandboxResponse(200, session.as_json())

    def _delete(self, request: SandboxRequest, sid: str) -> SandboxResponse:
        session = self._find(sid)
        if session is None:
            return _error(404, "not_found", f"no session {sid}")
        if session.status == "cancelled":
            return _error(410, "session_cancelled", "the session is already cancelled")
        session.status = "cancelled"
        session.version += 1
        return SandboxResponse(204)

    def _list(self, request: SandboxRequest) -> SandboxResponse:
        key = request.query_one("idempotency_key")
        if key is not None:
            found = [s.as_json() for s in self.sessions.values() if s.idempotency_key == key]
            return SandboxResponse(200, {"data": found, "next_page_token": None})
        try:
            starts_from = datetime.fromisoformat(request.query_one("starts_from") or "")
            starts_before = datetime.fromisoformat(request.query_one("starts_before") or "")
        except ValueError as exc:
            raise _Invalid("starts_from and starts_before are required ISO 8601 instants") from exc
        chosen = sorted(
            (
                s
                for s in self.sessions.values()
                if starts_from <= datetime.fromisoformat(s.fields["starts_at"]) < starts_before
            ),
            key=lambda s: (s.fields["starts_at"], s.id),
        )
        return self._page(request, [s.as_json() for s in chosen])

    # -- enrolments ----------------------------------------------------------------------------------------------

    def _enrol(self, request: SandboxRequest, sid: str) -> SandboxResponse:
        session = self._find(sid)
        if session is None:
            return _error(404, "not_found", f"no session {sid}")
        if session.status == "cancelled":
            return _error(409, "session_cancelled", "a cancelled session takes no enrolments")
        learners = (request.json() or {}).get("learners")
        if not isinstance(learners, list) or not all(isinstance(x, dict) and x.get("email") for x in learners):
            raise _Invalid("learners must be a list of objects with an email")
        new = {str(x["email"]).lower(): x for x in learners if str(x["email"]).lower() not in session.enrolments}
        capacity = session.fields.get("capacity")
        if capacity is not None and len(session.enrolments) + len(new) > capacity:
            return _error(409, "session_full", f"the session has {capacity} seats")
        for email, learner in new.items():
            session.enrolments[email] = {
                "id": f"enr_{sid}_{len(session.enrolments) + 1:03d}",
                "email": email,
                "name": learner.get("name"),
                "status": "enrolled",
            }
        return SandboxResponse(200, {"data": [session.enrolments[str(x["email"]).lower()] for x in learners]})

    def _unenrol(self, request: SandboxRequest, sid: str, email: str) -> SandboxResponse:
        session = self._find(sid)
        if session is None or email.lower() not in session.enrolments:
            return _error(404, "not_found", f"{email} is not enrolled in {sid}")
        del session.enrolments[email.lower()]
        return SandboxResponse(204)

    def _roster(self, request: SandboxRequest, sid: str) -> SandboxResponse:
        session = self._find(sid)
        if session is None:
            return _error(404, "not_found", f"no session {sid}")
        return self._page(request, list(session.enrolments.values()))

    # -- paging --------------------------------------------------------------------------------------------------

    def _page(self, request: SandboxRequest, items: list[dict[str, Any]]) -> SandboxResponse:
        try:
            size = int(request.query_one("page_size") or _DEFAULT_PAGE)
        except ValueError as exc:
            raise _Invalid("page_size must be an integer") from exc
        if not 1 <= size <= _MAX_PAGE:
            raise _Invalid(f"page_size must be between 1 and {_MAX_PAGE}")
        token = request.query_one("page_token")
        offset = 0
        if token:
            match = re.fullmatch(r"pt_(\d+)", token)
            if match is None:
                raise _Invalid("unknown page_token")
            offset = int(match.group(1))
        following = offset + size
        next_token = f"pt_{following}" if following < len(items) else None
        return SandboxResponse(200, {"data": items[offset:following], "next_page_token": next_token})
