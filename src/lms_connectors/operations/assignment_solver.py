"""Instructor assignment with OR-Tools' CP-SAT: as many sessions placed as possible, then cheapest and fairest.

The model has one yes/no variable per session and instructor who passes every rule fixed before the solve
(skills, availability in her zone, the busy calendar, declines, weekly hours: :meth:`AssignmentProblem.screen`).
The rules between choices are constraints: a session gets at most one instructor; at any moment an instructor
holds at most one session stretched by her buffer (one at-most-one constraint per session start: the cliques of
an interval graph, the tightest linear form of "no overlap", which lets CP-SAT prove the most placed within a
second at 500 sessions and 50 instructors); her minutes per week in her zone stay within ``max_hours_per_week``.

It is solved in two stages, starting from the greedy pass's answer (``warm_start``):

1. **Most sessions placed.** This is where it beats the greedy pass, which never moves an earlier choice to free
   someone for a later session. Among the assignments that place the most, it keeps the most greedy choices, so
   the answer is the greedy one plus the fewest reshuffles that place more.
2. **Cheapest and fairest.** With that many placed, it minimises cost plus, per instructor,
   ``LOAD_WEIGHT * hours**2 / 2``: the greedy pass's own trade-off (``LOAD_WEIGHT`` per hour she already teaches),
   summed over the term and weighed over all choices at once, so hours spread as evenly as cost allows. A
   declined session's named fallbacks, in order, come before anyone else. Costs are counted exactly in sixtieths
   of the currency (cost per hour times minutes), so the objective is an integer as CP-SAT requires.

Each stage stops at the time limit with the best assignment found; the reasons say whether it was proven best.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

from ortools.sat.python import cp_model

from lms_connectors.operations.assignment import (
    LOAD_WEIGHT,
    Assignment,
    AssignmentProblem,
    BusyCalendar,
    week_of,
)
from lms_connectors.operations.plan_file import InstructorSpec, SessionSpec

__all__ = ["solve"]

_TANGENT_STEP = 60
"""Minutes between the tangents of the load penalty (exact at every whole hour)."""

_STATUS = {cp_model.OPTIMAL: "proven best", cp_model.FEASIBLE: "best found in the time limit"}
"""What each CP-SAT status says of the answer, for the reasons of a choice."""


class _Model:
    """The CP-SAT model of one :class:`AssignmentProblem`."""

    def __init__(self, problem: AssignmentProblem) -> None:
        self.problem = problem
        self.model = cp_model.CpModel()
        self.screened = {spec.id: problem.screen(spec) for spec in problem.open}
        self.choice: dict[tuple[str, str], Any] = {}
        starts = [slot.start.astimezone(UTC) for slot in problem.slots.values()]
        self.epoch = min(starts) if starts else datetime.now(UTC)
        per_instructor: dict[str, list[tuple[SessionSpec, Any]]] = {}
        for spec in problem.open:
            candidates, _ = self.screened[spec.id]
            row = []
            for instructor in candidates:
                var = self.model.new_bool_var(f"{spec.id}|{instructor.email}")
                self.choice[spec.id, instructor.email] = var
                per_instructor.setdefault(instructor.email, []).append((spec, var))
                row.append(var)
            if row:
                self.model.add_at_most_one(row)
        self.per_instructor = per_instructor
        for email, items in per_instructor.items():
            self._no_overlap(problem.by_email[email], items)
            self._weekly_hours(problem.by_email[email], items)

    def _seconds(self, moment: datetime) -> int:
        return int((moment.astimezone(UTC) - self.epoch).total_seconds())

    def _no_overlap(self, instructor: InstructorSpec, items: list[tuple[SessionSpec, Any]]) -> None:
        # Two sessions within her buffer of each other clash exactly when their [start, end + buffer) intervals
        # overlap. Intervals that overlap pairwise all share a point (the latest start among them), so "at most
        # one at each start" forbids every clash; as cliques of an interval graph these constraints are also the
        # tightest linear form, which lets CP-SAT prove the most sessions placed in a fraction of a second.
        if len(items) < 2:
            return
        buffer = timedelta(minutes=instructor.buffer_minutes)
        spans = sorted(
            (
                (self.problem.slots[spec.id].start.astimezone(UTC), self.problem.slots[spec.id].end + buffer, var)
                for spec, var in items
            ),
            key=lambda span: span[0],
        )
        for index, (start, _, var) in enumerate(spans):
            running = [other for _, other_end, other in spans[:index] if other_end > start]
            if running:
                self.model.add_at_most_one([*running, var])

    def _weekly_hours(self, instructor: InstructorSpec, items: list[tuple[SessionSpec, Any]]) -> None:
        if instructor.max_hours_per_week is None:
            return
        weeks: dict[str, list[tuple[SessionSpec, Any]]] = {}
        for spec, var in items:
            weeks.setdefault(week_of(instructor, self.problem.slots[spec.id].start), []).append((spec, var))
        limit = int(instructor.max_hours_per_week * 60)
        for week, chosen in weeks.items():
            fixed = self.problem.week_minutes.get((instructor.email, week), 0)
            self.model.add(sum(spec.minutes * var for spec, var in chosen) <= limit - fixed)

    def cost_units(self, spec: SessionSpec, instructor: InstructorSpec) -> int:
        """The session's cost with ``instructor`` in sixtieths of the currency."""
        return round(instructor.cost_per_hour * spec.minutes)

    def placement_objective(self, warm_start: dict[str, Assignment]) -> Any:
        """Most sessions placed; among those, the most choices kept from ``warm_start`` (the greedy pass).

        Keeping the greedy choices that need not move makes the first stage's answer the greedy assignment plus
        the fewest reshuffles that place more, a good start for the second stage.
        """
        placed = sum(self.choice.values())
        kept = sum(var for (sid, email), var in self.choice.items() if warm_start[sid].instructor == email)
        return (len(self.problem.open) + 1) * placed + kept

    def most_minutes(self, email: str) -> int:
        """The most minutes ``email`` could teach: her named sessions and every session she could take."""
        return self.problem.load_minutes[email] + sum(spec.minutes for spec, _ in self.per_instructor[email])

    def load_penalty(self, email: str, taught: dict[tuple[str, str], bool]) -> tuple[Any, int]:
        """``LOAD_WEIGHT`` per hour already given, summed: ``LOAD_WEIGHT * hours**2 / 2``, and its value now.

        The greedy pass charges a candidate ``LOAD_WEIGHT`` per hour she already teaches; summed over a term that
        is a convex, quadratic penalty of her hours, so here it is the greatest of the tangents every
        ``_TANGENT_STEP`` minutes (exact at each step, a linear form CP-SAT's relaxation reads well). Returns the
        penalty variable and its value for the assignment ``taught`` (a complete hint lets CP-SAT start there).
        """
        items = self.per_instructor[email]
        fixed = self.problem.load_minutes[email]
        load = fixed + sum(spec.minutes * var for spec, var in items)
        now = fixed + sum(spec.minutes for spec, _ in items if taught[spec.id, email])
        most = self.most_minutes(email)
        penalty = self.model.new_int_var(0, round(LOAD_WEIGHT * most * most / 120) + 1, f"load|{email}")
        value = 0
        for at in range(0, most + _TANGENT_STEP, _TANGENT_STEP):
            slope, offset = round(LOAD_WEIGHT * at / 60), round(LOAD_WEIGHT * at * at / 120)
            self.model.add(penalty >= slope * load - offset)
            value = max(value, slope * now - offset)
        return penalty, value

    def cost_objective(self, taught: dict[tuple[str, str], bool]) -> tuple[Any, list[tuple[Any, int]]]:
        """Fallback order after a decline, then cost plus every instructor's load penalty; and the hints."""
        problem = self.problem
        penalties = [self.load_penalty(email, taught) for email in self.per_instructor]
        heaviest = max((self.most_minutes(email) for email in self.per_instructor), default=0)
        terms = []
        for spec in problem.open:
            candidates, _ = self.screened[spec.id]
            preferred = problem.preferred(spec)
            # A step down the fallback order weighs more than any cost or load this session can change.
            step = 1 + max((self.cost_units(spec, i) for i in candidates), default=0) + round(
                LOAD_WEIGHT * (2 * heaviest * spec.minutes + spec.minutes**2) / 120
            )
            for instructor in candidates:
                var = self.choice[spec.id, instructor.email]
                rank = preferred.index(instructor.email) if instructor.email in preferred else len(preferred)
                terms.append((self.cost_units(spec, instructor) + rank * step) * var)
        return sum(terms) + sum(penalty for penalty, _ in penalties), penalties


