"""Event and group names: what Moodle keeps of them, and how it gives them back.

Names are ``PARAM_TEXT``: Moodle runs PHP's ``strip_tags`` on them and refuses the whole call when that
changes the value. ``strip_tags`` takes a ``<`` followed by anything but white space as the start of a tag
(``<b>``, but also an unclosed ``<3``), while ``a < b`` is kept. On the way out, ``format_string`` escapes
every ``&`` not already starting an entity (``&[a-zA-Z0-9#]{1,8};``), then ``<`` and ``>``; quotes stay
as they are (a real Moodle 4.5 read ``ILT Kick-off 🚀 & Q&A "quoted"`` back as
``ILT Kick-off 🚀 &amp; Q&amp;A "quoted"``). A name that already holds an entity-like sequence would
therefore read back changed, so it is refused before any call, like a name with a tag.
"""

from __future__ import annotations

import re

from lms_connectors.errors import ValidationError

__all__ = ["check_name", "read_name"]

_TAG_START = re.compile(r"<(?![ \t\n\r\v\f])")  # what strip_tags treats as the start of a tag
_ENTITY = re.compile(r"&[a-zA-Z0-9#]{1,8};")  # what format_string leaves unescaped


def check_name(value: str, *, field: str) -> None:
    """Refuse a name Moodle would refuse or read back changed.

    Args:
        value: The name to send.
        field: The field to blame in the error (``"title"``).

    Raises:
        ValidationError: ``value`` holds a ``<`` not followed by white space (a tag to Moodle, so the call
            would be refused) or an HTML entity such as ``&amp;`` (it would read back decoded).
    """
    tag = _TAG_START.search(value)
    if tag:
        raise ValidationError(
            f"Moodle refuses {field} {value!r}: '<' followed by {value[tag.end():tag.end() + 1]!r} reads as an "
            "HTML tag (put a space after '<' or leave it out)", field=field)
    entity = _ENTITY.search(value)
    if entity:
        raise ValidationError(
            f"Moodle would read {field} {value!r} back changed: {entity.group()!r} is taken as an HTML entity "
            "(write the character itself)", field=field)


def read_name(text: str) -> str:
    """The name as written, from what Moodle gives back (``format_string`` undone)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
