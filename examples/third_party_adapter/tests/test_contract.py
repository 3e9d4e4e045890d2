"""The acceptance matrix of lms-connectors, run against the Acme LMS adapter's cassettes (``cassettes/acme_lms/``)."""

from acme_lms_connector.testing import AcmeLmsHarness

from lms_connectors.testing.contract import AdapterContract


class TestAcmeLmsContract(AdapterContract):
    harness = AcmeLmsHarness()
