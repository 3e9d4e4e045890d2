"""The demo: schedule a small cohort end to end on the providers' sandboxes, with a SQLite ledger.

Two sessions (one in person with a room, one virtual with a meeting link), five learners in three time
zones, capacity three (so two are waitlisted), one cancellation that promotes the first waitlisted learner,
one reschedule, one ``.ics`` invite per learner with a seat (or a cancellation) and a waitlist notice per
waitlisted learner, per session; unchanged files are not rewritten. The in-person session books a room through
the standard room interface: one of a room-booking system when one is installed, else a Google Workspace room,
else one of any other adapter that holds rooms (the first free one seating its capacity). A third session,
taught by the same instructor while she is in the first, is refused as a double booking, with the clash shown.
The plan is declarative, so running the demo again on the same ledger changes nothing and makes no provider call.

Every installed adapter that ships a sandbox harness (the in-tree adapters, a vendor's) runs against its
provider simulator (the one the contract kit records against) served on 127.0.0.1 for the duration of the run;
no network and no credentials are needed. One scheduler serves both sessions and routes each by what it needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from lms_connectors.adapter import AdapterKind
from lms_connectors.errors import ConfigurationError, DoubleBooked, ValidationError
from lms_connectors.invite_folder import sync_invites
from lms_connectors.models import (
    EnrollmentStatus,
    Modality,
    Person,
    Role,
    Room,
    Session,
    SessionStatus,
    TimeSlot,
)
from lms_connectors.registry import available_adapters, load_harness
from lms_connectors.scheduler import ProgressEvent, Scheduler
from lms_connectors.store.sqlite import SQLiteLedger
from lms_connectors.testing.sandboxed import sandboxed_adapters

__all__ = ["DemoReport", "demo_plan", "run_demo"]

INSTRUCTOR = Person(
    email="priya.nair@example.org", name="Priya Nair", timezone="America/New_York", role=Role.INSTRUCTOR
)
LEARNERS = (
    Person(email="amara.okafor@example.org", name="Amara Okafor", timezone="America/New_York"),
    Person(email="kenji.sato@example.org", name="Kenji Sato", timezone="Asia/Tokyo"),
    Person(email="lena.fischer@example.org", name="Lena Fischer", timezone="Europe/Berlin"),
    Person(email="yuki.tanaka@example.org", name="Yuki Tanaka", timezone="Asia/Tokyo"),
    Person(email="marcus.lee@example.org", name="Marcus Lee", timezone="America/New_York"),
)
ROOM = Room(
    id="hq-training-3",
    name="HQ Training Room 3",
    email="training-room-3@resource.example.org",
    capacity=12,
    location="HQ, 3rd floor",
)


def _slot(day: int, hour: int, minutes: int, zone: str) -> TimeSlot:
    start = datetime(2027, 3, day, hour, 0, tzinfo=ZoneInfo(zone))
    return TimeSlot(start=start, end=start + timedelta(minutes=minutes), timezone=zone)


@dataclass(frozen=True)
class PlannedSession:
    """One session of the demo plan and what happens to it after it is scheduled."""

    session: Session
    cancel: tuple[str, ...] = ()
    move_to: TimeSlot | None = None
    clashes: bool = False
    """The plan books this one over another session of the same instructor, to show the refusal."""


def demo_plan() -> list[PlannedSession]:
    """The cohort: an in-person session with a room and a virtual one, both through one scheduler.

    The scheduler routes each by what it needs: the in-person session goes to the calendars and LMSs, the
    virtual one to the meeting providers too (without one, a calendar that makes links, Google Calendar, makes
    the Meet conference itself).
    """
    in_person = Session(
        id="demo.forklift-safety.2027-03-16",
        title="Forklift Safety (in person)",
        slot=_slot(16, 9, 180, "America/New_York"),
        modality=Modality.IN_PERSON,
        capacity=3,
        instructors=(INSTRUCTOR,),
        room=ROOM,
        description="Hands-on certification. Bring safety shoes.",
    )
    virtual = Session(
        id="demo.onboarding.2027-03-18",
        title="New-hire Onboarding (virtual)",
        slot=_slot(18, 14, 90, "Europe/Berlin"),
        modality=Modality.VIRTUAL,
        capacity=3,
        instructors=(INSTRUCTOR,),
        description="Welcome session for the March cohort.",
    )
    clashing = Session(
        id="demo.forklift-refresher.2027-03-16",
        title="Forklift Refresher (in person)",
        slot=_slot(16, 11, 60, "America/New_York"),
        modality=Modality.IN_PERSON,
        capacity=3,
        instructors=(INSTRUCTOR,),
        description="Booked while the instructor teaches Forklift Safety: refused as a double booking.",
    )
    return [
        PlannedSession(in_person, cancel=(LEARNERS[0].email,)),
        PlannedSession(virtual, move_to=_slot(19, 14, 90, "Europe/Berlin")),
        PlannedSession(clashing, clashes=True),
    ]


@dataclass
class DemoReport:
    """What the demo did, for the summary table."""

    sessions: list[Session] = field(default_factory=list)
    rosters: dict[str, list[tuple[Person, EnrollmentStatus]]] = field(default_factory=dict)
    refs: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    invites: list[Path] = field(default_factory=list)
    notices: list[Path] = field(default_factory=list)
    """Waitlist notices (plain text), one per waitlisted learner."""
    provider_calls: int = 0
    adapters: list[str] = field(default_factory=list)
    """The installed adapters the demo ran on."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Installed adapters left out (no sandbox harness) or sessions no installed adapter serves, and why."""
    refused: dict[str, list[str]] = field(default_factory=dict)
    """Sessions refused as double bookings, with each clash."""


