"""CalDAV (RFC 4791) calendar adapter for lms-connectors: sessions as VEVENT resources in a calendar collection."""

from lms_connectors_caldav.adapter import CalDavAdapter
from lms_connectors_caldav.config import CalDavConfig

__all__ = ["CalDavAdapter", "CalDavConfig"]
