r"""vcrpy configuration for contract cassettes: canonical hosts, no secrets, ordered replay.

One cassette per adapter per case, at ``<cassette_dir>/<adapter>/<case>.yaml``. Cassettes are recorded from
real HTTP traffic (against the loopback sandbox or a live tenant) and replayed offline in CI.

Three properties make them trustworthy:

**Canonical hosts.** When recording against the sandbox, requests go to ``http://127.0.0.1:<random port>``.
Before anything is written, every loopback URL (request URI, response ``Location``/``Link`` headers, URLs inside
bodies such as next-page links, also where JSON escapes their slashes as ``http:\/\/127.0.0.1:8080\/...``) is
rewritten to the provider's real base URL, so a cassette never depends on a port and replay builds the adapter
with the canonical base URL; a ``Host`` header in an answer is dropped. vcrpy runs the same request filter on
every request it tries to match during replay, so matching sees recorded and replayed requests the same way.

**No secrets.** Credential headers, query parameters and form fields are replaced by ``[REDACTED]``, as are
the values of sensitive keys in JSON request and response bodies (tokens the provider hands out included),
bearer credentials anywhere, and any literal value passed in ``secret_values``. Keys are judged by meaning, not
by spelling: a ``?key=`` query parameter is an API key, while a JSON field named ``key`` (Google Meet's
``conferenceSolution.key`` object) is kept. :func:`scan_for_secrets` proves
a cassette clean; every suite should run it over its cassette folder.

**Ordered replay.** Bodies are not matched (a body carries timestamps and keys that may legitimately differ),
but each recorded interaction plays once, in order: a create retried after a lost response replays the
second answer, not the first one again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

from lms_connectors.http.redaction import (
    REDACTED,
    is_query_credential_key,
    is_sensitive_key,
    redact_mapping,
    redact_text,
)
from lms_connectors.testing.record_mode import RecordTarget, resolve_record_target, vcr_record_mode

__all__ = [
    "FILTERED_HEADERS",
    "FILTERED_POST_DATA_PARAMETERS",
    "FILTERED_QUERY_PARAMETERS",
    "CassetteScrubber",
    "make_vcr",
    "scan_for_secrets",
]

FILTERED_HEADERS: tuple[str, ...] = (
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-api-key",
    "x-auth-token",
    "x-booked-sessiontoken",
    "x-zm-signature",
)
"""Request headers whose values never reach a cassette."""

FILTERED_QUERY_PARAMETERS: tuple[str, ...] = (
    "access_token",
    "key",
    "api_key",
    "apikey",
    "wstoken",
    "token",
    "client_secret",
    "password",
    "signature",
)
"""Query parameters whose values never reach a cassette (and are ignored when matching)."""

FILTERED_POST_DATA_PARAMETERS: tuple[str, ...] = (
    "client_secret",
    "client_assertion",
    "assertion",
    "refresh_token",
    "access_token",
    "code_verifier",
    "wstoken",
    "token",
    "password",
)
"""Form fields replaced in recorded request bodies. ``client_id`` is kept: it is not a secret and says which
application made the call."""

_PLACEHOLDERS = frozenset({REDACTED, quote(REDACTED, safe=""), ""})
_LOOPBACK_HOST = r"(?:127\.0\.0\.1|localhost|\[::1\])(?::\d+)?"
_LOOPBACK_URL_RE = re.compile(r"http://" + _LOOPBACK_HOST + r"(?P<rest>[^\s\"'<>\\]*)")
# The same URL inside JSON text whose encoder escapes slashes (PHP's json_encode): http:\/\/127.0.0.1:8080\/x
_ESCAPED_LOOPBACK_URL_RE = re.compile(r"http:\\/\\/" + _LOOPBACK_HOST + r"(?P<rest>(?:\\/|[^\s\"'<>\\])*)")
_DROPPED_RESPONSE_HEADERS = frozenset({"host"})
"""Answer headers never written: some servers (PHP's built-in one) echo ``Host``, the loopback address."""
# A credential after "Bearer " (8+ characters and not a challenge parameter such as realm="...").
_BEARER_RE = re.compile(r"(?i)\bbearer\s+(?P<credential>[A-Za-z0-9\-._~+/\[\]%]{8,}=*)(?=$|[\s,'\"])")


class _HarnessLike(Protocol):
    @property
    def adapter_name(self) -> str: ...
    @property
    def canonical_base_url(self) -> str: ...
    @property
    def canonical_hosts(self) -> Mapping[str, str]: ...



def _raw_body(request: Any) -> bytes | None:
    body = getattr(request, "body", None)
    if body is None or isinstance(body, bytes):
        return body
    return str(body).encode("utf-8")


class CassetteScrubber:
    """The request and response hooks that make an interaction fit to be written down.

    Args:
        canonical_base_url: Where the provider really lives (``https://api.zoom.us/v2``); a loopback URL maps
            here by default, its path appended.
        canonical_hosts: Loopback path prefixes that map elsewhere, longest first (``{"/oauth/token":
            "https://zoom.us/oauth/token"}``): the provider's other hosts, served by the same sandbox.
        secret_values: Literal values to replace wherever they appear (the credentials in use), or a callable
            returning them, asked again for every interaction (tokens issued while recording).
    """

    def __init__(
        self,
        canonical_base_url: str,
        canonical_hosts: Mapping[str, str] | None = None,
        secret_values: Iterable[str] | Callable[[], Iterable[str]] = (),
    ) -> None:
        self.canonical_base_url = canonical_base_url.rstrip("/")
        self.canonical_hosts = sorted((canonical_hosts or {}).items(), key=lambda item: len(item[0]), reverse=True)
        self._secret_values = secret_values if callable(secret_values) else list(secret_values)

    @property
    def secret_values(self) -> list[str]:
        """The literal secrets to replace, as known now."""
        values = self._secret_values() if callable(self._secret_values) else self._secret_values
        return [value for value in values if value]

    # -- URLs -------------------------------------------------------------------------------------------

    def canonical_url(self, url: str) -> str:
        """Rewrite a loopback URL to the provider's canonical one; any other URL is returned unchanged."""
        url = _ESCAPED_LOOPBACK_URL_RE.sub(
            lambda match: self._map_path(match.group("rest").replace("\\/", "/")).replace("/", "\\/"), url)
        return _LOOPBACK_URL_RE.sub(lambda match: self._map_path(match.group("rest")), url)

    def _map_path(self, rest: str) -> str:
        for prefix, target in self.canonical_hosts:
            if rest == prefix or rest.startswith((prefix + "/", prefix + "?")):
                return target.rstrip("/") + rest[len(prefix) :]
        return self.canonical_base_url + rest

    # -- text -------------------------------------------------------------------------------------------

    def scrub_text(self, text: str) -> str:
        """Canonicalise loopback URLs and redact secrets (known values, sensitive pairs, bearer tokens)."""
        return redact_text(self.canonical_url(text), self.secret_values)

    def scrub_body(self, body: bytes | str | None, content_type: str) -> bytes | str | None:
        """Scrub a body: JSON structurally (nested keys), anything textual with :meth:`scrub_text`."""
        if body is None or body in (b"", ""):
            return body
        as_bytes = isinstance(body, bytes)
        try:
            text = body.decode("utf-8") if isinstance(body, bytes) else body
        except UnicodeDecodeError:
            return body  # binary content: nothing textual to scrub
        scrubbed = self._scrub_json(text) if "json" in content_type or text.lstrip()[:1] in ("{", "[") else None
        if scrubbed is None:
            scrubbed = self.scrub_text(text)
        return scrubbed.encode("utf-8") if as_bytes else scrubbed

    def _scrub_json(self, text: str) -> str | None:
        try:
            document = json.loads(text)
        except ValueError:
            return None
        cleaned = _redact_json(document)
        # Keep the provider's formatting when nothing structural changed, so a cassette reads like the wire.
        rendered = text if cleaned == document else json.dumps(cleaned, separators=(",", ":"), ensure_ascii=False)
        return self.scrub_text(rendered)

    # -- vcrpy hooks ------------------------------------------------------------------------------------

    def before_record_request(self, request: Any) -> Any:
        """Request hook for vcrpy; it also runs on every request matched during replay."""
        request.uri = self.scrub_text(request.uri)
        for name in list(request.headers):
            value = request.headers[name]
            if is_sensitive_key(name):
                request.headers[name] = REDACTED
            elif isinstance(value, str):
                request.headers[name] = self.scrub_text(value)
        content_type = str(request.headers.get("Content-Type", ""))
        request.body = self.scrub_body(request.body, content_type)
        if request.body is not None and "Content-Length" in request.headers:
            request.headers["Content-Length"] = str(len(request.body))
        return request

    def before_record_response(self, response: dict[str, Any]) -> dict[str, Any]:
        """Response hook for vcrpy: scrub headers and body, then make ``Content-Length`` match the new body."""
        headers: dict[str, list[str]] = response.get("headers", {})
        for name in [n for n in headers if n.lower() in _DROPPED_RESPONSE_HEADERS]:
            del headers[name]
        content_type = ""
        for name, values in headers.items():
            lowered = name.lower()
            if is_sensitive_key(lowered):
                headers[name] = [REDACTED for _ in values]
            else:
                headers[name] = [self.scrub_text(value) for value in values]
            if lowered == "content-type" and values:
                content_type = values[0]
        body = response.get("body", {})
        original = body.get("string")
        scrubbed = self.scrub_body(original, content_type)
        if scrubbed is not original:
            body["string"] = scrubbed
            length = len(scrubbed.encode("utf-8") if isinstance(scrubbed, str) else scrubbed or b"")
            for name in headers:
                if name.lower() == "content-length":
                    headers[name] = [str(length)]
        return response


def _redact_json(document: Any) -> Any:
    if isinstance(document, dict):
        return redact_mapping(document)
    if isinstance(document, list):
        return [_redact_json(item) for item in document]
    return document


def make_vcr(
    harness_or_adapter_name: _HarnessLike | str,
    cassette_dir: str | Path,
    *,
    record_mode: RecordTarget | None = None,
    canonical_base_url: str | None = None,
    canonical_hosts: Mapping[str, str] | None = None,
    secret_values: Iterable[str] | Callable[[], Iterable[str]] = (),
) -> Any:
    """Build the ``vcr.VCR`` that records and replays one adapter's cassettes.

    Args:
        harness_or_adapter_name: A contract harness (its adapter name, canonical URLs and
            ``request_signature``, which replay matches on too, are used) or an adapter name.
        cassette_dir: The folder holding one sub-folder of cassettes per adapter.
        record_mode: ``"none"``, ``"sandbox"`` or ``"live"``; default from ``LMS_CONNECTORS_RECORD``.
        canonical_base_url: The provider's real base URL (default: the harness's). Required with a name.
        canonical_hosts: Loopback path prefix -> canonical URL, for the provider's other hosts (default: the
            harness's).
        secret_values: Literal secrets to scrub wherever they appear, or a callable returning the ones known now.

    Returns:
        A configured ``vcr.VCR``; use ``.use_cassette("<case>.yaml")``.

    Raises:
        ConfigurationError: The record mode is unknown.
        ValueError: No canonical base URL was given for an adapter name.
    """
    import vcr  # imported here: vcrpy patches HTTP libraries, load it only when cassettes are used

    signature_of: Callable[[bytes | None], str | None] | None = None
    if isinstance(harness_or_adapter_name, str):
        adapter_name = harness_or_adapter_name
    else:
        adapter_name = harness_or_adapter_name.adapter_name
        signature_of = getattr(harness_or_adapter_name, "request_signature", None)
        canonical_base_url = canonical_base_url or harness_or_adapter_name.canonical_base_url
        if canonical_hosts is None:
            canonical_hosts = harness_or_adapter_name.canonical_hosts
    if not canonical_base_url:
        raise ValueError("make_vcr needs the provider's canonical_base_url")
    scrubber = CassetteScrubber(canonical_base_url, canonical_hosts, secret_values)

    class OrderedReplayVCR(vcr.VCR):  # type: ignore[misc]  # vcrpy has no type information
        """A VCR whose cassettes play each interaction once, in order (vcrpy takes this per cassette only)."""

        def get_merged_config(self, **kwargs: Any) -> dict[str, Any]:
            kwargs["allow_playback_repeats"] = False
            config: dict[str, Any] = super().get_merged_config(**kwargs)
            return config

    def same_signature(replayed: Any, recorded: Any) -> None:
        assert signature_of is not None
        wanted, found = signature_of(_raw_body(replayed)), signature_of(_raw_body(recorded))
        if wanted != found:
            raise AssertionError(f"request body {wanted!r} != recorded {found!r}")

    match_on: tuple[str, ...] = ("method", "scheme", "host", "port", "path", "query")
    if signature_of is not None:
        match_on += ("lmsc_signature",)
    recorder = OrderedReplayVCR(
        cassette_library_dir=str(Path(cassette_dir) / adapter_name),
        path_transformer=vcr.VCR.ensure_suffix(".yaml"),
        serializer="yaml",
        record_mode=vcr_record_mode(resolve_record_target(record_mode)),
        match_on=match_on,
        decode_compressed_response=True,
        record_on_exception=False,
        filter_headers=[(name, REDACTED) for name in FILTERED_HEADERS],
        filter_query_parameters=[(name, REDACTED) for name in FILTERED_QUERY_PARAMETERS],
        filter_post_data_parameters=[(name, REDACTED) for name in FILTERED_POST_DATA_PARAMETERS],
        before_record_request=scrubber.before_record_request,
        before_record_response=scrubber.before_record_response,
    )
    if signature_of is not None:
        recorder.register_matcher("lmsc_signature", same_signature)
    return recorder


# -- proving cassettes clean ---------------------------------------------------------------------------------


def scan_for_secrets(cassette_path: str | Path, extra_values: Iterable[str] = ()) -> list[str]:
    """List every place in a cassette where a secret may have leaked (empty list: clean).

    Looks for: values of sensitive keys (headers, query and form parameters, JSON keys at any depth) that are
    not the placeholder, bearer credentials, and any of ``extra_values`` (plain or URL-encoded) anywhere.
    Findings name the place, never the secret.

    Args:
        cassette_path: A vcrpy YAML cassette.
        extra_values: Literal secrets that must not appear (the credentials used while recording).
    """
    import yaml

    path = Path(cassette_path)
    raw = path.read_text(encoding="utf-8")
    findings: list[str] = []
    for value in (v for v in extra_values if v):
        for form in {value, quote(value, safe=""), quote_plus(value)}:
            if form in raw:
                findings.append(f"{path.name}: contains a known secret value ({len(value)} characters)")
                break
    for match in _BEARER_RE.finditer(raw):
        if match.group("credential") not in _PLACEHOLDERS:
            findings.append(f"{path.name}: a bearer credential at offset {match.start()}")
    try:
        cassette = yaml.safe_load(raw) or {}
    except yaml.YAMLError as exc:
        return [*findings, f"{path.name}: not a readable cassette ({exc})"]
    for index, interaction in enumerate(cassette.get("interactions", [])):
        where = f"{path.name}#{index}"
        request = interaction.get("request", {})
        response = interaction.get("response", {})
        findings += _scan_url(str(request.get("uri", "")), f"{where} request uri")
        findings += _scan_headers(request.get("headers", {}), f"{where} request header")
        findings += _scan_body(request.get("body"), f"{where} request body")
        findings += _scan_headers(response.get("headers", {}), f"{where} response header")
        findings += _scan_body((response.get("body") or {}).get("string"), f"{where} response body")
    return findings


def _scan_url(uri: str, where: str) -> list[str]:
    pairs = parse_qsl(urlsplit(uri).query, keep_blank_values=True)
    # A plain ?key= is an API key in a URL (not inside JSON, where "key" names ordinary fields).
    api_keys = [f"{where} query {key!r} holds a value" for key, value in pairs
                if is_query_credential_key(key) and not is_sensitive_key(key) and value not in _PLACEHOLDERS]
    return api_keys + _scan_pairs(pairs, where + " query")


def _scan_headers(headers: Mapping[str, Any], where: str) -> list[str]:
    findings = []
    for name, values in headers.items():
        listed = values if isinstance(values, list) else [values]
        if is_sensitive_key(name) and any(str(v) not in _PLACEHOLDERS for v in listed):
            findings.append(f"{where} {name!r} holds a value")
    return findings


def _scan_pairs(pairs: Iterable[tuple[str, str]], where: str) -> list[str]:
    return [
        f"{where} {key!r} holds a value"
        for key, value in pairs
        if _innermost_key(key) is not None and value not in _PLACEHOLDERS
    ]


def _innermost_key(key: str) -> str | None:
    # PHP-style form keys (users[0][password]) are judged by their last bracketed part.
    names = [part for part in re.split(r"[\[\]]+", key) if part]
    last = names[-1] if names else key
    return last if is_sensitive_key(last) else None


def _scan_body(body: Any, where: str) -> list[str]:
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            return []
    if not isinstance(body, str) or not body:
        return []
    try:
        document = json.loads(body)
    except ValueError:
        return _scan_pairs(parse_qsl(body, keep_blank_values=True), where + " form")
    return [f"{where} JSON {path} holds a value" for path in _sensitive_json_values(document, "$")]


def _sensitive_json_values(document: Any, path: str) -> list[str]:
    found: list[str] = []
    if isinstance(document, dict):
        for key, value in document.items():
            child = f"{path}.{key}"
            if is_sensitive_key(str(key)) and isinstance(value, str) and value not in _PLACEHOLDERS:
                found.append(child)
            else:
                found += _sensitive_json_values(value, child)
    elif isinstance(document, list):
        for index, item in enumerate(document):
            found += _sensitive_json_values(item, f"{path}[{index}]")
    return found
