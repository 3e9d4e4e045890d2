"""Site, course, user, enrolment and group functions of the simulated site, as recorded on Moodle 4.5."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from lms_connectors_moodle.simulator.exporter import format_string
from lms_connectors_moodle.simulator.params import OPTIONAL, Multiple, Single, Value
from lms_connectors_moodle.simulator.site import ADMIN_ID, ROLES, SITE_COURSE_ID, MoodleError, SiteState

__all__ = ["PEOPLE_FUNCTIONS", "PEOPLE_OPTIONAL_RETURNS"]

Function = Callable[[SiteState, int, dict[str, Any]], Any]
_FILTERS = ("displayh5p", "activitynames", "mathjaxloader", "emoticon", "urltolink", "mediaplugin")


def _image(site: SiteState, size: str) -> str:
    return f"{site.siteurl}/theme/image.php/boost/core/1795526477/u/{size}"


# -- site ----------------------------------------------------------------------------------------------------------

_PLUGIN_VERSIONS = {"enrol_manual_": "2024100700", "mod_bigbluebuttonbn_": "2024100700"}
"""Functions of plugins carry their plugin's version; core functions carry Moodle's (``2024100706``)."""


def _function_version(name: str) -> str:
    return next((v for prefix, v in _PLUGIN_VERSIONS.items() if name.startswith(prefix)), "2024100706")


def get_site_info(site: SiteState, caller: int, params: dict[str, Any]) -> Any:
    """``core_webservice_get_site_info``: who the token is and which functions its service holds."""
    user = site.user(caller)
    functions = [{"name": name, "version": _function_version(name)} for name in site.service_functions]
    features = [("usecomments", 1), ("usetags", 1), ("enablenotes", 1), ("messaging", 1), ("enableblogs", 1),
                ("enablecompletion", 1), ("enablebadges", 1), ("messagingallusers", 0), ("enablecustomreports", 1),
                ("enableglobalsearch", 0), ("mnet_dispatcher_mode", 0), ("enablecompetencies", 1)]
    return {
        "sitename": site.sitename, "username": user["username"], "firstname": user["firstname"],
        "lastname": user["lastname"], "fullname": f"{user['firstname']} {user['lastname']}", "lang": user["lang"],
        "userid": caller, "siteurl": site.siteurl, "userpictureurl": _image(site, "f1"), "functions": functions,
        "downloadfiles": 0, "uploadfiles": 0, "release": "4.5.6 (Build: 20250811)", "version": "2024100706",
        "mobilecssurl": "", "advancedfeatures": [{"name": n, "value": v} for n, v in features],
        "usercanmanageownfiles": True, "userquota": 0, "usermaxuploadfilesize": -1, "userhomepage": 1,
        "userprivateaccesskey": "sandbox-private-access-key", "siteid": SITE_COURSE_ID,
        "sitecalendartype": "gregorian", "usercalendartype": "gregorian", "userissiteadmin": site.is_admin(caller),
        "theme": "boost", "limitconcurrentlogins": 0, "policyagreed": 0,
    }


# -- courses -------------------------------------------------------------------------------------------------------

_CREATE_COURSES = Single({"courses": Multiple(Single({
    "fullname": Value("text"), "shortname": Value("text"), "categoryid": Value("int"),
    "idnumber": Value("raw", OPTIONAL), "summary": Value("raw", OPTIONAL), "summaryformat": Value("int", 1),
    "format": Value("alpha", "topics"), "showgrades": Value("int", 1), "newsitems": Value("int", 5),
    "startdate": Value("int", OPTIONAL), "enddate": Value("int", OPTIONAL), "visible": Value("int", 1),
    "lang": Value("raw", ""),
}))})


def create_courses(site: SiteState, caller: int, params: dict[str, Any]) -> Any:
    """``core_course_create_courses``: short name and ID number must be unique; all-or-nothing."""
    if not site.is_admin(caller):
        raise MoodleError.no_permissions("Create courses")
    created = []
    with site.transaction():
        for item in params["courses"]:
            for other in site.data.courses.values():
                if other["shortname"] == item["shortname"]:
                    raise MoodleError("core\\exception\\moodle_exception", "shortnametaken",
                                      f"Short name is already used for another course ({other['shortname']})")
                if item.get("idnumber") and other["idnumber"] == item["idnumber"]:
                    raise MoodleError("core\\exception\\moodle_exception", "courseidnumbertaken",
                                      f"ID number is already used for another course ({other['shortname']})")
            course_id = site.insert_course(dict(item))  # every parameter is a course field
            created.append({"id": course_id, "shortname": item["shortname"]})
    return created


def _course_record(site: SiteState, course: dict[str, Any]) -> dict[str, Any]:
    is_site = course["id"] == SITE_COURSE_ID
    teachers = sorted(u for (c, u), e in site.data.enrolments.items() if c == course["id"] and 3 in e["roles"])
    record: dict[str, Any] = {
        "id": course["id"], "fullname": course["fullname"], "displayname": course["fullname"],
        "shortname": course["shortname"],
        "courseimage": f"{site.siteurl}/pluginfile.php/{course['contextid']}/course/generated/course.svg",
        "categoryid": course["categoryid"], "categoryname": "" if is_site else "Category 1",
        "sortorder": 1 if is_site else 10000 + course["id"] - 1, "summary": course["summary"],
        "summaryformat": course["summaryformat"], "summaryfiles": [], "overviewfiles": [],
        "showactivitydates": not is_site, "showcompletionconditions": None if is_site else True,
        "contacts": [{"id": u, "fullname": f"{site.data.users[u]['firstname']} {site.data.users[u]['lastname']}"}
                     for u in teachers],
        "enrollmentmethods": [] if is_site else ["manual"], "idnumber": course["idnumber"],
        "format": course["format"], "showgrades": course["showgrades"], "newsitems": course["newsitems"],
        "startdate": course["startdate"], "enddate": course["enddate"], "maxbytes": 0, "showreports": 0,
        "visible": course["visible"], "groupmode": 0, "groupmodeforce": 0, "defaultgroupingid": 0,
        "enablecompletion": course["enablecompletion"], "completionnotify": 0, "lang": course["lang"], "theme": "",
        "marker": 0, "legacyfiles": 0, "calendartype": "", "timecreated": course["timecreated"],
        "timemodified": course["timemodified"], "requested": 0, "cacherev": course["cacherev"],
        "filters": [{"filter": name, "localstate": 0, "inheritedstate": 1} for name in _FILTERS],
    }
    if not is_site:
        record["courseformatoptions"] = [{"name": "hiddensections", "value": 1},
                                         {"name": "coursedisplay", "value": 0}, {"name": "indentation", "value": "1"}]
    return record


_COURSES_BY_FIELD = Single({"field": Value("alpha", ""), "value": Value("raw", "")})


def get_courses_by_field(site: SiteState, caller: int, params: dict[str, Any]) -> Any:
    """``core_course_get_courses_by_field``; no field means every course."""
    field, value = params["field"], params["value"]
    courses = []
    for course in sorted(site.data.courses.values(), key=lambda c: c["id"]):
        by_id = field == "id" and str(course["id"]) == value
        if field == "" or by_id or (field in ("shortname", "idnumber") and course[field] == value):
            courses.append(course)
    return {"courses": [_course_record(site, c) for c in courses], "warnings": []}


# -- users ---------------------------------------------------------------------------------------------------------

_CREATE_USERS = Single({"users": Multiple(Single({
    "createpassword": Value("bool", OPTIONAL), "username": Value("username"), "auth": Value("raw", "manual"),
    "password": Value("raw", OPTIONAL), "firstname": Value("text"), "lastname": Value("text"),
    "email": Value("raw"), "idnumber": Value("raw", ""), "timezone": Value("raw", OPTIONAL),
    "lang": Value("raw", OPTIONAL), "city": Value("text", OPTIONAL), "country": Value("alpha", OPTIONAL),
    "department": Value("text", OPTIONAL),
}))})


def create_users(site: SiteState, caller: int, params: dict[str, Any]) -> Any:
    """``core_user_create_users``: any bad user fails the batch; the time zone is stored unchecked.

    An email another account holds in any case is refused unless the site allows accounts to share an email
    (``allowaccountssameemail``: Moodle compares with ``sql_equal(..., casesensitive=false)``).
    """
    if not site.has_capability(caller, "moodle/user:create"):
        raise MoodleError.no_permissions("Create users")
    created = []
    with site.transaction():
        for item in params["users"]:
            if any(u["username"] == item["username"] for u in site.data.users.values()):
                raise MoodleError.invalid_parameter(f"Username already exists: {item['username']}")
            if not item.get("password") and not item.get("createpassword"):
                raise MoodleError.invalid_parameter("Invalid password: you must provide a password, or set "
                                                    "createpassword.")
            taken = any(u["email"].lower() == item["email"].lower() for u in site.data.users.values())
            if taken and not site.allowaccountssameemail:
                raise MoodleError.invalid_parameter(f"Email address already exists: {item['email']}")
            fields = {k: v for k, v in item.items() if k != "createpassword"}
            user_id = site.insert_user(fields)
            created.append({"id": user_id, "username": item["username"]})
    return created


def _user_details(site: SiteState, user: dict[str, Any], caller: int) -> dict[str, Any] | None:
    """``user_get_user_details_courses``: what the caller may see of ``user`` (None: not even that it exists).

    An administrator, and every user about themselves, see everything. Another token user sees names, access
    times and status (``moodle/user:viewdetails``), the zone (``moodle/user:viewhiddendetails``), the email only
    with ``moodle/site:viewuseridentity`` (the site's *Show user identity* holds ``email``) or when the user shows
    it to everyone, and never the username, auth, language or department (``moodle/user:viewalldetails``).
    """
    if not (site.is_admin(caller) or user["id"] == caller):
        return _restricted_details(site, user, caller)
    details: dict[str, Any] = {
        "id": user["id"], "username": user["username"], "firstname": user["firstname"],
        "lastname": user["lastname"], "fullname": f"{user['firstname']} {user['lastname']}",
        "email": user["email"], "department": user["department"],
    }
    if user["idnumber"]:
        details["idnumber"] = user["idnumber"]
    details.update({
        "firstaccess": 0, "lastaccess": 0, "auth": user["auth"], "suspended": False, "confirmed": True,
        "lang": user["lang"], "theme": "", "timezone": user["timezone"], "mailformat": 1, "trackforums": 0,
    })
    if user["city"]:
        details["city"] = user["city"]
    if user["country"]:
        details["country"] = user["country"]
    details["profileimageurlsmall"] = _image(site, "f2")
    details["profileimageurl"] = _image(site, "f1")
    if user["id"] == caller and user.get("preferences"):
        details["preferences"] = [*user["preferences"], {"name": "_lastloaded", "value": int(site.clock())}]
    return details


def _restricted_details(site: SiteState, user: dict[str, Any], caller: int) -> dict[str, Any] | None:
    if not site.has_capability(caller, "moodle/user:viewdetails"):
        return None
    details: dict[str, Any] = {
        "id": user["id"], "firstname": user["firstname"], "lastname": user["lastname"],
        "fullname": f"{user['firstname']} {user['lastname']}",
    }
    if site.has_capability(caller, "moodle/site:viewuseridentity") or user.get("maildisplay") == 1:
        details["email"] = user["email"]
    details.update({"firstaccess": 0, "lastaccess": 0, "suspended": False})
    if site.has_capability(caller, "moodle/user:viewhiddendetails"):
        details["timezone"] = user["timezone"]
    details["profileimageurlsmall"] = _image(site, "f2")
    details["profileimageurl"] = _image(site, "f1")
    return details


def _visible_users(site: SiteState, caller: int, keys: tuple[str, ...],
                   match: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """Matching users, each only when the caller sees every searched field (Moodle drops the others)."""
    found = []
    for user in sorted(site.data.users.values(), key=lambda u: u["id"]):
        if user["username"] == "guest" or user.get("deleted") or not match(user):
            continue
        details = _user_details(site, user, caller)
        if details is not None and all(details.get(k) for k in keys):
            found.append(details)
    return found


_USERS_BY_FIELD = Single({"field": Value("alpha"), "values": Multiple(Value("raw"))})


def get_users_by_field(site: SiteState, caller: int, params: dict[str, Any]) -> Any:
    """``core_user_get_users_by_field``: exact (case-sensitive) match; unknown values silently left out.

    A user is returned only when the caller sees the searched field: without ``moodle/site:viewuseridentity`` a
    search by email finds nobody, and a search by username needs ``moodle/user:viewalldetails``.
    """
    field = params["field"]
    if field not in ("id", "idnumber", "username", "email"):
        raise MoodleError.invalid_parameter("Invalid field name")
    wanted = set(params["values"])
    return _visible_users(site, caller, (field,), lambda user: str(user[field]) in wanted)


_GET_USERS = Single({"criteria": Multiple(Single({"key": Value("alpha"), "value": Value("raw")}))})
_LIKE_KEYS = ("email", "firstname", "lastname")


def _like(pattern: str) -> re.Pattern[str]:
    r"""Moodle's ``sql_like(..., casesensitive=false)``: ``%`` any run, ``_`` any character, ``\`` escapes."""
    parts = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            parts.append(re.escape(next(chars, "\\")))
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _like_test(key: str, pattern: re.Pattern[str]) -> Callable[[dict[str, Any]], bool]:
    return lambda user: pattern.fullmatch(str(user[key])) is not None


def _equal_test(key: str, value: str) -> Callable[[dict[str, Any]], bool]:
    return lambda user: str(user[key]) == value


def get_users(site: SiteState, caller: int, params: dict[str, Any]) -> Any:
    """``core_user_get_users``: criteria ANDed; email and names match case-insensitively with ``LIKE`` wildcards.

    Unknown keys come back as warnings; a key given twice is ``keyalreadyset``.
    """
    tests: list[Callable[[dict[str, Any]], bool]] = []
    warnings = []
    keys: list[str] = []
    for criterion in params["criteria"]:
        key, value = criterion["key"], criterion["value"]
        if key in keys:
            raise MoodleError("core\\exception\\moodle_exception", "keyalreadyset",
                              f"The key {key} can only be sent once")
        keys.append(key)
        if key in _LIKE_KEYS:
            tests.append(_like_test(key, _like(value)))
        elif key in ("id", "idnumber", "username", "auth"):
            tests.append(_equal_test(key, value))
        else:
            keys.remove(key)
            warnings.append({"item": key, "warningcode": "invalidfieldparameter",
                             "message": f"The search key '{key}' is not supported, look at the web service "
                                        "documentation"})
    users = _visible_users(site, caller, tuple(keys), lambda user: all(test(user) for test in tests))
    return {"users": users, "warnings": warnings}


_UPDATE_USERS = Single({"users": Multiple(Single({
    "id": Value("int"), "timezone": Value("raw", OPTIONAL), "email": Value("raw", OPTIONAL),
    "firstname": Value("text", OPTIONAL), "lastname": Value("text", OPTIONAL), "lang": Value("raw", OPTIONAL),
    "city": Value("text", OPTIONAL), "country": Value("alpha", OPTIONAL),
}))})


def update_users(site: SiteState, caller: int, params: dict[str, Any]) -> Any:
    """``core_user_update_users``."""
    if not site.has_capability(caller, "moodle/user:update"):
        raise MoodleError.no_permissions("Update user profile")
    with site.transaction():
        for item in params["users"]:
            site.user(item["id"]).update({k: v for k, v in item.items() if k != "id"})
    return {"warnings": []}


# -- enrolment -------------------------------------------------------------------------------------------------------

_ENROL = Single({"enrolments": Multiple(Single({
    "roleid": Value("int"), "userid": Value("int"), "courseid": Value("int"), "timestart": Value("int", OPTIONAL),
    "timeend": Value("int", OPTIONAL), "suspend": Value("int", OPTIONAL),
}))})


def enrol_users(site: SiteState, caller: int, params: dict[str, Any]) -> Any:
    """``enrol_manual_enrol_users``.

    All-or-nothing; re-enrolling overwrites the window and status (left-out fields reset) and adds the role; a
    new enrolment sends a welcome message after the commit.
    """
    welcomes: list[tuple[int, int]] = []
    with site.transaction():
        for item in params["enrolments"]:
            course_id, user_id, role_id = item["courseid"], item["userid"], item["roleid"]
            if course_id not in site.data.courses:
                raise MoodleError.invalid_parameter("Context does not exist")
            if not site.can_manage_course(caller, course_id):
                raise MoodleError.no_permissions("Enrol users")
            if role_id not in ROLES or (role_id == 1 and not site.is_admin(caller)):
                raise MoodleError("core\\exception\\moodle_exception", "wsusercannotassign",
                                  f"You don't have the permission to assign this role ({role_id}) to this user "
                                  f"({user_id}) in this course ({course_id}).")
            site.user(user_id)
            existing = site.data.enrolments.get((course_id, user_id))
            window = {"timestart": item.get("timestart", 0), "timeend": item.get("timeend", 0),
                      "status": 1 if item.get("suspend") else 0}
            if existing is None:
                site.data.enrolments[(course_id, user_id)] = {**window, "roles": [role_id]}
                welcomes.append((course_id, user_id))
            else:
                existing.update(window)
                if role_id not in existing["roles"]:
                    existing["roles"] = sorted([*existing["roles"], role_id])
    for course_id, user_id in welcomes:
        _welcome(site, course_id, user_id)
    if welcomes and site.mail_broken:
        raise MoodleError.sentence("Message was not sent.")
    return None


def _welcome(site: SiteState, course_id: int, user_id: int) -> None:
    course, user = site.data.courses[course_id], site.data.users[user_id]
    teachers = sorted(u for (c, u), e in site.data.enrolments.items() if c == course_id and 3 in e["roles"])
    sender = teachers[0] if teachers else ADMIN_ID
    text = f"Hi {user['firstname']}, you are enrolled in the course {course['fullname']}."
    site.data.messages.append({
        "id": len(site.data.messages) + 1, "useridfrom": sender, "useridto": user_id,
        "subject": f"Welcome to {course['fullname']}", "text": f"<p>{text}</p>", "fullmessage": text,
        "fullmessageformat": 4, "fullmessagehtml": text, "smallmessage": None, "notification": 1,
        "contexturl": f"{site.siteurl}/user/view.php?id={user_id}&amp;course={course_id}",
        "contexturlname": course["fullname"], "timecreated": int(site.clock()), "timeread": None,
        "component": "moodle", "eventtype": "enrolcoursewelcomemessage", "customdata": None,
        "iconurl": f"{site.siteurl}/theme/image.php/boost/core/1795526477/i/marker",
    })


_UNENROL = Single({"enrolments": Multiple(Single({
    "userid": Value("int"), "courseid": Value("int"), "roleid": Value("int", OPTIONAL),
}))})


def unenrol_users(site: SiteState, caller: int, params: dict[str, Any]) -> Any:
    """``enrol_manual_unenrol_users``.

    Removes the whole enrolment (``roleid`` is ignored) and the user's group memberships in the course;
    unenrolling someone not enrolled is a no-op.
    """
    with site.transaction():
        for item in params["enrolments"]:
            course_id, user_id = item["courseid"], item["userid"]
            site.course(course_id)
            site.user(user_id)
            if not site.can_manage_course(caller, course_id):
                raise MoodleError.no_permissions("Unenrol users from the course")
            if site.data.enrolments.pop((course_id, user_id), None) is not None:
                for group in site.data.groups.values():
                    if group["courseid"] == course_id and user_id in group["members"]:
                        group["members"].remove(user_id)
    return None


_ENROLLED = Single({"courseid": Value("int"), "options": Multiple(Single({
    "name": Value("alphanumext"), "value": Value("raw")}), [])})


def get_enrolled_users(site: SiteState, caller: int, params: dict[str, Any]) -> Any:
    """``core_enrol_get_enrolled_users``.

    Options: ``userfields``, ``onlyactive``, ``onlysuspended``, ``groupid``, ``withcapability``, ``limitfrom``
    and ``limitnumber``.
    """
    course_id = params["courseid"]
    site.course(course_id)
    site.require_course_context(caller, course_id)
    options = {o["name"]: o["value"] for o in params["options"]}
    fields = [f.strip() for f in options["userfields"].split(",")] if "userfields" in options else None
    rows = []
    for (c, user_id), enrolment in sorted(site.data.enrolments.items(), key=lambda kv: kv[0][1]):
        if c != course_id:
            continue
        active = site.enrolment_active(enrolment)
        if options.get("onlyactive") == "1" and not active:
            continue
        if options.get("onlysuspended") == "1" and enrolment["status"] == 0:
            continue
        if options.get("groupid") and user_id not in site.data.groups.get(int(options["groupid"]), {}).get(
                "members", []):
            continue
        if options.get("withcapability") and not (set(enrolment["roles"]) & {1, 3, 4}):
            continue
        rows.append(_enrolled_details(site, site.data.users[user_id], enrolment, active, fields))
    start = int(options.get("limitfrom", 0) or 0)
    count = int(options.get("limitnumber", 0) or 0)
    return rows[start:start + count] if count else rows[start:]


def _enrolled_details(site: SiteState, user: dict[str, Any], enrolment: dict[str, Any], active: bool,
                      fields: list[str] | None) -> dict[str, Any]:
    full: dict[str, Any] = {
        "id": user["id"], "username": user["username"], "firstname": user["firstname"],
        "lastname": user["lastname"], "fullname": f"{user['firstname']} {user['lastname']}",
        "email": user["email"], "department": user["department"],
    }
    if user["idnumber"]:
        full["idnumber"] = user["idnumber"]
    full.update({"firstaccess": 0, "lastaccess": 0, "lastcourseaccess": 0})
    if user["city"]:
        full["city"] = user["city"]
    if user["country"]:
        full["country"] = user["country"]
    full["profileimageurlsmall"] = _image(site, "f2")
    full["profileimageurl"] = _image(site, "f1")
    full["roles"] = [{"roleid": r, "name": "", "shortname": ROLES[r], "sortorder": 0} for r in enrolment["roles"]]
    courses = [c for (c, u), e in site.data.enrolments.items() if u == user["id"] and site.enrolment_active(e)]
    if courses:
        full["enrolledcourses"] = [
            {"id": c, "fullname": site.data.courses[c]["fullname"], "shortname": site.data.courses[c]["shortname"]}
            for c in sorted(courses)
        ]
    if fields is None:
        return full
    return {k: v for k, v in full.items() if k in fields or k in ("id", "fullname")}


# -- groups ----------------------------------------------------------------------------------------------------------

_CREATE_GROUPS = Single({"groups": Multiple(Single({
    "courseid": Value("int"), "name": Value("text"), "description": Value("raw"),
    "descriptionformat": Value("int", 1), "enrolmentkey": Value("raw", OPTIONAL), "idnumber": Value("raw", ""),
    "visibility": Value("int", 0), "participation": Value("bool", True),
}))})


def _group_record(group: dict[str, Any], *, created: bool) -> dict[str, Any]:
    # The create answer echoes the name; reads pass it through format_string (escaped, like event names).
    return {
        "id": group["id"], "courseid": group["courseid"],
        "name": group["name"] if created else format_string(group["name"]), "description": group["description"],
        "descriptionformat": group["descriptionformat"],
        "enrolmentkey": (group["enrolmentkey"] or "") if created else group["enrolmentkey"],
        "idnumber": group["idnumber"], "visibility": group["visibility"], "participation": group["participation"],
    }


def create_groups(site: SiteState, caller: int, params: dict[str, Any]) -> Any:
    """``core_group_create_groups``: name and ID number are unique per course; all-or-nothing."""
    created = []
    with site.transaction():
        for item in params["groups"]:
            site.course(item["courseid"])
            site.require_course_context(caller, item["courseid"])
            if not site.can_manage_course(caller, item["courseid"]):
                raise MoodleError.no_permissions("Manage groups")
            siblings = [g for g in site.data.groups.values() if g["courseid"] == item["courseid"]]
            if any(g["name"] == item["name"] for g in siblings):
                raise MoodleError.invalid_parameter("Group with the same name already exists in the course")
            if item["idnumber"] and any(g["idnumber"] == item["idnumber"] for g in siblings):
                raise MoodleError("core\\exception\\moodle_exception", "idnumbertaken",
                                  "This ID number is already in use")
            group_id = site.next_id("groups")
            group = {**item, "id": group_id, "enrolmentkey": item.get("enrolmentkey"), "members": []}
            site.data.groups[group_id] = group
            created.append(_group_record(group, created=True))
    return created


_MEMBERS = Single({"members": Multiple(Single({"groupid": Value("int"), "userid": Value("int")}))})


def add_group_members(site: SiteState, caller: int, params: dict[str, Any]) -> Any:
    """``core_group_add_group_members``: only enrolled users; adding a member again is a no-op."""
    with site.transaction():
        for item in params["members"]:
            group = site.data.groups.get(item["groupid"])
            if group is None:
                raise MoodleError.missing_record("groups")
            site.user(item["userid"])
            if not site.can_manage_course(caller, group["courseid"]):
                raise MoodleError.no_permissions("Manage groups")
            if not site.is_enrolled(group["courseid"], item["userid"]):
                raise MoodleError.invalid_parameter("Only enrolled users may be members of groups")
            if item["userid"] not in group["members"]:
                group["members"].append(item["userid"])
    return None


def delete_group_members(site: SiteState, caller: int, params: dict[str, Any]) -> Any:
    """``core_group_delete_group_members``: removing a non-member is a no-op."""
    with site.transaction():
        for item in params["members"]:
            group = site.data.groups.get(item["groupid"])
            if group is None:
                raise MoodleError.missing_record("groups")
            site.user(item["userid"])
            if item["userid"] in group["members"]:
                group["members"].remove(item["userid"])
    return None


_COURSE_ID = Single({"courseid": Value("int")})


def get_course_groups(site: SiteState, caller: int, params: dict[str, Any]) -> Any:
    """``core_group_get_course_groups``."""
    site.course(params["courseid"])
    site.require_course_context(caller, params["courseid"])
    return [_group_record(g, created=False) for g in sorted(site.data.groups.values(), key=lambda g: g["id"])
            if g["courseid"] == params["courseid"]]


_GROUP_IDS = Single({"groupids": Multiple(Value("int"))})


def get_group_members(site: SiteState, caller: int, params: dict[str, Any]) -> Any:
    """``core_group_get_group_members``."""
    result = []
    for group_id in params["groupids"]:
        if group_id not in site.data.groups:
            raise MoodleError.missing_record("groups")
        result.append({"groupid": group_id, "userids": site.group_members(group_id)})
    return result


def delete_groups(site: SiteState, caller: int, params: dict[str, Any]) -> Any:
    """``core_group_delete_groups``."""
    with site.transaction():
        for group_id in params["groupids"]:
            if site.data.groups.pop(group_id, None) is None:
                raise MoodleError.missing_record("groups")
    return None


# -- messages and BigBlueButton probes ---------------------------------------------------------------------------------

_MESSAGES = Single({"useridto": Value("int"), "useridfrom": Value("int", 0), "type": Value("alpha", "both"),
                    "read": Value("int", 1), "newestfirst": Value("bool", True), "limitfrom": Value("int", 0),
                    "limitnum": Value("int", 0)})


def get_messages(site: SiteState, caller: int, params: dict[str, Any]) -> Any:
    """``core_message_get_messages`` (notifications sent to the caller)."""
    mine = [m for m in site.data.messages if m["useridto"] == params["useridto"]]
    rows = []
    for message in sorted(mine, key=lambda m: m["id"], reverse=params["newestfirst"]):
        to_user, from_user = site.data.users[message["useridto"]], site.data.users[message["useridfrom"]]
        row = dict(message)
        row["usertofullname"] = f"{to_user['firstname']} {to_user['lastname']}"
        row["userfromfullname"] = f"{from_user['firstname']} {from_user['lastname']}"
        ordered = {k: row[k] for k in ("id", "useridfrom", "useridto", "subject", "text", "fullmessage",
                                       "fullmessageformat", "fullmessagehtml", "smallmessage", "notification",
                                       "contexturl", "contexturlname", "timecreated", "timeread", "usertofullname",
                                       "userfromfullname", "component", "eventtype", "customdata", "iconurl")}
        rows.append(ordered)
    return {"messages": rows, "warnings": []}


_BBB_COURSES = Single({"courseids": Multiple(Value("int"), [])})
_BBB_INFO = Single({"bigbluebuttonbnid": Value("int"), "groupid": Value("int"),
                    "updatecache": Value("bool", False)})
_BBB_CM = Single({"cmid": Value("int"), "groupid": Value("int", 0)})


def bbb_by_courses(site: SiteState, caller: int, params: dict[str, Any]) -> Any:
    """``mod_bigbluebuttonbn_get_bigbluebuttonbns_by_courses``: the module is disabled, so there are none."""
    return {"bigbluebuttonbns": [], "warnings": []}


def bbb_meeting_info(site: SiteState, caller: int, params: dict[str, Any]) -> Any:
    """``mod_bigbluebuttonbn_meeting_info`` for a missing instance: a PHP Error without an errorcode."""
    raise MoodleError("Error", None, "Call to a member function set_group_id() on null")


def bbb_join_url(site: SiteState, caller: int, params: dict[str, Any]) -> Any:
    """``mod_bigbluebuttonbn_get_join_url`` for a missing activity."""
    raise MoodleError("core\\exception\\moodle_exception", "nosuchinstance",
                      f"No such instance Activity with ID {params['cmid']}")


def bbb_can_join(site: SiteState, caller: int, params: dict[str, Any]) -> Any:
    """``mod_bigbluebuttonbn_can_join`` for a missing activity."""
    return {"can_join": False, "cmid": params["cmid"]}


_NONE = Single({})

PEOPLE_FUNCTIONS: dict[str, tuple[Single, Function]] = {
    "core_webservice_get_site_info": (Single({"serviceshortnames": Multiple(Value("alpha"), [])}), get_site_info),
    "core_course_create_courses": (_CREATE_COURSES, create_courses),
    "core_course_get_courses_by_field": (_COURSES_BY_FIELD, get_courses_by_field),
    "core_user_create_users": (_CREATE_USERS, create_users),
    "core_user_get_users_by_field": (_USERS_BY_FIELD, get_users_by_field),
    "core_user_update_users": (_UPDATE_USERS, update_users),
    "core_user_get_users": (_GET_USERS, get_users),
    "enrol_manual_enrol_users": (_ENROL, enrol_users),
    "enrol_manual_unenrol_users": (_UNENROL, unenrol_users),
    "core_enrol_get_enrolled_users": (_ENROLLED, get_enrolled_users),
    "core_group_create_groups": (_CREATE_GROUPS, create_groups),
    "core_group_add_group_members": (_MEMBERS, add_group_members),
    "core_group_delete_group_members": (_MEMBERS, delete_group_members),
    "core_group_get_course_groups": (_COURSE_ID, get_course_groups),
    "core_group_get_group_members": (_GROUP_IDS, get_group_members),
    "core_group_delete_groups": (_GROUP_IDS, delete_groups),
    "core_message_get_messages": (_MESSAGES, get_messages),
    "mod_bigbluebuttonbn_get_bigbluebuttonbns_by_courses": (_BBB_COURSES, bbb_by_courses),
    "mod_bigbluebuttonbn_meeting_info": (_BBB_INFO, bbb_meeting_info),
    "mod_bigbluebuttonbn_get_join_url": (_BBB_CM, bbb_join_url),
    "mod_bigbluebuttonbn_can_join": (_BBB_CM, bbb_can_join),
}
"""wsfunction -> (parameter description, implementation)."""

PEOPLE_OPTIONAL_RETURNS: dict[str, Any] = {
    "core_webservice_get_site_info": {"userhomepageurl": None, "usersessionscount": None},
    "core_course_get_courses_by_field": {"courses": [{
        "customfields": [], "communicationroomname": None, "communicationroomurl": None,
    }]},
}
"""wsfunction -> the optional return keys these answers leave out (see :func:`.php.fill_optional`)."""
