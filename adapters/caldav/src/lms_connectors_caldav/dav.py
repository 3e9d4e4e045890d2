"""WebDAV and CalDAV XML: the request bodies the adapter sends and the checked shape of what servers answer.

Requests are built with :mod:`xml.etree.ElementTree`; answers are parsed with ``defusedxml`` (a server's XML is
untrusted input: no entity expansion, no external DTDs) into :class:`Multistatus`, whose accessors raise
:class:`~lms_connectors.errors.MalformedResponse` when the answer is not XML, is not a ``DAV:multistatus``, or
lacks what was asked for, so that no ``KeyError`` or ``AttributeError`` can leave the adapter.

References: RFC 4918 (WebDAV: PROPFIND, multistatus), RFC 5397 (current-user-principal), RFC 4791 (CalDAV:
calendar-home-set, calendar-query, calendar-multiget, free-busy-query, time ranges in UTC).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import unquote, urljoin, urlsplit
from xml.etree import ElementTree as ET  # builds requests only; answers go through defusedxml

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from lms_connectors.errors import MalformedResponse
from lms_connectors.http.redaction import redact_text

__all__ = [
    "CALDAV",
    "DAV",
    "DavResponse",
    "Multistatus",
    "calendar_multiget",
    "calendar_query",
    "error_conditions",
    "excerpt",
    "free_busy_query",
    "malformed",
    "mkcalendar",
    "normalise_href",
    "propfind",
    "qname",
    "utc_stamp",
]

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"

ET.register_namespace("d", DAV)
ET.register_namespace("c", CALDAV)

_EXCERPT_CHARS = 300


def qname(namespace: str, name: str) -> str:
    """ElementTree's ``{namespace}name`` form of an XML name."""
    return f"{{{namespace}}}{name}"


