"""Adapter packages export their classes through lms_connectors.lazy: the same objects, imported on first use."""

from __future__ import annotations

import importlib

import pytest

from lms_connectors.adapter import Adapter
from lms_connectors.http.settings import TransportSettings

PACKAGES = {
    "lms_connectors_caldav": ("CalDavAdapter", "CalDavConfig"),
    "lms_connectors_canvas": ("CanvasAdapter", "CanvasConfig"),
    "lms_connectors_google_calendar": ("GoogleCalendarAdapter", "GoogleCalendarConfig"),
    "lms_connectors_librebooking": ("LibreBookingAdapter", "LibreBookingConfig"),
    "lms_connectors_microsoft_graph": ("MicrosoftGraphAdapter", "MicrosoftGraphConfig"),
    "lms_connectors_moodle": ("MoodleAdapter", "MoodleConfig"),
    "lms_connectors_zoom": ("ZoomAdapter", "ZoomConfig"),
}


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_a_package_exports_its_adapter_and_config_classes(package: str) -> None:
    adapter_name, config_name = PACKAGES[package]
    module = importlib.import_module(package)
    adapter, config = getattr(module, adapter_name), getattr(module, config_name)
    assert adapter is importlib.import_module(f"{package}.adapter").__dict__[adapter_name]
    assert config is importlib.import_module(f"{package}.config").__dict__[config_name]
    assert issubclass(adapter, Adapter) and issubclass(config, TransportSettings)
    assert {adapter_name, config_name} <= set(module.__all__) <= set(dir(module))


def test_an_unknown_name_is_an_attribute_error() -> None:
    module = importlib.import_module("lms_connectors_zoom")
    with pytest.raises(AttributeError, match="has no attribute 'ZoomAdaptor'"):
        module.ZoomAdaptor  # noqa: B018 - the read is the test
    assert not hasattr(module, "ZoomAdaptor")
