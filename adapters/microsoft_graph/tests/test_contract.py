from lms_connectors.testing.contract import AdapterContract
from lms_connectors_microsoft_graph.testing import MicrosoftGraphHarness


class TestMicrosoftGraphContract(AdapterContract):
    harness = MicrosoftGraphHarness()
