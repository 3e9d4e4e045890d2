"""Typed meeting settings: the part of Zoom's ``settings`` object the adapter sets on every meeting.

Zoom's own names and codes are kept (``approval_type`` 0/1/2, ``auto_recording`` ``none|local|cloud``) so that a
reader of Zoom's API reference recognises every field; enums give the numbers names.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ApprovalType", "AutoRecording", "RegistrationType", "ZoomMeetingSettings"]


class ApprovalType(IntEnum):
    """``settings.approval_type``: whether the meeting takes registrants, and who approves them."""

    AUTOMATIC = 0
    """Registration required; every registrant is approved at once."""
    MANUAL = 1
    """Registration required; registrants stay ``pending`` until approved (the adapter's waitlist)."""
    NO_REGISTRATION = 2
    """No registration (Zoom's default): the meeting has no roster."""


class RegistrationType(IntEnum):
    """``settings.registration_type`` (recurring meetings with a fixed time only)."""

    ONCE_FOR_ALL = 1
    EACH_OCCURRENCE = 2
    ONCE_CHOOSE_OCCURRENCES = 3


class AutoRecording(StrEnum):
    """``settings.auto_recording``."""

    NONE = "none"
    LOCAL = "local"
    CLOUD = "cloud"


class ZoomMeetingSettings(BaseModel):
    """The meeting settings the adapter sends.

    ``approval_type`` is decided per session by the adapter when left ``None``: manual approval when the session
    has a capacity and native capacity is on (Zoom then holds the waitlist as ``pending`` registrants), automatic
    approval otherwise (registration must be on for the meeting to have a roster at all).

    Attributes:
        waiting_room: Hold participants in a waiting room until admitted.
        join_before_host: Let participants join before the host.
        auto_recording: Record automatically, locally or to the cloud.
        approval_type: Registration approval; ``None`` lets the adapter decide (see above).
        registration_type: For recurring meetings with a fixed time.
        registrants_email_notification: Whether Zoom emails registrants (confirmation, approval, cancellation).
        registrants_confirmation_email: Whether Zoom sends the registration confirmation email.
        close_registration: Close registration after the meeting date.
        mute_upon_entry: Mute participants when they join.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    waiting_room: bool = False
    join_before_host: bool = False
    auto_recording: AutoRecording = AutoRecording.NONE
    approval_type: ApprovalType | None = None
    registration_type: RegistrationType = RegistrationType.ONCE_FOR_ALL
    registrants_email_notification: bool = True
    registrants_confirmation_email: bool = True
    close_registration: bool = False
    mute_upon_entry: bool = False
    extra: dict[str, Any] = Field(default_factory=dict)
    """Further Zoom settings passed through as they are (``{"audio": "voip"}``); they win over the fields above."""

    def to_zoom(self, *, approval_type: ApprovalType, alternative_hosts: list[str]) -> dict[str, Any]:
        """Return Zoom's ``settings`` object.

        Args:
            approval_type: The approval type decided for this session.
            alternative_hosts: Emails of co-hosts (the session's other instructors).

        Returns:
            The JSON object sent as ``settings``.
        """
        body: dict[str, Any] = {
            "waiting_room": self.waiting_room,
            "join_before_host": self.join_before_host,
            "auto_recording": self.auto_recording.value,
            "approval_type": int(approval_type),
            "registration_type": int(self.registration_type),
            "registrants_email_notification": self.registrants_email_notification,
            "registrants_confirmation_email": self.registrants_confirmation_email,
            "close_registration": self.close_registration,
            "mute_upon_entry": self.mute_upon_entry,
        }
        # Zoom's current reference separates alternative hosts with ';' (the 2018 description said ','; the
        # service splits on both). An empty string clears them on update, so it is sent as is.
        body["alternative_hosts"] = ";".join(alternative_hosts)
        body.update(self.extra)
        return body
