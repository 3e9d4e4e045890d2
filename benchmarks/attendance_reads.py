"""HTTP calls and time per attendance read, Zoom against Microsoft Graph (Teams), through ``collect_attendance``.

Each provider's simulator is served on 127.0.0.1; a virtual session is scheduled through the scheduler, learners
enrolled, and joins declared (every learner joins, a third of them twice after dropping out). Then
``collect_attendance`` reads and records them, twice (the second read of the same meeting), and the transport's
call counter gives the API requests sent. Graph's reads are: the event, the organizer's object id (first read
only), the meeting by its join link (first read only), the reports, and the records of each report of the
session, page by page; Zoom's are the participants report's pages.

Page sizes are the simulators': Zoom's 300 is the documented maximum of ``page_size``; Graph documents no page
size for attendance records, and its simulator pages them by 100, so the Graph figures for large cohorts count
those pages.

    python benchmarks/attendance_reads.py
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from lms_connectors.models import Modality, Person, Session, TimeSlot
from lms_connectors.operations.attendance import collect_attendance
from lms_connectors.registry import load_harness
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.testing.sandbox import SandboxServer
from lms_connectors_microsoft_graph.sandbox_meetings import Join

START = datetime(2027, 4, 13, 10, 0, tzinfo=ZoneInfo("America/New_York"))


def measure(provider: str, learners: int, reports: int = 1) -> tuple[int, int, float]:
    """Calls of the first and second read, and the first read's seconds, for one session of ``learners``.

    Args:
        provider: ``zoom`` or ``microsoft_graph``.
        learners: Learners on the roster, who all join.
        reports: For Graph, the reports the meeting has in the session (it was emptied and reopened in between).
    """
    harness = load_harness(provider)
    simulator = harness.make_simulator()
    with SandboxServer(simulator) as server:
        adapter = harness.build_adapter(server.url, sleep=lambda _s: None)
        ledger = MemoryLedger()
        scheduler = Scheduler([adapter], ledger)
        session = Session(id=f"bench.{provider}.{learners}", title="Bench", modality=Modality.VIRTUAL,
                          capacity=learners, slot=TimeSlot(start=START, end=START + timedelta(hours=2),
                                                           timezone="America/New_York"))
        scheduler.schedule(session)
        scheduler.enrol_many(session.id, [Person(email=f"l{i}@example.org", name=f"L{i}") for i in range(learners)])
        ref = ledger.get_ref(session.id, provider)
        assert ref is not None
        utc = START.astimezone(UTC)
        span = timedelta(minutes=110) / reports
        for part in range(reports):
            for i in range(learners):
                joined = utc + part * span + timedelta(seconds=i % 600)
                stays = [(joined, joined + span / 3), (joined + span / 2, joined + span * 0.9)] if i % 3 == 0 else [
                    (joined, joined + span * 0.9)]
                for begin, end in stays:
                    if provider == "zoom":
                        simulator.record_participant(ref.external_id, f"l{i}@example.org", begin, end)
                    else:
                        simulator.record_join(ref.external_id, Join(f"l{i}@example.org", begin, end))
            if provider == "microsoft_graph":
                simulator.end_meeting(ref.external_id)
        counter = adapter.transport.counter
        before = counter.total
        began = time.perf_counter()
        collect_attendance(scheduler, session.id)
        seconds = time.perf_counter() - began
        first = counter.total - before
        before = counter.total
        collect_attendance(scheduler, session.id)
        second = counter.total - before
        adapter.close()
    return first, second, seconds


def main() -> None:
    """Print the table."""
    print("| provider | learners | reports | calls, first read | calls, next read | first read (s) |")
    print("|---|---|---|---|---|---|")
    for provider, learners, reports in (
        ("zoom", 30, 1), ("zoom", 400, 1),
        ("microsoft_graph", 30, 1), ("microsoft_graph", 30, 3), ("microsoft_graph", 400, 1),
    ):
        first, second, seconds = measure(provider, learners, reports)
        shown = str(reports) if provider == "microsoft_graph" else "-"
        print(f"| {provider} | {learners} | {shown} | {first} | {second} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
