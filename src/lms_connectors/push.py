"""Push channels: a provider's subscription to changes, kept open, renewed before it lapses, and checked.

A calendar provider tells a web address that something changed (Google's ``events.watch`` channels, Graph's
change-notification subscriptions); the notification carries no change, so its receiver reads the change feed
(:func:`lms_connectors.feeds.follow_feed`). What every such channel needs is here, once:

* :class:`PushChannel`: the channel as the ledger keeps it (its id, the provider's resource id, the secret token
  each notification must carry, when it expires, the last message number seen);
* :class:`ChannelKeeper`: opens the channel through the adapter (:class:`ChannelOpener`), renews it before it
  lapses (a new channel first, then the old one closed, so no change falls between them), closes it;
* :meth:`ChannelKeeper.verify`: the check of every notification: a channel this keeper opened and has not
  closed, its token (compared in constant time), not expired, and a message number above the last one seen, so a
  replayed notification is refused.

Channels live in the ledger next to the feed cursors (one row per adapter and scope), so a process that starts
again knows its channels and checks their tokens.
"""

from __future__ import annotations

import contextlib
import hmac
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from pydantic import AwareDatetime, BaseModel, ConfigDict, TypeAdapter

from lms_connectors.errors import AuthError, NotFound
from lms_connectors.models import utc_now
from lms_connectors.store.base import AuditEntry, LedgerStore

__all__ = ["ChannelKeeper", "ChannelOpener", "InvalidNotification", "PushChannel"]


class InvalidNotification(AuthError):
    """A notification that does not check out: unknown or closed channel, wrong token, expired, or replayed."""


