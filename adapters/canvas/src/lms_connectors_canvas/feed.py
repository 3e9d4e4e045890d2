"""Canvas's change feed: each course's events of the session window and its students, a few listings per course.

Canvas has no change log an API user can read from a cursor for calendar events, and its live events (Canvas
Data, Live Events) are an institution-level service, so the feed reads the window each time: per course, the
course's calendar events starting in it (``GET /calendar_events``, paged) and the course's active student
enrolments with their section (``GET /courses/:id/enrollments``, paged). Each session's roster is its section's
enrolments, so the cost grows with the pages of the listings, not with the number of sessions (reading each
section's roster would be one listing per session).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from lms_connectors.feeds import FeedItem, FeedPage
from lms_connectors.models import RosterMember
from lms_connectors_canvas import mapping

if TYPE_CHECKING:
    from lms_connectors_canvas.adapter import CanvasAdapter

__all__ = ["read_window"]


def read_window(adapter: CanvasAdapter, start: datetime, end: datetime, student: str) -> FeedPage:
    """Every SDK event of the listed courses starting in ``[start, end)``, each with its section's students.

    :calls: per course, ``GET /calendar_events`` and ``GET /courses/:id/enrollments?type[]=StudentEnrollment``
    ``&state[]=active`` (each paged).
    """
    sessions = [s for s in adapter.list_sessions(start, end) if s.ref.extra.get("key")]
    rosters: dict[str, list[RosterMember]] = {}
    for course_id in sorted({s.ref.extra["course_id"] for s in sessions}):
        listing = adapter.client.listing(f"/courses/{course_id}/enrollments", operation="list course enrolments",
                                         params={"type[]": [student], "state[]": ["active"]})
        for enrollment in listing:
            member = mapping.roster_member(enrollment)
            if member is not None:
                rosters.setdefault(str(enrollment.get("course_section_id")), []).append(member)
    items = tuple(
        FeedItem(ref=s.ref, session=s, roster=tuple(rosters.get(s.ref.extra.get("section_id", ""), ())))
        if s.ref.extra.get("section_id") else FeedItem(ref=s.ref, session=s)
        for s in sessions
    )
    return FeedPage(items=items, cursor=None, complete=True)
