"""Completion written back to an LMS: what a learner's outcome becomes, and what it is recorded against.

An LMS records completion on a gradeable object, not on a calendar event: Moodle on an activity with completion
tracking (its course-module id), Canvas on an assignment graded pass/fail. A session names that object per LMS
(:class:`CompletionItem`); an adapter with :attr:`~lms_connectors.adapter.Capability.COMPLETION` writes each
learner's :class:`CompletionState` on it (:meth:`~lms_connectors.adapter.Adapter.record_completion`) and reports
each write as a :class:`CompletionWritten`. The operations layer decides who is complete from the recorded
attendance and keeps what was written in the ledger (:mod:`lms_connectors.operations.completion`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lms_connectors.errors import ValidationError

__all__ = ["CompletionItem", "CompletionState", "CompletionWritten", "require_item_kind"]


class CompletionState(StrEnum):
    """What an LMS is told about a learner and a session."""

    COMPLETE = "complete"
    """She attended (on time or late)."""
    INCOMPLETE = "incomplete"
    """She did not come."""


class CompletionItem(BaseModel):
    """The LMS object a session's completion is recorded against.

    Attributes:
        kind: ``"activity"`` (an existing activity with completion tracking: Moodle's course-module id) or
            ``"assignment"`` (Canvas: an existing assignment graded pass/fail, or one the adapter makes).
        id: The object's id in the LMS; ``None`` asks the adapter to make one (only assignments can be made).
        points: Points of an assignment the adapter makes (Canvas shows them beside complete/incomplete).
    """

    model_config = ConfigDict(frozen=True, defer_build=True)  # built when first used, not at import

    kind: Literal["activity", "assignment"]
    id: str | None = Field(default=None, min_length=1)
    points: float = Field(default=1.0, gt=0)

    @property
    def to_make(self) -> bool:
        """Whether the adapter is asked to make the object (no id given)."""
        return self.id is None


class CompletionWritten(BaseModel):
    """One learner's completion as the LMS holds it after :meth:`~lms_connectors.adapter.Adapter.record_completion`.

    Attributes:
        email: The learner, lower case.
        state: What the LMS now holds for her.
        item_id: The id of the object it is recorded on (the one made, for an assignment made on request).
        changed: ``False`` when the LMS held that state already and nothing was written.
    """

    model_config = ConfigDict(frozen=True, defer_build=True)  # built when first used, not at import

    email: str
    state: CompletionState
    item_id: str
    changed: bool


def require_item_kind(item: CompletionItem, kind: str, provider: str, *, can_make: bool) -> str | None:
    """Check that ``item`` is of the kind an adapter records completion on; its id (``None``: to be made).

    Args:
        item: What the session names.
        kind: The kind the adapter takes.
        provider: The adapter's name (for the error's field, ``completion.<provider>``).
        can_make: Whether the adapter can make the object when no id is given.

    Raises:
        ValidationError: Another kind, or no id where the adapter cannot make one, before any call.
    """
    field = f"completion.{provider}"
    if item.kind != kind:
        raise ValidationError(f"{provider} records completion on an {kind}, not an {item.kind}", field=field,
                              provider=provider)
    if item.id is None and not can_make:
        raise ValidationError(f"{provider} cannot make an {kind}: name an existing one", field=field,
                              provider=provider)
    return item.id
