"""The shapes Moodle returns events in (each differs, as recorded).

* :func:`created_row` -- ``core_calendar_create_calendar_events``: the inserted row (``repeatid`` only for series).
* :func:`legacy_row` -- ``core_calendar_get_calendar_events``, events found by course/group/user/site: zero
  ids come back as ``null`` and there is no ``uuid``.
* :func:`db_row` -- the same function, events found only through ``eventids``: the raw row.
* :func:`exported` -- ``get_calendar_event_by_id``, ``update_event_start_day``, form submissions and views:
  the rich exporter with rendered fields in the reader's zone.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from lms_connectors_moodle.simulator.site import SITE_COURSE_ID, SiteState

__all__ = ["course_summary", "created_row", "db_row", "exported", "legacy_row"]


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


def _formatted_name(name: str) -> str:
    # format_string() escapes ampersands (the create answer returned the name as sent).
    return re.sub(r"&(?!amp;|lt;|gt;|quot;|#)", "&amp;", name)


def legacy_row(event: dict[str, Any]) -> dict[str, Any]:
    """The row rebuilt from Moodle's event objects (zeros become ``null``)."""
    return {
        "id": event["id"], "name": _formatted_name(event["name"]), "description": event["description"],
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


def _clock_text(moment: datetime) -> str:
    return moment.strftime("%I:%M %p").lstrip("0")


def _formatted_time(site: SiteState, event: dict[str, Any], reader: int) -> str:
    zone = site.user_zone(reader)
    start = datetime.fromtimestamp(event["timestart"], zone)
    midnight = int(start.replace(hour=0, minute=0, second=0).timestamp())
    day = f"{start.strftime('%A')}, {start.day} {start.strftime('%B')}"
    text = f'<a href="{site.siteurl}/calendar/view.php?view=day&amp;time={midnight}">{day}</a>, {_clock_text(start)}'
    if event["timeduration"] > 0:
        end = datetime.fromtimestamp(event["timestart"] + event["timeduration"], zone)
        text += f" <strong>&raquo;</strong> {_clock_text(end)}"
    return text


_TYPE_TEXT = {"course": "Course event", "group": "Group event", "user": "User event", "site": "Site event"}


def exported(site: SiteState, event: dict[str, Any], reader: int) -> dict[str, Any]:
    """The exporter's view of an event, rendered for ``reader``."""
    course_id = event["courseid"]
    shown_course = course_id if course_id and course_id != SITE_COURSE_ID else SITE_COURSE_ID
    eventtype = event["eventtype"]
    group = site.data.groups.get(event["groupid"]) if event["groupid"] else None
    result: dict[str, Any] = {
        "id": event["id"], "name": event["name"], "description": event["description"], "descriptionformat": 1,
        "location": event["location"], "categoryid": None, "groupid": event["groupid"] or None,
        "userid": event["userid"], "repeatid": event["repeatid"] or None, "eventcount": None, "component": None,
        "modulename": "", "activityname": "", "activitystr": "", "instance": None, "eventtype": eventtype,
        "timestart": event["timestart"], "timeduration": event["timeduration"], "timesort": event["timesort"],
        "timeusermidnight": event.get("timeusermidnight", 0), "visible": event["visible"],
        "timemodified": event["timemodified"], "overdue": False,
        "icon": {"key": f"i/{eventtype}event", "component": "core",
                 "alttext": _TYPE_TEXT.get(eventtype, "Course event"), "iconurl": "", "iconclass": ""},
    }
    if course_id in site.data.courses and course_id != SITE_COURSE_ID:
        result["course"] = course_summary(site, site.data.courses[course_id])
    result.update({
        "subscription": {"displayeventsource": False}, "canedit": True, "candelete": True,
        "deleteurl": f"{site.siteurl}/calendar/delete.php?id={event['id']}&course={shown_course}",
        "editurl": f"{site.siteurl}/calendar/event.php?action=edit&id={event['id']}&course={shown_course}",
        "viewurl": f"{site.siteurl}/calendar/view.php?view=day&course={shown_course}&time={event['timestart']}"
                   f"#event_{event['id']}",
        "formattedtime": _formatted_time(site, event, reader), "formattedlocation": event["location"],
        "isactionevent": False, "iscourseevent": eventtype == "course", "iscategoryevent": False,
        "groupname": group["name"] if group else None, "normalisedeventtype": eventtype,
        "normalisedeventtypetext": _TYPE_TEXT.get(eventtype, "Course event"), "purpose": "none", "branded": False,
        "url": (f"{site.siteurl}/course/view.php?id={course_id}" if "course" in result
                else f"{site.siteurl}/?redirect=0"),
    })
    return result
