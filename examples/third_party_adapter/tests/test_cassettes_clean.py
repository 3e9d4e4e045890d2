"""No cassette of this adapter holds a secret: credentials, tokens, or the placeholders used while recording."""

from pathlib import Path

import pytest
from acme_lms_connector.testing import AcmeLmsHarness

from lms_connectors.testing.contract import CASES
from lms_connectors.testing.vcr import scan_for_secrets

CASSETTES = Path(__file__).parent / "cassettes" / AcmeLmsHarness.adapter_name


def test_every_case_has_a_cassette() -> None:
    assert sorted(p.stem for p in CASSETTES.glob("*.yaml")) == sorted(CASES)
    assert (CASSETTES / "README.md").is_file()


@pytest.mark.parametrize("cassette", sorted(CASSETTES.glob("*.yaml")), ids=lambda p: p.stem)
def test_cassette_holds_no_secret(cassette: Path) -> None:
    assert scan_for_secrets(cassette, AcmeLmsHarness().secret_values()) == []
    assert "127.0.0.1" not in cassette.read_text()
