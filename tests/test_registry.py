"""Adapters are found by entry point, lazily, by name, with a helpful error for a wrong name or config."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lms_connectors.adapter import Adapter
from lms_connectors.errors import ConfigurationError
from lms_connectors.registry import available_adapters, create_adapter, load_adapter_class


def test_installed_adapters_are_listed_without_importing_them() -> None:
    code = (
        "import sys\n"
        "from lms_connectors.registry import available_adapters\n"
        "names = [a.name for a in available_adapters()]\n"
        "print(','.join(names))\n"
        "print(','.join(sorted(m for m in sys.modules if m.startswith('lms_connectors_') or m == 'acme_lms_connector')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert {"google_calendar", "moodle", "zoom", "acme_lms"} <= set(out[0].split(","))
    assert out[1] == ""  # listing imported no adapter package
    assert {a.name: a.distribution for a in available_adapters()}["zoom"] == "lms-connectors-zoom"


def test_an_adapter_is_loaded_by_name() -> None:
    loaded = load_adapter_class("moodle")
    assert issubclass(loaded, Adapter) and loaded.name == "moodle"


def test_an_unknown_name_says_what_is_installed_and_what_was_meant() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_adapter_class("zoon")
    message = caught.value.message
    assert "Did you mean 'zoom'?" in message and "google_calendar" in message and "lms_connectors.adapters" in message


def test_a_wrong_configuration_names_each_wrong_field() -> None:
    with pytest.raises(ConfigurationError) as caught:
        create_adapter("moodle", {"base_url": "https://moodle.example.edu", "max_input_vars": "many"})
    assert caught.value.provider == "moodle"
    assert "token" in caught.value.message and "max_input_vars" in caught.value.message


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("google", "'google_calendar'"), ("mooodle", "'moodle'"), ("Zoom", "'zoom'"), ("microsoft", "'microsoft_graph'")],
)
def test_suggestions_are_by_similarity(typed: str, meant: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        create_adapter(typed, {})
    assert f"Did you mean {meant}?" in caught.value.message


@pytest.mark.parametrize("typed", ["google", "canvas", "teams"])
def test_no_dissimilar_adapter_is_suggested(typed: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        create_adapter(typed, {})
    assert "moodle'?" not in caught.value.message and "zoom'?" not in caught.value.message
    if typed != "google":
        assert "Did you mean" not in caught.value.message


@pytest.mark.parametrize("config", ["zoom.json", Path("zoom.json"), ["base_url"], None])
def test_a_configuration_that_is_not_a_mapping_is_a_typed_error(config: Any) -> None:
    with pytest.raises(ConfigurationError, match="must be a mapping of settings") as caught:
        create_adapter("zoom", config)
    if isinstance(config, str | Path):
        assert "json.loads(Path('zoom.json').read_text())" in caught.value.message


@pytest.mark.parametrize("url", ["moodle.example.edu", "//moodle.example.edu", "ftp://moodle.example.edu", "https://"])
def test_a_moodle_base_url_without_a_scheme_or_host_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match=r"base_url: .*http\(s\) URL with a host"):
        create_adapter("moodle", {"base_url": url, "token": "0123456789abcdef"})
