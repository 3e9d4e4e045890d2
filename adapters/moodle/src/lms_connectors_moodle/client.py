"""The one place that speaks Moodle's REST web-service protocol.

Every call is ``POST /webservice/rest/server.php`` with a form body holding ``wstoken``, ``wsfunction``,
``moodlewsrestformat=json`` and the function's parameters in PHP bracket form. The token travels in the
body only (never in a URL, so it cannot leak into access logs), and it is handed to the transport as an
extra secret so that it is redacted from every log line, error and cassette.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from lms_connectors.http.transport import HttpTransport
from lms_connectors_moodle.encoding import encode_params

__all__ = ["ENDPOINT", "MoodleClient"]

ENDPOINT = "/webservice/rest/server.php"


class MoodleClient:
    """Calls Moodle web-service functions.

    Args:
        transport: The adapter's transport to the site's root URL (no auth: the token goes in the form; it must
            know the token as an extra secret, so that it is redacted).
        token: The web-service token (Site administration > Server > Web services > Manage tokens).
    """

    def __init__(self, transport: HttpTransport, token: str) -> None:
        self._token = token
        self.transport = transport

    @property
    def calls(self) -> int:
        """How many HTTP calls this client has made."""
        return self.transport.counter.total

    def call(
        self,
        wsfunction: str,
        params: Mapping[str, Any] | None = None,
        *,
        idempotent: bool = False,
        shape: type[BaseModel] | None = None,
    ) -> Any:
        """Call one web-service function and return its decoded JSON answer.

        Args:
            wsfunction: The function name (``core_calendar_create_calendar_events``).
            params: Its parameters (nested mappings and lists are bracket-encoded, booleans sent as 0/1).
            idempotent: Whether resending the call is harmless (reads, deletes, natural-key creates). A
                call that is not is never resent after its answer was lost: the transport raises
                :class:`~lms_connectors.errors.ResponseLost` and the caller looks the object up.
            shape: The answer's checked shape (:mod:`lms_connectors_moodle.answers`): an answer of another shape
                is a :class:`~lms_connectors.errors.MalformedResponse` naming the function and the field.

        Returns:
            The answer (``None`` for functions that answer the JSON literal ``null`` on success).

        Raises:
            ConnectorError: The classified failure (see :mod:`lms_connectors_moodle.errors`).
        """
        form = [
            ("wstoken", self._token),
            ("wsfunction", wsfunction),
            ("moodlewsrestformat", "json"),
            *encode_params(params or {}),
        ]
        return self.transport.request_json(
            "POST", ENDPOINT, data=form, idempotent=idempotent, operation=wsfunction, shape=shape
        )
