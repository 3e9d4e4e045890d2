"""Calendar functions of the simulated site (``core_calendar_*``), with the behaviours recorded on Moodle 4.5."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from lms_connectors_moodle.simulator.dates import with_time_of
from lms_connectors_moodle.simulator.exporter import (
    calendar_row,
    created_row,
    db_row,
    exported,
    legacy_row,
    sort_time,
)
from lms_connectors_moodle.simulator.params import OPTIONAL, Multiple, Single, Value
from lms_connectors_moodle.simulator.php import parse_php_form
from lms_connectors_moodle.simulator.site import SITE_COURSE_ID, MoodleError, SiteState

__all__ = ["CALENDAR_FUNCTIONS"]

Function = Callable[[SiteState, int, dict[str, Any]], Any]
WEEK = 7 * 24 * 3600

_SCRIPT = re.compile(r"<script\b.*?</script>", re.I | re.S)
_HANDLER = re.compile(r"\s+on[a-z]+\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+)", re.I)


def _clean_html(text: str) -> str:
    # Moodle's HTML purifier drops scripts and event-handler attributes from PARAM_RAW descriptions.
    return _HANDLER.sub("", _SCRIPT.sub("", text))


def _new_event(site: SiteState, fields: dict[str, Any]) -> dict[str, Any]:
    now = int(site.clock())
    event_id = site.next_id("event")
    event: dict[str, Any] = {
        "id": event_id, "name": "", "description": "", "format": 1, "courseid": 0, "groupid": 0, "userid": 0,
        "repeatid": 0, "modulename": "", "eventtype": "user", "timestart": now, "timeduration": 0, "visible": 1,
        "sequence": 1, "timemodified": now, "location": "",
        "timesort": None,  # the API leaves the column NULL (the exporter falls back to timestart)
    }
    event.update(fields)
    event["id"] = event_id
    event["written"] = site.next_id("event_write")
    site.data.events[event_id] = event
    return event


# -- create --------------------------------------------------------------------------------------------------

_CREATE = Single({"events": Multiple(Single({
    "name": Value("text"), "description": Value("raw", OPTIONAL), "format": Value("int", 1),
    "courseid": Value("int", 0), "groupid": Value("int", 0), "repeats": Value("int", 0),
    "eventtype": Value("alpha", "user"), "timestart": Value("int", OPTIONAL), "timeduration": Value("int", 0),
    "visible": Value("int", 1), "sequence": Value("int", 1),
}))})


def create_calendar_events(site: SiteState, caller: int, params: dict[str, Any]) -> Any:
    """``core_calendar_create_calendar_events``: no dedupe, few checks; a forbidden item is a warning."""
    created: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    with site.transaction():
        for item in params["events"]:
            courseid, eventtype = item["courseid"], item["eventtype"]
            if courseid:
                site.course(courseid)
            forbidden = eventtype != "user" and not site.is_admin(caller) and not (
                courseid and site.can_manage_course(caller, courseid)
            )
            if forbidden:
                warnings.append({"item": item["name"], "warningcode": "nopermissions",
                                 "message": "you do not have permissions to create this event"})
                continue
            fields = {
                "name": item["name"], "description": _clean_html(item.get("description", "")),
                "format": item["format"], "courseid": courseid, "groupid": item["groupid"], "userid": caller,
                "eventtype": eventtype, "timeduration": item["timeduration"], "visible": item["visible"],
                "sequence": item["sequence"],
            }
            if "timestart" in item:
                fields["timestart"] = item["timestart"]
            first = _new_event(site, fields)
            created.append(first)
            if item["repeats"] > 1:
                first["repeatid"] = first["id"]
                for week in range(1, item["repeats"]):
                    created.append(_new_event(site, {**fields, "timestart": first["timestart"] + week * WEEK,
                                                     "repeatid": first["id"]}))
    return {"events": [created_row(e) for e in created], "warnings": warnings}


# -- read ----------------------------------------------------------------------------------------------------

_GET = Single({
    "events": Single({
        "eventids": Multiple(Value("int"), []), "courseids": Multiple(Value("int"), []),
        "groupids": Multiple(Value("int"), []), "categoryids": Multiple(Value("int"), []),
    }, {}),
    "options": Single({
        "userevents": Value("bool", True, allow_null=True), "siteevents": Value("bool", True, allow_null=True),
        "timestart": Value("int", 0, allow_null=True), "timeend": Value("int", 0, allow_null=True),
        "ignorehidden": Value("bool", True, allow_null=True),
    }, {}),
})


def _filled(description: Single, value: dict[str, Any]) -> dict[str, Any]:
    return description.clean(value)


def get_calendar_events(site: SiteState, caller: int, params: dict[str, Any]) -> Any:
    """``core_calendar_get_calendar_events``: course/group/user/site events, then events asked for by id."""
    wanted = params["events"] if params["events"] else _filled(_GET.keys["events"], {})
    options = params["options"] if params["options"] else _filled(_GET.keys["options"], {})
    # Moodle takes every course and group asked for from a holder of moodle/calendar:manageentries at system
    # level (administrators included); anyone else gets their own courses' and groups' events only.
    admin = site.has_capability(caller, "moodle/calendar:manageentries")
    courses = list(wanted["courseids"])
    my_courses = {c for (c, u) in site.data.enrolments if u == caller}
    if not admin:
        courses = [c for c in courses if c in my_courses]
    groups = list(wanted["groupids"])
    warnings: list[dict[str, Any]] = []
    if not admin:
        mine = {g for g, row in site.data.groups.items() if caller in row["members"]}
        for group_id in [g for g in groups if g not in mine]:
            warnings.append({"item": group_id, "warningcode": "nopermissions",
                             "message": "you do not have permissions to access this group"})
        groups = [g for g in groups if g in mine]
    if options["siteevents"]:
        courses.append(SITE_COURSE_ID)
    tstart = options["timestart"] or 0
    tend = options["timeend"] or 2**63 - 1

    def selected(event: dict[str, Any]) -> bool:
        in_window = event["timestart"] + max(event["timeduration"], 0) >= tstart and event["timestart"] <= tend
        by_user = bool(options["userevents"]) and event["userid"] == caller and not event["courseid"] and not event[
            "groupid"]
        by_group = bool(event["groupid"]) and event["groupid"] in groups
        by_course = not event["groupid"] and bool(event["courseid"]) and event["courseid"] in courses
        return in_window and (by_user or by_group or by_course)

    found = sorted((e for e in site.data.events.values() if selected(e)), key=lambda e: (e["timestart"], e["id"]))
    rows = [legacy_row(e) for e in found]
    seen = {e["id"] for e in found}
    by_id = [site.data.events[i] for i in set(wanted["eventids"]) if i in site.data.events and i not in seen]
    for event in sorted(by_id, key=lambda e: e["written"]):  # table order, as get_records_list returns it
        if admin or site.can_edit_event(caller, event):
            rows.append(db_row(event))
    return {"events": rows, "warnings": warnings}


_BY_ID = Single({"eventid": Value("int")})


def get_calendar_event_by_id(site: SiteState, caller: int, params: dict[str, Any]) -> Any:
    """``core_calendar_get_calendar_event_by_id`` (a missing event is a capability error, as recorded)."""
    event = site.data.events.get(params["eventid"])
    if event is None:
        raise MoodleError.no_permissions("View courses without participation")
    return {"event": exported(site, event, caller), "warnings": []}


# -- delete --------------------------------------------------------------------------------------------------

_DELETE = Single({"events": Multiple(Single({"eventid": Value("int"), "repeat": Value("bool")}))})


def delete_calendar_events(site: SiteState, caller: int, params: dict[str, Any]) -> Any:
    """``core_calendar_delete_calendar_events``: all-or-nothing; a missing event fails the batch."""
    with site.transaction():
        for item in params["events"]:
            event = site.data.events.get(item["eventid"])
            if event is None:
                raise MoodleError.missing_record("event")
            if not site.can_edit_event(caller, event):
                raise MoodleError.no_permissions("Delete event", capability=False)
            if item["repeat"] and event["repeatid"]:
                for other in [e for e in site.data.events.values() if e["repeatid"] == event["repeatid"]]:
                    del site.data.events[other["id"]]
            else:
                del site.data.events[event["id"]]
    return None


# -- move ----------------------------------------------------------------------------------------------------

_START_DAY = Single({"eventid": Value("int"), "daytimestamp": Value("int")})


def _touch(site: SiteState, event: dict[str, Any]) -> None:
    event["timemodified"] = int(site.clock())
    event["modulename"] = "0"  # what the row holds after Moodle's update path, as recorded
    event["written"] = site.next_id("event_write")  # PostgreSQL returns rewritten rows last


def update_event_start_day(site: SiteState, caller: int, params: dict[str, Any]) -> Any:
    """``core_calendar_update_event_start_day``.

    The day from the caller's zone, the time of day kept in the *site* zone (so the UTC instant moves by an
    hour across a site DST change).
    """
    event = site.data.events.get(params["eventid"])
    if event is None:
        raise MoodleError.sentence(f"Unable to find event with id {params['eventid']}")
    if not site.can_edit_event(caller, event):
        raise MoodleError("core\\exception\\moodle_exception", "nopermissiontoupdatecalendar",
                          "Sorry, but you do not have permission to update the calendar event.")
    site_zone = ZoneInfo(site.site_timezone)
    target_day = datetime.fromtimestamp(params["daytimestamp"], site.user_zone(caller)).date()
    wall = datetime.fromtimestamp(event["timestart"], site_zone)
    moved = datetime(target_day.year, target_day.month, target_day.day, wall.hour, wall.minute, wall.second,
                     tzinfo=site_zone)
    new_start = int(moved.timestamp())
    course = site.data.courses.get(event["courseid"])
    if event["eventtype"] == "course" and course is not None and new_start < course["startdate"]:
        raise MoodleError.sentence("Cannot set event before course start date")
    # Moodle saves the whole row it built from the event, whose sort time falls back to the old start: a NULL
    # timesort becomes the old timestart and then stays, however often the event moves.
    event["timesort"] = sort_time(event)
    event["timestart"] = new_start
    _touch(site, event)
    return {"event": exported(site, event, caller)}


_FORM = Single({"formdata": Value("raw")})
_FORM_TYPES = {"user", "course", "group", "site", "category"}


def _form_start(form: dict[Any, Any], zone: ZoneInfo) -> int | None:
    value = form.get("timestart")
    if isinstance(value, dict):
        try:
            local = datetime(int(value["year"]), int(value["month"]), int(value["day"]),
                             int(value.get("hour", 0)), int(value.get("minute", 0)), tzinfo=zone)
        except (KeyError, ValueError):
            return None
        return int(local.timestamp())
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        # A plain integer involves no zone, but the form's date selector keeps whole minutes: a live 4.5.6 stored
        # 1802261000 as 1802260980.
        return int(value) - int(value) % 60
    return None


def submit_create_update_form(site: SiteState, caller: int, params: dict[str, Any]) -> Any:
    """``core_calendar_submit_create_update_form``.

    The event form as a URL-encoded string; any form error is only ``{"validationerror": true}``.
    """
    form = parse_php_form(parse_qsl(params["formdata"], keep_blank_values=True))
    invalid = {"validationerror": True}
    name = str(form.get("name", "")).strip()
    eventtype = str(form.get("eventtype", ""))
    start = _form_start(form, site.user_zone(caller))
    if not name or eventtype not in _FORM_TYPES or start is None:
        return invalid
    courseid = int(form.get("courseid") or 0)
    if eventtype == "site" and not site.is_admin(caller):
        return invalid
    if eventtype in ("course", "group") and not site.can_manage_course(caller, courseid):
        return invalid
    duration_kind = str(form.get("duration", "0"))
    if duration_kind == "2":
        duration = int(form.get("timedurationminutes") or 0) * 60
    elif duration_kind == "1":
        until = _form_start({"timestart": form.get("timedurationuntil")}, site.user_zone(caller))
        duration = (until - start) if until is not None else 0
    else:
        duration = 0
    description = form.get("description", {})
    text = description.get("text", "") if isinstance(description, dict) else str(description)
    fields = {
        "name": name, "description": _clean_html(text), "eventtype": eventtype, "timestart": start,
        "timeduration": duration, "location": str(form.get("location", "")),
        "courseid": courseid if eventtype in ("course", "group") else (SITE_COURSE_ID if eventtype == "site" else 0),
        "groupid": int(form.get("groupid") or 0) if eventtype == "group" else 0,
    }
    event_id = int(form.get("id") or 0)
    if event_id:
        event = site.data.events.get(event_id)
        if event is None:
            raise MoodleError.missing_record("event")
        if not site.can_edit_event(caller, event):
            raise MoodleError("core\\exception\\moodle_exception", "nopermissiontoupdatecalendar",
                              "Sorry, but you do not have permission to update the calendar event.")
        event.update(fields)
        _touch(site, event)
    else:
        event = _new_event(site, {**fields, "userid": caller})
    return {"event": exported(site, event, caller), "validationerror": False}


# -- helpers and views ------------------------------------------------------------------------------------------

_TIMESTAMPS = Single({"data": Multiple(Single({
    "key": Value("raw"), "year": Value("int"), "month": Value("int"), "day": Value("int"),
    "hour": Value("int", 0), "minute": Value("int", 0),
}))})


def get_timestamps(site: SiteState, caller: int, params: dict[str, Any]) -> Any:
    """``core_calendar_get_timestamps``: local date parts read in the caller's zone."""
    zone = site.user_zone(caller)
    stamps = [
        {"key": item["key"], "timestamp": int(datetime(item["year"], item["month"], item["day"], item["hour"],
                                                        item["minute"], tzinfo=zone).timestamp())}
        for item in params["data"]
    ]
    return {"timestamps": stamps}


