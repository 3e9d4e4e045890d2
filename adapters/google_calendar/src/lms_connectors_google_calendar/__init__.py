"""Google Calendar adapter for lms-connectors: a session is an event on the organizer's calendar.

The adapter class is loaded through the ``lms_connectors.adapters`` entry point (name ``google_calendar``);
``from lms_connectors_google_calendar import GoogleCalendarAdapter`` imports the adapter's modules only then.
"""

from typing import TYPE_CHECKING

from lms_connectors.lazy import lazy_exports

if TYPE_CHECKING:
    from lms_connectors_google_calendar.adapter import GoogleCalendarAdapter
    from lms_connectors_google_calendar.config import GoogleCalendarConfig

__all__ = ["GoogleCalendarAdapter", "GoogleCalendarConfig"]

__version__ = "0.1.0"

# Imported on first use, so that importing the package (entry-point discovery does) loads none of the adapter.
__getattr__, __dir__ = lazy_exports(__name__, {"GoogleCalendarAdapter": ".adapter", "GoogleCalendarConfig": ".config"})
