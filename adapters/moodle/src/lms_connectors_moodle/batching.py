"""Split list parameters so that no request exceeds PHP's ``max_input_vars``.

PHP silently drops every form field past ``max_input_vars`` (5000 by default), and Moodle then sees a
truncated list or a missing required parameter. Batches are all-or-nothing on Moodle's side, so each call
holds as many items as fit, and the number of calls grows with N / (max_input_vars / fields per item), not
with N.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

__all__ = ["RESERVED_FIELDS", "batches"]

T = TypeVar("T")

RESERVED_FIELDS = 8
"""Fields kept free for ``wstoken``, ``wsfunction``, ``moodlewsrestformat`` and scalar parameters."""


def batches(items: Sequence[T], fields_per_item: int, max_input_vars: int) -> Iterator[Sequence[T]]:
    """Yield consecutive slices of ``items`` whose encoded fields fit in ``max_input_vars``.

    Args:
        items: What to send.
        fields_per_item: Form fields one item becomes (``enrolments[i][roleid|userid|courseid]`` = 3).
        max_input_vars: The site's PHP limit.
    """
    per_call = max(1, (max_input_vars - RESERVED_FIELDS) // max(1, fields_per_item))
    for start in range(0, len(items), per_call):
        yield items[start:start + per_call]
