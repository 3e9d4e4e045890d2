"""Celery tasks for every scheduler operation, with Redis as broker (``pip install 'lms-connectors[workers]'``).

Run workers with ``celery -A lms_connectors.workers.tasks worker``; send work with the tasks below
(``enrol.delay("acme", "s-1", [person.model_dump(mode="json")])``) and read
:class:`~lms_connectors.workers.outcome.TaskOutcome` from the result.

Every task is idempotent by construction: the ledger's keys (session id, idempotency key per create, learner
email per enrolment) make a task that runs twice (redelivered after a worker died, retried by Celery) find the
work already done instead of repeating it, and the scheduler holds the session's ledger lock, so two workers
never work on one session at once. Tasks are acknowledged late (after they finish), so a killed worker's task
goes back to the queue. Payloads carry ids and plain data, never credentials: the worker's
:class:`~lms_connectors.workers.runtime.TenantRuntime` reads those from its secrets source.

Configuration (environment): ``LMS_CONNECTORS_BROKER_URL`` (default ``redis://127.0.0.1:6379/0``),
``LMS_CONNECTORS_RESULT_BACKEND`` (default: the broker), ``LMS_CONNECTORS_VISIBILITY_TIMEOUT`` (seconds before
Redis gives an unacknowledged task to another worker; default 3600), ``LMS_CONNECTORS_WORKER_RUNTIME``
(``module:function`` returning the runtime; default
:func:`lms_connectors.workers.runtime.from_environment`).
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

try:
    from celery import Celery, Task
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("the worker tasks need Celery and Redis: pip install 'lms-connectors[workers]'") from exc

from lms_connectors.errors import ConnectorError, TransientError
from lms_connectors.models import Enrollment, Person, Session, TimeSlot
from lms_connectors.scheduler import Scheduler
from lms_connectors.workers.outcome import TaskError, TaskOutcome
from lms_connectors.workers.runtime import TenantRuntime

__all__ = [
    "app",
    "broker_transport_options",
    "cancel",
    "enrol",
    "reschedule",
    "runtime",
    "schedule",
    "set_runtime",
    "sync",
    "unenrol",
]

logger = logging.getLogger("lms_connectors.workers")

MAX_RETRIES = 8
"""How often a task is retried after a transient error (provider throttling, ledger unavailable)."""



def broker_transport_options(visibility_timeout: int) -> dict[str, Any]:
    """Redis transport options: a task unacknowledged for ``visibility_timeout`` seconds goes to another worker.

    Kombu sweeps for such tasks every ``unacked_restore_interval * unacked_restore_throttle`` seconds (100 by
    default); the sweep here runs at a fifth of the timeout (1 to 10 s) so a dead worker's task waits about the
    timeout, not minutes.
    """
    return {
        "visibility_timeout": visibility_timeout,
        "unacked_restore_interval": max(1, min(10, visibility_timeout // 5)),
        "unacked_restore_throttle": 1,
    }


_broker = os.environ.get("LMS_CONNECTORS_BROKER_URL", "redis://127.0.0.1:6379/0")
app = Celery("lms_connectors", broker=_broker, backend=os.environ.get("LMS_CONNECTORS_RESULT_BACKEND", _broker))
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    # Acknowledge after the work: a worker killed mid-task leaves it to another (the ledger makes it idempotent).
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    broker_transport_options=broker_transport_options(int(os.environ.get("LMS_CONNECTORS_VISIBILITY_TIMEOUT", "3600"))),
    result_expires=24 * 3600,
    broker_connection_retry_on_startup=True,
)

_runtime: TenantRuntime | None = None
_runtime_lock = threading.Lock()


def set_runtime(value: TenantRuntime | None) -> None:
    """Use ``value`` for the tasks of this process (an embedding app or a test builds its own)."""
    global _runtime
    with _runtime_lock:
        _runtime = value


def runtime() -> TenantRuntime:
    """The process's runtime, built on first use from ``LMS_CONNECTORS_WORKER_RUNTIME`` (``module:function``)."""
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            target = os.environ.get("LMS_CONNECTORS_WORKER_RUNTIME", "lms_connectors.workers.runtime:from_environment")
            module, _, function = target.partition(":")
            factory = getattr(importlib.import_module(module), function)
            _runtime = factory()
        return _runtime