NO_ADAPTER_HINT = (
    "no adapter with a sandbox is installed. Install at least one, e.g. from a checkout "
    "`pip install -r requirements-dev.txt` (every in-tree adapter), or `pip install ./adapters/google_calendar`; "
    "`lms-connectors adapters` lists what is installed"
)


def _sandboxable(names: set[str], skipped: dict[str, str]) -> dict[str, Any]:
    """The harness of each adapter that ships one (with its simulator); the others are noted in ``skipped``."""
    harnesses: dict[str, Any] = {}
    for name in sorted(names):
        try:
            harnesses[name] = load_harness(name)
        except ConfigurationError as exc:
            skipped[name] = f"no sandbox: {exc.message}"
    return harnesses


_ROOM_PREFERENCE = ("google_calendar",)
"""After room-booking systems, the holders whose rooms the demo prefers (then any other)."""


def _with_room(scheduler: Scheduler, ledger: SQLiteLedger, session: Session) -> Session:
    """``session`` with the room it keeps in the ledger, else the best free room an installed adapter holds.

    A room-booking system's first, then a Google Workspace room, then any other; the demo's fixed room (a location
    only) when no installed adapter holds rooms. A session already in the ledger keeps its room: no call is made.
    """
    stored = ledger.get_session(session.id)
    if stored is not None:
        return session.model_copy(update={"room": stored.room})
    kinds = {adapter.name: adapter.kind for adapter in scheduler.adapters}

    def rank(room: Room) -> int:
        holder = room.provider or ""
        if kinds.get(holder) is AdapterKind.ROOM:
            return 0
        return 1 + (_ROOM_PREFERENCE.index(holder) if holder in _ROOM_PREFERENCE else len(_ROOM_PREFERENCE))

    rooms = sorted(scheduler.available_rooms(session.slot, capacity=session.capacity), key=rank)
    return session.model_copy(update={"room": rooms[0] if rooms else ROOM})


def run_demo(
    workdir: Path,
    on_progress: Callable[[ProgressEvent], None] | None = None,
    *,
    only: set[str] | None = None,
) -> DemoReport:
    """Run the demo plan with the ledger and the invites under ``workdir``, on every installed adapter.

    Each installed adapter that ships a sandbox harness (the in-tree ones and any vendor's, such as the example
    third-party adapter) runs against its simulator; one scheduler serves both sessions.

    Args:
        workdir: Where the SQLite ledger and the invites folder live.
        on_progress: Called after every scheduler step.
        only: Use only these of the installed adapters (default: all of them).

    Returns:
        What was scheduled, who holds a seat, where each session lives, the invites written, and the
        number of provider calls this run made (zero when the plan had already been applied).

    Raises:
        ConfigurationError: No installed adapter has a sandbox (the message says what to install), or
            ``only`` names an adapter that is not installed.
    """
    installed = {info.name for info in available_adapters()}
    report = DemoReport()
    if only is not None:
        missing = sorted(only - installed)
        if missing:
            raise ConfigurationError(
                f"--only {', '.join(missing)}: not installed (installed: {', '.join(sorted(installed)) or 'none'})"
            )
        installed &= only
    harnesses = _sandboxable(installed, report.skipped)
    if not harnesses:
        raise ConfigurationError(NO_ADAPTER_HINT)
    report.adapters = sorted(harnesses)
    workdir.mkdir(parents=True, exist_ok=True)
    ledger = SQLiteLedger(workdir / "ledger.sqlite")
    scheduled: list[str] = []
    try:
        with sandboxed_adapters(harnesses) as sandbox:
            scheduler = Scheduler(
                list(sandbox.adapters.values()), ledger, on_progress=on_progress, check_free_busy=True
            )
            for planned in demo_plan():
                sid = planned.session.id
                wanted = planned.session
                if wanted.modality is not Modality.VIRTUAL and not planned.clashes:
                    wanted = _with_room(scheduler, ledger, wanted)
                try:
                    scheduler.targets_for(wanted)
                except ValidationError as exc:
                    report.skipped[sid] = exc.message
                    continue
                try:
                    scheduler.schedule(wanted)
                except DoubleBooked as refused:
                    report.refused[sid] = [clash.describe() for clash in refused.clashes]
                    continue
                scheduled.append(sid)
                newcomers = [p for p in LEARNERS if ledger.get_enrollment(sid, p.email) is None]
                if newcomers:
                    scheduler.enrol_many(sid, newcomers)
                for email in planned.cancel:
                    scheduler.unenrol(sid, email)
                if planned.move_to is not None:
                    scheduler.reschedule(sid, planned.move_to)
            report.provider_calls = sandbox.calls()
        for sid in scheduled:
            session = ledger.get_session(sid)
            if session is None or session.status is not SessionStatus.SCHEDULED:
                raise ConfigurationError(f"the ledger lost session {sid!r}; delete {workdir} and run again")
            report.sessions.append(session)
            roster = ledger.list_enrollments(sid)
            report.rosters[sid] = [(e.person, e.status) for e in roster]
            report.refs[sid] = [(r.provider, r.external_id) for r in ledger.list_refs(sid)]
            written = sync_invites(session, roster, workdir / "invites", organizer=INSTRUCTOR)
            report.invites.extend(written.invites)
            report.notices.extend(p for p in (*written.written, *written.unchanged) if p not in written.invites)
    finally:
        ledger.close()
    return report