def _date_block(moment: datetime) -> dict[str, Any]:
    return {
        "seconds": moment.second, "minutes": moment.minute, "hours": moment.hour, "mday": moment.day,
        "wday": (moment.weekday() + 1) % 7, "mon": moment.month, "year": moment.year,
        "yday": moment.timetuple().tm_yday - 1, "weekday": moment.strftime("%A"), "month": moment.strftime("%B"),
        "timestamp": int(moment.timestamp()),
    }


def _view_events(site: SiteState, caller: int, courseid: int, start: int, end: int,
                 today: int) -> list[dict[str, Any]]:
    chosen = sorted(
        (e for e in site.data.events.values()
         if start <= e["timestart"] < end and (
             e["courseid"] == courseid or e["courseid"] == SITE_COURSE_ID
             or (e["userid"] == caller and not e["courseid"]))),
        key=lambda e: (e["timestart"], e["id"]),
    )
    return [calendar_row(site, event, caller, today) for event in chosen]


def _view_header(site: SiteState, courseid: int) -> dict[str, Any]:
    course = site.data.courses.get(courseid)
    name = course["fullname"] if course else ""
    return {
        "defaulteventcontext": course["contextid"] if course else 0,  # where a new event would go
        "filter_selector": '<label class="sr-only" for="calendar-course-filter">List of courses</label>'
        f'<select class="select custom-select cal_courses_flt ms-1 me-auto me-2 mb-2" id="calendar-course-filter" '
        f'name="course"><option value="1">All courses</option><option selected="selected" value="{courseid}">'
        f"{name}</option></select>",
        "courseid": courseid, "categoryid": 1,
    }