def _run(
    task: Task[Any, Any],
    operation: str,
    tenant: str,
    session_id: str,
    work: Callable[[Scheduler], TaskOutcome],
) -> dict[str, Any]:
    """Run one operation for a tenant and turn its result or error into a JSON outcome."""
    try:
        outcome = work(runtime().scheduler_for(tenant))
    except TransientError as exc:
        if task.request.retries < MAX_RETRIES:
            countdown = min(60.0, getattr(exc, "retry_after", None) or 2.0 ** task.request.retries)
            logger.info("%s %s/%s: %s; retry in %.1fs", operation, tenant, session_id, exc, countdown)
            raise task.retry(exc=exc, countdown=countdown) from exc
        outcome = _failure(operation, tenant, session_id, exc)
    except ConnectorError as exc:
        outcome = _failure(operation, tenant, session_id, exc)
    return outcome.model_copy(update={"worker": task.request.hostname}).model_dump(mode="json")


def _failure(operation: str, tenant: str, session_id: str, exc: ConnectorError) -> TaskOutcome:
    return TaskOutcome(ok=False, operation=operation, tenant=tenant, session_id=session_id, error=TaskError.of(exc))


def _session_outcome(operation: str, tenant: str, session: Session) -> TaskOutcome:
    return TaskOutcome(ok=True, operation=operation, tenant=tenant, session_id=session.id, session=session)


def _roster_outcome(operation: str, tenant: str, session_id: str, enrollments: list[Enrollment]) -> TaskOutcome:
    return TaskOutcome(ok=True, operation=operation, tenant=tenant, session_id=session_id, enrollments=enrollments)


@app.task(name="lms_connectors.schedule", bind=True)
def schedule(self: Task[Any, Any], tenant: str, session: dict[str, Any]) -> dict[str, Any]:
    """Schedule a session (:meth:`Scheduler.schedule`); ``session`` is a :class:`Session` as JSON."""
    session_id = str(session.get("id", "")) if isinstance(session, dict) else ""

    def work(scheduler: Scheduler) -> TaskOutcome:
        return _session_outcome("schedule", tenant, scheduler.schedule(Session.model_validate(session)))

    return _run(self, "schedule", tenant, session_id, work)


@app.task(name="lms_connectors.reschedule", bind=True)
def reschedule(self: Task[Any, Any], tenant: str, session_id: str, slot: dict[str, Any]) -> dict[str, Any]:
    """Move a session (:meth:`Scheduler.reschedule`); ``slot`` is a :class:`TimeSlot` as JSON."""

    def work(scheduler: Scheduler) -> TaskOutcome:
        return _session_outcome("reschedule", tenant, scheduler.reschedule(session_id, TimeSlot.model_validate(slot)))

    return _run(self, "reschedule", tenant, session_id, work)


@app.task(name="lms_connectors.cancel", bind=True)
def cancel(self: Task[Any, Any], tenant: str, session_id: str) -> dict[str, Any]:
    """Cancel a session everywhere (:meth:`Scheduler.cancel`)."""

    def work(scheduler: Scheduler) -> TaskOutcome:
        return _session_outcome("cancel", tenant, scheduler.cancel(session_id))

    return _run(self, "cancel", tenant, session_id, work)


@app.task(name="lms_connectors.enrol", bind=True)
def enrol(self: Task[Any, Any], tenant: str, session_id: str, people: list[dict[str, Any]]) -> dict[str, Any]:
    """Enrol learners in arrival order (:meth:`Scheduler.enrol_many`); ``people`` are :class:`Person` as JSON."""

    def work(scheduler: Scheduler) -> TaskOutcome:
        persons = [Person.model_validate(p) for p in people]
        return _roster_outcome("enrol", tenant, session_id, scheduler.enrol_many(session_id, persons))

    return _run(self, "enrol", tenant, session_id, work)


@app.task(name="lms_connectors.unenrol", bind=True)
def unenrol(self: Task[Any, Any], tenant: str, session_id: str, email: str) -> dict[str, Any]:
    """Cancel a learner's place (:meth:`Scheduler.unenrol`); the waitlist moves up."""

    def work(scheduler: Scheduler) -> TaskOutcome:
        return _roster_outcome("unenrol", tenant, session_id, [scheduler.unenrol(session_id, email)])

    return _run(self, "unenrol", tenant, session_id, work)


@app.task(name="lms_connectors.sync", bind=True)
def sync(self: Task[Any, Any], tenant: str, session_id: str) -> dict[str, Any]:
    """Push any roster difference between the ledger and the providers (:meth:`Scheduler.sync`)."""

    def work(scheduler: Scheduler) -> TaskOutcome:
        scheduler.sync(session_id)
        return _roster_outcome("sync", tenant, session_id, scheduler.roster(session_id))

    return _run(self, "sync", tenant, session_id, work)
