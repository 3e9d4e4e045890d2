"""What only the SQLite ledger promises: a file that outlives the process, shared between handles."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from lms_connectors.errors import ConfigurationError
from lms_connectors.models import EnrollmentStatus, ProviderRef
from lms_connectors.store import open_ledger
from lms_connectors.store.base import AuditEntry, KeyState
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.store.sqlite import DEFAULT_LEDGER_PATH, SCHEMA_VERSION, SQLiteLedger

from .conftest import make_enrollment, make_session, run_threads


def test_everything_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledger = SQLiteLedger(path)
    session = make_session("s1")
    ledger.save_session(session)
    ledger.put_ref("s1", ProviderRef(provider="zoom", external_id="85012345678901", join_url="https://z/j/1"))
    ledger.current_key("s1", "zoom")
    ledger.set_key_state("s1", "zoom", 1, KeyState.RETIRED)
    ledger.current_key("s1", "zoom")
    ledger.upsert_enrollment(make_enrollment("a@example.org", 0))
    ledger.upsert_enrollment(make_enrollment("b@example.org", 1, EnrollmentStatus.WAITLISTED))
    ledger.append_audit(AuditEntry(session_id="s1", provider="zoom", action="create", detail={"n": 1}))
    ledger.close()

    reopened = SQLiteLedger(path)
    try:
        assert reopened.get_session("s1") == session
        ref = reopened.get_ref("s1", "zoom")
        assert ref is not None
        assert (ref.external_id, ref.join_url) == ("85012345678901", "https://z/j/1")
        assert [(k.key, k.state) for k in reopened.list_keys("s1")] == [
            ("s1.zoom.g1", KeyState.RETIRED),
            ("s1.zoom.g2", KeyState.PENDING),
        ]
        assert reopened.current_key("s1", "zoom").key == "s1.zoom.g2"
        assert [e.person.email for e in reopened.list_enrollments("s1", EnrollmentStatus.WAITLISTED)] == [
            "b@example.org"
        ]
        assert reopened.next_position("s1") == 2
        assert [(e.action, e.detail) for e in reopened.iter_audit()] == [("create", {"n": 1})]
    finally:
        reopened.close()


def test_rolled_back_work_is_not_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledger = SQLiteLedger(path)

    def fail() -> None:
        with ledger.transaction():
            ledger.save_session(make_session("s1"))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail()
    ledger.close()
    reopened = SQLiteLedger(path)
    assert reopened.list_sessions() == []
    reopened.close()


def test_file_is_in_wal_mode_with_a_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    SQLiteLedger(path).close()
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    finally:
        raw.close()
    ledger = SQLiteLedger(path)  # opening again does not migrate twice
    assert ledger.schema_version == SCHEMA_VERSION
    ledger.close()


def test_a_file_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    SQLiteLedger(path).close()
    raw = sqlite3.connect(path)
    with raw:
        raw.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION + 1,))
    raw.close()
    with pytest.raises(ConfigurationError, match="schema version"):
        SQLiteLedger(path)


def test_missing_folder_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        SQLiteLedger(tmp_path / "nowhere" / "ledger.db")


def test_two_handles_on_one_file_share_rows_and_lose_none(tmp_path: Path) -> None:
    # Two connections to one file behave like two worker processes: writes serialise on the file lock.
    path = tmp_path / "ledger.db"
    first, second = SQLiteLedger(path), SQLiteLedger(path)
    try:
        first.save_session(make_session("s1"))
        assert second.get_session("s1") is not None

        per_thread = 30

        def writer(index: int) -> None:
            store = first if index % 2 else second
            for n in range(per_thread):
                with store.transaction():
                    position = store.next_position("s1")
                    store.upsert_enrollment(make_enrollment(f"t{index}n{n}@example.org", position))

        run_threads(writer, 4)
        assert [e.position for e in second.list_enrollments("s1")] == list(range(4 * per_thread))

        keys: list[str] = []
        run_threads(lambda i: keys.append((first if i % 2 else second).current_key("s1", "zoom").key), 8)
        assert set(keys) == {"s1.zoom.g1"}
    finally:
        first.close()
        second.close()


def test_in_memory_sqlite_works_for_one_handle() -> None:
    ledger = SQLiteLedger(":memory:")
    ledger.save_session(make_session("s1"))
    assert [s.id for s in ledger.list_sessions()] == ["s1"]
    ledger.close()


# open_ledger


def test_open_ledger_memory() -> None:
    assert isinstance(open_ledger("memory:"), MemoryLedger)


@pytest.mark.parametrize("form", ["path", "str", "url"])
def test_open_ledger_sqlite_by_path_or_url(tmp_path: Path, form: str) -> None:
    path = tmp_path / "x.db"
    targets: dict[str, str | Path] = {"path": path, "str": str(path), "url": f"sqlite:///{path}"}
    target = targets[form]
    ledger = open_ledger(target)
    assert isinstance(ledger, SQLiteLedger)
    ledger.save_session(make_session())
    ledger.close()
    assert path.exists()


def test_open_ledger_default_is_a_file_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    ledger = open_ledger(None)
    assert isinstance(ledger, SQLiteLedger)
    ledger.close()
    assert (tmp_path / DEFAULT_LEDGER_PATH).exists()


def test_open_ledger_unknown_scheme() -> None:
    with pytest.raises(ConfigurationError, match="postgresql"):
        open_ledger("postgresql://db/ledger")
