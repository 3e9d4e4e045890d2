"""Google Calendar adapter for lms-connectors: a session is an event on the organizer's calendar.

The adapter class is loaded through the ``lms_connectors.adapters`` entry point (name ``google_calendar``);
import :mod:`lms_connectors_google_calendar.adapter` directly only when you need the class itself.
"""

__version__ = "0.1.0"