class PushChannel(BaseModel):
    """One open channel, as the ledger keeps it.

    Attributes:
        provider: The adapter that opened it.
        scope: What it watches (a calendar, a mailbox).
        id: The channel's id (chosen by the SDK for Google, by the provider for Graph).
        resource_id: The provider's id of the watched resource (empty while the provider has not answered yet).
        token: The secret every notification carries back (Google's channel token, Graph's ``clientState``).
        expires_at: When the provider stops sending.
        last_message: The highest message number accepted so far (0: none).
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    provider: str
    scope: str
    id: str
    resource_id: str
    token: str
    expires_at: AwareDatetime
    last_message: int = 0


_CHANNELS = TypeAdapter(list[PushChannel], config=ConfigDict(defer_build=True))  # built when first used


@runtime_checkable
class ChannelOpener(Protocol):
    """What an adapter that pushes offers the keeper."""

    name: str

    @property
    def feed_scope(self) -> str:
        """What the channel watches (the same scope as the adapter's change feed)."""
        ...  # pragma: no cover - a protocol

    def open_channel(self, address: str, channel_id: str, token: str) -> PushChannel:
        """Open a channel that posts to ``address`` with ``token``; the provider's answer as a channel."""
        ...  # pragma: no cover - a protocol

    def close_channel(self, channel: PushChannel) -> None:
        """Close ``channel`` (already closed or expired: no error)."""
        ...  # pragma: no cover - a protocol


class ChannelKeeper:
    """Keeps one adapter's channel for its feed scope open, renewed and checked.

    Args:
        ledger: Where the channels are kept.
        opener: The adapter that opens and closes them.
        address: The HTTPS address notifications are posted to.
        renew_before: A channel this close to its expiry is replaced by :meth:`ensure`.
        clock: Now, as an aware datetime (injected by tests).
    """

    def __init__(
        self,
        ledger: LedgerStore,
        opener: ChannelOpener,
        address: str,
        *,
        renew_before: timedelta = timedelta(hours=6),
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.ledger = ledger
        self.opener = opener
        self.address = address
        self.renew_before = renew_before
        self.clock = clock
        self._feed = f"{opener.name}.channels"

    def channels(self) -> list[PushChannel]:
        """The open channels, newest first (two while one replaces the other)."""
        raw = self.ledger.get_cursor(self._feed, self.opener.feed_scope)
        return [] if raw is None else _CHANNELS.validate_json(raw)

    def _keep(self, channels: list[PushChannel]) -> None:
        if channels:
            self.ledger.put_cursor(self._feed, self.opener.feed_scope, _CHANNELS.dump_json(channels).decode())
        else:
            self.ledger.delete_cursor(self._feed, self.opener.feed_scope)

    def ensure(self, *, renew: bool = False) -> PushChannel:
        """The live channel: opened when there is none, replaced when it expires within ``renew_before``.

        ``renew`` replaces it whatever its expiry (a provider asked for it: Graph's ``reauthorizationRequired``
        or ``subscriptionRemoved`` lifecycle notifications).

        A replacement is opened before the old channel is closed, so no change falls between the two; the old
        one is then closed and forgotten.

        Raises:
            ConnectorError: The provider refused to open the channel (the old one, if any, is kept).
        """
        current = self.channels()
        now = self.clock()
        if current and not renew and current[0].expires_at - now > self.renew_before:
            return current[0]
        channel_id, token = str(uuid.uuid4()), secrets.token_urlsafe(32)
        # Kept before it is asked for: a provider confirms a new channel at once (Google's "sync" message), and that
        # notification must find it. Its resource id and expiry are the provider's to say.
        provisional = PushChannel(provider=self.opener.name, scope=self.opener.feed_scope, id=channel_id,
                                  resource_id="", token=token, expires_at=now + self.renew_before)
        self._keep([provisional, *current])
        try:
            fresh = self.opener.open_channel(self.address, channel_id, token)
        except BaseException:
            self._keep([c for c in self.channels() if c.id != channel_id])
            raise
        # Messages already accepted on the provisional record stay accepted (a replay of them is still refused).
        self._keep([fresh.model_copy(update={"last_message": c.last_message}) if c.id == channel_id else c
                    for c in self.channels()])
        self.ledger.append_audit(AuditEntry(
            session_id=None, provider=self.opener.name, action="push.channel_opened",
            detail={"channel": fresh.id, "expires_at": fresh.expires_at.isoformat(),
                    "replaces": [c.id for c in current]},
        ))
        for old in current:
            self._close(old)
        self._keep([fresh])
        return fresh

    def stop(self) -> None:
        """Close every channel this keeper holds."""
        for channel in self.channels():
            self._close(channel)
        self._keep([])

    def _close(self, channel: PushChannel) -> None:
        with contextlib.suppress(NotFound):  # expired or closed already: the provider sends nothing more either way
            self.opener.close_channel(channel)
        self.ledger.append_audit(AuditEntry(
            session_id=None, provider=self.opener.name, action="push.channel_closed", detail={"channel": channel.id}
        ))

    def verify(self, channel_id: str | None, token: str | None, message: int | None) -> PushChannel:
        """Check one notification and remember its message number.

        Args:
            channel_id: The channel it names.
            token: The secret it carries.
            message: Its message number (``None`` for a provider that numbers none: no replay check by number).

        Returns:
            The channel it came through.

        Raises:
            InvalidNotification: Unknown or closed channel, missing or wrong token, expired channel, or a message
                number not above the last one accepted (replayed).
        """
        if not channel_id or not token:
            raise InvalidNotification("the notification names no channel or carries no token")
        with self.ledger.transaction():
            channels = self.channels()
            found = next((c for c in channels if c.id == channel_id), None)
            if found is None:
                raise InvalidNotification(f"no open channel {channel_id!r}")
            if not hmac.compare_digest(found.token.encode(), token.encode()):
                raise InvalidNotification(f"the token of channel {channel_id!r} does not match (forged?)")
            if found.expires_at <= self.clock():
                raise InvalidNotification(f"channel {channel_id!r} has expired")
            if message is not None:
                if message <= found.last_message:
                    raise InvalidNotification(
                        f"message {message} of channel {channel_id!r} was already received (replayed)"
                    )
                found = found.model_copy(update={"last_message": message})
                self._keep([found if c.id == channel_id else c for c in channels])
        return found
