"""Canvas LMS adapter for lms-connectors: a session is a course calendar event, its roster a course section.

The adapter class is loaded through the ``lms_connectors.adapters`` entry point (name ``canvas``);
``from lms_connectors_canvas import CanvasAdapter`` imports the adapter's modules only then.
"""

from typing import TYPE_CHECKING

from lms_connectors.lazy import lazy_exports

if TYPE_CHECKING:
    from lms_connectors_canvas.adapter import CanvasAdapter
    from lms_connectors_canvas.config import CanvasConfig

__all__ = ["CanvasAdapter", "CanvasConfig"]

__version__ = "0.1.0"

# Imported on first use, so that importing the package (entry-point discovery does) loads none of the adapter.
__getattr__, __dir__ = lazy_exports(__name__, {"CanvasAdapter": ".adapter", "CanvasConfig": ".config"})
