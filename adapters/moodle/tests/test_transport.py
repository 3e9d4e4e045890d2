"""Encoding, error classification and doctor checks (against the sandbox)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lms_connectors.errors import (
    AuthError,
    Conflict,
    InvalidRequest,
    MalformedResponse,
    NotFound,
    PermissionDenied,
    ProviderError,
)
from lms_connectors.testing.error_table import assert_readme_table_current
from lms_connectors_moodle.encoding import encode_params
from lms_connectors_moodle.errors import error_from_payload, raise_for_warnings

from .conftest import Site


def test_bracket_encoding_with_indexes_and_bools() -> None:
    fields = encode_params({"events": [{"name": "S1", "visible": True}], "options": {"userevents": False},
                            "skip": None})
    assert fields == [("events[0][name]", "S1"), ("events[0][visible]", "1"), ("options[userevents]", "0")]


@pytest.mark.parametrize(("payload", "expected"), [
    ({"exception": "core\\exception\\moodle_exception", "errorcode": "invalidtoken", "message": "x"}, AuthError),
    ({"exception": "webservice_access_exception", "errorcode": "accessexception", "message": "x"}, PermissionDenied),
    ({"exception": "core\\exception\\required_capability_exception", "errorcode": "nopermissions", "message": "x"},
     PermissionDenied),
    ({"exception": "dml_missing_record_exception", "errorcode": "invalidrecord", "message": "x"}, NotFound),
    ({"exception": "dml_missing_record_exception", "errorcode": "invaliduser", "message": "x"}, NotFound),
    ({"exception": "core\\exception\\invalid_parameter_exception", "errorcode": "invalidparameter", "message": "x"},
     InvalidRequest),
    ({"exception": "core\\exception\\moodle_exception", "errorcode": "idnumbertaken", "message": "x"}, Conflict),
    ({"exception": "core\\exception\\moodle_exception", "errorcode": "shortnametaken", "message": "x"}, Conflict),
    ({"exception": "core\\exception\\moodle_exception", "errorcode": "Unable to find event with id 9",
      "message": "error/Unable to find event with id 9"}, NotFound),
    ({"exception": "Error", "message": "Call to a member function set_group_id() on null"}, ProviderError),
    ({"exception": "x", "errorcode": "somethingnew", "message": "y"}, ProviderError),
])
def test_error_table(payload: dict[str, str], expected: type[Exception]) -> None:
    error = error_from_payload(payload, status=200)
    assert type(error) is expected
    assert error.code is not None


def test_warning_about_our_item_is_a_failure() -> None:
    with pytest.raises(PermissionDenied):
        raise_for_warnings([{"item": "S1", "warningcode": "nopermissions", "message": "no"}], items=["S1"], what="x")
    raise_for_warnings([], items=["S1"], what="x")


def test_disabled_rest_is_permission_denied_with_reason(site: Site) -> None:
    site.simulator.site.rest_enabled = False
    with pytest.raises(PermissionDenied, match="REST protocol"):
        site.adapter.ex_call("core_webservice_get_site_info")
    checks = site.adapter.diagnose()
    assert [c.ok for c in checks] == [False]


def test_xml_answer_is_malformed(site: Site) -> None:
    response = site.adapter.transport.session.post(f"{site.server.url}/webservice/rest/server.php",
                                                    data={"wstoken": "x", "wsfunction": "core_webservice_get_site_info"})
    from lms_connectors_moodle.errors import classify_moodle

    assert isinstance(classify_moodle(response), MalformedResponse)


def test_bad_token_is_auth_error(site: Site) -> None:
    site.simulator.site.tokens.clear()
    with pytest.raises(AuthError):
        site.adapter.ex_call("core_webservice_get_site_info")


def test_doctor_reports_site_zone_and_missing_functions(site: Site) -> None:
    site.simulator.site.service_functions.remove("core_calendar_submit_create_update_form")
    checks = {c.name: c for c in site.adapter.diagnose()}
    assert not checks["service functions"].ok
    assert "core_calendar_submit_create_update_form" in checks["service functions"].detail
    assert checks["site time zone"].ok
    assert "+0 h (January) / +1 h (July)" in checks["site time zone"].detail
    assert checks["course access"].ok


def test_readme_lists_the_error_table() -> None:
    from lms_connectors_moodle.errors import classify_moodle

    readme = Path(__file__).parents[1] / "README.md"
    assert_readme_table_current(readme, classify_moodle, "lms_connectors_moodle.errors:classify_moodle")
