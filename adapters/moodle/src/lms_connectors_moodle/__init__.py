"""Moodle adapter for lms-connectors: a session is a course calendar event plus a course group.

Talks to Moodle's web services over the REST protocol (``/webservice/rest/server.php``). See
:class:`~lms_connectors_moodle.adapter.MoodleAdapter`.
"""

from typing import TYPE_CHECKING

from lms_connectors.lazy import lazy_exports

if TYPE_CHECKING:
    from lms_connectors_moodle.adapter import MoodleAdapter
    from lms_connectors_moodle.config import MoodleConfig

__all__ = ["MoodleAdapter", "MoodleConfig"]

# Imported on first use, so that importing the package (entry-point discovery does) loads none of the adapter.
__getattr__, __dir__ = lazy_exports(__name__, {"MoodleAdapter": ".adapter", "MoodleConfig": ".config"})
