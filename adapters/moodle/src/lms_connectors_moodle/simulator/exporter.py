"""The shapes Moodle returns events in (each differs, as recorded).

* :func:`created_row` -- ``core_calendar_create_calendar_events``: the inserted row (``repeatid`` only for series).
* :func:`legacy_row` -- ``core_calendar_get_calendar_events``, events found by course/group/user/site: zero
  ids come back as ``null`` and there is no ``uuid``.
* :func:`db_row` -- the same function, events found only through ``eventids``: the raw row.
* :func:`exported` -- ``get_calendar_event_by_id``, ``update_event_start_day`` and form submissions: the rich
  exporter with rendered fields in the reader's zone and the reader's rights (``canedit``, ``candelete``).
* :func:`calendar_row` -- the day and upcoming views: the rich exporter plus the calendar's own fields.
"""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo

from lms_connectors_moodle.simulator.dates import add_days, format_event_time, midnight, same_day, with_time_of
from lms_connectors_moodle.simulator.site import SITE_COURSE_ID, SiteState

__all__ = ["calendar_row", "course_summary", "created_row", "db_row", "exported", "format_string", "legacy_row",
           "sort_time"]


def created_row(event: dict[str, Any]) -> dict[str, Any]:
    """The row as ``create_calendar_events`` returns it."""
    row: dict[str, Any] = {
        "id": event["id"], "name": event["name"], "description": event["description"], "format": event["format"],
        "courseid": event["courseid"], "groupid": event["groupid"], "userid": event["userid"],
    }
    if event["repeatid"]:
        row["repeatid"] = event["repeatid"]
    row.update({
        "modulename": "", "instance": 0, "eventtype": event["eventtype"], "timestart": event["timestart"],
        "timeduration": event["timeduration"], "visible": event["visible"], "uuid": "", "sequence": event["sequence"],
        "timemodified": event["timemodified"], "subscriptionid": None,
    })
    return row


def db_row(event: dict[str, Any]) -> dict[str, Any]:
    """The raw database row."""
    return {
        "id": event["id"], "name": event["name"], "description": event["description"], "format": event["format"],
        "courseid": event["courseid"], "categoryid": 0, "groupid": event["groupid"], "userid": event["userid"],
        "repeatid": event["repeatid"], "modulename": event["modulename"], "instance": 0,
        "eventtype": event["eventtype"], "timestart": event["timestart"], "timeduration": event["timeduration"],
        "visible": event["visible"], "uuid": "", "sequence": event["sequence"], "timemodified": event["timemodified"],
        "subscriptionid": None,
    }


def format_string(name: str) -> str:
    """A name as ``format_string`` writes it out on a site that strips tags (the default).

    Ampersands not starting an entity are escaped, then ``<`` and ``>``; quotes stay (a real 4.5 read
    ``Q&A "quoted"`` back as ``Q&amp;A "quoted"``; the create answer returned the name as sent).
    """
    return re.sub(r"&(?![a-zA-Z0-9#]{1,8};)", "&amp;", name).replace("<", "&lt;").replace(">", "&gt;")


def legacy_row(event: dict[str, Any]) -> dict[str, Any]:
    """The row rebuilt from Moodle's event objects (zeros become ``null``)."""
    return {
        "id": event["id"], "name": format_string(event["name"]), "description": event["description"],
        "format": event["format"],
        "courseid": event["courseid"], "categoryid": None, "groupid": event["groupid"] or None,
        "userid": event["userid"], "repeatid": event["repeatid"] or None, "modulename": None, "instance": None,
        "eventtype": event["eventtype"], "timestart": event["timestart"], "timeduration": event["timeduration"],
        "visible": event["visible"], "sequence": event["sequence"], "timemodified": event["timemodified"],
        "subscriptionid": None,
    }


def course_summary(site: SiteState, course: dict[str, Any]) -> dict[str, Any]:
    """The course block of the exporter."""
    return {
        "id": course["id"], "fullname": course["fullname"], "shortname": course["shortname"],
        "idnumber": course["idnumber"], "summary": course["summary"], "summaryformat": course["summaryformat"],
        "startdate": course["startdate"], "enddate": course["enddate"], "visible": bool(course["visible"]),
        "showactivitydates": True, "showcompletionconditions": True, "pdfexportfont": "",
        "fullnamedisplay": course["fullname"], "viewurl": f"{site.siteurl}/course/view.php?id={course['id']}",
        "courseimage": "data:image/svg+xml;base64,", "progress": 0, "hasprogress": False, "isfavourite": False,
        "hidden": False, "showshortname": False, "coursecategory": "Category 1",
    }


def sort_time(event: dict[str, Any]) -> int:
    """The event's sort time: its stored ``timesort``, else its start (rows written by the API store none)."""
    return int(event["timesort"] or event["timestart"])


def _user_midnight(site: SiteState, event: dict[str, Any], reader: int) -> int:
    # Moodle derives it from the stored timesort only, so rows without one (NULL) export 0, as recorded.
    return midnight(event["timesort"], site.user_zone(reader)) if event["timesort"] else 0


def _formatted_time(site: SiteState, event: dict[str, Any], reader: int, *, common_words: bool) -> str:
    return format_event_time(site.siteurl, event["timestart"], event["timeduration"], int(site.clock()),
                             site.user_zone(reader), ZoneInfo(site.site_timezone), common_words=common_words)