def _solver(time_limit: float) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(time_limit, 0.1)
    solver.parameters.num_workers = max(1, min(8, os.cpu_count() or 1))
    solver.parameters.random_seed = 7
    return solver


def solve(
    problem: AssignmentProblem, *, time_limit: float, warm_start: dict[str, Assignment]
) -> dict[str, Assignment]:
    """Assign instructors to ``problem``'s open sessions with CP-SAT (see the module's docstring).

    Args:
        problem: The sessions and the rules, with the fixed busy time.
        time_limit: Seconds for both stages together.
        warm_start: The greedy pass's assignment of the same problem: the first stage keeps what it can of it,
            and the second starts from the first's answer.

    Returns:
        An assignment per open session id.
    """
    built = _Model(problem)
    if not built.choice:
        return _explain(built, {}, "nobody can take any session", proven=True)
    model = built.model
    for (sid, email), var in built.choice.items():
        model.add_hint(var, warm_start[sid].instructor == email)
    model.maximize(built.placement_objective(warm_start))
    first = _solver(time_limit / 2)
    first_status = first.solve(model)
    if first_status not in _STATUS:
        return warm_start  # nothing better than the greedy pass in the time given (or no choice to make)
    values = {key: bool(first.boolean_value(var)) for key, var in built.choice.items()}
    placed = sum(values.values())
    model.clear_hints()  # type: ignore[no-untyped-call]  # (OR-Tools leaves this one method unannotated)
    for key, var in built.choice.items():
        model.add_hint(var, values[key])
    model.add(sum(built.choice.values()) >= placed)
    objective, penalties = built.cost_objective(values)
    for penalty, value in penalties:
        model.add_hint(penalty, value)
    model.minimize(objective)
    second = _solver(max(time_limit - first.wall_time, time_limit / 4))
    second_status = second.solve(model)
    if second_status in _STATUS:
        values = {key: bool(second.boolean_value(var)) for key, var in built.choice.items()}
    placement = "proven most" if first_status == cp_model.OPTIMAL else "most found in the time limit"
    status = f"{placement} placed; cost and load {_STATUS.get(second_status, 'not improved in the time limit')}"
    return _explain(built, values, status, proven=first_status == cp_model.OPTIMAL)


