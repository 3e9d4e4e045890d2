"""Keep secrets out of logs, errors and recorded traffic.

Two complementary mechanisms, because neither alone is enough:

* **Known values**: the exact secrets in use (the access token the auth holds, a password in the settings) are
  replaced where they appear whole (never inside a longer word), plain or encoded (URL, JSON string, base64).
  Values shorter than :data:`MIN_SECRET_LENGTH` are not searched for: a one-letter placeholder token would
  otherwise turn ``ConnectionError`` into ``Connec[REDACTED]ionError``; such values are still caught by the
  sensitive keys below.
* **Sensitive keys**: values attached to a key that names a secret (``access_token=...`` in a query or form,
  ``"client_secret": "..."`` in JSON, ``Authorization: Bearer ...``) are replaced even when the value is not known
  in advance, e.g. a refresh token the provider just sent back.

A key is judged by what it means where it stands, not by its spelling alone: ``key`` is an API key as a
query parameter (Google's ``?key=...``) but an ordinary field name inside a JSON document (Google Meet's
``conferenceData.conferenceSolution.key`` is the object ``{"type": "hangoutsMeet"}``) or a bracketed form member
(Moodle's ``criteria[0][key]=email``), so only the first is redacted (:data:`QUERY_CREDENTIAL_KEYS`).
"""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit, urlunsplit

__all__ = [
    "MIN_SECRET_LENGTH",
    "QUERY_CREDENTIAL_KEYS",
    "REDACTED",
    "SENSITIVE_KEYS",
    "is_query_credential_key",
    "is_sensitive_key",
    "redact_mapping",
    "redact_text",
    "redact_url",
]

REDACTED = "[REDACTED]"

MIN_SECRET_LENGTH = 6
"""Known secret values shorter than this are not searched for in text (they would match ordinary words)."""

SENSITIVE_KEYS: frozenset[str] = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "access_token",
        "refresh_token",
        "id_token",
        "client_secret",
        "client_assertion",
        "assertion",
        "code_verifier",
        "wstoken",
        "token",
        "privatetoken",
        "sessiontoken",
        "x-booked-sessiontoken",
        "password",
        "passwd",
        "api_key",
        "apikey",
        "x-api-key",
        "secret",
        "signature",
    }
)
"""Lower-case names whose values are always secret (header, query, form and JSON keys)."""

QUERY_CREDENTIAL_KEYS: frozenset[str] = frozenset({"key"})
"""Names that are credentials only as a plain query or form parameter (``?key=<API key>``, Google's API keys);
as a JSON key or a bracketed form member they name ordinary fields and are left alone."""

# Any key containing one of these words is secret too ("new_password", "webhookSecret", ...).
_SENSITIVE_WORDS = ("secret", "password", "passwd")

_KEY_ALTERNATION = "|".join(
    [re.escape(key) for key in sorted(SENSITIVE_KEYS, key=len, reverse=True)]
    + [rf"[\w\-]*{word}[\w\-]*" for word in _SENSITIVE_WORDS]
)

class _Patterns:
    """The redaction patterns, compiled when text is first redacted rather than when the SDK is imported."""

    def __init__(self) -> None:
        # key=value in a query string or urlencoded form; the key may be a bracketed array member as PHP back ends
        # (Moodle) spell them: users[0][password]=... or users%5B0%5D%5Bpassword%5D=...
        self.pair = re.compile(
            rf"(?i)(?<![\w\-])((?:[\w\-.%\[\]]*(?:\[|%5B))?(?:{_KEY_ALTERNATION})(?:\]|%5D)?=)([^&\s\"'<>]*)"
        )
        # A plain (not bracketed) query or form parameter that is a credential only there: ?key=<API key>.
        self.query_only = re.compile(
            r"(?i)(?<![\w\-.%\[\]])((?:"
            + "|".join(re.escape(key) for key in sorted(QUERY_CREDENTIAL_KEYS))
            + r")=)([^&\s\"'<>]*)"
        )
        # "key": "value" (or a bare scalar) in JSON; an object or array value is structure, walked, not a credential.
        self.json = re.compile(
            rf"(?i)(\"(?:{_KEY_ALTERNATION})\"\s*:\s*)(\"(?:[^\"\\]|\\.)*\"|[^,\s}}\]{{\[][^,\s}}\]]*)"
        )
        # A credential after its scheme, as in an Authorization header dump.
        # (At least 8 characters, so that "Bearer realm=..." in a WWW-Authenticate challenge is left alone.)
        self.scheme = re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9\-._~+/]{8,}=*")
        # "Key: value" header lines.
        self.header = re.compile(
            r"(?im)^((?:authorization|proxy-authorization|cookie|set-cookie|x-api-key)\s*:\s*)(.+)$"
        )


