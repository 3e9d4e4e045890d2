"""What a worker task returns: the typed outcome of one scheduler operation, as JSON that Celery can carry.

A task never lets a permanent :class:`~lms_connectors.errors.ConnectorError` escape as a Celery failure: it
returns a :class:`TaskOutcome` with ``ok=False`` and the error's type, so the caller gets the same typed error
back with :meth:`TaskOutcome.raise_for_error`. Transient errors are retried by Celery first.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from lms_connectors import errors
from lms_connectors.models import Enrollment, Session

__all__ = ["TaskError", "TaskOutcome"]


class TaskError(BaseModel):
    """A failed operation's error, by type name and message."""

    model_config = ConfigDict(frozen=True)

    type: str
    message: str
    transient: bool
    provider: str | None = None

    @classmethod
    def of(cls, exc: errors.ConnectorError) -> TaskError:
        """The error as a task result carries it."""
        return cls(
            type=type(exc).__name__,
            message=exc.message,
            transient=isinstance(exc, errors.TransientError),
            provider=getattr(exc, "provider", None),
        )

    def to_exception(self) -> errors.ConnectorError:
        """The SDK error of the same type (:class:`~lms_connectors.errors.ConnectorError` for one it lacks)."""
        kind = getattr(errors, self.type, None)
        if kind is errors.SchedulingFailed:
            cause = errors.ConnectorError(self.message, provider=self.provider)
            return errors.SchedulingFailed(self.message, step=self.provider or "unknown", cause=cause)
        if isinstance(kind, type) and issubclass(kind, errors.ConnectorError):
            try:
                return kind(self.message, provider=self.provider)
            except TypeError:  # an error type whose constructor needs more (NotSupported's capability)
                pass
        return errors.ConnectorError(f"{self.type}: {self.message}", provider=self.provider)


class TaskOutcome(BaseModel):
    """The outcome of one worker task.

    Attributes:
        ok: Whether the operation succeeded.
        operation: ``schedule``, ``reschedule``, ``cancel``, ``enrol``, ``unenrol`` or ``sync``.
        tenant: The tenant it ran for.
        session_id: The session it worked on.
        session: The session as stored afterwards (schedule, reschedule, cancel).
        enrollments: The learners' enrolments afterwards (enrol, unenrol).
        error: What went wrong, when not ``ok``.
        worker: The worker (Celery node name) that ran it.
    """

    model_config = ConfigDict(frozen=True)

    ok: bool
    operation: str
    tenant: str
    session_id: str
    session: Session | None = None
    enrollments: list[Enrollment] = []
    error: TaskError | None = None
    worker: str | None = None

    @classmethod
    def from_result(cls, result: Any) -> TaskOutcome:
        """Parse what ``AsyncResult.get()`` returned.

        Raises:
            ValidationError: The value is not a task outcome.
        """
        return cls.model_validate(result)

    def raise_for_error(self) -> TaskOutcome:
        """Raise the operation's typed error if it failed; return self otherwise."""
        if self.error is not None:
            raise self.error.to_exception()
        return self
