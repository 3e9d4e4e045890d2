"""Task outcomes carry the typed result or error of an operation through Celery's JSON."""

from __future__ import annotations

import json

import pytest

from lms_connectors.errors import (
    CapacityFull,
    ConnectorError,
    LedgerUnavailable,
    NotFound,
    NotSupported,
    SchedulingFailed,
)
from lms_connectors.models import Enrollment, EnrollmentStatus, Person
from lms_connectors.workers.outcome import TaskError, TaskOutcome


def _through_json(outcome: TaskOutcome) -> TaskOutcome:
    return TaskOutcome.from_result(json.loads(json.dumps(outcome.model_dump(mode="json"))))


def test_a_success_carries_the_typed_enrolments() -> None:
    enrollment = Enrollment(session_id="s1", person=Person(email="ana@example.org", name="Ana"), status=EnrollmentStatus.WAITLISTED, position=3)
    outcome = _through_json(TaskOutcome(ok=True, operation="enrol", tenant="acme", session_id="s1", enrollments=[enrollment]))
    assert outcome.raise_for_error() is outcome
    assert outcome.enrollments == [enrollment]


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (NotFound("unknown session 's9'"), NotFound),
        (CapacityFull("full", provider="zoom"), CapacityFull),
        (LedgerUnavailable("database down"), LedgerUnavailable),
        (SchedulingFailed("failed at zoom", step="zoom", cause=ConnectorError("x")), SchedulingFailed),
        (NotSupported("no rooms", capability="rooms"), ConnectorError),
    ],
)
def test_a_failure_raises_the_same_error_type_for_the_caller(error: ConnectorError, kind: type[ConnectorError]) -> None:
    outcome = _through_json(TaskOutcome(ok=False, operation="enrol", tenant="acme", session_id="s1", error=TaskError.of(error)))
    assert outcome.error is not None and outcome.error.transient is isinstance(error, LedgerUnavailable)
    with pytest.raises(kind) as raised:
        outcome.raise_for_error()
    assert error.message in raised.value.message
