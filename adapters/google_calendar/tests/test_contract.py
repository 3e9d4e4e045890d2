from lms_connectors.testing.contract import AdapterContract
from lms_connectors_google_calendar.testing import GoogleCalendarHarness


class TestGoogleCalendarContract(AdapterContract):
    harness = GoogleCalendarHarness()
