"""Checks of a Zoom configuration for ``lms-connectors doctor`` (see ``ZoomAdapter.diagnose``).

Each check reads only. Functions take the adapter's parts, not the adapter, so that this module and the adapter
do not import each other.
"""

from __future__ import annotations

from urllib.parse import quote

from lms_connectors.adapter import DiagnosticCheck
from lms_connectors.http.auth import OAuthTokenAuth
from lms_connectors.http.transport import HttpTransport
from lms_connectors_zoom.answers import HostUser

__all__ = ["USER_TYPES", "daily_quota", "host_user", "token_scopes"]

USER_TYPES = {1: "Basic", 2: "Licensed", 4: "Unassigned without Meetings Basic", 99: "None"}
"""Zoom's user ``type`` values; only a Licensed host's meetings take registrants."""

_NEEDED = {"meeting:read": "read meetings and registrants", "meeting:write": "create meetings and registrants"}
"""Scope prefixes the adapter needs: the classic ``meeting:write:admin`` and the granular
``meeting:write:meeting:admin`` (and their ``read`` twins) both start with them."""


def token_scopes(auth: OAuthTokenAuth) -> DiagnosticCheck:
    """Whether the app's token carries meeting read and write scopes (run after the credentials check)."""
    granted = auth.granted_scopes
    if granted is None:
        return DiagnosticCheck.of("scopes", True, "Zoom did not list the token's scopes")
    missing = [what for prefix, what in _NEEDED.items() if not any(s.startswith(prefix) for s in granted)]
    if missing:
        return DiagnosticCheck.of("scopes", False, "add scopes to the app to " + " and ".join(missing))
    return DiagnosticCheck.of("scopes", True, " ".join(granted))


def host_user(transport: HttpTransport, user_id: str) -> DiagnosticCheck:
    """Whether the host exists, is active and is licensed (a Basic user's meetings take no registrants).

    :calls: ``GET /users/{userId}``
    """

    def read() -> tuple[bool, str]:
        user = transport.request_checked("GET", f"/users/{quote(user_id, safe='@')}", HostUser, operation="get user")
        kind = user.type
        label = USER_TYPES.get(kind, f"type {kind}") if kind is not None else "type unknown"
        who = f"{user.email or user_id}: {label}, {user.status or 'unknown status'}"
        if kind != 2:
            return False, f"{who}; registration (the roster) needs a Licensed host"
        return user.status == "active", who

    return DiagnosticCheck.probe("host user", read)


def daily_quota(remaining: int | None) -> DiagnosticCheck:
    """The host's daily meeting create/update calls left, as Zoom last reported them.

    Zoom reports the allowance only on the answers of those calls, so it is unknown until the first of them.
    """
    if remaining is None:
        return DiagnosticCheck.of("daily quota", True, "unknown until the first meeting create or update")
    if remaining == 0:
        return DiagnosticCheck.of("daily quota", False, "no meeting create/update left today (resets 00:00 UTC)")
    return DiagnosticCheck.of("daily quota", True, f"{remaining} meeting create/update call(s) left today")
