"""Canvas LMS adapter for lms-connectors: a session is a course calendar event, its roster a course section.

The adapter class is loaded through the ``lms_connectors.adapters`` entry point (name ``canvas``); import
:mod:`lms_connectors_canvas.adapter` directly only when you need the class itself.
"""

__version__ = "0.1.0"
