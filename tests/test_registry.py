"""Adapters are found by entry point, lazily, by name, with a helpful error for a wrong name or config."""

from __future__ import annotations

import subprocess
import sys

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
