"""Finding, creating and updating Moodle accounts for the people of a roster.

Moodle compares emails case-sensitively (a lookup of ``KENJI.SATO@example.com`` misses
``kenji.sato@example.com``) while the SDK keeps emails in lower case, so a lookup asks for the lower-case
form and for the form the caller gave, and matches answers case-insensitively. Moodle also accepts any
string as a time zone (``Mars/Olympus_Mons`` is stored as-is), so zones are checked against the tz database
(by :class:`~lms_connectors.models.Person`) before they are written; ``99`` means the site default.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from lms_connectors.errors import NotFound
from lms_connectors_moodle.answers import CreatedUsers, Users
from lms_connectors_moodle.batching import batches
from lms_connectors_moodle.client import MoodleClient
from lms_connectors_moodle.config import MoodleConfig
from lms_connectors_moodle.errors import raise_for_warnings

__all__ = ["SITE_DEFAULT_ZONE", "UserDirectory", "username_for"]

SITE_DEFAULT_ZONE = "99"


def username_for(email: str) -> str:
    """A Moodle username for a new account (lower case letters, digits and ``_.@-`` only)."""
    return re.sub(r"[^a-z0-9_.@-]", "-", email.lower())


class UserDirectory:
    """Moodle accounts by email, created and kept in the person's zone when the settings allow."""

    def __init__(self, client: MoodleClient, config: MoodleConfig) -> None:
        self._client = client
        self._config = config

    def _lookup(self, field: str, values: Sequence[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for batch in batches(list(values), 1, self._config.max_input_vars):
            found += self._client.call("core_user_get_users_by_field", {"field": field, "values": list(batch)},
                                       idempotent=True, shape=Users)
        return found

    def find_records(self, emails: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Accounts by lower-case email (one call per batch)."""
        wanted: list[str] = []
        for email in emails:
            for form in (email.lower(), email):
                if form not in wanted:
                    wanted.append(form)
        records: dict[str, dict[str, Any]] = {}
        for record in self._lookup("email", wanted):
            records.setdefault(str(record["email"]).lower(), record)
        return records

    def find(self, people: Sequence[Any]) -> dict[str, int]:
        """Ids of the people who have an account, by their (lower-case) email."""
        return {email: int(r["id"]) for email, r in self.find_records(p.email for p in people).items()}

    def resolve(self, people: Sequence[Any]) -> dict[str, int]:
        """Ids of every person: found by email, created when allowed, their profile zone brought up to date.

        Raises:
            NotFound: Someone has no account and ``create_missing_users`` is off.
        """
        records = self.find_records(p.email for p in people)
        missing = [p for p in people if p.email not in records]
        if missing and not self._config.create_missing_users:
            raise NotFound(
                "no Moodle account has the email of " + ", ".join(p.email for p in missing[:5])
                + (" ..." if len(missing) > 5 else "") + " (set create_missing_users to create them)",
                provider="moodle",
            )
        ids = {email: int(r["id"]) for email, r in records.items()}
        if missing:
            ids.update(self._create(missing))
        stale = [
            {"id": ids[p.email], "timezone": p.timezone}
            for p in people
            if p.timezone and p.email in records and records[p.email].get("timezone") != p.timezone
        ]
        for batch in batches(stale, 2, self._config.max_input_vars):
            answer = self._client.call("core_user_update_users", {"users": list(batch)}, idempotent=True)
            # Moodle answers {"warnings": [...]} when it skipped a user: a zone not written is a failure.
            raise_for_warnings(answer.get("warnings") if isinstance(answer, dict) else None,
                               items=[row["id"] for row in batch], what="updating profile time zones")
        return ids

    def _create(self, people: Sequence[Any]) -> dict[str, int]:
        rows = [
            {"username": username_for(p.email), "createpassword": True, "auth": "manual",
             "firstname": p.given_name, "lastname": p.family_name, "email": p.email,
             "timezone": p.timezone or SITE_DEFAULT_ZONE}
            for p in people
        ]
        created: dict[str, int] = {}
        for batch in batches(rows, len(rows[0]), self._config.max_input_vars):
            answer = self._client.call("core_user_create_users", {"users": list(batch)}, shape=CreatedUsers)
            by_username = {str(row["username"]): int(row["id"]) for row in answer}
            for row in batch:
                created[str(row["email"])] = by_username[str(row["username"])]
        return created

    def by_ids(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        """Account records of ``ids`` (one call per batch)."""
        return self._lookup("id", [str(i) for i in ids])
