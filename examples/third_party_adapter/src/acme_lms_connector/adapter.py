"""The Acme LMS adapter: a session is an Acme session object, its roster the session's enrolments.

Acme has what a well-behaved API offers, and the adapter leans on it instead of working around it:

* creates carry an ``Idempotency-Key`` header (Acme answers a repeated key with the object it already made),
  so a create is safe to resend and the transport may retry it after a lost answer;
* Acme enforces the capacity itself (``409 session_full``);
* listings are paged with opaque page tokens.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import ClassVar

from acme_lms_connector.classify import acme_classifier
from acme_lms_connector.config import AcmeLmsConfig
from acme_lms_connector.mapping import (
    PROVIDER,
    Enrolment,
    SessionObject,
    learner_payload,
    provider_ref,
    provider_session,
    roster_member,
    session_payload,
)
from lms_connectors.adapter import Adapter, AdapterKind, Capability
from lms_connectors.http import JsonPage, api_path, paginate_json_by_token
from lms_connectors.models import Person, ProviderRef, ProviderSession, Registrations, RosterMember, Session
from lms_connectors.timezones import format_utc, require_window

__all__ = ["AcmeLmsAdapter"]


class AcmeLmsAdapter(Adapter[AcmeLmsConfig]):
    """Schedules sessions in Acme LMS (constructor: see :class:`~lms_connectors.adapter.Adapter`)."""

    name: ClassVar[str] = PROVIDER
    display_name: ClassVar[str] = "Acme LMS"
    kind: ClassVar[AdapterKind] = AdapterKind.LMS
    capabilities: ClassVar[frozenset[Capability]] = frozenset(  # ROSTER and LIST_SESSIONS: from the methods below
        {
            Capability.RESCHEDULE_IN_PLACE,
            Capability.PUBLISHES_MEETING_LINK,
            Capability.NATIVE_IDEMPOTENCY,
            Capability.NATIVE_CAPACITY,
        }
    )

    def setup(self) -> None:
        """An OAuth client-credentials token (``POST /oauth/token``), then every call with it."""
        self.auth = self.client_credentials_auth()
        self.api_transport(auth=self.auth, classifier=acme_classifier)

    # -- required ---------------------------------------------------------------------------------------------

    def create_new(self, session: Session, key: str) -> ProviderRef:
        """:calls: ``POST /sessions`` with ``Idempotency-Key: <key>`` (Acme dedupes by key: no look-up first)."""
        payload = self.transport.request_json(
            "POST", "sessions", json=session_payload(session), headers={"Idempotency-Key": key}, shape=SessionObject,
            idempotent=True,  # Acme answers a repeated key with the session it already made
        )
        return provider_ref(payload)

    def find_session(self, key: str) -> ProviderRef | None:
        """:calls: ``GET /sessions?idempotency_key=<key>``."""
        found = self.transport.request_json("GET", "sessions", params={"idempotency_key": key},
                                            shape=JsonPage[SessionObject])["data"]
        return provider_ref(found[0]) if found else None

    def get_session(self, ref: ProviderRef) -> ProviderSession:
        """:calls: ``GET /sessions/:id``."""
        path = api_path("sessions", ref.external_id)
        return provider_session(self.transport.request_json("GET", path, shape=SessionObject))

    def reschedule_session(self, ref: ProviderRef, session: Session) -> ProviderRef:
        """:calls: ``PATCH /sessions/:id`` (in place; the body sets absolute values, so resending is safe)."""
        payload = self.transport.request_json(
            "PATCH", api_path("sessions", ref.external_id), json=session_payload(session), idempotent=True,
            shape=SessionObject,
        )
        return provider_ref(payload)

    def cancel_session(self, ref: ProviderRef, *, notify: bool = True) -> None:
        """:calls: ``DELETE /sessions/:id?notify=...``; a session already cancelled or gone is fine."""
        self.transport.delete_if_present(
            api_path("sessions", ref.external_id), params={"notify": "true" if notify else "false"}
        )

    # -- roster -------------------------------------------------------------------------------------------------

    def enrol(
        self, ref: ProviderRef, session: Session, people: Sequence[Person], *, seated: bool = False
    ) -> list[RosterMember]:
        """:calls: ``POST /sessions/:id/enrolments`` (one call for everyone; Acme keeps existing enrolments)."""
        if not people:
            return []
        payload = self.transport.request_json(
            "POST", api_path("sessions", ref.external_id, "enrolments"), shape=JsonPage[Enrolment],
            json={"learners": [learner_payload(person) for person in people]},
            idempotent=True,  # enrolling someone already enrolled changes nothing
        )
        return [roster_member(item) for item in payload["data"]]

    def unenrol(
        self, ref: ProviderRef, session: Session, people: Sequence[Person], *,
        registrations: Registrations | None = None,
    ) -> None:
        """:calls: ``DELETE /sessions/:id/enrolments/:email`` for each person; absent ones are fine."""
        for person in people:
            self.transport.delete_if_present(api_path("sessions", ref.external_id, "enrolments", person.email))

    def list_roster(self, ref: ProviderRef) -> Iterator[RosterMember]:
        """:calls: ``GET /sessions/:id/enrolments`` (paged by token)."""
        path = api_path("sessions", ref.external_id, "enrolments")
        params = {"page_size": self.config.page_size}
        return paginate_json_by_token(self.transport, path, roster_member, params=params, shape=JsonPage[Enrolment])

    def list_sessions(
        self, start: datetime, end: datetime, *, page_size: int | None = None
    ) -> Iterator[ProviderSession]:
        """:calls: ``GET /sessions?starts_from=...&starts_before=...`` (paged by token)."""
        require_window(start, end)
        window = {"starts_from": format_utc(start), "starts_before": format_utc(end)}
        params = {**window, "page_size": page_size or self.config.page_size}
        return paginate_json_by_token(self.transport, "sessions", provider_session, params=params,
                                      shape=JsonPage[SessionObject])

    # -- Acme-only extras -----------------------------------------------------------------------------------------

    def ex_learner_page(self, ref: ProviderRef) -> str:
        """The page where learners see the session in Acme's web app (no call)."""
        web_root = self.config.base_url.rstrip("/").removesuffix("/v1").replace("://api.", "://app.")
        return f"{web_root}/{api_path('sessions', ref.external_id)}"
