"""The Acme LMS adapter: a session is an Acme session object, its roster the session's enrolments.

Acme has what a well-behaved API offers, and the adapter leans on it instead of working around it:

* creates carry an ``Idempotency-Key`` header (Acme answers a repeated key with the object it already made),
  so a create is safe to resend and the transport may retry it after a lost answer;
* Acme enforces the capacity itself (``409 session_full``);
* listings are paged with opaque page tokens.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote

from acme_lms_connector.classify import acme_classifier
from acme_lms_connector.config import AcmeLmsConfig
from acme_lms_connector.mapping import (
    PROVIDER,
    learner_payload,
    provider_ref,
    provider_session,
    roster_member,
    session_payload,
)
from lms_connectors.adapter import Adapter, AdapterKind, Capability
from lms_connectors.errors import MalformedResponse, NotFound
from lms_connectors.http import ClientCredentialsAuth, paginate_by_token
from lms_connectors.models import Person, ProviderRef, ProviderSession, RosterMember, Session
from lms_connectors.timezones import require_window

__all__ = ["AcmeLmsAdapter"]


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class AcmeLmsAdapter(Adapter):
    """Schedules sessions in Acme LMS (constructor: see :class:`~lms_connectors.adapter.Adapter`)."""

    name: ClassVar[str] = PROVIDER
    display_name: ClassVar[str] = "Acme LMS"
    kind: ClassVar[AdapterKind] = AdapterKind.LMS
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.RESCHEDULE_IN_PLACE,
            Capability.ROSTER,
            Capability.PUBLISHES_MEETING_LINK,
            Capability.NATIVE_IDEMPOTENCY,
            Capability.NATIVE_CAPACITY,
            Capability.LIST_SESSIONS,
        }
    )
    config_model: ClassVar[type[AcmeLmsConfig]] = AcmeLmsConfig
    config: AcmeLmsConfig

    def setup(self) -> None:
        """An OAuth client-credentials token (``POST /oauth/token``), then every call with it."""
        self.auth = ClientCredentialsAuth(
            self.token_transport(self.config.resolved_token_url),
            client_id=self.config.client_id,
            client_secret=self.config.client_secret.get_secret_value(),
        )
        self.api_transport(auth=self.auth, classifier=acme_classifier)

    def _session_object(self, payload: Any) -> dict[str, Any]:
        if not isinstance(payload, dict):
            raise MalformedResponse("Acme answered something other than a session object", provider=PROVIDER)
        return payload

    # -- required ---------------------------------------------------------------------------------------------

    def create_new(self, session: Session, key: str) -> ProviderRef:
        """:calls: ``POST /sessions`` with ``Idempotency-Key: <key>`` (Acme dedupes by key: no look-up first)."""
        payload = self.transport.request_json(
            "POST",
            "sessions",
            json=session_payload(session),
            headers={"Idempotency-Key": key},
            idempotent=True,  # Acme answers a repeated key with the session it already made
        )
        return provider_ref(self._session_object(payload))

    def find_session(self, key: str) -> ProviderRef | None:
        """:calls: ``GET /sessions?idempotency_key=<key>``."""
        payload = self.transport.request_json("GET", "sessions", params={"idempotency_key": key})
        found = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(found, list):
            raise MalformedResponse("Acme listing without a data array", provider=PROVIDER)
        return provider_ref(found[0]) if found else None

    def get_session(self, ref: ProviderRef) -> ProviderSession:
        """:calls: ``GET /sessions/:id``."""
        payload = self.transport.request_json("GET", f"sessions/{quote(ref.external_id, safe='')}")
        return provider_session(self._session_object(payload))

    def reschedule_session(self, ref: ProviderRef, session: Session) -> ProviderRef:
        """:calls: ``PATCH /sessions/:id`` (in place; the body sets absolute values, so resending is safe)."""
        payload = self.transport.request_json(
            "PATCH",
            f"sessions/{quote(ref.external_id, safe='')}",
            json=session_payload(session),
            idempotent=True,
        )
        return provider_ref(self._session_object(payload))

    def cancel_session(self, ref: ProviderRef, *, notify: bool = True) -> None:
        """:calls: ``DELETE /sessions/:id?notify=...``; a session already cancelled or gone is fine."""
        try:
            self.transport.request(
                "DELETE",
                f"sessions/{quote(ref.external_id, safe='')}",
                params={"notify": "true" if notify else "false"},
            )
        except NotFound:
            return

    # -- roster -------------------------------------------------------------------------------------------------

    def enrol(
        self, ref: ProviderRef, session: Session, people: Sequence[Person], *, seated: bool = False
    ) -> list[RosterMember]:
        """:calls: ``POST /sessions/:id/enrolments`` (one call for everyone; Acme keeps existing enrolments)."""
        if not people:
            return []
        payload = self.transport.request_json(
            "POST",
            f"sessions/{quote(ref.external_id, safe='')}/enrolments",
            json={"learners": [learner_payload(person) for person in people]},
            idempotent=True,  # enrolling someone already enrolled changes nothing
        )
        return [roster_member(item) for item in payload.get("data", [])]

    def unenrol(
        self,
        ref: ProviderRef,
        session: Session,
        people: Sequence[Person],
        *,
        registrations: Mapping[str, RosterMember] | None = None,
    ) -> None:
        """:calls: ``DELETE /sessions/:id/enrolments/:email`` for each person; absent ones are fine."""
        for person in people:
            try:
                self.transport.request(
                    "DELETE",
                    f"sessions/{quote(ref.external_id, safe='')}/enrolments/{quote(person.email, safe='')}",
                )
            except NotFound:
                continue

    def list_roster(self, ref: ProviderRef) -> Iterator[RosterMember]:
        """:calls: ``GET /sessions/:id/enrolments`` (paged by token)."""
        path = f"sessions/{quote(ref.external_id, safe='')}/enrolments"

        def page(token: str | None) -> tuple[list[RosterMember], str | None]:
            params: dict[str, Any] = {"page_size": self.config.page_size}
            if token:
                params["page_token"] = token
            payload = self.transport.request_json("GET", path, params=params)
            return [roster_member(item) for item in payload.get("data", [])], payload.get("next_page_token")

        return paginate_by_token(page)

    def list_sessions(
        self, start: datetime, end: datetime, *, page_size: int | None = None
    ) -> Iterator[ProviderSession]:
        """:calls: ``GET /sessions?starts_from=...&starts_before=...`` (paged by token)."""
        require_window(start, end)
        size = page_size or self.config.page_size

        def page(token: str | None) -> tuple[list[ProviderSession], str | None]:
            params: dict[str, Any] = {"starts_from": _utc(start), "starts_before": _utc(end), "page_size": size}
            if token:
                params["page_token"] = token
            payload = self.transport.request_json("GET", "sessions", params=params)
            return [provider_session(item) for item in payload.get("data", [])], payload.get("next_page_token")

        return paginate_by_token(page)

    # -- Acme-only extras -----------------------------------------------------------------------------------------

    def ex_learner_page(self, ref: ProviderRef) -> str:
        """The page where learners see the session in Acme's web app (no call)."""
        web_root = self.config.base_url.rstrip("/").removesuffix("/v1").replace("://api.", "://app.")
        return f"{web_root}/sessions/{quote(ref.external_id, safe='')}"
