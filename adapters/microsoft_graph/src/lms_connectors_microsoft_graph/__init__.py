"""Microsoft Graph adapter for lms-connectors: Outlook calendar events, Teams links, rooms, Windows zones."""

from typing import TYPE_CHECKING

from lms_connectors.lazy import lazy_exports

if TYPE_CHECKING:
    from lms_connectors_microsoft_graph.adapter import DeltaPage, MicrosoftGraphAdapter
    from lms_connectors_microsoft_graph.config import MicrosoftGraphConfig

__all__ = ["DeltaPage", "MicrosoftGraphAdapter", "MicrosoftGraphConfig"]

# Imported on first use, so that importing the package (entry-point discovery does) loads none of the adapter.
__getattr__, __dir__ = lazy_exports(
    __name__, {"DeltaPage": ".adapter", "MicrosoftGraphAdapter": ".adapter", "MicrosoftGraphConfig": ".config"}
)