def _explain(
    built: _Model, values: dict[tuple[str, str], bool], status: str, *, proven: bool
) -> dict[str, Assignment]:
    """Each session's choice with its reasons, and every candidate not chosen with hers."""
    problem = built.problem
    taken = {sid: email for (sid, email), yes in values.items() if yes}
    taught = BusyCalendar()
    minutes: dict[str, int] = dict(problem.load_minutes)
    week_minutes: dict[tuple[str, str], int] = dict(problem.week_minutes)
    specs = {spec.id: spec for spec in problem.open}
    for sid, email in taken.items():
        slot, spec = problem.slots[sid], specs[sid]
        taught.add(email, slot.start, slot.end, sid)
        minutes[email] = minutes.get(email, 0) + spec.minutes
        key = (email, week_of(problem.by_email[email], slot.start))
        week_minutes[key] = week_minutes.get(key, 0) + spec.minutes
    chosen: dict[str, Assignment] = {}
    for spec in problem.open:
        candidates, turned_down = built.screened[spec.id]
        turned_down = dict(turned_down)
        slot = problem.slots[spec.id]
        chosen_email = taken.get(spec.id)
        for instructor in candidates:
            if instructor.email == chosen_email:
                continue
            other = instructor.email
            clash = taught.clash(other, slot.start, slot.end, timedelta(minutes=instructor.buffer_minutes))
            week = week_minutes.get((other, week_of(instructor, slot.start)), 0)
            if clash:
                turned_down[other] = f"teaches {clash} then (buffer {instructor.buffer_minutes} min)"
            elif over := problem.week_limit_reason(instructor, spec, week):
                turned_down[other] = over
            else:
                turned_down[other] = (
                    f"cost {built.cost_units(spec, instructor) / 60:.1f} with {minutes.get(other, 0) / 60:g} h "
                    "taught: a higher total cost or imbalance"
                )
        if chosen_email is None:
            if not candidates:
                reason = "no qualified instructor is free"
            elif proven:
                reason = "every qualified instructor teaches another session then, and no reshuffle frees one"
            else:
                reason = f"every qualified instructor teaches another session then ({status})"
            chosen[spec.id] = Assignment(spec.id, None, (reason,), turned_down)
            continue
        email, instructor = chosen_email, problem.by_email[chosen_email]
        reasons = [
            f"has {', '.join(spec.skills) or 'no required skill'}",
            "free in own zone",
            f"cost {built.cost_units(spec, instructor) / 60:.1f}, {minutes.get(email, 0) / 60:g} h taught",
            f"chosen by CP-SAT ({status})",
        ]
        if email in problem.preferred(spec):
            reasons.insert(0, "named as fallback")
        chosen[spec.id] = Assignment(spec.id, email, tuple(reasons), turned_down)
    return chosen
