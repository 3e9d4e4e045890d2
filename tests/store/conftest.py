from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.models import Enrollment, EnrollmentStatus, Person, Session, TimeSlot
from lms_connectors.store.base import LedgerStore
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.store.sqlite import SQLiteLedger

LedgerFactory = Callable[[], LedgerStore]


@pytest.fixture(params=["memory", "sqlite"])
def ledger_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LedgerFactory]:
    """Opens ledgers of one implementation; every SQLite ledger of a test shares one file."""
    opened: list[LedgerStore] = []

    def make() -> LedgerStore:
        store: LedgerStore = MemoryLedger() if request.param == "memory" else SQLiteLedger(tmp_path / "ledger.db")
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def ledger(ledger_factory: LedgerFactory) -> LedgerStore:
    return ledger_factory()


NEW_YORK = ZoneInfo("America/New_York")


def make_session(session_id: str = "s1", *, title: str = "Safety basics", day: int = 16) -> Session:
    return Session(
        id=session_id,
        title=title,
        slot=TimeSlot(
            start=datetime(2027, 3, day, 10, 0, tzinfo=NEW_YORK),
            end=datetime(2027, 3, day, 12, 0, tzinfo=NEW_YORK),
            timezone="America/New_York",
        ),
        capacity=2,
    )


def make_enrollment(
    email: str,
    position: int,
    status: EnrollmentStatus = EnrollmentStatus.CONFIRMED,
    session_id: str = "s1",
) -> Enrollment:
    return Enrollment(
        session_id=session_id,
        person=Person(email=email, name=email.split("@")[0].title(), timezone="Asia/Tokyo"),
        status=status,
        position=position,
    )


def run_threads(target: Callable[[int], None], count: int) -> None:
    """Run ``target(i)`` in ``count`` threads at once and re-raise the first failure."""
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def guarded(index: int) -> None:
        try:
            start.wait()
            target(index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    assert not errors, errors