@functools.cache
def _patterns() -> _Patterns:
    return _Patterns()


def is_sensitive_key(key: str) -> bool:
    """Tell whether a header, query, form or JSON key names a secret.

    Args:
        key: The key, in any case.

    Returns:
        True when the key's value must never be shown.
    """
    lowered = key.lower()
    return lowered in SENSITIVE_KEYS or any(word in lowered for word in _SENSITIVE_WORDS)


def is_query_credential_key(key: str) -> bool:
    """Tell whether a plain query or form parameter names a credential (a sensitive key, or ``key``).

    Args:
        key: The parameter's name, not bracketed (``key``, not ``criteria[0][key]``).

    Returns:
        True when the parameter's value must never be shown.
    """
    return is_sensitive_key(key) or key.lower() in QUERY_CREDENTIAL_KEYS


def _encodings(secret: str) -> set[str]:
    """The forms a secret takes in logs and bodies: plain, URL-encoded, inside a JSON string, base64."""
    raw = secret.encode()
    return {
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }


@functools.lru_cache(maxsize=64)
def _known_values_pattern(secrets: frozenset[str]) -> re.Pattern[str] | None:
    forms = {form for secret in secrets if len(secret) >= MIN_SECRET_LENGTH for form in _encodings(secret)}
    if not forms:
        return None
    # Longest first, so that a secret containing another one is replaced whole; a form counts only where it
    # stands alone (not inside a longer run of letters and digits).
    alternation = "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))
    # A percent-escape just before it (``%3D`` of an encoded "=") still counts as a boundary.
    return re.compile(rf"(?:(?<![A-Za-z0-9])|(?<=%[0-9A-Fa-f]{{2}}))(?:{alternation})(?![A-Za-z0-9])")


def _replace_known_values(text: str, secrets: Iterable[str]) -> str:
    pattern = _known_values_pattern(frozenset(secret for secret in secrets if secret))
    return text if pattern is None else pattern.sub(REDACTED, text)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace secrets in free text (a log line, a body excerpt, an exception message).

    Args:
        text: The text to clean.
        secrets: Known secret values (plain; their encoded forms are replaced as well). Values shorter than
            :data:`MIN_SECRET_LENGTH` are ignored.

    Returns:
        The text with every known secret and every value of a sensitive key replaced by ``[REDACTED]``.
    """
    text = _replace_known_values(text, secrets)
    patterns = _patterns()
    text = patterns.header.sub(lambda m: m.group(1) + REDACTED, text)
    text = patterns.scheme.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)
    text = patterns.json.sub(lambda m: m.group(1) + f'"{REDACTED}"', text)
    text = patterns.query_only.sub(lambda m: m.group(1) + REDACTED, text)
    return patterns.pair.sub(lambda m: m.group(1) + REDACTED, text)


def redact_url(url: str, secrets: Iterable[str] = ()) -> str:
    """Return the URL with the password in its user info and the values of sensitive query keys replaced.

    The rest of the URL is kept byte for byte (no re-encoding), so a redacted URL still reads like the real one.

    Args:
        url: An absolute or relative URL.
        secrets: Known secret values to replace wherever they appear.

    Returns:
        The redacted URL.
    """
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}{colon}{REDACTED if colon else ''}@{host}"
    patterns = _patterns()
    query = patterns.pair.sub(lambda m: m.group(1) + REDACTED, parts.query)
    query = patterns.query_only.sub(lambda m: m.group(1) + REDACTED, query)
    # OAuth implicit flows put tokens in the fragment.
    fragment = patterns.pair.sub(lambda m: m.group(1) + REDACTED, parts.fragment)
    rebuilt = urlunsplit((parts.scheme, netloc, parts.path, query, fragment))
    return _replace_known_values(rebuilt, secrets)


def redact_mapping(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of a mapping (headers, form, JSON object) with the values of sensitive keys replaced.

    Nested mappings and lists are cleaned recursively.

    Args:
        mapping: The mapping to clean; it is not modified.

    Returns:
        A new ``dict``.
    """
    return {key: REDACTED if is_sensitive_key(str(key)) else _redact_value(value) for key, value in mapping.items()}


def _redact_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return redact_mapping(value)
    if isinstance(value, list | tuple):
        return type(value)(_redact_value(item) for item in value)
    return value
