from lms_connectors.testing.contract import AdapterContract
from lms_connectors_moodle.testing import MoodleHarness


class TestMoodleContract(AdapterContract):
    harness = MoodleHarness()
