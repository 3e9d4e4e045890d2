"""Find the calendar collection that holds the sessions, as a CalDAV client does (RFC 6764, RFC 5397, RFC 4791 6).

1. ``PROPFIND /.well-known/caldav`` (``Depth: 0``) for ``current-user-principal``; servers answer there or redirect
   to their context path (Radicale: ``/``, Nextcloud: ``/remote.php/dav/``, iCloud: a partition host). A
   redirected PROPFIND loses its body in ``requests`` (it is read as ``allprop``), so when the answer lacks the
   property it is asked for again at the URL the redirects ended on. A ``base_url`` with a path is taken as the
   context path itself (no well-known look-up).
2. ``PROPFIND <principal>`` for ``calendar-home-set``.
3. ``PROPFIND <home>/<calendar>/`` for ``resourcetype`` and ``supported-calendar-component-set``: it must be a
   calendar that takes VEVENTs.

``calendar_url`` in the configuration skips steps 1 and 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from lms_connectors.errors import ConfigurationError, NotFound
from lms_connectors.http.transport import HttpTransport
from lms_connectors_caldav.dav import CALDAV, DAV, Multistatus, normalise_href, propfind, qname
from lms_connectors_caldav.ical import PROVIDER

__all__ = ["CalendarLocation", "DavClient", "check_calendar", "discover_calendar", "find_home", "find_principal"]

_SAFE_PATH = "/:@!$&'()*+,;=-._~"


@dataclass(frozen=True)
class DavClient:
    """The adapter's transport plus the server's origin: turns absolute paths into URLs and sends DAV requests."""

    transport: HttpTransport
    origin: str

    @classmethod
    def for_base_url(cls, transport: HttpTransport, base_url: str) -> DavClient:
        """A client on the origin (scheme and host) of ``base_url``."""
        parts = urlsplit(base_url)
        return cls(transport, f"{parts.scheme}://{parts.netloc}")

    def url(self, path: str) -> str:
        """The URL of an absolute (percent-decoded) path on this server."""
        return self.origin + quote(path if path.startswith("/") else "/" + path, safe=_SAFE_PATH)

    def propfind(self, url: str, props: list[tuple[str, str]], *, operation: str) -> tuple[Multistatus, str]:
        """``PROPFIND`` with ``Depth: 0``; returns the parsed answer and the URL it came from (after redirects)."""
        response = self.transport.request(
            "PROPFIND",
            url,
            data=propfind(props),
            headers={"Depth": "0", "Content-Type": "application/xml; charset=utf-8"},
            operation=operation,
        )
        final_url = response.url or url
        return Multistatus.parse(
            response.content, base_url=final_url, what=operation, provider=PROVIDER,
            secrets=self.transport.secrets(),
        ), final_url


@dataclass(frozen=True)
class CalendarLocation:
    """Where the sessions live.

    Attributes:
        principal: The account's principal (``None`` when ``calendar_url`` was configured).
        home: Its calendar home (``None`` likewise).
        calendar: The calendar collection, an absolute path ending in ``/``.
        display_name: The collection's display name, when it has one.
    """

    principal: str | None
    home: str | None
    calendar: str
    display_name: str | None = None


def find_principal(client: DavClient, base_url: str) -> str:
    """The account's principal: ``current-user-principal`` at the context path (steps 1 above)."""
    path = urlsplit(base_url).path
    start = base_url if path not in ("", "/") else client.url("/.well-known/caldav")
    wanted = [(DAV, "current-user-principal")]
    try:
        answer, landed = client.propfind(start, wanted, operation="discover principal")
    except NotFound:
        if start == base_url:
            raise
        # No well-known redirect (RFC 6764 6 lets clients fall back to the server root).
        answer, landed = client.propfind(client.url("/"), wanted, operation="discover principal")
    found = answer.only(what="discover principal", provider=PROVIDER)
    if not found.has(DAV, "current-user-principal"):
        answer, landed = client.propfind(landed, wanted, operation="discover principal")
        found = answer.only(what="discover principal", provider=PROVIDER)
    return found.href_of(DAV, "current-user-principal", base_url=landed, what="discover principal",
                         provider=PROVIDER)


def find_home(client: DavClient, principal: str) -> str:
    """The principal's ``calendar-home-set`` (step 2 above)."""
    answer, landed = client.propfind(client.url(principal), [(CALDAV, "calendar-home-set")],
                                     operation="discover calendar home")
    found = answer.only(what="discover calendar home", provider=PROVIDER)
    return found.href_of(CALDAV, "calendar-home-set", base_url=landed, what="discover calendar home",
                         provider=PROVIDER)


def check_calendar(client: DavClient, calendar: str) -> str | None:
    """Check that ``calendar`` is a calendar collection taking VEVENTs; return its display name.

    Raises:
        ConfigurationError: It does not exist, is not a calendar, or does not take events.
    """
    props = [(DAV, "resourcetype"), (DAV, "displayname"), (CALDAV, "supported-calendar-component-set")]
    try:
        answer, _ = client.propfind(client.url(calendar), props, operation="check calendar")
    except NotFound:
        raise ConfigurationError(
            f"no calendar collection at {calendar}: create it in a calendar client (or with "
            "CalDavAdapter.ex_make_calendar), or set calendar_url",
            provider=PROVIDER,
        ) from None
    found = answer.only(what="check calendar", provider=PROVIDER)
    if qname(CALDAV, "calendar") not in found.resource_types():
        raise ConfigurationError(f"{calendar} is not a calendar collection", provider=PROVIDER)
    components = found.component_names()
    if components and "VEVENT" not in components:
        raise ConfigurationError(
            f"calendar {calendar} takes {', '.join(sorted(components))}, not events (VEVENT)", provider=PROVIDER
        )
    name = found.props.get(qname(DAV, "displayname"))
    return (name.text or None) if name is not None else None


def discover_calendar(client: DavClient, *, base_url: str, calendar: str, calendar_url: str | None) -> CalendarLocation:
    """Find and check the sessions' calendar collection.

    :calls: ``PROPFIND /.well-known/caldav`` (and again where it redirected, if the property was lost),
        ``PROPFIND <principal>``, ``PROPFIND <calendar>``; only the last with ``calendar_url``.

    Raises:
        ConfigurationError: The calendar does not exist or takes no events.
        MalformedResponse: An answer lacks the property discovery asked for.
    """
    if calendar_url is not None:
        path = normalise_href(calendar_url, client.origin + "/")
        path = path if path.endswith("/") else path + "/"
        return CalendarLocation(None, None, path, check_calendar(client, path))
    principal = find_principal(client, base_url)
    home = find_home(client, principal)
    path = (home if home.endswith("/") else home + "/") + calendar + "/"
    return CalendarLocation(principal, home, path, check_calendar(client, path))
