"""The acceptance matrix of lms-connectors, run against the Canvas adapter's cassettes (``cassettes/canvas/``)."""

from lms_connectors.testing.contract import AdapterContract
from lms_connectors_canvas.testing import CanvasHarness


class TestCanvasContract(AdapterContract):
    harness = CanvasHarness()
