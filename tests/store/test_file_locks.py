"""The SQLite ledger's session locks across processes: one holder at a time, re-entrant, released by a death."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lms_connectors.errors import LedgerUnavailable
from lms_connectors.store.file_locks import FileSessionLocks
from lms_connectors.store.sqlite import SQLiteLedger

HOLDER = textwrap.dedent(
    """
    import sys, time
    from lms_connectors.store.sqlite import SQLiteLedger
    ledger = SQLiteLedger(sys.argv[1], timeout=0.3)
    try:
        with ledger.session_lock(sys.argv[2]):
            print("held", flush=True)
            time.sleep(float(sys.argv[3]))
    except Exception as exc:
        print(type(exc).__name__, flush=True)
    """
)


def _holder(path: Path, session_id: str, seconds: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), session_id, str(seconds)], stdout=subprocess.PIPE, text=True
    )


def test_a_session_held_by_another_process_waits_then_is_ledger_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    ledger = SQLiteLedger(path, timeout=0.3)
    with ledger.session_lock("s1"), ledger.session_lock("s1"):  # re-entrant in this thread
        other = _holder(path, "s1", 0)
        assert other.communicate(timeout=30)[0].strip() == "LedgerUnavailable"
        free = _holder(path, "s2", 0)  # another session is not held
        assert free.communicate(timeout=30)[0].strip() == "held"
    after = _holder(path, "s1", 0)  # released when the outermost hold ends
    assert after.communicate(timeout=30)[0].strip() == "held"
    ledger.close()


def test_a_holder_killed_mid_operation_releases_the_session(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    SQLiteLedger(path).close()
    holder = _holder(path, "s1", 60)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    ledger = SQLiteLedger(path, timeout=5)
    with ledger.session_lock("s1"):
        pass
    ledger.close()


def test_tenants_do_not_share_a_session_lock(tmp_path: Path) -> None:
    locks = FileSessionLocks(tmp_path / "locks", timeout=0.1)
    other = FileSessionLocks(tmp_path / "locks", timeout=0.1)  # as another process would hold them
    with locks.hold("acme", "s1"), other.hold("globex", "s1"):
        with pytest.raises(LedgerUnavailable):
            with other.hold("acme", "s1"):
                pass