_DAY = Single({"year": Value("int"), "month": Value("int"), "day": Value("int"), "courseid": Value("int", 1),
               "categoryid": Value("int", 0)})


def get_calendar_day_view(site: SiteState, caller: int, params: dict[str, Any]) -> Any:
    """``core_calendar_get_calendar_day_view``: the day's bounds are the caller's local midnights."""
    zone = site.user_zone(caller)
    day = datetime(params["year"], params["month"], params["day"], tzinfo=zone)
    before, after = day - timedelta(days=1), day + timedelta(days=1)
    link = f"{site.siteurl}/calendar/view.php?view=day&time={{}}&course={params['courseid']}"
    return {
        "events": _view_events(site, caller, params["courseid"], int(day.timestamp()), int(after.timestamp()),
                               int(day.timestamp())),
        **_view_header(site, params["courseid"]),
        # The viewed day at the reader's current time of day (a new event's default start).
        "neweventtimestamp": with_time_of(int(day.timestamp()), int(site.clock()), zone),
        "date": _date_block(day), "periodname": f"{day.strftime('%A')}, {day.day} {day.strftime('%B %Y')}",
        "previousperiod": _date_block(before), "previousperiodlink": link.format(int(before.timestamp())),
        "previousperiodname": before.strftime("%A"), "nextperiod": _date_block(after),
        "nextperiodname": after.strftime("%A"), "nextperiodlink": link.format(int(after.timestamp())),
        "larrow": "&#x25C4;", "rarrow": "&#x25BA;",
    }