def _serialise(root: ET.Element) -> bytes:
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def utc_stamp(moment: datetime) -> str:
    """An instant in CalDAV's time-range form: UTC, ``YYYYMMDDTHHMMSSZ`` (RFC 4791 9.9)."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def propfind(props: Iterable[tuple[str, str]]) -> bytes:
    """A ``DAV:propfind`` body asking for ``props`` (``(namespace, name)`` pairs)."""
    root = ET.Element(qname(DAV, "propfind"))
    prop = ET.SubElement(root, qname(DAV, "prop"))
    for namespace, name in props:
        ET.SubElement(prop, qname(namespace, name))
    return _serialise(root)


def _event_filter(parent: ET.Element, start: datetime, end: datetime) -> None:
    filters = ET.SubElement(parent, qname(CALDAV, "filter"))
    calendar = ET.SubElement(filters, qname(CALDAV, "comp-filter"), {"name": "VCALENDAR"})
    event = ET.SubElement(calendar, qname(CALDAV, "comp-filter"), {"name": "VEVENT"})
    ET.SubElement(event, qname(CALDAV, "time-range"), {"start": utc_stamp(start), "end": utc_stamp(end)})


def calendar_query(start: datetime, end: datetime, *, with_data: bool, expand: bool = False) -> bytes:
    """A ``calendar-query`` REPORT body: the VEVENTs overlapping ``[start, end)``.

    Args:
        start: Window start (any zone; sent in UTC).
        end: Window end.
        with_data: Ask for each resource's ``calendar-data`` too (else only its ``getetag``: a cheap listing of
            hrefs that :func:`calendar_multiget` then reads page by page).
        expand: Ask the server to expand recurring events into the window's instances (RFC 4791 9.6.5).
    """
    root = ET.Element(qname(CALDAV, "calendar-query"))
    prop = ET.SubElement(root, qname(DAV, "prop"))
    ET.SubElement(prop, qname(DAV, "getetag"))
    if with_data:
        data = ET.SubElement(prop, qname(CALDAV, "calendar-data"))
        if expand:
            ET.SubElement(data, qname(CALDAV, "expand"), {"start": utc_stamp(start), "end": utc_stamp(end)})
    _event_filter(root, start, end)
    return _serialise(root)


def calendar_multiget(hrefs: Sequence[str]) -> bytes:
    """A ``calendar-multiget`` REPORT body: ``getetag`` and ``calendar-data`` of each of ``hrefs``."""
    root = ET.Element(qname(CALDAV, "calendar-multiget"))
    prop = ET.SubElement(root, qname(DAV, "prop"))
    ET.SubElement(prop, qname(DAV, "getetag"))
    ET.SubElement(prop, qname(CALDAV, "calendar-data"))
    for href in hrefs:
        ET.SubElement(root, qname(DAV, "href")).text = href
    return _serialise(root)


def free_busy_query(start: datetime, end: datetime) -> bytes:
    """A ``free-busy-query`` REPORT body for ``[start, end)`` (RFC 4791 7.10)."""
    root = ET.Element(qname(CALDAV, "free-busy-query"))
    ET.SubElement(root, qname(CALDAV, "time-range"), {"start": utc_stamp(start), "end": utc_stamp(end)})
    return _serialise(root)


def mkcalendar(display_name: str) -> bytes:
    """An ``MKCALENDAR`` body (RFC 4791 5.3.1): a display name, and VEVENT as the only component type."""
    root = ET.Element(qname(CALDAV, "mkcalendar"))
    prop = ET.SubElement(ET.SubElement(root, qname(DAV, "set")), qname(DAV, "prop"))
    ET.SubElement(prop, qname(DAV, "displayname")).text = display_name
    components = ET.SubElement(prop, qname(CALDAV, "supported-calendar-component-set"))
    ET.SubElement(components, qname(CALDAV, "comp"), {"name": "VEVENT"})
    return _serialise(root)


def normalise_href(href: str, base_url: str) -> str:
    """An href as an absolute path, percent-decoded: servers answer paths or full URLs, encoded or not."""
    return unquote(urlsplit(urljoin(base_url, href.strip())).path)


def excerpt(content: bytes, secrets: Iterable[str] = ()) -> str:
    """The first characters of an XML body, whitespace collapsed and secrets redacted."""
    return redact_text(" ".join(content.decode("utf-8", errors="replace").split()), secrets)[:_EXCERPT_CHARS]


def malformed(
    message: str, *, what: str, provider: str, content: bytes | str, field: str | None = None,
    secrets: Iterable[str] = (),
) -> MalformedResponse:
    """The error for an XML answer of another shape than the one read: the operation, the element, an excerpt.

    Args:
        message: What was wrong.
        what: The operation (``"calendar-query"``), named as the error's endpoint.
        provider: The adapter's name.
        content: The answer's body (or the part of it at fault), for the excerpt; a ``str`` is an excerpt made.
        field: The element that was missing or wrong (``"response.href"``), ``None`` when the body is not XML.
        secrets: Known secret values to redact from the excerpt.
    """
    shown = content if isinstance(content, str) else excerpt(content, secrets)
    return MalformedResponse(
        f"{what}: {message}", provider=provider, endpoint=what, field=field, body_excerpt=shown,
        code="unexpected_shape" if field is not None else None,
    )


def _parse(content: bytes, what: str, provider: str, secrets: Iterable[str]) -> ET.Element:
    if not content.strip():
        raise malformed("empty answer where XML was expected", what=what, provider=provider, content=content)
    try:
        root: ET.Element = SafeET.fromstring(content)
    except (ET.ParseError, DefusedXmlException, ValueError) as exc:
        raise malformed(f"the answer is not well-formed XML ({exc})", what=what, provider=provider,
                        content=content, secrets=secrets) from None
    return root


def _status_code(element: ET.Element | None) -> int | None:
    """``HTTP/1.1 200 OK`` -> 200; ``None`` when absent or unreadable."""
    if element is None or not element.text:
        return None
    parts = element.text.split()
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


@dataclass(frozen=True)
class DavResponse:
    """One ``DAV:response`` of a multistatus.

    Attributes:
        href: The resource, as an absolute, percent-decoded path.
        status: The response-level status (a resource that is gone), if the server gave one.
        props: The properties found (status 200), by ``{namespace}name``.
        missing: Properties the server answered with another status (404: not defined there).
    """

    href: str
    status: int | None
    props: dict[str, ET.Element] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)
    excerpt: str = ""
    """The start of the response element as the server sent it (redacted), for an error about it."""

    def has(self, namespace: str, name: str) -> bool:
        """Whether the property was found."""
        return qname(namespace, name) in self.props

    def text(self, namespace: str, name: str, *, what: str, provider: str) -> str:
        """A property's text (``getetag``, ``calendar-data``).

        Raises:
            MalformedResponse: The property is missing or empty.
        """
        element = self.props.get(qname(namespace, name))
        if element is None or not (element.text or "").strip():
            raise malformed(f"{self.href} came back without {name}", what=what, provider=provider,
                            content=self.excerpt, field=f"response.propstat.prop.{name}")
        return element.text or ""

    def href_of(self, namespace: str, name: str, *, base_url: str, what: str, provider: str) -> str:
        """The ``DAV:href`` inside a property (``current-user-principal``, ``calendar-home-set``).

        Raises:
            MalformedResponse: The property or its href is missing.
        """
        element = self.props.get(qname(namespace, name))
        inner = element.find(qname(DAV, "href")) if element is not None else None
        if inner is None or not (inner.text or "").strip():
            raise malformed(f"{self.href} has no {name} href", what=what, provider=provider, content=self.excerpt,
                            field=f"response.propstat.prop.{name}.href")
        return normalise_href(inner.text or "", base_url)

    def resource_types(self) -> set[str]:
        """The ``{namespace}name`` of each child of ``DAV:resourcetype`` (``collection``, ``calendar``...)."""
        element = self.props.get(qname(DAV, "resourcetype"))
        return {child.tag for child in element} if element is not None else set()

    def component_names(self) -> set[str]:
        """``supported-calendar-component-set``'s component names (``VEVENT``...), empty when not given."""
        element = self.props.get(qname(CALDAV, "supported-calendar-component-set"))
        if element is None:
            return set()
        return {str(comp.get("name", "")).upper() for comp in element.findall(qname(CALDAV, "comp"))}


