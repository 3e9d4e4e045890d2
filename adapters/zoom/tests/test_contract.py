from lms_connectors.testing.contract import AdapterContract
from lms_connectors_zoom.testing import ZoomHarness


class TestZoomContract(AdapterContract):
    harness = ZoomHarness()
