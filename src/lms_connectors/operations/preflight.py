"""What ``plan`` asks the providers before anything is written: permissions, and who is busy there.

Both are reads only:

- **permissions**: each adapter the plan writes to runs its ``lms-connectors doctor`` checks
  (:meth:`Adapter.diagnose <lms_connectors.adapter.Adapter.diagnose>`: credentials, the functions, scopes or
  permissions the token holds, the account's access), and every failed check is a problem of the plan;
- **free/busy**: the instructors' busy time at the providers (what their calendars hold outside this ledger)
  for the plan's whole window, through the scheduler's conflict checker
  (:meth:`ConflictChecker.people_busy <lms_connectors.conflicts.ConflictChecker.people_busy>`: one question per
  adapter that reads free/busy), and each room's at the adapter that books it
  (:meth:`ConflictChecker.provider_clashes <lms_connectors.conflicts.ConflictChecker.provider_clashes>`);
- **completion**: for each session whose plan entry has a ``completion:`` section, each LMS named there checks
  what writing completion would need (:meth:`Adapter.check_completion
  <lms_connectors.adapter.Adapter.check_completion>`: the permissions ``doctor`` reports as optional, and the
  named activity or assignment where a read shows it). A plan without ``completion:`` asks nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC

from lms_connectors.adapter import Capability, DiagnosticCheck
from lms_connectors.completion import CompletionItem
from lms_connectors.errors import Clash, ConnectorError
from lms_connectors.models import Session, TimeSlot
from lms_connectors.operations.plan_file import SessionSpec
from lms_connectors.scheduler import Scheduler

__all__ = ["completion_failures", "failed_checks", "instructors_busy", "room_busy"]


def failed_checks(scheduler: Scheduler, adapter_names: Iterable[str]) -> list[tuple[str, DiagnosticCheck]]:
    """The ``doctor`` checks that fail, per adapter named, in the scheduler's order of adapters.

    :calls: each named adapter's :meth:`~lms_connectors.adapter.Adapter.diagnose` (reads only).
    """
    wanted = set(adapter_names)
    failed: list[tuple[str, DiagnosticCheck]] = []
    for adapter in scheduler.adapters:
        if adapter.name in wanted:
            failed.extend((adapter.name, check) for check in adapter.diagnose() if not check.ok)
    return failed


def instructors_busy(scheduler: Scheduler, emails: Sequence[str], specs: Sequence[SessionSpec]) -> list[Clash]:
    """What the providers show ``emails`` busy with during the plan's window, outside this ledger's sessions.

    The window runs from the first start to the last end of ``specs`` (cancelled ones aside).

    :calls: ``free_busy`` of every adapter that reads it, once for everyone (adapters batch as their API needs).
    """
    slots = [spec.slot() for spec in specs if not spec.cancelled]
    if not slots or not emails:
        return []
    window = TimeSlot(
        start=min(s.start for s in slots).astimezone(UTC), end=max(s.end for s in slots).astimezone(UTC), timezone="UTC"
    )
    readers = [adapter for adapter in scheduler.adapters if adapter.supports(Capability.FREE_BUSY)]
    scheduler.conflicts.refresh()  # the ledger's own sessions, as stored now, are not counted as busy
    return scheduler.conflicts.people_busy(list(emails), window, readers)


def room_busy(scheduler: Scheduler, session: Session) -> list[Clash]:
    """When ``session``'s room is busy at the adapter that books it, outside this ledger's sessions.

    :calls: :meth:`~lms_connectors.adapter.Adapter.room_busy` of the room's holder.
    """
    if session.room is None:
        return []
    room_only = session.model_copy(update={"instructors": []})
    return scheduler.conflicts.provider_clashes(room_only, scheduler.adapters)


def completion_failures(
    scheduler: Scheduler, asked: Iterable[tuple[Session, Mapping[str, CompletionItem]]]
) -> list[tuple[str, str, DiagnosticCheck]]:
    """What stops writing completion where the plan asks for it: ``(adapter, session id, failed check)``.

    Only the LMSs each session names under ``completion:`` are asked, once per session and LMS.

    Args:
        scheduler: Holds the adapters.
        asked: Each session with what each LMS records its completion on (sessions asking nothing may be left out).

    :calls: :meth:`~lms_connectors.adapter.Adapter.check_completion` of the named adapters (reads only).
    """
    adapters = {adapter.name: adapter for adapter in scheduler.adapters}
    failed: list[tuple[str, str, DiagnosticCheck]] = []
    for session, items in asked:
        for name, item in items.items():
            adapter = adapters.get(name)
            if adapter is None:
                checks = [DiagnosticCheck.of("completion", False, f"no adapter {name} is configured")]
            elif not adapter.supports(Capability.COMPLETION):
                checks = [DiagnosticCheck.of("completion", False, f"{name} does not write completion back")]
            else:
                try:
                    checks = adapter.check_completion(session, item)
                except ConnectorError as exc:  # an adapter's read that fails is a failed check, not a failed plan
                    checks = [DiagnosticCheck.of("completion", False, f"{type(exc).__name__}: {exc}")]
            failed.extend((name, session.id, check) for check in checks if not check.ok)
    return failed
