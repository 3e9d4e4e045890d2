"""Acme LMS error answers mapped into the lms-connectors error tree: a table of rows before the core's.

Acme answers errors as ``{"error": {"code": "...", "message": "..."}}`` with a meaningful status, a shape the
core reads by itself. Most answers map by status alone (the core's rows); the rows below are the answers whose
*code* says more than the status. The README lists them (``python -m lms_connectors.http.error_table``).
"""

from __future__ import annotations

from lms_connectors.errors import CapacityFull, Conflict, InvalidRequest, NotFound
from lms_connectors.http.classify import ErrorRule, RuleClassifier

__all__ = ["acme_classifier"]

acme_classifier = RuleClassifier(
    [
        ErrorRule(CapacityFull, "the session has no free seat", status={409}, codes={"session_full"}),
        ErrorRule(Conflict, "the session is cancelled", status={409}, codes={"session_cancelled"}),
        ErrorRule(Conflict, "the idempotency key was used for a different session", status={409},
                  codes={"idempotency_key_reused"}),
        ErrorRule(NotFound, "the session is cancelled", status={410}, codes={"session_cancelled"}),
        ErrorRule(InvalidRequest, "Acme LMS refused the request as invalid", status={422}, codes={"validation_failed"}),
    ],
    provider="acme_lms",
)
"""The transport's classifier: Acme's rows, then the core's."""
