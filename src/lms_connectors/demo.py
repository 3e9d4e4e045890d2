"""The demo: schedule a small cohort end to end on the providers' sandboxes, with a SQLite ledger.

Two sessions (one in person with a room, one virtual with a meeting link), five learners in three time
zones, capacity three (so two are waitlisted), one cancellation that promotes the first waitlisted learner,
one reschedule, one ``.ics`` invite per learner with a seat (or a cancellation) and a waitlist notice per
waitlisted learner, per session; unchanged files are not rewritten. The plan is declarative, so running the
demo again on the same ledger changes nothing and makes no provider call.

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

from lms_connectors.errors import ConfigurationError, ValidationError
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
    return [
        PlannedSession(in_person, cancel=(LEARNERS[0].email,)),
        PlannedSession(virtual, move_to=_slot(19, 14, 90, "Europe/Berlin")),
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
            scheduler = Scheduler(list(sandbox.adapters.values()), ledger, on_progress=on_progress)
            for planned in demo_plan():
                sid = planned.session.id
                try:
                    scheduler.targets_for(planned.session)
                except ValidationError as exc:
                    report.skipped[sid] = exc.message
                    continue
                scheduler.schedule(planned.session)
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
