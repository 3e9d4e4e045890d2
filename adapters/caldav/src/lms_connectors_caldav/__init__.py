"""CalDAV (RFC 4791) calendar adapter for lms-connectors: sessions as VEVENT resources in a calendar collection."""

from typing import TYPE_CHECKING

from lms_connectors.lazy import lazy_exports

if TYPE_CHECKING:
    from lms_connectors_caldav.adapter import CalDavAdapter
    from lms_connectors_caldav.config import CalDavConfig

__all__ = ["CalDavAdapter", "CalDavConfig"]

# Imported on first use, so that importing the package (entry-point discovery does) loads none of the adapter.
__getattr__, __dir__ = lazy_exports(__name__, {"CalDavAdapter": ".adapter", "CalDavConfig": ".config"})
