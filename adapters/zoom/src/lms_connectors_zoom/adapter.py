"""The Zoom adapter: a session is a scheduled meeting, its roster the meeting's registrants.

=====================  =========================================================================================
SDK operation          Zoom API
=====================  =========================================================================================
create_session         ``GET /users/{userId}/meetings?type=scheduled`` (marker lookup, skipped for a fresh key), then
                       ``POST /users/{userId}/meetings`` (type 2)
find_session           ``GET /users/{userId}/meetings?type=scheduled`` (paged), agenda marker ``[lmsc:<key>]``
get_session            ``GET /meetings/{meetingId}``
reschedule_session     ``PATCH /meetings/{meetingId}`` (204, same meeting)
cancel_session         ``DELETE /meetings/{meetingId}?cancel_meeting_reminder=true|false``
enrol                  ``POST /meetings/{meetingId}/batch_registrants`` (≤30 each; on code 3000 for a repeated
                       registration, ``GET .../registrants`` reads it back); with native capacity also
                       ``GET .../registrants?status=approved|pending`` and ``PUT .../registrants/status``
unenrol                ``GET .../registrants`` (ids), ``PUT .../registrants/status {action: cancel}`` (≤30 each)
list_roster            ``GET /meetings/{meetingId}/registrants?status=approved|pending`` (paged)
list_sessions          ``GET /users/{userId}/meetings?type=scheduled`` (paged)
=====================  =========================================================================================

Capacity: with ``native_capacity`` on, a session with a capacity becomes a meeting with manual approval
(``approval_type=1``). Enrolling approves registrants while seats are free (``auto_approve``); beyond the capacity
they stay ``pending``, which is Zoom's own waitlist, and are approved when enrolled again after a seat freed (the
scheduler pushes a promoted learner that way). :meth:`ZoomAdapter.list_roster` reports each member's status so
approved and pending people are told apart.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from lms_connectors.adapter import Adapter, AdapterKind, Capability, DiagnosticCheck, Presence
from lms_connectors.errors import MalformedResponse, NotFound
from lms_connectors.http.auth import ClientCredentialsAuth
from lms_connectors.http.pagination import paginate_by_token
from lms_connectors.http.token_cache import FileTokenCache, MemoryTokenCache, TokenCache
from lms_connectors.models import Person, ProviderRef, ProviderSession, Registrations, RosterMember, Session
from lms_connectors.timezones import require_window
from lms_connectors_zoom import mapping
from lms_connectors_zoom.answers import (
    AddedRegistrants,
    Meeting,
    MeetingPage,
    ParticipantPage,
    RegistrantPage,
    ScheduledMeeting,
)
from lms_connectors_zoom.classify import RegistrationRepeatLimit, ZoomClassifier, token_endpoint_classifier
from lms_connectors_zoom.config import ZoomConfig
from lms_connectors_zoom.doctor import daily_quota, host_user, token_scopes
from lms_connectors_zoom.settings import ApprovalType

if TYPE_CHECKING:
    import requests

__all__ = ["ZoomAdapter"]

_STATUS_BATCH = 30  # PUT /meetings/{id}/registrants/status takes at most 30 registrants
_BATCH_REGISTRANTS = 30  # and so does POST /meetings/{id}/batch_registrants
_ROSTER_STATUSES = ("approved", "pending")


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class ZoomAdapter(Adapter[ZoomConfig]):
    """Zoom Meetings through a Server-to-Server OAuth app (constructor: see :class:`~lms_connectors.adapter.Adapter`).

    Access tokens come from Zoom's ``account_credentials`` grant and are shared with the other workers of the app
    through Redis (``config.token_cache_url``, every host) or the file named by ``config.token_cache_file`` (one
    host); else the token is kept in this adapter's memory.
    """

    name: ClassVar[str] = "zoom"
    display_name: ClassVar[str] = "Zoom"
    kind: ClassVar[AdapterKind] = AdapterKind.MEETING
    capabilities: ClassVar[frozenset[Capability]] = frozenset({
        Capability.RESCHEDULE_IN_PLACE, Capability.MEETING_LINK, Capability.NATIVE_CAPACITY,
        Capability.NOTIFIES_ATTENDEES
    })

    def _token_cache(self) -> TokenCache:
        """Where the app's token is shared: Redis (every host), a file (one host) or this process."""
        if self.config.token_cache_url is not None:
            from lms_connectors.shared_limits import RedisTokenCache  # the workers extra brings Redis

            return RedisTokenCache.from_url(self.config.token_cache_url)
        if self.config.token_cache_file is not None:
            return FileTokenCache(self.config.token_cache_file)
        return MemoryTokenCache()

    def setup(self) -> None:
        """The token flow, then the API transport.

        :calls: ``POST https://zoom.us/oauth/token?grant_type=account_credentials&account_id=<id>`` (HTTP Basic
            ``client_id:client_secret``; no refresh token: a new token is minted when needed).
        """
        config = self.config
        self.auth = ClientCredentialsAuth(
            self.token_transport(config.token_url, classifier=token_endpoint_classifier),
            client_id=config.client_id,
            client_secret=config.client_secret.get_secret_value(),
            client_auth="basic",
            query={"grant_type": "account_credentials", "account_id": config.account_id},
            cache=self._token_cache(),
            cache_key=f"zoom:{config.account_id}:{config.client_id}",
        )
        self.api_transport(
            auth=self.auth, classifier=ZoomClassifier(), response_observers=(self._observe_limits,)
        )
        self._user_path = f"/users/{quote(config.user_id, safe='@')}"
        self._daily_remaining: int | None = None

    # -- sessions -------------------------------------------------------------------------------------------

    def create_new(self, session: Session, key: str) -> ProviderRef:
        """Create the meeting, its agenda marked with ``key`` (Zoom has no idempotency key).

        :calls: ``POST /users/{userId}/meetings``
        """
        body = mapping.create_body(session, key, self.config.meeting_settings, self._approval_type(session))
        meeting = self.transport.request_checked(
            "POST", f"{self._user_path}/meetings", ScheduledMeeting, json=body, operation="create meeting"
        )
        return mapping.meeting_ref(meeting, key=key)

    def find_session(self, key: str) -> ProviderRef | None:
        """Find the meeting whose agenda carries the marker of ``key``, whether its start has passed or not.

        ``type=scheduled`` lists every meeting that has not expired, those whose start time has passed
        included; ``type=upcoming`` would miss a session created for a start that is now past (a late retry, a
        run from a restored ledger) and so make it twice.

        :calls: ``GET /users/{userId}/meetings?type=scheduled&page_size=...&next_page_token=...``
        """
        for meeting in self._meetings("scheduled", self.config.page_size):
            if mapping.key_in(meeting.agenda) == key:
                return mapping.meeting_ref(meeting, key=key)
        return None

    def get_session(self, ref: ProviderRef) -> ProviderSession:
        """Read the meeting back.

        :calls: ``GET /meetings/{meetingId}``

        Raises:
            NotFound: The meeting does not exist (Zoom code 3001), e.g. it was cancelled.
        """
        meeting = self.transport.request_checked(
            "GET", self._meeting_path(ref), ScheduledMeeting, operation="get meeting"
        )
        return mapping.provider_session(meeting, ref)

    def reschedule_session(self, ref: ProviderRef, session: Session) -> ProviderRef:
        """Move the meeting in place (same id) and carry the session's other fields.

        :calls: ``PATCH /meetings/{meetingId}`` (204)
        """
        key = ref.extra.get("key") or self._key_of(ref)
        body = mapping.update_body(session, key, self.config.meeting_settings, self._approval_type(session))
        # The body sets every field the adapter owns: applying it twice leaves the same meeting, so a retry after a
        # lost answer is safe.
        # Read as JSON: Zoom answers 204 with no body, so anything else (a truncated body, a page with status 200)
        # is a MalformedResponse, not a success.
        self.transport.request_json("PATCH", self._meeting_path(ref), json=body, idempotent=True,
                                    operation="update meeting")
        return ref

    def cancel_session(self, ref: ProviderRef, *, notify: bool = True) -> None:
        """Delete the meeting; Zoom emails the registrants when ``notify``. A meeting already gone is fine.

        :calls: ``DELETE /meetings/{meetingId}?cancel_meeting_reminder=true|false``
        """
        try:
            self.transport.request_json(  # 204 and no body; anything else is not Zoom's answer
                "DELETE",
                self._meeting_path(ref),
                params={"cancel_meeting_reminder": "true" if notify else "false"},
                operation="delete meeting",
            )
        except NotFound:
            return

    def _key_of(self, ref: ProviderRef) -> str:
        """The key marked in a meeting's agenda (for refs that do not carry it)."""
        meeting = self.transport.request_checked("GET", self._meeting_path(ref), Meeting, operation="get meeting")
        key = mapping.key_in(meeting.agenda)
        if key is None:
            raise MalformedResponse(f"meeting {ref.external_id} carries no [lmsc:...] marker", provider=self.name)
        return key

    # -- roster ---------------------------------------------------------------------------------------------

    def enrol(
        self, ref: ProviderRef, session: Session, people: Sequence[Person], *, seated: bool = False
    ) -> list[RosterMember]:
        """Register ``people``; with native capacity, approve them while seats are free, keep the rest pending.

        :calls: ``POST /meetings/{meetingId}/batch_registrants`` (at most 30 each). With native capacity also
            ``GET /meetings/{meetingId}/registrants?status=approved|pending``, one batch for those who take a
            free seat and one for those who wait; for pending registrants promoted into a seat,
            ``PUT /meetings/{meetingId}/registrants/status {action: approve}`` and ``GET ...?status=approved``
            (their personal join links). When ``seated`` (the scheduler gave them their seats), everyone is
            registered approved and no listing is needed unless someone was pending before.

        Returns:
            One member per person, in order; ``status`` is ``approved`` or ``pending`` and ``join_url`` is the
            registrant's own link when Zoom gave one (never under manual approval while pending).

        Raises:
            RegistrationNotEnabled: The meeting does not take registrants.
            RegistrationRepeatLimit: Zoom refused to register someone again whom it does not hold as registered.
            CapacityFull: Zoom's own registrant limit is reached (code 3043).
        """
        unique = list({person.email: person for person in people}.values())
        if not unique:
            return []
        approval = self._approval_type(session)
        if seated and approval is ApprovalType.MANUAL:
            return self._enrol_seated(ref, unique)
        if self._manages_capacity(session, approval):
            assert session.capacity is not None  # checked by _manages_capacity
            return self._enrol_within_capacity(ref, session.capacity, unique)
        members = self._register(ref, unique, approval, auto_approve=None)
        return [members[person.email] for person in unique]

    def _enrol_seated(self, ref: ProviderRef, people: list[Person]) -> list[RosterMember]:
        members = self._register(ref, people, ApprovalType.MANUAL, auto_approve=True)
        # Someone registered earlier and left pending (by Zoom's waitlist, or registering on Zoom's page) is
        # answered with that pending registration: approve her now, since her seat is given.
        waiting = [m for m in members.values() if m.status == "pending"]
        members.update(self._approve(ref, waiting))
        return [members[person.email] for person in people]

    def _enrol_within_capacity(self, ref: ProviderRef, capacity: int, people: list[Person]) -> list[RosterMember]:
        approved = {m.email: m for m in self._registrants(ref, "approved")}
        pending = {m.email: m for m in self._registrants(ref, "pending")}
        seats = capacity - len(approved)
        members: dict[str, RosterMember] = {}
        promote: list[RosterMember] = []
        seated: list[Person] = []
        waiting: list[Person] = []
        for person in people:
            if person.email in approved:
                members[person.email] = approved[person.email]
            elif person.email in pending:
                if seats > 0:
                    seats -= 1
                    promote.append(pending[person.email])
                members[person.email] = pending[person.email]
            elif seats > 0:
                seats -= 1
                seated.append(person)
            else:
                waiting.append(person)
        members.update(self._register(ref, seated, ApprovalType.MANUAL, auto_approve=True))
        members.update(self._register(ref, waiting, ApprovalType.MANUAL, auto_approve=False))
        members.update(self._approve(ref, promote))
        return [members[person.email] for person in people]

    def _approve(self, ref: ProviderRef, members: Sequence[RosterMember]) -> dict[str, RosterMember]:
        """Approve pending registrants; their registrations with the personal join links Zoom then made."""
        if not members:
            return {}
        for batch in _chunks(members, _STATUS_BATCH):
            self._set_status(ref, "approve", batch)
        wanted = {m.email for m in members}
        approved = {m.email: m for m in self._registrants(ref, "approved") if m.email in wanted}
        # Zoom lists a registrant it just approved; if a listing lags, keep what we know, marked approved.
        return {m.email: approved.get(m.email) or m.model_copy(update={"status": "approved"}) for m in members}

    def _register(
        self, ref: ProviderRef, people: Sequence[Person], approval: ApprovalType, *, auto_approve: bool | None
    ) -> dict[str, RosterMember]:
        """Register ``people`` in batches of 30; their registrations by email.

        A batch is one POST: it is not retried after a lost answer, and sending it again later (the scheduler's
        next reconcile) is safe because Zoom answers an email already registered with its registration, a few
        times. After that Zoom refuses the email with code 3000 (:class:`RegistrationRepeatLimit`): the batch's
        registrations are then read back, and only the people Zoom does not hold yet are sent again.

        Raises:
            RegistrationRepeatLimit: Zoom refused someone it does not list as registered (approved or pending).
        """
        members: dict[str, RosterMember] = {}
        for batch in _chunks(people, _BATCH_REGISTRANTS):
            try:
                members.update(self._register_batch(ref, batch, approval, auto_approve=auto_approve))
            except RegistrationRepeatLimit:
                # The idempotent case: the registrations exist already (the same push sent again); read them back.
                wanted = {person.email for person in batch}
                existing = {m.email: m for m in self.list_roster(ref) if m.email in wanted}
                members.update(existing)
                rest = [person for person in batch if person.email not in existing]
                if rest:  # Zoom refusing one of these again is a real refusal, raised as it is
                    members.update(self._register_batch(ref, rest, approval, auto_approve=auto_approve))
        return members

    def _register_batch(
        self, ref: ProviderRef, batch: Sequence[Person], approval: ApprovalType, *, auto_approve: bool | None
    ) -> dict[str, RosterMember]:
        answer = self.transport.request_checked(
            "POST",
            f"{self._meeting_path(ref)}/batch_registrants",
            AddedRegistrants,
            json=mapping.batch_registrants_body(batch, auto_approve=auto_approve),
            operation="add registrants",
        )
        answered = {item.email.lower(): item for item in answer.registrants or []}
        members: dict[str, RosterMember] = {}
        for person in batch:
            registrant = answered.get(person.email)
            if registrant is None:
                raise MalformedResponse(
                    f"add registrants: Zoom's answer has no registration for {person.email}", provider=self.name,
                    endpoint="add registrants", field="registrants",
                )
            # The answer carries no status: a join link means approved; without one (manual approval) pending.
            is_approved = bool(registrant.join_url) or approval is ApprovalType.AUTOMATIC
            members[person.email] = mapping.roster_member(
                registrant, email=person.email, status="approved" if is_approved else "pending"
            )
        return members

    def unenrol(
        self, ref: ProviderRef, session: Session, people: Sequence[Person], *,
        registrations: Registrations | None = None,
    ) -> None:
        """Cancel the registrations of ``people`` (and only theirs); people not registered are ignored.

        Registrant ids given in ``registrations`` (what :meth:`enrol` answered) are used as they are; the
        registrants are listed only to find the others.

        :calls: ``GET /meetings/{meetingId}/registrants?status=approved|pending`` (only for people whose
            registrant id is not known), ``PUT /meetings/{meetingId}/registrants/status {action: cancel}``
            (at most 30 per call)
        """
        emails = {person.email for person in people}
        if not emails:
            return
        known = registrations or {}
        members = [known[e] for e in sorted(emails) if e in known and known[e].external_id]
        unknown = emails - {m.email for m in members}
        if unknown:
            members += [m for m in self.list_roster(ref) if m.email in unknown]
        for batch in _chunks(members, _STATUS_BATCH):
            self._set_status(ref, "cancel", batch)

    def list_roster(self, ref: ProviderRef) -> Iterator[RosterMember]:
        """Approved registrants, then pending ones (the waitlist), each with its status; lazily paged.

        :calls: ``GET /meetings/{meetingId}/registrants?status=approved|pending&page_size&next_page_token``
        """
        for status in _ROSTER_STATUSES:
            yield from self._registrants(ref, status)

    def list_attendance(self, ref: ProviderRef) -> Iterator[Presence]:
        """Who joined the ended meeting, one record per join, from Zoom's participants report; lazily paged.

        Participants who joined without an email (a guest without a Zoom account) cannot be matched to a roster
        and are left out. The report needs the ``report:read:admin`` scope and is available once the meeting
        has ended.

        :calls: ``GET /report/meetings/{meetingId}/participants?page_size&next_page_token``
        """
        path = f"/report/meetings/{quote(ref.external_id, safe='')}/participants"

        def fetch(token: str | None) -> tuple[list[Presence], str | None]:
            params: dict[str, str | int] = {"page_size": 300}
            if token:
                params["next_page_token"] = token
            page = self.transport.request_checked(
                "GET", path, ParticipantPage, params=params, operation="participants report"
            )
            records = [mapping.presence(item) for item in page.participants or []]
            return [r for r in records if r is not None], page.next_page_token or None

        return paginate_by_token(fetch)

    def _registrants(self, ref: ProviderRef, status: str) -> Iterator[RosterMember]:
        path = f"{self._meeting_path(ref)}/registrants"

        def fetch(token: str | None) -> tuple[list[RosterMember], str | None]:
            params: dict[str, str | int] = {"status": status, "page_size": self.config.page_size}
            if token:
                params["next_page_token"] = token
            page = self.transport.request_checked(
                "GET", path, RegistrantPage, params=params, operation="list registrants"
            )
            items = page.registrants or []
            return [mapping.roster_member(r, status=status) for r in items], page.next_page_token or None

        return paginate_by_token(fetch)

    def _set_status(self, ref: ProviderRef, action: str, members: Sequence[RosterMember]) -> None:
        body = {
            "action": action,
            "registrants": [{"id": m.external_id, "email": m.email} for m in members],
        }
        self.transport.request_json(  # 204 and no body; anything else is not Zoom's answer
            "PUT", f"{self._meeting_path(ref)}/registrants/status", json=body, operation=f"{action} registrants"
        )

    # -- listing --------------------------------------------------------------------------------------------

    def list_sessions(
        self, start: datetime, end: datetime, *, page_size: int | None = None
    ) -> Iterator[ProviderSession]:
        """The host's scheduled meetings that start in ``[start, end)``, across every page.

        :calls: ``GET /users/{userId}/meetings?type=scheduled&page_size&next_page_token``
        """
        require_window(start, end)
        for meeting in self._meetings("scheduled", page_size or self.config.page_size):
            if meeting.start_time is None:
                continue  # a recurring meeting without a fixed time
            found = mapping.provider_session(meeting)
            if start <= found.start < end:
                yield found

    def _meetings(self, kind: str, page_size: int) -> Iterator[Meeting]:
        def fetch(token: str | None) -> tuple[list[Meeting], str | None]:
            params: dict[str, str | int] = {"type": kind, "page_size": min(page_size, 300)}
            if token:
                params["next_page_token"] = token
            page = self.transport.request_checked(
                "GET", f"{self._user_path}/meetings", MeetingPage, params=params, operation="list meetings"
            )
            return list(page.meetings or []), page.next_page_token or None

        return paginate_by_token(fetch)

    # -- internals ------------------------------------------------------------------------------------------

    def _approval_type(self, session: Session) -> ApprovalType:
        configured = self.config.meeting_settings.approval_type
        if configured is not None:
            return configured
        if self.config.native_capacity and session.capacity is not None:
            return ApprovalType.MANUAL
        return ApprovalType.AUTOMATIC

    def _manages_capacity(self, session: Session, approval: ApprovalType) -> bool:
        return self.config.native_capacity and session.capacity is not None and approval is ApprovalType.MANUAL

    @staticmethod
    def _meeting_path(ref: ProviderRef) -> str:
        return f"/meetings/{quote(ref.external_id, safe='')}"

    def _observe_limits(self, response: requests.Response) -> None:
        # Zoom reports the host's remaining daily create/update allowance on those calls.
        if response.headers.get("X-RateLimit-Type", "").lower() == "daily-limit":
            remaining = response.headers.get("X-RateLimit-Remaining", "")
            if remaining.isdigit():
                self._daily_remaining = int(remaining)

    def diagnose(self) -> list[DiagnosticCheck]:
        """Credentials (a token now) and its scopes, the host user, the daily quota, for ``lms-connectors doctor``.

        :calls: ``POST https://zoom.us/oauth/token``, ``GET /users/{userId}``
        """
        credentials = self.check_credentials()
        if not credentials.ok:
            return [credentials]
        return [
            credentials,
            token_scopes(self.auth),
            host_user(self.transport, self.config.user_id),
            daily_quota(self._daily_remaining),
        ]

    # -- Zoom-only extras -----------------------------------------------------------------------------------

    def ex_deny_registrants(self, ref: ProviderRef, people: Sequence[Person]) -> None:
        """Deny the registrations of ``people`` (Zoom tells them so); people not registered are ignored.

        :calls: ``GET /meetings/{meetingId}/registrants?status=approved|pending``,
            ``PUT /meetings/{meetingId}/registrants/status {action: deny}`` (at most 30 per call)
        """
        emails = {person.email for person in people}
        members = [m for m in self.list_roster(ref) if m.email in emails]
        for batch in _chunks(members, _STATUS_BATCH):
            self._set_status(ref, "deny", batch)

    @property
    def ex_daily_limit_remaining(self) -> int | None:
        """Meeting create/update calls the host has left today, as Zoom last reported (None before any)."""
        return self._daily_remaining

    def ex_meeting(self, ref: ProviderRef) -> Mapping[str, Any]:
        """The raw meeting object (``GET /meetings/{meetingId}``), e.g. for its ``start_url`` or settings."""
        meeting = self.transport.request_checked("GET", self._meeting_path(ref), Meeting, operation="get meeting")
        return meeting.model_dump()
