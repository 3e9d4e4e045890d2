"""Keep a folder of per-learner messages in step with a session's roster, as calendar clients expect.

Each learner gets the message her place calls for: an invitation (``METHOD:REQUEST``) for a seat, a
cancellation (``METHOD:CANCEL``) when she gave it up or the session was cancelled, and a plain-text waitlist
notice while she waits (iTIP has no "waitlisted" state; an event in her calendar would block time she may never
get). A promotion replaces the notice by the invitation.

The folder is the memory of what each learner was last sent, so that:

* running again with nothing changed rewrites nothing: same bytes, same ``DTSTAMP``, same file times;
* whatever changed in her copy is sent with a ``SEQUENCE`` newer than the one she holds (RFC 5546 2.1.4), even
  when the session's own sequence did not move: a learner re-enrolled after her cancellation gets an invitation
  her client will not ignore as older than that cancellation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from icalendar import Calendar

from lms_connectors.invites import InviteMethod, build_invite, file_stems, invite_sequence
from lms_connectors.models import Enrollment, EnrollmentStatus, Person, Session, SessionStatus, utc_now
from lms_connectors.timezones import format_local

__all__ = ["InviteFolderResult", "sync_invites", "waitlist_notice"]

ICS_SUFFIX = ".ics"
NOTICE_SUFFIX = ".waitlist.txt"


@dataclass
class InviteFolderResult:
    """What :func:`sync_invites` did to the folder."""

    written: list[Path] = field(default_factory=list)
    """Files written because the learner's message changed (or she had none)."""
    unchanged: list[Path] = field(default_factory=list)
    """Files that already said the same thing, left untouched."""
    removed: list[Path] = field(default_factory=list)
    """Waitlist notices removed after a promotion or a cancellation."""

    @property
    def invites(self) -> list[Path]:
        """Every ``.ics`` file of the roster, written or unchanged."""
        return [p for p in (*self.written, *self.unchanged) if p.name.endswith(ICS_SUFFIX)]


def waitlist_notice(session: Session, person: Person, place: int) -> str:
    """A plain-text notice to a waitlisted learner, with the session's time in her zone.

    Args:
        session: The session.
        person: The learner.
        place: Her place in the waitlist, from 1.

    Returns:
        The notice's text (UTF-8, LF line ends).
    """
    zone = person.timezone or session.slot.timezone
    lines = [
        f"Hello {person.given_name},",
        "",
        f"{session.title} is full. You are number {place} on its waitlist.",
        f"When ({zone}): {format_local(session.slot.start, zone)} to {format_local(session.slot.end, zone)}",
        "",
        "If a seat frees up you get it in waitlist order and receive the calendar invitation then;",
        "nothing is in your calendar until that happens.",
    ]
    return "\n".join(lines) + "\n"


def _held(path: Path) -> tuple[int, datetime] | None:
    """The SEQUENCE and DTSTAMP of the invitation already in ``path``, if it holds one."""
    try:
        event = Calendar.from_ical(path.read_bytes()).walk("VEVENT")[0]
        return int(str(event["SEQUENCE"])), event.decoded("DTSTAMP")
    except (OSError, ValueError, IndexError, KeyError):
        return None  # missing or not ours: written afresh


def _method(session: Session, enrollment: Enrollment) -> InviteMethod | None:
    if session.status is SessionStatus.CANCELLED or enrollment.status is EnrollmentStatus.CANCELLED:
        return "CANCEL"
    return "REQUEST" if enrollment.status is EnrollmentStatus.CONFIRMED else None


def _sync_invite(
    path: Path,
    session: Session,
    enrollment: Enrollment,
    method: InviteMethod,
    organizer: Person | None,
    uid_domain: str,
    stamp: datetime | None,
    reminders: Sequence[timedelta],
) -> bool:
    """Write the learner's invitation unless the file already says the same; whether it was written."""
    person = enrollment.person

    def build(sequence: int, moment: datetime | None) -> bytes:
        return build_invite(
            session,
            organizer=organizer,
            attendees=[person],
            method=method,
            for_person=person,
            join_url=enrollment.join_url(session),
            uid_domain=uid_domain,
            stamp=moment,
            sequence=sequence,
            reminders=reminders,
        )

    least = invite_sequence(session, method)
    held = _held(path)
    if held is not None:
        held_sequence, held_stamp = held
        if build(max(least, held_sequence), held_stamp) == path.read_bytes():
            return False
        least = max(least, held_sequence + 1)
    path.write_bytes(build(least, stamp or utc_now()))
    return True


def sync_invites(
    session: Session,
    roster: Sequence[Enrollment],
    folder: str | Path,
    *,
    organizer: Person | None = None,
    uid_domain: str = "lms-connectors",
    stamp: datetime | None = None,
    reminders: Sequence[timedelta] = (),
) -> InviteFolderResult:
    """Bring each learner's file in ``folder`` in line with her place in ``session``.

    Confirmed learners get ``<stem>.ics`` with a REQUEST (her own join link, her zone); cancelled learners, or
    everyone once the session is cancelled, a CANCEL; waitlisted learners ``<stem>.waitlist.txt``
    (:func:`waitlist_notice`), removed when she is promoted or leaves (a learner who leaves the waitlist gets
    no CANCEL: nothing is in her calendar). Stems are :func:`file_stems`.

    Args:
        session: The session as the ledger holds it.
        roster: Its enrolments in arrival order (:meth:`Scheduler.roster <lms_connectors.scheduler.Scheduler.roster>`).
        folder: Where the files live; created when missing.
        organizer: See :func:`~lms_connectors.invites.build_invite`.
        uid_domain: See :func:`~lms_connectors.invites.build_invite`.
        stamp: ``DTSTAMP`` of the files written this time; now by default. Unchanged files keep theirs.
        reminders: A ``VALARM`` per offset before the start in each REQUEST (see
            :func:`lms_connectors.operations.reminders.alarm_offsets`).

    Returns:
        Which files were written, left unchanged, or removed.
    """
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    result = InviteFolderResult()
    stems = file_stems(session, [e.person for e in roster])
    waiting = [e.person.email for e in roster if e.status is EnrollmentStatus.WAITLISTED]
    for enrollment in roster:
        stem = stems[enrollment.person.email]
        notice = target / f"{stem}{NOTICE_SUFFIX}"
        method = _method(session, enrollment)
        if method is None:
            text = waitlist_notice(session, enrollment.person, waiting.index(enrollment.person.email) + 1)
            if notice.exists() and notice.read_text(encoding="utf-8") == text:
                result.unchanged.append(notice)
            else:
                notice.write_text(text, encoding="utf-8")
                result.written.append(notice)
            continue
        path = target / f"{stem}{ICS_SUFFIX}"
        if notice.exists():
            notice.unlink()
            result.removed.append(notice)
            if method == "CANCEL" and not path.exists():
                continue  # she only ever had the notice: there is no event in her calendar to cancel
        if _sync_invite(path, session, enrollment, method, organizer, uid_domain, stamp, reminders):
            result.written.append(path)
        else:
            result.unchanged.append(path)
    return result
