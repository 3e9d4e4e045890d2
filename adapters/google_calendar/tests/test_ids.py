import hashlib

import pytest

from lms_connectors_google_calendar.ids import (
    conference_request_id,
    event_id_for_key,
    is_valid_event_id,
)

BASE32HEX = "0123456789abcdefghijklmnopqrstuv"


def reference_base32hex(data: bytes) -> str:
    # RFC 4648 section 7 by hand: 5-bit groups, the last one padded with zero bits, no "=" padding.
    bits = "".join(f"{byte:08b}" for byte in data)
    bits += "0" * (-len(bits) % 5)
    return "".join(BASE32HEX[int(bits[i : i + 5], 2)] for i in range(0, len(bits), 5))


@pytest.mark.parametrize("key", ["s-1.google_calendar.g1", "x", "é-unicode.google_calendar.g12"])
def test_event_id_is_base32hex_of_the_sha256_of_the_key(key: str) -> None:
    event_id = event_id_for_key(key)
    assert event_id == reference_base32hex(hashlib.sha256(key.encode()).digest())
    assert len(event_id) == 52
    assert set(event_id) <= set(BASE32HEX)
    assert is_valid_event_id(event_id)


def test_event_id_is_stable_and_changes_with_the_generation() -> None:
    assert event_id_for_key("s-1.google_calendar.g1") == event_id_for_key("s-1.google_calendar.g1")
    assert event_id_for_key("s-1.google_calendar.g1") != event_id_for_key("s-1.google_calendar.g2")


@pytest.mark.parametrize(
    ("value", "valid"),
    [("abcde", True), ("abcd", False), ("0123456789abcdefghijklmnopqrstuv", True), ("abcdw", False),
     ("ABCDE", False), ("abc-de", False), ("a" * 1024, True), ("a" * 1025, False)],
)
def test_google_id_rules(value: str, valid: bool) -> None:
    assert is_valid_event_id(value) is valid


def test_conference_request_id_is_stable_per_key() -> None:
    assert conference_request_id("k.g1") == conference_request_id("k.g1")
    assert conference_request_id("k.g1") != conference_request_id("k.g2")
