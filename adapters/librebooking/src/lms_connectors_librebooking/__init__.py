"""LibreBooking adapter for lms-connectors: a session's room is a LibreBooking reservation.

Talks to LibreBooking's REST API (``<site>/Web/Services/index.php``) with a session token. See
:class:`~lms_connectors_librebooking.adapter.LibreBookingAdapter`.
"""

from typing import TYPE_CHECKING

from lms_connectors.lazy import lazy_exports

if TYPE_CHECKING:
    from lms_connectors_librebooking.adapter import LibreBookingAdapter
    from lms_connectors_librebooking.config import LibreBookingConfig

__all__ = ["LibreBookingAdapter", "LibreBookingConfig"]

# Imported on first use, so that importing the package (entry-point discovery does) loads none of the adapter.
__getattr__, __dir__ = lazy_exports(__name__, {"LibreBookingAdapter": ".adapter", "LibreBookingConfig": ".config"})
