"""Moodle's change feed: the course's events of the session window and their groups' members, in four calls.

Moodle pushes nothing and keeps no change log a web-service user can read from a cursor, so the feed reads the
window each time: the course's calendar events (one ``core_calendar_get_calendar_events``), the course's groups
(one ``core_group_get_course_groups``, to find each session's group by its id number), every session group's
members at once (one ``core_group_get_group_members`` with all the group ids) and the members' accounts (one
``core_user_get_users_by_field`` per batch of ids). The cost does not grow with the number of sessions in the
window, where reading each session's roster would cost two calls per session.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from lms_connectors.feeds import FeedItem, FeedPage
from lms_connectors.models import RosterMember
from lms_connectors_moodle.answers import CourseGroups, GroupMembers
from lms_connectors_moodle.mapping import group_idnumber

if TYPE_CHECKING:
    from lms_connectors_moodle.adapter import MoodleAdapter

__all__ = ["read_window"]


def read_window(adapter: MoodleAdapter, course_id: int, start: datetime, end: datetime) -> FeedPage:
    """Every SDK event of ``course_id`` starting in ``[start, end)``, each with its group's members.

    :calls: ``core_calendar_get_calendar_events``, ``core_group_get_course_groups``,
    ``core_group_get_group_members`` (all groups at once), ``core_user_get_users_by_field`` (batched).
    """
    sessions = list(adapter.list_sessions(start, end))
    if not sessions:
        return FeedPage(items=(), cursor=None, complete=True)
    groups: list[dict[str, Any]] = adapter.client.call(
        "core_group_get_course_groups", {"courseid": course_id}, idempotent=True, shape=CourseGroups
    )
    by_idnumber = {str(g.get("idnumber") or ""): int(g["id"]) for g in groups}
    group_of = {s.ref.external_id: by_idnumber.get(group_idnumber(s.ref.extra.get("key", ""))) for s in sessions}
    wanted = sorted({gid for gid in group_of.values() if gid is not None})
    members: dict[int, list[int]] = {}
    if wanted:
        answer = adapter.client.call("core_group_get_group_members", {"groupids": wanted}, idempotent=True,
                                     shape=GroupMembers)
        members = {int(row["groupid"]): [int(u) for u in row["userids"]] for row in answer}
    ids = sorted({uid for uids in members.values() for uid in uids})
    emails = {int(p["id"]): str(p["email"]).lower() for p in adapter.users.by_ids(ids)} if ids else {}
    items = []
    for session in sessions:
        gid = group_of[session.ref.external_id]
        # A session whose group is not found (deleted by an admin) gets no roster here: it is read the usual way.
        roster = None if gid is None else tuple(
            RosterMember(email=emails[uid], external_id=str(uid), status="member")
            for uid in members.get(gid, []) if uid in emails
        )
        items.append(FeedItem(ref=session.ref, session=session, roster=roster))
    return FeedPage(items=tuple(items), cursor=None, complete=True)
