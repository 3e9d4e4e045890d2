"""Turn a provider's HTTP answer into the SDK's error tree.

Error handling is data: a :class:`RuleClassifier` holds a provider's table of :class:`ErrorRule` rows (status,
provider code or reason, message pattern, header, kind of body -> error type of the tree), consulted before the
core's own rows (:data:`DEFAULT_RULES`, keyed on the status). A provider supplies its rows and, when its error
body has its own shape, a reader for it (Google's ``errors[].reason``, Moodle's ``errorcode`` in a 200 body)::

    classifier = RuleClassifier(
        [ErrorRule(CapacityFull, "the session has no free seat", status={409}, codes={"session_full"})],
        provider="acme_lms",
    )

:mod:`lms_connectors.http.error_table` renders a table as Markdown for the adapter's README.

Every error built here carries its evidence (status, provider code, redacted body excerpt, request id), read by
:mod:`lms_connectors.http.evidence` (whose helpers this module re-exports); the transport adds the provider name
and redacts the secrets it knows about.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from lms_connectors.errors import (
    AuthError,
    Conflict,
    ConnectorError,
    InvalidRequest,
    MalformedResponse,
    NotFound,
    PermissionDenied,
    ProviderError,
    QuotaExceeded,
    RateLimited,
    TransientError,
)
from lms_connectors.http.evidence import (
    ErrorBody,
    body_excerpt,
    common_error_body,
    is_html,
    json_body,
    json_payload,
    parse_reset_at,
    parse_retry_after,
    provider_code,
    response_evidence,
)

if TYPE_CHECKING:
    import requests

__all__ = [
    "ANY_STATUS",
    "DEFAULT_RULES",
    "SUCCESS",
    "BodyKind",
    "BodyReader",
    "ErrorBody",
    "ErrorFacts",
    "ErrorRule",
    "Flag",
    "GatewayErrorPage",
    "QuotaReset",
    "RuleClassifier",
    "body_excerpt",
    "common_error_body",
    "default_classifier",
    "is_html",
    "json_body",
    "parse_reset_at",
    "parse_retry_after",
    "provider_code",
    "response_evidence",
    "retry_after_reset",
]

class GatewayErrorPage(MalformedResponse, TransientError):
    """A gateway or proxy answered with an HTML error page (502/503/504 ...) instead of the provider's API.

    It is a :class:`~lms_connectors.errors.MalformedResponse` (the answer is not the API's) and a
    :class:`~lms_connectors.errors.TransientError` (the gateway may let the next call through), so the
    transport retries it like any 5xx.
    """


# -- the rule table ----------------------------------------------------------------------------------------------

SUCCESS: frozenset[int] = frozenset(range(200, 300))
"""The 2xx statuses, for rows about answers that claim success (Moodle's errors, an HTML page)."""

ANY_STATUS: frozenset[int] = frozenset(range(100, 600))
"""Every status, for rows that decide by the body whatever status carries it."""

BodyKind = Literal["empty", "html", "xml", "json", "text", "error"]
"""What an answer's body is: ``"error"`` means the provider's own error shape (the body reader found one)."""


class Flag(enum.Flag):
    """What the caller (and the transport) should do about an error, beyond its type.

    Attributes:
        THROTTLING: Wait and retry: the error carries ``retry_after`` from the ``Retry-After`` header.
        QUOTA: A long-lived quota: do not retry before ``resets_at``, which the error carries.
        AUTH_REFRESH: The credentials were refused: the transport refreshes them once and resends.
    """

    NONE = 0
    THROTTLING = enum.auto()
    QUOTA = enum.auto()
    AUTH_REFRESH = enum.auto()


BodyReader = Callable[[Any], "ErrorBody | None"]
"""Reads a provider's error shape out of a decoded JSON body (None when the body is not one)."""


@dataclass(frozen=True)
class ErrorFacts:
    """What the rules look at in one answer.

    Attributes:
        status: HTTP status code.
        kinds: What the body is (``"error"`` is added to ``"json"`` when the provider's error shape was found).
        body: The provider's error shape, when found.
        headers: The answer's headers (case-insensitive).
    """

    status: int
    kinds: frozenset[BodyKind]
    body: ErrorBody | None
    headers: Mapping[str, str]

    @property
    def message(self) -> str:
        """The provider's message ("" when there is none)."""
        return self.body.message if self.body else ""

    @property
    def codes(self) -> tuple[str | int, ...]:
        """The provider's codes (empty when there are none)."""
        return self.body.codes if self.body else ()


@dataclass(frozen=True)
class ErrorRule:
    """One row of a provider's error table.

    A row applies when the answer's status is one of ``status`` and its body is of kind ``body`` (when given);
    it then matches when one of its selectors does (any of them): a provider code in ``codes``, the
    ``message`` pattern found in the provider's message or codes, the ``header`` pattern found in that header.
    A row without selectors matches every answer it applies to. The first matching row of a table decides.

    Attributes:
        error: The error type of the tree to raise (its flags follow from it, see :attr:`flags`).
        meaning: What the answer means, in words a reader of the log can act on; the provider's message
            follows it in the error's message.
        status: Statuses the row applies to; None means every status outside 2xx.
        codes: Provider codes or reasons that select the row (compared as text: ``3001`` matches ``"3001"``).
        message: Regular expression (case-insensitive) searched in the provider's message and codes.
        header: ``(header name, regular expression)`` searched in that header's value.
        body: The kind of body the row applies to (``"html"``, ``"xml"``, ``"empty"``, ``"error"``...).
        refresh: For an :class:`~lms_connectors.errors.AuthError`: refreshing the credentials may cure it (an
            expired access token), so the transport refreshes once and resends when its auth can refresh.
            Without it the refusal is final (a revoked web-service token, an app's wrong secret).
    """

    error: type[ConnectorError]
    meaning: str
    status: Collection[int] | None = None
    codes: Collection[str | int] = ()
    message: str | None = None
    header: tuple[str, str] | None = None
    body: BodyKind | None = None
    refresh: bool = False

    def __post_init__(self) -> None:
        if self.refresh and not issubclass(self.error, AuthError):
            raise ValueError(f"only an AuthError row can ask for a credentials refresh, not {self.error.__name__}")

    @cached_property
    def statuses(self) -> frozenset[int]:
        """The statuses the row applies to."""
        return ANY_STATUS - SUCCESS if self.status is None else frozenset(self.status)

    @cached_property
    def _codes(self) -> frozenset[str]:
        return frozenset(str(code) for code in self.codes)

    @cached_property
    def _message(self) -> re.Pattern[str] | None:
        return re.compile(self.message, re.IGNORECASE) if self.message is not None else None

    @cached_property
    def _header(self) -> re.Pattern[str] | None:
        return re.compile(self.header[1], re.IGNORECASE) if self.header is not None else None

    @property
    def flags(self) -> Flag:
        """What the row asks of the caller: throttling or quota (from its error type), credentials refresh."""
        flags = Flag.NONE
        if issubclass(self.error, RateLimited):
            flags |= Flag.THROTTLING
        if issubclass(self.error, QuotaExceeded):
            flags |= Flag.QUOTA
        if self.refresh:
            flags |= Flag.AUTH_REFRESH
        return flags

    def matches(self, facts: ErrorFacts) -> bool:
        """Whether this row decides the answer described by ``facts``."""
        if facts.status not in self.statuses or (self.body is not None and self.body not in facts.kinds):
            return False
        selected: list[bool] = []
        if self.codes:
            selected.append(any(str(code) in self._codes for code in facts.codes))
        if self._message is not None:
            texts = (facts.message, *(str(code) for code in facts.codes))
            selected.append(any(self._message.search(text) for text in texts))
        if self.header is not None and self._header is not None:
            value = facts.headers.get(self.header[0])
            selected.append(value is not None and self._header.search(value) is not None)
        return not selected or any(selected)


# A Retry-After the client can read: seconds, or an HTTP date.
_READABLE_RETRY_AFTER = r"^\s*(\d+(\.\d*)?|\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT)\s*$"
_TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})