@dataclass(frozen=True)
class Multistatus:
    """A parsed ``DAV:multistatus`` answer (RFC 4918 13): one :class:`DavResponse` per resource."""

    responses: tuple[DavResponse, ...]

    @classmethod
    def parse(
        cls, content: bytes, *, base_url: str, what: str, provider: str, secrets: Iterable[str] = ()
    ) -> Multistatus:
        """Parse and check a multistatus body.

        Args:
            content: The raw answer body.
            base_url: The request's URL, to resolve relative hrefs.
            what: The operation, for error messages.
            provider: The adapter's name, for errors.
            secrets: Known secret values to redact from an error's excerpt.

        Raises:
            MalformedResponse: Not XML, not a multistatus, or a response without its href; it names the
                operation (``endpoint``) and the element (``field``), with a redacted excerpt of the body.
        """
        root = _parse(content, what, provider, secrets)
        if root.tag != qname(DAV, "multistatus"):
            raise malformed(f"expected a DAV:multistatus, got <{root.tag}>", what=what, provider=provider,
                            content=content, field="multistatus", secrets=secrets)
        responses = []
        for item in root.findall(qname(DAV, "response")):
            href = item.find(qname(DAV, "href"))
            if href is None or not (href.text or "").strip():
                raise malformed("a multistatus response without its href", what=what, provider=provider,
                                content=content, field="response.href", secrets=secrets)
            props: dict[str, ET.Element] = {}
            missing: dict[str, int] = {}
            for propstat in item.findall(qname(DAV, "propstat")):
                status = _status_code(propstat.find(qname(DAV, "status")))
                for prop in propstat.findall(qname(DAV, "prop")):
                    for element in prop:
                        if status == 200:
                            props[element.tag] = element
                        else:
                            missing[element.tag] = status if status is not None else 0
            responses.append(
                DavResponse(
                    href=normalise_href(href.text or "", base_url),
                    status=_status_code(item.find(qname(DAV, "status"))),
                    props=props,
                    missing=missing,
                    excerpt=excerpt(ET.tostring(item), secrets),
                )
            )
        return cls(tuple(responses))

    def only(self, *, what: str, provider: str) -> DavResponse:
        """The single response of a ``Depth: 0`` PROPFIND.

        Raises:
            MalformedResponse: The multistatus holds no response.
        """
        if not self.responses:
            raise malformed("the multistatus holds no response", what=what, provider=provider, content="",
                            field="response")
        return self.responses[0]


def error_conditions(content: bytes) -> set[str]:
    """The precondition names of a ``DAV:error`` body (``no-uid-conflict``, ``need-privileges``...), or nothing.

    RFC 4918 16 and RFC 4791 5.3.2.1 / 7.x: a refused request may say which precondition failed. Never raises:
    it reads error answers, where any body (HTML, text, nothing) is possible.
    """
    if not content.strip().startswith(b"<"):
        return set()
    try:
        root = SafeET.fromstring(content)
    except (ET.ParseError, DefusedXmlException, ValueError):
        return set()
    if root.tag != qname(DAV, "error"):
        return set()
    return {child.tag.rsplit("}", 1)[-1] for child in root}
