"""Acme LMS error answers mapped into the lms-connectors error tree: a table of rules, then the default.

Acme answers errors as ``{"error": {"code": "...", "message": "..."}}`` with a meaningful status. Most map by
status alone (``default_classifier``); the table below are the answers whose *code* says more than the status.
"""

from __future__ import annotations

import requests

from lms_connectors.errors import CapacityFull, Conflict, ConnectorError, InvalidRequest, NotFound
from lms_connectors.http import default_classifier, provider_code, response_evidence
from lms_connectors.http.classify import CodeRule

__all__ = ["RULES", "acme_classifier"]

# Keyed by (HTTP status, Acme error code): the same code can mean different things under different statuses.
RULES: dict[tuple[int, str], CodeRule] = {
    (409, "session_full"): CodeRule(CapacityFull, "the session has no free seat"),
    (409, "session_cancelled"): CodeRule(Conflict, "the session is cancelled"),
    (409, "idempotency_key_reused"): CodeRule(Conflict, "the idempotency key was used for a different session"),
    (410, "session_cancelled"): CodeRule(NotFound, "the session is cancelled"),
    (422, "validation_failed"): CodeRule(InvalidRequest, "Acme LMS refused the request as invalid"),
}


def acme_classifier(response: requests.Response) -> ConnectorError | None:
    """Return the error an Acme LMS answer stands for, or ``None`` for a success."""
    if response.ok:
        return None
    code = provider_code(response)
    rule = RULES.get((response.status_code, str(code))) if code is not None else None
    if rule is not None:
        return rule.build(**response_evidence(response))
    return default_classifier(response)
