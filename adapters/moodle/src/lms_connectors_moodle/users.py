r"""Finding, creating and updating Moodle accounts for the people of a roster.

How Moodle 4.5 matches emails (read in ``user/externallib.php`` and checked on a live 4.5.6 on PostgreSQL):

* ``core_user_get_users_by_field`` (``field=email``) is an SQL ``IN``: exact, so case-sensitive on PostgreSQL
  (a lookup of ``ana.lima@example.org`` misses ``Ana.Lima@Example.org``). It takes many values in one call.
* ``core_user_get_users`` (criteria ``email``) is a case-insensitive ``LIKE`` (``ILIKE`` on PostgreSQL), one
  pattern per call, where ``%`` and ``_`` are wildcards (``\`` escapes them).
* ``core_user_create_users`` refuses an email another account holds *in any case* unless the site allows
  several accounts per email (``allowaccountssameemail``); then it makes a second account.

So people are first looked up exactly in one batched call, and only those not found are searched
case-insensitively, one call per email domain (``%@example.org``), before any account is made: an existing
account is found whatever the case of its stored email, and none is made twice whatever
``allowaccountssameemail`` says.

Both look-ups return a user only when the token's user may see the email
(``moodle/site:viewuseridentity``); an answer without ``email`` means it may not, which is a
:class:`~lms_connectors.errors.PermissionDenied` naming that capability, never a ``KeyError``. Moodle also
accepts any string as a time zone (``Mars/Olympus_Mons`` is stored as-is), so zones are checked against the tz
database (by :class:`~lms_connectors.models.Person`) before they are written; ``99`` means the site default.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from lms_connectors.errors import InvalidRequest, NotFound, PermissionDenied
from lms_connectors_moodle.answers import CreatedUsers, FoundUsers, Users
from lms_connectors_moodle.batching import batches
from lms_connectors_moodle.client import MoodleClient
from lms_connectors_moodle.config import MoodleConfig
from lms_connectors_moodle.errors import raise_for_warnings

__all__ = ["IDENTITY_CAPABILITY", "SITE_DEFAULT_ZONE", "Accounts", "UserDirectory", "identity_hidden", "like_pattern",
           "username_for"]

SITE_DEFAULT_ZONE = "99"
_DUPLICATE = re.compile(r"(Username|Email address) already exists")
IDENTITY_CAPABILITY = "moodle/site:viewuseridentity"
"""Without it Moodle leaves ``email`` out of every user answer, and an email look-up finds nobody."""


def username_for(email: str) -> str:
    """A Moodle username for a new account (lower case letters, digits and ``_.@-`` only)."""
    return re.sub(r"[^a-z0-9_.@-]", "-", email.lower())


def like_pattern(value: str) -> str:
    r"""``value`` as a literal for Moodle's ``sql_like`` (escape character ``\``): ``%`` and ``_`` escaped."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def identity_hidden(records: Iterable[Mapping[str, Any]], *, token_user: int | None = None) -> bool:
    """Whether these user answers show that Moodle hides identity fields from the token's user.

    A user always sees their own email, and the guest account (id 1) has none, so only other accounts count.
    """
    return any("email" not in r for r in records if int(r.get("id", 0)) not in (1, token_user))


def hidden_identity_error(what: str) -> PermissionDenied:
    """The error for answers without ``email``: it names the capability and the setting that show it."""
    return PermissionDenied(
        f"Moodle hides email addresses from the token's user ({what}): give its role {IDENTITY_CAPABILITY} "
        "and keep 'email' in Site administration > Users > Permissions > User policies > Show user identity",
        provider="moodle", code="identityhidden",
    )


class Accounts(NamedTuple):
    """The people's account ids by (lower-case) email, and which of those accounts were made just now."""

    ids: dict[str, int]
    created: frozenset[int]


