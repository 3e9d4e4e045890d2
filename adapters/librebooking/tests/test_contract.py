"""The contract matrix of the LibreBooking adapter, replayed from cassettes recorded against a live LibreBooking."""

from lms_connectors.testing.contract import AdapterContract
from lms_connectors_librebooking.testing import LibreBookingHarness


class TestLibreBookingContract(AdapterContract):
    harness = LibreBookingHarness()