_UPCOMING = Single({"courseid": Value("int"), "categoryid": Value("int", 0)})


def get_calendar_upcoming_view(site: SiteState, caller: int, params: dict[str, Any]) -> Any:
    """``core_calendar_get_calendar_upcoming_view``: from today's midnight, 21 days ahead, at most 10 events."""
    zone = site.user_zone(caller)
    now = datetime.fromtimestamp(int(site.clock()), zone)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    events = _view_events(site, caller, params["courseid"], int(midnight.timestamp()),
                          int((midnight + timedelta(days=21)).timestamp()), int(now.timestamp()))[:10]
    return {"events": events, **_view_header(site, params["courseid"]), "isloggedin": True,
            "date": _date_block(now)}


_ACTION_COURSE = Single({"courseid": Value("int"), "timesortfrom": Value("int", 0, allow_null=True),
                         "timesortto": Value("int", None, allow_null=True), "aftereventid": Value("int", 0),
                         "limitnum": Value("int", 20), "searchvalue": Value("raw", "", allow_null=True)})
_ACTION_TIMESORT = Single({"timesortfrom": Value("int", 0, allow_null=True),
                           "timesortto": Value("int", None, allow_null=True), "aftereventid": Value("int", 0),
                           "limitnum": Value("int", 20), "limittononsuspendedevents": Value("bool", False),
                           "userid": Value("int", None, allow_null=True),
                           "searchvalue": Value("raw", "", allow_null=True)})