class UserDirectory:
    """Moodle accounts by email, created and kept in the person's zone when the settings allow."""

    def __init__(self, client: MoodleClient, config: MoodleConfig) -> None:
        self._client = client
        self._config = config

    def _lookup(self, field: str, values: Sequence[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for batch in batches(list(values), 1, self._config.max_input_vars):
            answer = self._client.call("core_user_get_users_by_field", {"field": field, "values": list(batch)},
                                       idempotent=True, shape=Users)
            found += [r for r in answer or [] if isinstance(r, dict)]
        return found

    def _search_domain(self, domain: str) -> list[dict[str, Any]]:
        """Accounts whose email ends in ``@domain``, in any case (one case-insensitive search)."""
        criteria = [{"key": "email", "value": "%@" + like_pattern(domain)}]
        answer = self._client.call("core_user_get_users", {"criteria": criteria}, idempotent=True, shape=FoundUsers)
        users = answer.get("users", []) if isinstance(answer, Mapping) else []
        return [u for u in users if isinstance(u, dict) and "email" in u]

    def find_records(self, emails: Iterable[str], *, search: bool = True) -> dict[str, dict[str, Any]]:
        """Accounts by lower-case email: one exact batched look-up, then a case-insensitive search for the rest.

        The search asks for every account of the missing people's email domain (one call per domain, so a
        cohort from one organisation costs one call whatever its size) and keeps exact matches, compared in
        lower case. Where several accounts share an email (a site with ``allowaccountssameemail``), the oldest
        is used.

        Args:
            emails: The people's emails.
            search: Search case-insensitively for those the exact look-up missed.
        """
        given = list(emails)
        people = list(dict.fromkeys(e.lower() for e in given))
        wanted = list(dict.fromkeys(form for e in given for form in (e.lower(), e)))
        records: dict[str, dict[str, Any]] = {}
        for record in sorted(self._lookup("email", wanted), key=lambda r: int(r.get("id", 0))):
            if "email" in record:
                records.setdefault(str(record["email"]).lower(), record)
        missing = [e for e in people if e not in records] if search else []
        for domain in dict.fromkeys(e.rpartition("@")[2] for e in missing):
            for record in sorted(self._search_domain(domain), key=lambda r: int(r.get("id", 0))):
                email = str(record["email"]).lower()
                if email in missing:
                    records.setdefault(email, record)
        return records

    def find(self, people: Sequence[Any]) -> dict[str, int]:
        """Ids of the people who have an account, by their (lower-case) email."""
        return {email: int(r["id"]) for email, r in self.find_records(p.email for p in people).items()}

    def resolve(self, people: Sequence[Any]) -> Accounts:
        """Accounts of every person: found by email, created when allowed, their profile zone brought up to date.

        The answer also says which accounts this call created: an account made just now is enrolled nowhere, so
        the caller need not ask Moodle whether it is.

        Raises:
            NotFound: Someone has no account and ``create_missing_users`` is off.
            PermissionDenied: Moodle refused to create an account that exists but that the token's user cannot
                see (its role lacks ``moodle/site:viewuseridentity``).
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
        created = self._create(missing) if missing else {}
        ids.update(created)
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
        return Accounts(ids, frozenset(created.values()))

    def _create(self, people: Sequence[Any]) -> dict[str, int]:
        rows = [
            {"username": username_for(p.email), "createpassword": True, "auth": "manual",
             "firstname": p.given_name, "lastname": p.family_name, "email": p.email,
             "timezone": p.timezone or SITE_DEFAULT_ZONE}
            for p in people
        ]
        created: dict[str, int] = {}
        for batch in batches(rows, len(rows[0]), self._config.max_input_vars):
            try:
                answer = self._client.call("core_user_create_users", {"users": list(batch)},
                                           shape=CreatedUsers)
            except InvalidRequest as exc:
                # The batch is all-or-nothing. A site in debug mode says why; a production site does not, and then
                # the one refusal our own valid fields can meet is a username or email Moodle already holds, which
                # the searches did not find: the token's user cannot see that account's email.
                if "[" in exc.message and not _DUPLICATE.search(exc.message):
                    raise
                raise hidden_identity_error(
                    "creating accounts for " + ", ".join(str(r["email"]) for r in batch[:5])
                    + " was refused as a duplicate although no account with their email is visible"
                ) from exc
            by_username = {str(row.get("username")): int(row["id"]) for row in answer or []
                           if isinstance(row, dict) and "id" in row}
            for row in batch:
                if str(row["username"]) not in by_username:
                    raise InvalidRequest(f"Moodle created no account for {row['email']}", provider="moodle")
                created[str(row["email"])] = by_username[str(row["username"])]
        return created

    def by_ids(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        """Account records of ``ids`` (one call per batch).

        Raises:
            PermissionDenied: The answers carry no ``email`` (identity fields are hidden from the token's user).
        """
        records = self._lookup("id", [str(i) for i in ids])
        if identity_hidden(records):
            raise hidden_identity_error(f"users {', '.join(str(i) for i in ids[:5])} came back without email")
        return records
