"""Zoom adapter for lms-connectors: a session is a scheduled Zoom meeting, its roster the meeting's registrants.

The adapter class is loaded through the ``lms_connectors.adapters`` entry point (name ``zoom``);
``from lms_connectors_zoom import ZoomAdapter`` imports the adapter's modules only then.
"""

from typing import TYPE_CHECKING

from lms_connectors.lazy import lazy_exports

if TYPE_CHECKING:
    from lms_connectors_zoom.adapter import ZoomAdapter
    from lms_connectors_zoom.config import ZoomConfig

__all__ = ["ZoomAdapter", "ZoomConfig"]

__version__ = "0.1.0"

# Imported on first use, so that importing the package (entry-point discovery does) loads none of the adapter.
__getattr__, __dir__ = lazy_exports(__name__, {"ZoomAdapter": ".adapter", "ZoomConfig": ".config"})
