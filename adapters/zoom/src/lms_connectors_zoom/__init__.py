"""Zoom adapter for lms-connectors: a session is a scheduled Zoom meeting, its roster the meeting's registrants.

The adapter class is loaded through the ``lms_connectors.adapters`` entry point (name ``zoom``); import
:mod:`lms_connectors_zoom.adapter` directly only when you need the class itself.
"""

__version__ = "0.1.0"
