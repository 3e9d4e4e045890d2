"""Every answer the adapter reads goes through its checked shape: another shape is a MalformedResponse naming the field."""

from __future__ import annotations

from typing import Any

import pytest
import responses
from acme_lms_connector.adapter import AcmeLmsAdapter

from lms_connectors.errors import MalformedResponse
from lms_connectors.models import ProviderRef

BASE = "https://api.acme-lms.example/v1"
SESSION = {"id": "ses_0001", "version": 1, "title": "T", "starts_at": "2027-03-01T09:00:00Z",
           "ends_at": "2027-03-01T10:00:00Z", "timezone": "UTC", "status": "scheduled"}


def _adapter() -> AcmeLmsAdapter:
    responses.post(f"{BASE}/oauth/token", json={"access_token": "t", "token_type": "Bearer", "expires_in": 3600})
    return AcmeLmsAdapter.from_config({"client_id": "c", "client_secret": "s"}, sleep=lambda _: None)


@responses.activate
def test_a_well_formed_session_is_read() -> None:
    responses.get(f"{BASE}/sessions/ses_0001", json=SESSION)
    read = _adapter().get_session(ProviderRef(provider="acme_lms", external_id="ses_0001"))
    assert (read.ref.version, read.title) == ("1", "T")


@responses.activate
@pytest.mark.parametrize(
    ("answer", "field"),
    [({**SESSION, "starts_at": "next tuesday"}, "starts_at"), ({k: v for k, v in SESSION.items() if k != "id"}, "id"),
     ({**SESSION, "version": "v-one"}, "version")],
    ids=["bad-instant", "no-id", "version-not-a-number"],
)
def test_a_session_of_another_shape_is_malformed_and_names_the_field(answer: dict[str, Any], field: str) -> None:
    responses.get(f"{BASE}/sessions/ses_0001", json=answer)
    with pytest.raises(MalformedResponse, match=field) as caught:
        _adapter().get_session(ProviderRef(provider="acme_lms", external_id="ses_0001"))
    assert caught.value.provider == "acme_lms"


@responses.activate
def test_a_roster_page_of_another_shape_is_malformed() -> None:
    responses.get(f"{BASE}/sessions/ses_0001/enrolments", json={"data": [{"id": "enr_1"}], "next_page_token": None})
    with pytest.raises(MalformedResponse, match="email"):
        list(_adapter().list_roster(ProviderRef(provider="acme_lms", external_id="ses_0001")))
