"""Accounts as a web-service user with the documented role sees them (not an administrator).

What a live Moodle 4.5.6 (PostgreSQL 15) answered a token user holding a custom system role, which these tests
hold the simulator and the adapter to:

* without ``moodle/site:viewuseridentity``: ``core_user_get_users_by_field`` by email answers ``[]`` for an
  existing account, by id answers it without ``email``, ``username``, ``auth``, ``lang``, ``department``;
* with it: ``email`` is there (names, access times, ``suspended``, ``timezone`` and the picture URLs too), but
  never ``username`` (that needs ``moodle/user:viewalldetails``), so a search by username finds nobody;
* ``core_user_get_users_by_field`` by email is exact (the recording ``create_users[9]`` shows it too), while
  ``core_user_get_users`` by email matches in any case, with ``_`` as a wildcard (``\\_`` escapes it);
* ``core_user_create_users`` refuses ``ana.lima@example.org`` when ``Ana.Lima@Example.org`` exists, and makes a
  second account when ``allowaccountssameemail`` is on;
* without ``moodle/course:view`` the course functions answer ``errorcoursecontextnotvalid``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from lms_connectors.errors import PermissionDenied, SchedulingFailed
from lms_connectors.models import Person, Session, TimeSlot
from lms_connectors.scheduler import Scheduler
from lms_connectors.store.memory import MemoryLedger
from lms_connectors.testing.pytest_plugin import SandboxStarter
from lms_connectors_moodle.adapter import MoodleAdapter
from lms_connectors_moodle.config import MoodleConfig
from lms_connectors_moodle.doctor import CAPABILITIES, REQUIRED_FUNCTIONS
from lms_connectors_moodle.sandbox import MoodleSimulator
from lms_connectors_moodle.users import like_pattern

from .conftest import Site

WS_TOKEN = "ws-token-0123456789abcdef"
IDENTITY = "moodle/site:viewuseridentity"
COURSE_VIEW = "moodle/course:view"
LONDON = ZoneInfo("Europe/London")


def _ws_site(serve: SandboxStarter, capabilities: tuple[str, ...] = CAPABILITIES) -> Iterator[Site]:
    simulator = MoodleSimulator(tokens={WS_TOKEN: "lmsc.ws"}, site_timezone="Europe/London")
    simulator.site.add_web_service_user("lmsc.ws", capabilities)
    simulator.site.service_functions = list(REQUIRED_FUNCTIONS)
    course_id = simulator.site.add_course("ILT-101", "Instructor-led training")
    server = serve(simulator)
    config = MoodleConfig.model_validate({"base_url": server.url, "token": WS_TOKEN, "course_id": course_id,
                                          "create_missing_users": True, "site_timezone": "Europe/London"})
    adapter = MoodleAdapter(config, sleep=lambda _s: None)
    try:
        yield Site(simulator, server, adapter, course_id)
    finally:
        adapter.close()


@pytest.fixture
def ws(sandbox_server: SandboxStarter) -> Iterator[Site]:
    yield from _ws_site(sandbox_server)


@pytest.fixture
def hidden(sandbox_server: SandboxStarter) -> Iterator[Site]:
    yield from _ws_site(sandbox_server, tuple(c for c in CAPABILITIES if c != IDENTITY))


def _ana(site: Site, email: str = "Ana.Lima@Example.org") -> int:
    return site.simulator.site.insert_user({"username": "ana.lima", "firstname": "Ana", "lastname": "Lima",
                                            "email": email})


def _session(key: str = "acc") -> Session:
    start = datetime(2027, 4, 6, 9, 0, tzinfo=LONDON)
    return Session(id=key, title="Case check", slot=TimeSlot(start=start, end=start + timedelta(hours=1),
                                                             timezone="Europe/London"))


# -- the simulator answers as the live site did ------------------------------------------------------------------


def test_hidden_identity_fields_without_viewuseridentity(hidden: Site) -> None:
    ana = _ana(hidden)
    call = hidden.adapter.ex_call
    assert call("core_user_get_users_by_field", {"field": "email", "values": ["Ana.Lima@Example.org"]}) == []
    (record,) = call("core_user_get_users_by_field", {"field": "id", "values": [str(ana)]})
    assert set(record) == {"id", "firstname", "lastname", "fullname", "firstaccess", "lastaccess", "suspended",
                           "timezone", "profileimageurlsmall", "profileimageurl"}
    assert call("core_user_get_users", {"criteria": [{"key": "email", "value": "ana.lima@example.org"}]}) == {
        "users": [], "warnings": []}


def test_identity_fields_with_viewuseridentity_still_hide_the_username(ws: Site) -> None:
    ana = _ana(ws)
    call = ws.adapter.ex_call
    (record,) = call("core_user_get_users_by_field", {"field": "id", "values": [str(ana)]})
    assert record["email"] == "Ana.Lima@Example.org"
    assert "username" not in record and "auth" not in record
    assert call("core_user_get_users_by_field", {"field": "username", "values": ["ana.lima"]}) == []
    # by email: exact, as recorded (create_users[9]); the case-insensitive search is core_user_get_users
    assert call("core_user_get_users_by_field", {"field": "email", "values": ["ana.lima@example.org"]}) == []


def test_get_users_matches_email_in_any_case_with_like_wildcards(ws: Site) -> None:
    ana = _ana(ws)
    call = ws.adapter.ex_call

    def search(value: str) -> list[int]:
        answer = call("core_user_get_users", {"criteria": [{"key": "email", "value": value}]})
        return [int(u["id"]) for u in answer["users"]]

    assert search("ana.lima@example.org") == [ana]
    assert search("ana_lima@example.org") == [ana]  # '_' is any one character
    assert search(like_pattern("ana_lima@example.org")) == []  # escaped, it is a literal underscore
    assert search("%@EXAMPLE.ORG") == [3, ana]  # the token's own account (lmsc.ws@example.org) too


def test_create_refuses_an_email_held_in_another_case_unless_the_site_allows_shared_emails(ws: Site) -> None:
    _ana(ws)
    row = {"username": "ana2", "createpassword": 1, "firstname": "Ana", "lastname": "Lima",
           "email": "ana.lima@example.org"}
    refused = ws.simulator.site
    with pytest.raises(Exception, match="Invalid parameter"):
        ws.adapter.ex_call("core_user_create_users", {"users": [row]})
    refused.allowaccountssameemail = True
    (made,) = ws.adapter.ex_call("core_user_create_users", {"users": [row]})
    assert made["username"] == "ana2"


def test_course_functions_need_course_view(sandbox_server: SandboxStarter) -> None:
    for site in _ws_site(sandbox_server, tuple(c for c in CAPABILITIES if c != COURSE_VIEW)):
        with pytest.raises(PermissionDenied) as refused:
            site.adapter.ex_call("core_group_get_course_groups", {"courseid": site.course_id})
        assert refused.value.code == "errorcoursecontextnotvalid"
        assert "moodle/course:view" in str(refused.value)  # the error table names the fix


# -- the adapter ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shared_emails", [False, True])
def test_an_account_stored_with_capitals_is_found_not_duplicated(ws: Site, shared_emails: bool) -> None:
    ana = _ana(ws)
    ws.simulator.site.allowaccountssameemail = shared_emails
    ref = ws.adapter.create_session(_session(), key="acc")
    members = ws.adapter.enrol(ref, _session(), [Person(email="ana.lima@example.org", name="Ana Lima")])
    assert [m.external_id for m in members] == [str(ana)]
    accounts = [u for u in ws.simulator.site.data.users.values() if u["email"].lower() == "ana.lima@example.org"]
    assert len(accounts) == 1
    assert [m.email for m in ws.adapter.list_roster(ref)] == ["ana.lima@example.org"]


def test_new_learners_cost_one_search_per_email_domain(ws: Site) -> None:
    ref = ws.adapter.create_session(_session(), key="acc")
    people = [Person(email=f"l{i}@example.org", name=f"L {i}") for i in range(30)]
    people += [Person(email="k@example.com", name="K K")]
    before = ws.adapter.client.calls
    ws.adapter.enrol(ref, _session(), people)
    # by email, 2 domain searches, create, enrol, the SDK's group, add to groups: accounts made by this call are
    # enrolled nowhere, so the course's enrolled users are not read
    assert ws.adapter.client.calls - before == 7


def test_hidden_identity_is_a_permission_error_naming_the_capability(hidden: Site) -> None:
    _ana(hidden, "ana.lima@example.org")
    ref = hidden.adapter.create_session(_session(), key="acc")
    with pytest.raises(PermissionDenied, match="moodle/site:viewuseridentity"):
        hidden.adapter.enrol(ref, _session(), [Person(email="ana.lima@example.org", name="Ana Lima")])
    assert len([u for u in hidden.simulator.site.data.users.values() if "ana" in u["email"]]) == 1


def test_roster_of_hidden_accounts_is_a_permission_error_not_a_key_error(ws: Site) -> None:
    ref = ws.adapter.create_session(_session(), key="acc")
    ws.adapter.enrol(ref, _session(), [Person(email="kenji@example.org", name="Kenji Sato")])
    ws.simulator.site.system_roles[3] = frozenset(c for c in CAPABILITIES if c != IDENTITY)  # role edited later
    with pytest.raises(PermissionDenied, match="moodle/site:viewuseridentity"):
        list(ws.adapter.list_roster(ref))


def _doctor(site: Site) -> dict[str, tuple[bool, str]]:
    return {c.name: (c.ok, c.detail) for c in site.adapter.diagnose()}


def test_doctor_passes_with_the_documented_role_and_names_each_missing_capability(
        sandbox_server: SandboxStarter) -> None:
    for site in _ws_site(sandbox_server):
        _ana(site)
        checks = _doctor(site)
        assert all(ok for ok, _ in checks.values()), checks
    for missing, check in ((IDENTITY, "user identity"), (COURSE_VIEW, "course access")):
        for site in _ws_site(sandbox_server, tuple(c for c in CAPABILITIES if c != missing)):
            _ana(site)
            checks = _doctor(site)
            failed = {name: detail for name, (ok, detail) in checks.items() if not ok}
            assert list(failed) == [check], checks
            assert missing in failed[check]


def test_a_wrong_token_leaves_nothing_for_retry(ws: Site) -> None:
    adapter = MoodleAdapter(MoodleConfig.model_validate({"base_url": ws.server.url, "token": "wrong-token-000000",
                                                         "course_id": ws.course_id}), sleep=lambda _s: None)
    with pytest.raises(SchedulingFailed) as failed:
        Scheduler([adapter], MemoryLedger()).schedule(_session("wrong-token"))
    assert failed.value.leftovers == []
    assert "left for retry" not in str(failed.value)
    adapter.close()


def test_readmes_list_every_capability_and_function() -> None:
    from pathlib import Path

    here = Path(__file__).parent
    adapter_readme = (here.parent / "README.md").read_text(encoding="utf-8")
    cassette_readme = (here / "cassettes" / "moodle" / "README.md").read_text(encoding="utf-8")
    for capability in CAPABILITIES:
        assert f"`{capability}`" in adapter_readme, capability
        assert f"`{capability}`" in cassette_readme, capability
    for function in REQUIRED_FUNCTIONS:
        assert f"`{function}`" in cassette_readme, function
