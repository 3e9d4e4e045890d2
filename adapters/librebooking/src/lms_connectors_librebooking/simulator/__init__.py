"""A LibreBooking simulator for tests, the demo and the contract kit, modelled on a live LibreBooking 2.9.

It answers what a live site answered (the recordings in the adapter's ``tests/recordings`` are replayed against
it by ``tests/test_fidelity.py``), fragile behaviour included: HTML 500 pages for a missing key, empty 200 answers
for PHP fatal errors, a 500 that stored the reservation, updates that replace, instants with ``T`` and no offset
read as UTC, single reads in the reader's zone and lists in UTC, administrators above the rooms' rules.
"""

from lms_connectors_librebooking.simulator.server import LibreBookingSimulator

__all__ = ["LibreBookingSimulator"]
