"""LibreBooking adapter for lms-connectors: a session's room is a LibreBooking reservation.

Talks to LibreBooking's REST API (``<site>/Web/Services/index.php``) with a session token. See
:class:`~lms_connectors_librebooking.adapter.LibreBookingAdapter`.
"""

__all__: list[str] = []