_TYPE_TEXT = {"site": "Site event", "category": "Category event", "course": "Course event",
              "group": "Group event", "user": "User event"}


def _icon(event: dict[str, Any]) -> dict[str, Any]:
    # The icon follows what the row is attached to (site course, course, group, user), not its eventtype.
    if event["courseid"] == SITE_COURSE_ID:
        kind = "site"
    elif event["courseid"] and not event["groupid"]:
        kind = "course"
    elif event["groupid"]:
        kind = "group"
    else:
        kind = "user" if event["userid"] else "site"
    return {"key": f"i/{kind}event", "component": "core", "alttext": _TYPE_TEXT[kind], "iconurl": "",
            "iconclass": ""}


def _normalised_type(eventtype: str) -> str:
    return eventtype if eventtype in _TYPE_TEXT else "other"


def _course_of(site: SiteState, event: dict[str, Any]) -> dict[str, Any] | None:
    """The event's course, unless it is the site course (or none)."""
    course_id = event["courseid"]
    return site.data.courses.get(course_id) if course_id != SITE_COURSE_ID else None


def exported(site: SiteState, event: dict[str, Any], reader: int) -> dict[str, Any]:
    """The exporter's view of an event, rendered for ``reader`` (dates always written out)."""
    course = _course_of(site, event)
    shown_course = course["id"] if course else SITE_COURSE_ID
    eventtype, timesort = event["eventtype"], sort_time(event)
    group = site.data.groups.get(event["groupid"]) if event["groupid"] else None
    allowed = site.can_edit_event(reader, event)
    normalised = _normalised_type(eventtype)
    result: dict[str, Any] = {
        "id": event["id"], "name": format_string(event["name"]), "description": event["description"],
        "descriptionformat": 1,
        "location": event["location"], "categoryid": None, "groupid": event["groupid"] or None,
        "userid": event["userid"], "repeatid": event["repeatid"] or None, "eventcount": None, "component": None,
        "modulename": "", "activityname": "", "activitystr": "", "instance": None, "eventtype": eventtype,
        "timestart": event["timestart"], "timeduration": event["timeduration"], "timesort": timesort,
        "timeusermidnight": _user_midnight(site, event, reader), "visible": event["visible"],
        "timemodified": event["timemodified"], "overdue": False, "icon": _icon(event),
    }
    if course:
        result["course"] = course_summary(site, course)
    result.update({
        "subscription": {"displayeventsource": False}, "canedit": allowed, "candelete": allowed,
        "deleteurl": f"{site.siteurl}/calendar/delete.php?id={event['id']}&course={shown_course}",
        "editurl": f"{site.siteurl}/calendar/event.php?action=edit&id={event['id']}&course={shown_course}",
        "viewurl": f"{site.siteurl}/calendar/view.php?view=day&course={shown_course}&time={timesort}"
                   f"#event_{event['id']}",
        "formattedtime": _formatted_time(site, event, reader, common_words=False),
        "formattedlocation": event["location"], "isactionevent": False, "iscourseevent": eventtype == "course",
        "iscategoryevent": eventtype == "category", "groupname": group["name"] if group else None,
        "normalisedeventtype": normalised, "normalisedeventtypetext": _TYPE_TEXT.get(normalised, ""),
        "purpose": "none", "branded": False,
        "url": f"{site.siteurl}/course/view.php?id={course['id']}" if course else f"{site.siteurl}/?redirect=0",
    })
    return result


def _min_day(site: SiteState, event: dict[str, Any], reader: int, startdate: int) -> int:
    """The first day a course event may be dragged to (``get_timestamp_min_limit``).

    The course start's midnight in the reader's zone, or the day after when the event's time of day (taken,
    like the comparison, in the server zone) falls before the course start's.
    """
    server = ZoneInfo(site.site_timezone)
    first = midnight(startdate, site.user_zone(reader))
    if startdate <= with_time_of(startdate, event["timestart"], server):
        return first
    return add_days(first, 1, server)


def calendar_row(site: SiteState, event: dict[str, Any], reader: int, today: int) -> dict[str, Any]:
    """An event as the day and upcoming views export it (``calendar_event_exporter``).

    Args:
        site: The site.
        event: The event row.
        reader: Who the view is rendered for.
        today: The view's day (day view) or the current time (upcoming view).
    """
    row = exported(site, event, reader)
    row["formattedtime"] = _formatted_time(site, event, reader, common_words=True)
    zone = site.user_zone(reader)
    end = event["timestart"] + event["timeduration"]
    # Moodle tests a DateInterval for truth, which always holds, so every event ending "today" qualifies.
    row["islastday"] = same_day(end, today, zone)
    popupname = event["name"]
    if row["islastday"] and not same_day(event["timestart"], end, zone):
        popupname = f"{popupname} (time end)"
    course = _course_of(site, event)
    row["popupname"] = f"{course['shortname']}: {popupname}" if course else popupname
    if course and not event["groupid"]:
        row.update({"mindaytimestamp": _min_day(site, event, reader, course["startdate"]),
                    "mindayerror": "Cannot set event before course start date"})
    row["draggable"] = row["canedit"]
    return row
