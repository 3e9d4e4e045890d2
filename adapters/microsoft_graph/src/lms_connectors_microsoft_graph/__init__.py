"""Microsoft Graph adapter for lms-connectors: Outlook calendar events, Teams links, rooms, Windows zones."""

from lms_connectors_microsoft_graph.adapter import DeltaPage, MicrosoftGraphAdapter
from lms_connectors_microsoft_graph.config import MicrosoftGraphConfig

__all__ = ["DeltaPage", "MicrosoftGraphAdapter", "MicrosoftGraphConfig"]
