"""lms-connectors: schedule training sessions across LMSs, calendars, meeting platforms and room booking.

One session-centric interface for instructor-led and virtual sessions.

Import what you need from the submodules; this package stays light so that ``import lms_connectors`` is fast.
"""

__version__ = "0.1.0"
