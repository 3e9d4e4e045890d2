"""Moodle adapter for lms-connectors: a session is a course calendar event plus a course group.

Talks to Moodle's web services over the REST protocol (``/webservice/rest/server.php``). See
:class:`~lms_connectors_moodle.adapter.MoodleAdapter`.
"""

__all__: list[str] = []