DEFAULT_RULES: tuple[ErrorRule, ...] = (
    ErrorRule(MalformedResponse, "an HTML page where the API's answer was expected", status=SUCCESS, body="html"),
    ErrorRule(RateLimited, "the provider throttled the call", status={429}),
    ErrorRule(RateLimited, "the provider is overloaded and asks to back off", status={503},
              header=("Retry-After", _READABLE_RETRY_AFTER)),
    ErrorRule(InvalidRequest, "the provider refused the request as invalid", status={400, 422}),
    ErrorRule(AuthError, "the provider refused the credentials", status={401}, refresh=True),
    ErrorRule(PermissionDenied, "the credentials are not allowed to do this", status={403}),
    ErrorRule(NotFound, "the provider object does not exist", status={404}),
    ErrorRule(NotFound, "the provider object no longer exists", status={410}),
    ErrorRule(Conflict, "the provider object already exists or changed", status={409}),
    ErrorRule(Conflict, "the provider object changed since it was read", status={412}),
    ErrorRule(GatewayErrorPage, "a gateway answered with an HTML error page instead of the API",
              status=_TRANSIENT_STATUSES, body="html"),
    ErrorRule(TransientError, "the provider failed; a later call may succeed", status=_TRANSIENT_STATUSES),
    ErrorRule(MalformedResponse, "an HTML page instead of the API's answer", body="html"),
    ErrorRule(ProviderError, "the provider answered with an error the SDK has no more precise type for"),
)
"""The core's rows, consulted after a provider's own: the status decides, and an HTML page is never the API."""

