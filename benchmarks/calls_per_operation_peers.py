"""HTTP calls per operation, lms-connectors beside the peer clients, on the same provider simulators.

Each client does the same operations against its own fresh simulator served on 127.0.0.1; the figure is the
number of API requests the simulator received for the operation (OAuth token requests are counted apart: one
per token lifetime, whoever asks). Peers are driven the way their documentation shows:

* Google Calendar: lms-connectors' adapter, google-api-python-client (``events().insert/get/patch/delete``)
  and gcsa (``GoogleCalendar.add_event/get_event/update_event/delete_event``), both on a service built
  against the simulator's API root;
* Zoom: lms-connectors' adapter and zoomus (``ZoomClient`` with ``base_uri`` and ``oauth_uri`` on the
  simulator).

An enrolment in lms-connectors is concurrency-safe (Google: a PATCH with the etag its last write kept, a 412
reads, merges and writes again). A peer has no such check of its own: its "read, change, write" is shown, and
its blind write (one call, overwriting whatever another writer changed meanwhile) is noted beside it.

Install the peers first: ``pip install -r benchmarks/requirements-peers.txt``.

    python benchmarks/calls_per_operation_peers.py
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from lms_connectors.adapter import Adapter
from lms_connectors.models import Modality, Person, ProviderRef, Session, TimeSlot
from lms_connectors.registry import load_harness
from lms_connectors.testing.sandbox import SandboxServer

NY = ZoneInfo("America/New_York")
LEARNERS = 10


def _session(sid: str, extras: dict[str, Any], learners: int = 0) -> Session:
    start = datetime(2027, 4, 5, 10, 0, tzinfo=NY)
    slot = TimeSlot(start=start, end=start + timedelta(hours=1), timezone="America/New_York")
    people = tuple(_people(learners, "c"))
    return Session(id=sid, title=f"Bench {sid}", slot=slot, modality=Modality.VIRTUAL, learners=people, **extras)


def _people(n: int, tag: str) -> list[Person]:
    return [Person(email=f"{tag}{i}@example.org", name=f"Learner {tag} {i}") for i in range(n)]


class _Calls:
    """API requests a simulator received, token requests apart."""

    def __init__(self, server: SandboxServer[Any], token_path: str | None) -> None:
        self._server = server
        self._token_path = token_path

    def _split(self) -> tuple[int, int]:
        tokens = sum(1 for r in self._server.requests if self._token_path and r.path.endswith(self._token_path))
        return len(self._server.requests) - tokens, tokens

    def count(self, op: Callable[[], Any]) -> tuple[Any, int, int]:
        calls, tokens = self._split()
        result = op()
        after_calls, after_tokens = self._split()
        return result, after_calls - calls, after_tokens - tokens


@contextlib.contextmanager
def _served(name: str) -> Iterator[tuple[Any, SandboxServer[Any]]]:
    harness = load_harness(name)
    with SandboxServer(harness.make_simulator()) as server:
        yield harness, server


Row = tuple[str, str, int, int, str]  # operation, client, calls, token calls, how


_OURS_HOW = {
    "google_calendar": {"create": "events.insert with attendees and conferenceData",
                        "enrol": "events.patch with the etag its last write kept (a 412: read, merge, write)",
                        "reschedule": "events.patch", "cancel": "events.delete with If-Match"},
    "zoom": {"create": "POST users/{id}/meetings", "enrol": "batch_registrants (up to 30 a call)",
             "unenrol": "registrants/status action=cancel", "reschedule": "PATCH meetings/{id}",
             "cancel": "DELETE meetings/{id}"},
}


def _ours(name: str, token_path: str, roster_at_create: bool) -> list[Row]:
    rows: list[Row] = []
    with _served(name) as (harness, server):
        adapter: Adapter = harness.build_adapter(server.url, sleep=lambda _s: None)
        calls = _Calls(server, token_path)
        extras = harness.session_extras()
        learners = LEARNERS if roster_at_create else 0
        session = _session("bench.p1", extras, learners)
        ref: ProviderRef
        ref, n, t = calls.count(lambda: adapter.create_session(session, key="bench.p1.g1", fresh=True))
        how = _OURS_HOW[name]
        rows.append((f"create{' + 10 learners' if roster_at_create else ''}", "lms-connectors", n, t, how["create"]))
        if not roster_at_create:
            _, n, t = calls.count(lambda: adapter.enrol(ref, session, _people(LEARNERS, "c"), seated=True))
            rows.append(("enrol 10", "lms-connectors", n, t, how["enrol"]))
        one = _people(1, "late")
        members, n, t = calls.count(lambda: adapter.enrol(ref, session, one, seated=True))
        rows.append(("enrol 1 more", "lms-connectors", n, t, how["enrol"]))
        known = {m.email: m for m in members}
        _, n, t = calls.count(lambda: adapter.unenrol(ref, session, one, registrations=known))
        rows.append(("unenrol 1", "lms-connectors", n, t, how.get("unenrol", how["enrol"])))
        moved = session.rescheduled(session.slot.model_copy(update={
            "start": session.slot.start + timedelta(days=1), "end": session.slot.end + timedelta(days=1)}))
        ref, n, t = calls.count(lambda: adapter.reschedule_session(ref, moved))
        rows.append(("reschedule", "lms-connectors", n, t, how["reschedule"]))
        _, n, t = calls.count(lambda: adapter.cancel_session(ref))
        rows.append(("cancel", "lms-connectors", n, t, how["cancel"]))
        adapter.close()
    return rows


def _google_token(harness: Any, server: SandboxServer[Any]) -> str:
    """An access token the simulator issued (asked through the adapter's own auth, before any counting)."""
    adapter = harness.build_adapter(server.url, sleep=lambda _s: None)
    try:
        return str(adapter.auth.token())
    finally:
        adapter.close()


def _google_body(session: Session) -> dict[str, Any]:
    return {
        "summary": session.title,
        "start": {"dateTime": session.slot.start.isoformat(), "timeZone": session.slot.timezone},
        "end": {"dateTime": session.slot.end.isoformat(), "timeZone": session.slot.timezone},
        "attendees": [{"email": p.email, "displayName": p.name} for p in session.learners],
        "conferenceData": {"createRequest": {"requestId": uuid.uuid4().hex,
                                             "conferenceSolutionKey": {"type": "hangoutsMeet"}}},
    }


def _google_api_python_client() -> list[Row]:
    from google.oauth2.credentials import Credentials
    from googleapiclient import discovery

    rows: list[Row] = []
    client = "google-api-python-client"
    with _served("google_calendar") as (harness, server):
        root = harness.adapter_settings(server.url)["base_url"].rstrip("/") + "/"
        credentials = Credentials(token=_google_token(harness, server))  # type: ignore[no-untyped-call]
        service = discovery.build("calendar", "v3", credentials=credentials, static_discovery=True,
                                  client_options={"api_endpoint": root})
        events = service.events()
        calls = _Calls(server, None)
        session = _session("bench.g1", {}, LEARNERS)
        created, n, t = calls.count(lambda: events.insert(calendarId="primary", body=_google_body(session),
                                                          conferenceDataVersion=1).execute())
        rows.append(("create + 10 learners", client, n, t, "events.insert with attendees and conferenceData"))
        event_id = created["id"]
        late = {"email": "late0@example.org"}

        def read_change_write(change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> None:
            event = events.get(calendarId="primary", eventId=event_id).execute()
            attendees = change(event.get("attendees", []))
            events.patch(calendarId="primary", eventId=event_id, body={"attendees": attendees}).execute()

        _, n, t = calls.count(lambda: read_change_write(lambda a: [*a, late]))
        rows.append(("enrol 1 more", client, n, t, "events.get + events.patch (blind patch: 1, overwrites others)"))
        _, n, t = calls.count(lambda: read_change_write(lambda a: [x for x in a if x["email"] != late["email"]]))
        rows.append(("unenrol 1", client, n, t, "events.get + events.patch (blind patch: 1)"))
        later = session.slot.start + timedelta(days=1)
        body = {"start": {"dateTime": later.isoformat(), "timeZone": session.slot.timezone},
                "end": {"dateTime": (later + timedelta(hours=1)).isoformat(), "timeZone": session.slot.timezone}}
        _, n, t = calls.count(lambda: events.patch(calendarId="primary", eventId=event_id, body=body).execute())
        rows.append(("reschedule", client, n, t, "events.patch"))
        _, n, t = calls.count(lambda: events.delete(calendarId="primary", eventId=event_id).execute())
        rows.append(("cancel", client, n, t, "events.delete"))
    return rows


def _gcsa() -> list[Row]:
    from gcsa.attendee import Attendee
    from gcsa.conference import ConferenceSolutionCreateRequest, SolutionType
    from gcsa.event import Event
    from gcsa.google_calendar import GoogleCalendar
    from google.oauth2.credentials import Credentials
    from googleapiclient import discovery

    rows: list[Row] = []
    with _served("google_calendar") as (harness, server):
        root = harness.adapter_settings(server.url)["base_url"].rstrip("/") + "/"
        credentials = Credentials(token=_google_token(harness, server))  # type: ignore[no-untyped-call]
        calendar = GoogleCalendar(credentials=credentials)
        # gcsa's own service points at Google; this one at the simulator.
        calendar.service = discovery.build("calendar", "v3", credentials=credentials, static_discovery=True,
                                           client_options={"api_endpoint": root})
        calls = _Calls(server, None)
        session = _session("bench.c1", {}, LEARNERS)
        event = Event(
            session.title,
            start=session.slot.start,
            end=session.slot.end,
            timezone=session.slot.timezone,
            attendees=[Attendee(p.email, display_name=p.name) for p in session.learners],
            conference_solution=ConferenceSolutionCreateRequest(solution_type=SolutionType.HANGOUTS_MEET),
        )
        created, n, t = calls.count(lambda: calendar.add_event(event))
        rows.append(("create + 10 learners", "gcsa", n, t, "add_event with attendees and a Meet request"))
        event_id = created.event_id

        def read_change_write(change: Callable[[Event], None]) -> None:
            current = calendar.get_event(event_id)
            change(current)
            calendar.update_event(current)

        _, n, t = calls.count(lambda: read_change_write(lambda e: e.add_attendee(Attendee("late0@example.org"))))
        rows.append(("enrol 1 more", "gcsa", n, t, "get_event + update_event (PUT; with the event kept: 1, blind)"))

        def drop(current: Event) -> None:
            current.attendees = [a for a in current.attendees if a.email != "late0@example.org"]

        _, n, t = calls.count(lambda: read_change_write(drop))
        rows.append(("unenrol 1", "gcsa", n, t, "get_event + update_event (PUT)"))

        def move() -> None:
            created.start = created.start + timedelta(days=1)
            created.end = created.end + timedelta(days=1)
            calendar.update_event(created)

        _, n, t = calls.count(move)
        rows.append(("reschedule", "gcsa", n, t, "update_event (PUT of the event kept from the create)"))
        _, n, t = calls.count(lambda: calendar.delete_event(event_id))
        rows.append(("cancel", "gcsa", n, t, "delete_event"))
    return rows


def _zoomus() -> list[Row]:
    from zoomus import ZoomClient

    rows: list[Row] = []
    with _served("zoom") as (harness, server):
        settings = harness.adapter_settings(server.url)
        calls = _Calls(server, "/oauth/token")
        client, n, t = calls.count(lambda: ZoomClient(
            settings["client_id"], settings["client_secret"], settings["account_id"],
            base_uri=settings["base_url"].rstrip("/"), oauth_uri=settings["token_url"]))
        if not client.config["token"]:
            # zoomus sends the grant in a form body; the simulator takes it as Zoom documents it, in the query.
            # zoomus then holds the token of the documented request (token requests are counted apart anyway).
            adapter = harness.build_adapter(server.url, sleep=lambda _s: None)
            client.config["token"], _, more = calls.count(lambda: adapter.auth.token())
            adapter.close()
            t += more
        session = _session("bench.z1", {}, 0)
        meeting, n, t2 = calls.count(lambda: _ok(client.meeting.create(
            user_id="me", topic=session.title, type=2, start_time=session.slot.start.astimezone(ZoneInfo("UTC")),
            duration=60, timezone=session.slot.timezone, settings={"approval_type": 0})))
        rows.append(("create", "zoomus", n, t + t2, "meeting.create (the token at the client's creation)"))
        meeting_id = meeting["id"]

        def register(people: list[Person]) -> list[dict[str, Any]]:
            return [_ok(client.meeting.add_registrant(id=meeting_id, email=p.email, first_name=p.name))
                    for p in people]

        _, n, t = calls.count(lambda: register(_people(LEARNERS, "c")))
        rows.append(("enrol 10", "zoomus", n, t, "meeting.add_registrant per learner (no batch call)"))
        _, n, t = calls.count(lambda: register(_people(1, "late")))
        rows.append(("enrol 1 more", "zoomus", n, t, "meeting.add_registrant"))
        _, n, t = calls.count(lambda: _ok(client.meeting.update_registrant_status(
            id=meeting_id, action="cancel", registrants=[{"email": "late0@example.org"}])))
        rows.append(("unenrol 1", "zoomus", n, t, "meeting.update_registrant_status"))
        later = (session.slot.start + timedelta(days=1)).astimezone(ZoneInfo("UTC"))
        _, n, t = calls.count(lambda: _ok(client.meeting.update(id=meeting_id, start_time=later)))
        rows.append(("reschedule", "zoomus", n, t, "meeting.update"))
        _, n, t = calls.count(lambda: _ok(client.meeting.delete(id=meeting_id)))
        rows.append(("cancel", "zoomus", n, t, "meeting.delete"))
    return rows


def _ok(response: Any) -> Any:
    """zoomus hands back the answer without checking it: a refused call must not pass for a done one."""
    response.raise_for_status()
    return response.json() if response.content else None


def _peer(name: str, run: Callable[[], list[Row]]) -> list[Row]:
    try:
        return run()
    except ImportError:
        print(f"{name}: not installed (pip install -r benchmarks/requirements-peers.txt)")
        return []


def _print(title: str, rows: list[Row]) -> None:
    print(f"\n{title}")
    header = f"  {'operation':<22}{'client':<26}{'calls':>6}{'tokens':>8}   how"
    print(header)
    print("  " + "-" * (len(header) - 2 + 40))
    order: list[str] = []
    for operation, *_ in rows:
        if operation not in order:
            order.append(operation)
    for operation in order:
        for op, client, calls, tokens, how in rows:
            if op == operation:
                print(f"  {op:<22}{client:<26}{calls:>6}{tokens:>8}   {how}")


def main() -> None:
    google = _ours("google_calendar", "/token", roster_at_create=True)
    google += _peer("google-api-python-client", _google_api_python_client)
    google += _peer("gcsa", _gcsa)
    _print("Google Calendar (one simulator per client)", google)
    zoom = _ours("zoom", "/oauth/token", roster_at_create=False)
    zoom += _peer("zoomus", _zoomus)
    _print("Zoom (one simulator per client)", zoom)


if __name__ == "__main__":
    main()
