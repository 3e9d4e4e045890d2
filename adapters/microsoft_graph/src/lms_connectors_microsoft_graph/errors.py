"""Classify Microsoft Graph's error answers into the SDK's error tree: a table of rows before the core's.

Graph answers errors with a JSON body of this shape (Outlook puts ``request-id`` in ``innerError`` and in the
``request-id`` header)::

    {"error": {"code": "ErrorItemNotFound", "message": "The specified object was not found in the store.",
               "innerError": {"date": "...", "request-id": "...", "client-request-id": "..."}}}

Facts behind the rows: ``ErrorIrresolvableConflict`` comes with 412 (a stale ``changeKey`` in ``If-Match``,
reported on creates too); ``ApplicationThrottled`` with "MailboxConcurrency" in its message is the
4-concurrent-requests-per-mailbox limit (429); ``ConcurrentItemSave`` is a 503 after which a create may or may
not have been saved; ``Retry-After`` may be fractional (``2.128``); an unknown organizer is ``ErrorInvalidUser``
(404), which must never read as "the event is already gone". The README lists the table.
"""

from __future__ import annotations

from lms_connectors.errors import (
    AuthError,
    ConfigurationError,
    Conflict,
    CursorExpired,
    InvalidRequest,
    MalformedResponse,
    NotFound,
    PermissionDenied,
    RateLimited,
    TransientError,
)
from lms_connectors.http.classify import ErrorRule, GatewayErrorPage, RuleClassifier

__all__ = ["LOGIN_RULES", "RULES", "classify_graph_response", "classify_login_response"]

PROVIDER = "microsoft_graph"
_SERVER_FAILURES = frozenset({500, 502, 503, 504})
_RETRY_AFTER_GIVEN = ("Retry-After", r"^\s*\d")

RULES: tuple[ErrorRule, ...] = (
    # An HTML page on a 4xx means something other than Graph answered (a wrong base URL, a proxy).
    ErrorRule(MalformedResponse, "a 4xx answered with an HTML page, not Graph's JSON",
              status=frozenset(range(400, 500)) - {429}, body="html"),
    ErrorRule(RateLimited, "too many concurrent requests to this mailbox (Outlook allows 4 per app and mailbox)",
              status={429, 503}, message="MailboxConcurrency"),
    ErrorRule(RateLimited, "Graph throttled the call", status={429}),
    ErrorRule(RateLimited, "Graph is busy and asks to back off", status={503, 504}, header=_RETRY_AFTER_GIVEN),
    # The item may have been saved: the transport does not resend a create, the adapter looks it up by key.
    ErrorRule(TransientError, "Outlook was saving the item concurrently; it may have been saved",
              status={409, 503}, codes={"ConcurrentItemSave"}),
    ErrorRule(Conflict, "the event changed since it was read (stale changeKey)", status={409, 412},
              codes={"ErrorIrresolvableConflict"}),
    ErrorRule(AuthError, "Graph refused the access token", status={401}, refresh=True),
    ErrorRule(ConfigurationError, "the organizer mailbox is not a mailbox user of this tenant", status={400, 404},
              codes={"ErrorInvalidUser", "MailboxNotEnabledForRESTAPI", "ErrorMailboxNotFound"}),
    ErrorRule(PermissionDenied, "the application may not do this (permissions or an application access policy)",
              status={403}),
    ErrorRule(InvalidRequest, "the id is not one Graph issues", status={400}, codes={"ErrorInvalidIdMalformed"}),
    # A delta link Graph no longer accepts: the feed starts a new round (any other 410 is a missing object).
    ErrorRule(CursorExpired, "the delta link has expired: a new delta round is needed", status={410},
              codes={"SyncStateNotFound", "syncStateNotFound", "resyncRequired", "fullSyncRequired"}),
    ErrorRule(NotFound, "the event does not exist (deleted, or never made)", status={404, 410}),
)
"""Graph's rows, first match wins; the core's rows (400, 409, 412, 5xx, ...) come after them."""

classify_graph_response = RuleClassifier(RULES, provider=PROVIDER)
"""The transport's classifier for Graph."""

LOGIN_RULES: tuple[ErrorRule, ...] = (
    ErrorRule(RateLimited, "the identity platform throttled the token request", status={429}),
    ErrorRule(GatewayErrorPage, "a gateway answered the token request with an HTML page", status=_SERVER_FAILURES,
              body="html"),
    ErrorRule(TransientError, "the identity platform failed; a later token request may succeed",
              status=_SERVER_FAILURES),
)
"""The identity platform's rows: throttling and server failures are the transport's to retry. Every other answer
(OAuth refusals such as ``invalid_client`` included) goes back to msal, which reads ``error_description``."""

classify_login_response = RuleClassifier(LOGIN_RULES, provider=PROVIDER, fallback=())
"""The transport's classifier for the identity platform (msal's requests)."""