QuotaReset: TypeAlias = "Callable[[requests.Response, datetime], datetime | None]"
"""Reads when a quota resets from an answer, given the current time."""


def retry_after_reset(response: requests.Response, now: datetime) -> datetime | None:
    """The default quota reset: the ``Retry-After`` header read by :func:`parse_reset_at`."""
    return parse_reset_at(response.headers.get("Retry-After"), now)


def _body_kinds(response: requests.Response, payload: Any, found: ErrorBody | None) -> frozenset[BodyKind]:
    if not response.content.strip():
        return frozenset({"empty"})
    if is_html(response):
        return frozenset({"html"})
    if "xml" in response.headers.get("Content-Type", "").lower() or response.content.lstrip().startswith(b"<?xml"):
        return frozenset({"xml"})
    if payload is None and response.content.strip() != b"null":
        return frozenset({"text"})
    return frozenset({"json", "error"}) if found is not None else frozenset({"json"})


class RuleClassifier:
    """Classify answers with a provider's rows, then the core's :data:`DEFAULT_RULES`: first match wins.

    An instance is the transport's ``classifier``: called with an answer, it returns the error to raise, or
    None for a success (a 2xx answer no row matched).

    Args:
        rules: The provider's rows, consulted first, in order.
        provider: Adapter name written into the errors (the transport writes it too).
        read_body: Reads the provider's error shape from the decoded JSON body.
        fallback: Rows consulted after the provider's (the core's by default).
        quota_reset: Reads when a quota resets (for rows whose error is a
            :class:`~lms_connectors.errors.QuotaExceeded`).
        now: The current time, for quota resets given in seconds or not given at all (injected by tests).
    """

    def __init__(
        self,
        rules: Sequence[ErrorRule] = (),
        *,
        provider: str | None = None,
        read_body: BodyReader = common_error_body,
        fallback: Sequence[ErrorRule] = DEFAULT_RULES,
        quota_reset: QuotaReset = retry_after_reset,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.rules = tuple(rules)
        self.fallback = tuple(fallback)
        self.provider = provider
        self.read_body = read_body
        self.quota_reset = quota_reset
        self.now = now
        self._html_only: dict[int, bool] = {}

    @property
    def table(self) -> tuple[ErrorRule, ...]:
        """Every row in the order they are consulted: the provider's, then the fallback."""
        return self.rules + self.fallback

    def with_rules(self, rules: Sequence[ErrorRule], **changes: Any) -> RuleClassifier:
        """A classifier with other rows (and other options), e.g. for a provider's token endpoint."""
        options: dict[str, Any] = {
            "provider": self.provider,
            "read_body": self.read_body,
            "fallback": self.fallback,
            "quota_reset": self.quota_reset,
            "now": self.now,
        }
        options.update(changes)
        return RuleClassifier(rules, **options)

    def facts(self, response: requests.Response) -> ErrorFacts:
        """What the rows look at in ``response``."""
        payload = json_payload(response)
        found = self.read_body(payload) if payload is not None else None
        return ErrorFacts(response.status_code, _body_kinds(response, payload, found), found, response.headers)

    def _plainly_fine(self, response: requests.Response) -> bool:
        """Whether the answer is a success no row can match, known without decoding its body.

        The fast path of most answers: every row for this status asks for an HTML page, and this is not one.
        The caller decodes the body once, afterwards.
        """
        status = response.status_code
        html_only = self._html_only.get(status)
        if html_only is None:
            applying = [rule for rule in self.table if status in rule.statuses]
            html_only = all(rule.body == "html" for rule in applying)
            self._html_only[status] = html_only
        return html_only and not (response.content.strip() and is_html(response))

    def rule_for(self, facts: ErrorFacts) -> ErrorRule | None:
        """The first row that matches, or None."""
        return next((rule for rule in self.table if rule.matches(facts)), None)

    def __call__(self, response: requests.Response) -> ConnectorError | None:
        """Return the error ``response`` stands for, or None when it is a success."""
        if self._plainly_fine(response):
            return None
        facts = self.facts(response)
        rule = self.rule_for(facts)
        if rule is None:
            return None
        evidence = response_evidence(response)
        if facts.body is not None and facts.body.code is not None:
            evidence["code"] = facts.body.code
        return self.build(rule, facts.message, evidence, response)

    def classify_body(self, payload: Any, **evidence: Any) -> ConnectorError | None:
        """Classify a provider error shape found inside a successful answer (one item of a batch, say).

        Args:
            payload: The decoded error object.
            **evidence: ``status``, ``body_excerpt``, ``request_id`` of the answer that carried it.

        Returns:
            The error, or None when ``payload`` is not the provider's error shape or no row matches it.
        """
        found = self.read_body(payload)
        if found is None:
            return None
        status = evidence.get("status") or 200
        from requests.structures import CaseInsensitiveDict  # a body read without an answer: no headers

        facts = ErrorFacts(status, frozenset({"json", "error"}), found, CaseInsensitiveDict())
        rule = self.rule_for(facts)
        if rule is None:
            return None
        evidence["code"] = found.code
        return self.build(rule, found.message, evidence, None)

    def build(
        self, rule: ErrorRule, message: str, evidence: dict[str, Any], response: requests.Response | None
    ) -> ConnectorError:
        """Build ``rule``'s error with its evidence and what its flags need (``retry_after``, ``resets_at``)."""
        if self.provider is not None:
            evidence["provider"] = self.provider
        text = f"{rule.meaning}: {message}" if message else rule.meaning
        error_type = rule.error
        headers = response.headers if response is not None else {}
        if issubclass(error_type, RateLimited):
            return error_type(text, retry_after=parse_retry_after(headers.get("Retry-After")), **evidence)
        if issubclass(error_type, QuotaExceeded):
            resets_at = self.quota_reset(response, self.now()) if response is not None else None
            return error_type(text, resets_at=resets_at, **evidence)
        return error_type(text, **evidence)


default_classifier = RuleClassifier()
"""The core's table alone: what an adapter whose provider has no error vocabulary of its own uses."""
