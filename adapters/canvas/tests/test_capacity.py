"""Capacity overflow with an appointment group: Canvas refuses the seat after the last; promotion reserves it."""

from __future__ import annotations

import pytest

from lms_connectors.errors import CapacityFull
from lms_connectors.models import EnrollmentStatus
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger
from lms_connectors_canvas.sandbox import CanvasSimulator

from .conftest import AdapterFactory, learner, make_session


def test_a_full_slot_refuses_the_next_learner_and_a_freed_seat_takes_the_promoted_one(
    make_adapter: AdapterFactory, simulator: CanvasSimulator
) -> None:
    canvas = make_adapter(native_capacity=True)
    scheduler = Scheduler([canvas], MemoryLedger(), sole_writer=True)
    session = make_session("cap-native", capacity=2)
    scheduler.schedule(session)
    ref = scheduler.ledger.get_ref(session.id, "canvas")
    assert ref is not None and ref.extra["appointment_group_id"] and ref.extra["slot_id"]
    slot = int(ref.extra["slot_id"])
    assert simulator.events[slot].participants_per_appointment == 2

    statuses = [scheduler.enrol(session.id, learner(n)).status for n in (1, 2, 3)]
    assert statuses == [EnrollmentStatus.CONFIRMED, EnrollmentStatus.CONFIRMED, EnrollmentStatus.WAITLISTED]
    assert sorted(simulator.slot_reservations(slot)) == ["learner1@example.org", "learner2@example.org"]

    # Canvas itself holds the limit: a push past it (the SDK's ledger bypassed) is refused.
    with pytest.raises(CapacityFull):
        canvas.enrol(ref, session, [learner(3)])
    assert len(simulator.slot_reservations(slot)) == 2
    assert learner(3).email not in {m.email for m in canvas.list_roster(ref)}, "no seat, no place in the section"
    canvas.enrol(ref, session, [learner(2)], seated=True)  # pushed again: her reservation, not a second one
    assert sorted(simulator.slot_reservations(slot)) == ["learner1@example.org", "learner2@example.org"]

    scheduler.unenrol(session.id, learner(1).email)
    promoted = scheduler.ledger.get_enrollment(session.id, learner(3).email)
    assert promoted is not None and promoted.status is EnrollmentStatus.CONFIRMED
    assert sorted(simulator.slot_reservations(slot)) == ["learner2@example.org", "learner3@example.org"]
    assert {m.email for m in canvas.list_roster(ref)} >= {"learner2@example.org", "learner3@example.org"}
    assert canvas.get_session(ref).capacity == 2


def test_reschedule_moves_the_slot_and_its_reservations_and_cancel_removes_the_group(
    make_adapter: AdapterFactory, simulator: CanvasSimulator
) -> None:
    canvas = make_adapter(native_capacity=True)
    session = make_session("cap-move", capacity=3)
    ref = canvas.create_session(session, key="cap-move.canvas.g1", fresh=True)
    canvas.enrol(ref, session, [learner(1)], seated=True)
    moved = session.rescheduled(make_session("cap-move", capacity=3, day=17).slot)
    canvas.reschedule_session(ref, moved)
    slot = simulator.events[int(ref.extra["slot_id"])]
    assert slot.start_at == moved.slot.start
    assert [r.start_at for r in slot.live_children()] == [moved.slot.start]
    canvas.cancel_session(ref)
    assert simulator.groups[int(ref.extra["appointment_group_id"])].workflow_state == "deleted"
