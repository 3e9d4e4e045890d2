"""HTTP calls per matrix operation, per adapter, against the minimum each provider's API allows.

Every installed adapter with a sandbox harness is driven through the same operations against its provider
simulator on 127.0.0.1, called as the scheduler calls it (a first create with a fresh key, enrolments of seated
learners, unenrolments with the registrations enrol answered); the transport's call counter gives the API
requests actually sent, retries included. OAuth token requests (one per token lifetime) go through the auth
library's own session and are not counted. The "minimum" column is the fewest requests the provider's published API needs for the
same result, with the reason; the VILT table does the same for a whole virtual session across Zoom, Google
Calendar and Moodle through the scheduler.

    python benchmarks/calls_per_operation.py
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from lms_connectors.adapter import Adapter, Capability
from lms_connectors.models import Modality, Person, ProviderRef, RosterMember, Session, TimeSlot
from lms_connectors.registry import available_adapters, load_harness
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.testing.sandbox import SandboxServer

NY = ZoneInfo("America/New_York")

# Fewest requests the provider's API needs, with why. Token fetches are excluded from the minimum (one per
# token lifetime, amortised); the measured figures include them when they happened.
MINIMUM: dict[str, dict[str, tuple[str, str]]] = {
    "caldav": {
        "create": ("1", "PUT with If-None-Match: * (an adapter's first call adds 3 discovery PROPFINDs)"),
        "create again (retry)": ("2", "the PUT refused with 412 is the look-up, then a GET reads the event"),
        "reschedule": ("2", "GET + PUT If-Match (a PUT replaces the whole event: attendees' answers are read first)"),
        "cancel": ("1", "DELETE"),
        "enrol N": ("2", "GET + PUT If-Match of the whole event, whatever N"),
        "unenrol 1": ("2", "GET + PUT If-Match"),
        "list 5 (page 2)": ("4", "calendar-query (hrefs) + 3 calendar-multiget of at most 2"),
    },
    "canvas": {
        "create": ("2", "POST sections (the roster, SIS id from the key) + POST calendar_events"),
        "create again (retry)": ("1", "GET calendar_events over the session's window finds the marker"),
        "reschedule": ("1", "PUT calendar_events/:id"),
        "cancel": ("2", "DELETE calendar_events/:id + DELETE sections/:id"),
        "enrol N": ("N", "POST sections/:id/enrollments per learner (the REST API has no batch)"),
        "unenrol 1": ("1", "DELETE courses/:id/enrollments/:id (the id enrol answered)"),
        "list 5 (page 2)": ("3", "GET calendar_events, 3 pages of at most 2"),
    },
    "google_calendar": {
        "create": ("1", "events.insert with a client id (no look-up needed)"),
        "create again (retry)": ("1", "events.insert: the 409 on the client id is the look-up (then a GET)"),
        "reschedule": ("1", "events.patch"),
        "cancel": ("1", "events.delete"),
        "enrol N": ("1", "events.patch of attendees (the list is replaced whole)"),
        "unenrol 1": ("1", "events.patch of attendees"),
        "create + 10 learners": ("1", "events.insert with attendees and conferenceData (Meet)"),
        "list 5 (page 2)": ("3", "events.list, 3 pages of at most 2"),
    },
    "zoom": {
        "create": ("1", "POST /users/{id}/meetings"),
        "create again (retry)": ("1", "GET /users/{id}/meetings?type=upcoming finds the marker (no idempotency key)"),
        "reschedule": ("1", "PATCH /meetings/{id}"),
        "cancel": ("1", "DELETE /meetings/{id}"),
        "enrol N": ("ceil(N/30)", "POST batch_registrants (<=30 each, auto-approve)"),
        "unenrol 1": ("1", "PUT registrants/status action=cancel"),
        "list 5 (page 2)": ("3", "GET /users/{id}/meetings, 3 pages"),
    },
    "microsoft_graph": {
        "create": ("1", "POST events with a transactionId (a fresh key needs no look-up)"),
        "create again (retry)": ("1", "GET events?$filter on the key's extended property finds it"),
        "reschedule": ("1", "PATCH the event (If-Match)"),
        "cancel": ("1", "POST events/{id}/cancel"),
        "enrol N": ("2", "GET + PATCH attendees: the list is replaced whole, so it is read first"),
        "unenrol 1": ("2", "GET + PATCH attendees"),
        "list 5 (page 2)": ("3", "GET calendarView, 3 pages of at most 2"),
    },
    "moodle": {
        "create": ("2", "create_groups (the roster's group) + the event: create_calendar_events, or the event form "
                   "when the event carries a location or join link (create_calendar_events takes no location)"),
        "create again (retry)": ("1", "get_calendar_events finds the marker (no idempotency key)"),
        "reschedule": ("1", "submit_create_update_form"),
        "cancel": ("2", "delete_calendar_events + delete_groups; with learners enrolled for it alone +2 reads "
                   "(course groups, their members: who the SDK enrolled and who is in another session, which only "
                   "Moodle records for every process) +1 unenrol_users for all of them"),
        "enrol N": ("4", "users by email + enrolled users (re-enrolling resets an enrolment; not read when every "
                    "account is made by this call, +1 create instead) + enrol + group; +1 case-insensitive "
                    "search per email domain the exact look-up missed (no second account: Moodle compares "
                    "emails case-sensitively); +1 the SDK's own group, once per adapter and course"),
        "unenrol 1": ("3", "course groups + their members (unenrol only what the SDK enrolled) + unenrol"),
        "list 5 (page 2)": ("1", "get_calendar_events (not paged by Moodle)"),
    },
}


def _session(sid: str, day: int, extras: dict[str, Any]) -> Session:
    start = datetime(2027, 4, day, 10, 0, tzinfo=NY)
    slot = TimeSlot(start=start, end=start + timedelta(hours=1), timezone="America/New_York")
    fields: dict[str, Any] = {"id": sid, "title": f"Bench {sid}", "slot": slot, "modality": Modality.VIRTUAL}
    fields.update(extras)
    return Session(**fields)


def _people(n: int, tag: str) -> list[Person]:
    return [Person(email=f"{tag}{i}@example.org", name=f"Learner {tag} {i}", timezone="Europe/Berlin") for i in range(n)]


@contextlib.contextmanager
def _sandboxed(name: str) -> Iterator[tuple[Any, Adapter]]:
    harness = load_harness(name)
    with SandboxServer(harness.make_simulator()) as server:
        adapter = harness.build_adapter(server.url, sleep=lambda _s: None)
        try:
            yield harness, adapter
        finally:
            adapter.close()


def measure(name: str) -> list[tuple[str, int]]:
    """Calls per operation for adapter ``name`` against its sandbox."""
    rows: list[tuple[str, int]] = []
    with _sandboxed(name) as (harness, adapter):
        counter = adapter.transport.counter
        extras = harness.session_extras()

        def count(label: str, op: Callable[[], Any]) -> Any:
            before = counter.total
            result = op()
            rows.append((label, counter.total - before))
            return result

        session = _session("bench.s1", 5, extras)
        ref: ProviderRef = count("create", lambda: adapter.create_session(session, key="bench.s1.g1", fresh=True))
        count("create again (retry)", lambda: adapter.create_session(session, key="bench.s1.g1"))
        moved = session.rescheduled(session.slot.model_copy(update={
            "start": session.slot.start + timedelta(days=1), "end": session.slot.end + timedelta(days=1)}))
        ref = count("reschedule", lambda: adapter.reschedule_session(ref, moved)) or ref
        if adapter.supports(Capability.ROSTER):
            answered: dict[str, RosterMember] = {}
            for n in (1, 10, 100):
                people = _people(n, f"n{n}-")

                def enrol(people: list[Person] = people) -> None:
                    answered.update({m.email: m for m in adapter.enrol(ref, moved, people, seated=True)})

                count(f"enrol N={n}", enrol)
            first = _people(1, "n1-")
            known = {first[0].email: answered[first[0].email]}
            count("unenrol 1", lambda: adapter.unenrol(ref, moved, first, registrations=known))
        count("cancel", lambda: adapter.cancel_session(ref))
        if adapter.supports(Capability.ROSTER_AT_CREATE):
            # Learners known at create (and, for a meeting maker, its link) go with the create itself.
            seated = _session("bench.s2", 6, extras).model_copy(
                update={"learners": tuple(_people(10, "c-")), "modality": Modality.VIRTUAL, "room": None}
            )
            count("create + 10 learners", lambda: adapter.create_session(seated, key="bench.s2.g1", fresh=True))
        if adapter.supports(Capability.LIST_SESSIONS):
            for i in range(5):
                s = _session(f"bench.l{i}", 10 + i, extras)
                adapter.create_session(s, key=f"bench.l{i}.g1")
            window = (datetime(2027, 4, 9, tzinfo=NY), datetime(2027, 4, 20, tzinfo=NY))
            count("list 5 (page 2)", lambda: list(adapter.list_sessions(*window, page_size=2)))
    return rows


# The VILT flow's floor: the sum of each provider's minimum above for the same operation, every call over the
# fewest requests named with the promise it keeps. The enrolment's learners have no Moodle account yet.
_MOODLE_ENROL_NEW = "moodle 6: by email, search [no 2nd account], create, enrol, add, SDK group [once]"
_MOODLE_CANCEL = "moodle 2, +2 reads [whom to unenrol] +1 unenrol"
VILT_GRAPH_MINIMUM = {
    "schedule": "3 (graph 1, Teams link made by Outlook + moodle 2)",
    "enrol 10 (batch)": f"8 (graph 2 + {_MOODLE_ENROL_NEW})",
    "unenrol 1": "5 (graph 2 + moodle 3)",
    "reschedule": "2 (one per provider)",
    "cancel": f"6 (graph 1 + {_MOODLE_CANCEL})",
}
VILT_MINIMUM = {
    "schedule": "4 (zoom 1 + google 1 + moodle 2: group, event with its link)",
    "enrol 10 (batch)": f"8 (zoom ceil(10/30) + google 1 + {_MOODLE_ENROL_NEW})",
    "unenrol 1": "5 (zoom 1 + google 1 + moodle 3)",
    "reschedule": "3 (one per provider)",
    "cancel": f"7 (zoom 1 + google 1 + {_MOODLE_CANCEL})",
}
VILT_CANVAS_MINIMUM = {
    "schedule": "4 (zoom 1 + google 1 + canvas 2: section, event)",
    "enrol 10 (batch)": "12 (zoom 1 + google 1 + canvas 10: one enrolment per call)",
    "unenrol 1": "3 (one per provider)",
    "reschedule": "3 (one per provider)",
    "cancel": "4 (zoom 1 + google 1 + canvas 2: event, section)",
}


def measure_vilt(providers: tuple[str, ...] = ("zoom", "google_calendar", "moodle")) -> list[tuple[str, str, int]]:
    """Calls per scheduler operation for one virtual session on ``providers`` (Zoom + Google Calendar + Moodle)."""
    names = [n for n in providers if n in {a.name for a in available_adapters()}]
    rows: list[tuple[str, str, int]] = []
    with contextlib.ExitStack() as stack:
        pairs = [stack.enter_context(_sandboxed(n)) for n in names]
        extras: dict[str, Any] = {}
        for harness, _ in pairs:
            extras.update(harness.session_extras())
        counters = [a.transport.counter for _, a in pairs]
        # A fresh simulator holds nothing this ledger did not make: the scheduler may skip first look-ups.
        scheduler = Scheduler([a for _, a in pairs], MemoryLedger(), sole_writer=True)

        def count(label: str, op: Callable[[], Any]) -> None:
            before = [c.total for c in counters]
            op()
            per = [c.total - b for c, b in zip(counters, before, strict=True)]
            split = " + ".join(f"{n}={p}" for n, p in zip(names, per, strict=True))
            rows.append((label, split, sum(per)))

        session = _session("vilt.s1", 6, extras)
        count("schedule", lambda: scheduler.schedule(session))
        learners = _people(10, "v")
        count("enrol 10 (batch)", lambda: scheduler.enrol_many(session.id, learners))
        count("unenrol 1", lambda: scheduler.unenrol(session.id, learners[0].email))
        later = session.slot.model_copy(update={
            "start": session.slot.start + timedelta(days=1), "end": session.slot.end + timedelta(days=1)})
        count("reschedule", lambda: scheduler.reschedule(session.id, later))
        count("cancel", lambda: scheduler.cancel(session.id))
    return rows


_WIDTH = 2 + max(len(text) for table in (VILT_MINIMUM, VILT_GRAPH_MINIMUM, VILT_CANVAS_MINIMUM)
                 for text in table.values())


def main() -> None:
    installed = {a.name for a in available_adapters()}
    for name in sorted(installed & set(MINIMUM)):
        print(f"\n{name}")
        print(f"  {'operation':<22}{'calls':>6}   minimum the API allows")
        for label, calls in measure(name):
            key = "enrol N" if label.startswith("enrol N=") else label
            minimum, why = MINIMUM[name].get(key, ("?", ""))
            print(f"  {label:<22}{calls:>6}   {minimum} ({why})")
    print("\nVILT session through the scheduler (meeting -> calendar -> LMS)")
    print(f"  {'operation':<22}{'calls':>6}   {'minimum':<{_WIDTH}}per provider")
    for label, split, calls in measure_vilt():
        print(f"  {label:<22}{calls:>6}   {VILT_MINIMUM.get(label, '?'):<{_WIDTH}}{split}")
    print("\nVILT session with Microsoft Graph as calendar and meeting provider (Teams), then Moodle")
    print(f"  {'operation':<22}{'calls':>6}   {'minimum':<{_WIDTH}}per provider")
    for label, split, calls in measure_vilt(("microsoft_graph", "moodle")):
        print(f"  {label:<22}{calls:>6}   {VILT_GRAPH_MINIMUM.get(label, '?'):<{_WIDTH}}{split}")
    if "canvas" in installed:
        print("\nVILT session with Canvas as the LMS (Zoom, then Google Calendar, then Canvas)")
        print(f"  {'operation':<22}{'calls':>6}   {'minimum':<{_WIDTH}}per provider")
        for label, split, calls in measure_vilt(("zoom", "google_calendar", "canvas")):
            print(f"  {label:<22}{calls:>6}   {VILT_CANVAS_MINIMUM.get(label, '?'):<{_WIDTH}}{split}")
    print("\nCanvas enrols one user per REST call (POST sections/:id/enrollments). Its only bulk path, a SIS import,")
    print("is an asynchronous account-level CSV job (account admin, SIS ids) outside what this SDK drives.")


if __name__ == "__main__":
    main()