def get_action_events_by_course(site: SiteState, caller: int, params: dict[str, Any]) -> Any:
    """``core_calendar_get_action_events_by_course``.

    Only the caller's own courses; otherwise Moodle builds an answer its own schema rejects
    (``invalidresponse``), as recorded for a non-enrolled admin.
    """
    if not site.is_enrolled(params["courseid"], caller):
        raise MoodleError("core\\exception\\invalid_response_exception", "invalidresponse",
                          "Invalid response value detected",
                          "Error in response - Missing following required key in a single structure: events")
    return {"events": [], "firstid": None, "lastid": None}


def get_action_events_by_timesort(site: SiteState, caller: int, params: dict[str, Any]) -> Any:
    """``core_calendar_get_action_events_by_timesort``: no activities with deadlines exist here."""
    return {"events": [], "firstid": None, "lastid": None}


CALENDAR_FUNCTIONS: dict[str, tuple[Single, Function]] = {
    "core_calendar_create_calendar_events": (_CREATE, create_calendar_events),
    "core_calendar_get_calendar_events": (_GET, get_calendar_events),
    "core_calendar_get_calendar_event_by_id": (_BY_ID, get_calendar_event_by_id),
    "core_calendar_delete_calendar_events": (_DELETE, delete_calendar_events),
    "core_calendar_update_event_start_day": (_START_DAY, update_event_start_day),
    "core_calendar_submit_create_update_form": (_FORM, submit_create_update_form),
    "core_calendar_get_timestamps": (_TIMESTAMPS, get_timestamps),
    "core_calendar_get_calendar_day_view": (_DAY, get_calendar_day_view),
    "core_calendar_get_calendar_upcoming_view": (_UPCOMING, get_calendar_upcoming_view),
    "core_calendar_get_action_events_by_course": (_ACTION_COURSE, get_action_events_by_course),
    "core_calendar_get_action_events_by_timesort": (_ACTION_TIMESORT, get_action_events_by_timesort),
}
"""wsfunction -> (parameter description, implementation)."""
