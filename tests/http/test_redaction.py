from __future__ import annotations

import pytest

from lms_connectors.http import REDACTED, SENSITIVE_KEYS, redact_mapping, redact_text, redact_url


@pytest.mark.parametrize(
    "key", ["authorization", "access_token", "refresh_token", "client_secret", "wstoken", "token", "password"]
)
def test_documented_keys_are_sensitive(key: str) -> None:
    assert key in SENSITIVE_KEYS


def test_redact_url_query_userinfo_and_fragment() -> None:
    url = "https://bob:hunter2@lms.example.test/webservice/rest/server.php?wstoken=abc123&wsfunction=core_x&Password=p#access_token=zz&state=1"
    redacted = redact_url(url)
    assert redacted == (
        f"https://bob:{REDACTED}@lms.example.test/webservice/rest/server.php"
        f"?wstoken={REDACTED}&wsfunction=core_x&Password={REDACTED}#access_token={REDACTED}&state=1"
    )


def test_redact_url_keeps_encoding_and_known_secrets() -> None:
    url = "https://x.test/a?page=bookmark:WzEwXQ%3D%3D&q=my%2Bkey&sig=s%2Fecret"
    assert redact_url(url) == url
    assert redact_url(url, ["s/ecret"]) == f"https://x.test/a?page=bookmark:WzEwXQ%3D%3D&q=my%2Bkey&sig={REDACTED}"


def test_redact_text_form_json_header_and_php_arrays() -> None:
    text = (
        "grant_type=refresh_token&refresh_token=rt-1&client_secret=cs-2 "
        '{"access_token": "at-3", "expires_in": 3600, "nested": {"password": "pw-4"}} '
        "users%5B0%5D%5Bpassword%5D=pw-5&users[1][password]=pw-6&users[0][username]=ann "
        "Authorization: Bearer eyJhbGciOi.abc.def\n"
        "x-api-key: k-7"
    )
    redacted = redact_text(text)
    for secret in ["rt-1", "cs-2", "at-3", "pw-4", "pw-5", "pw-6", "eyJhbGciOi", "k-7"]:
        assert secret not in redacted
    assert "grant_type=refresh_token" in redacted  # a value named like a key is not a secret
    assert '"expires_in": 3600' in redacted
    assert "users[0][username]=ann" in redacted


def test_redact_text_json_with_non_string_value_and_escapes() -> None:
    redacted = redact_text('{"token": 123456, "secret": "a\\"b", "ok": 1}')
    assert redacted == f'{{"token": "{REDACTED}", "secret": "{REDACTED}", "ok": 1}}'


def test_redact_text_known_secrets_plain_and_url_encoded() -> None:
    secret = "a b/c+d"
    text = "plain a b/c+d, quoted a%20b%2Fc%2Bd, form a+b%2Fc%2Bd"
    assert redact_text(text, [secret, ""]) == f"plain {REDACTED}, quoted {REDACTED}, form {REDACTED}"


def test_redact_text_leaves_challenges_and_prose_alone() -> None:
    text = 'WWW-Authenticate: Bearer realm="canvas-lms"; Invalid token - token not found'
    assert redact_text(text) == text


def test_redact_mapping_is_recursive_and_case_insensitive() -> None:
    original = {
        "Authorization": "Bearer x",
        "events": [{"name": "n", "privatetoken": "p"}],
        "config": {"clientSecret": "s", "webhook_secret_token": "w", "id": 1},
        "title": "ok",
    }
    assert redact_mapping(original) == {
        "Authorization": REDACTED,
        "events": [{"name": "n", "privatetoken": REDACTED}],
        "config": {"clientSecret": REDACTED, "webhook_secret_token": REDACTED, "id": 1},
        "title": "ok",
    }
    assert original["Authorization"] == "Bearer x"  # not modified


def test_a_short_known_value_never_mangles_text() -> None:
    # A one-letter placeholder token used to turn the exception's name into "Connec[REDACTED]ionError".
    text = "ConnectionError: connection to host refused"
    assert redact_text(text, ["t", "on", "tion"]) == text
    assert redact_url("https://example.org/t/path?x=t", ["t"]) == "https://example.org/t/path?x=t"


def test_a_known_value_is_replaced_only_where_it_stands_whole() -> None:
    secret = "s3cr3tVal"
    assert redact_text(f"token {secret}.", [secret]) == f"token {REDACTED}."
    assert redact_text(f"xs3cr3tValx and {secret}", [secret]) == f"xs3cr3tValx and {REDACTED}"
    assert redact_text(f"next=%2Fcb%3D{secret}", [secret]) == f"next=%2Fcb%3D{REDACTED}"


def test_a_known_value_is_replaced_in_its_encodings() -> None:
    import base64
    import json

    secret = 'pa"ss\\word/+1'
    encoded = {
        "json": json.dumps({"note": secret}),
        "base64": base64.b64encode(secret.encode()).decode(),
        "urlsafe": base64.urlsafe_b64encode(secret.encode()).decode(),
    }
    for form, text in encoded.items():
        assert REDACTED in redact_text(text, [secret]), form
        assert secret not in redact_text(text, [secret])


def test_key_is_a_credential_only_as_a_plain_query_parameter() -> None:
    assert redact_url("https://g.test/calendar/v3/x?key=AIzaSyExample&a=1") == f"https://g.test/calendar/v3/x?key={REDACTED}&a=1"
    assert redact_text('{"key": {"type": "hangoutsMeet"}, "name": "Google Meet"}') == (
        '{"key": {"type": "hangoutsMeet"}, "name": "Google Meet"}'
    )
    assert redact_text("criteria[0][key]=email&primary_key=7") == "criteria[0][key]=email&primary_key=7"
    assert redact_mapping({"key": {"type": "hangoutsMeet"}}) == {"key": {"type": "hangoutsMeet"}}


def test_a_secret_key_holding_an_object_keeps_the_json_valid() -> None:
    # The bare-scalar form never swallows an object's opening brace (it used to leave broken JSON behind).
    assert redact_text('{"password": {"min": 8}, "token": 12}') == '{"password": {"min": 8}, "token": "[REDACTED]"}'
