"""lms-connectors: schedule instructor-led and virtual training sessions across LMSs, calendars, meeting
platforms and room-booking systems, through one session-centric interface.

Import what you need from the submodules; this package stays light so that ``import lms_connectors`` is fast.
"""

__version__ = "0.1.0"
