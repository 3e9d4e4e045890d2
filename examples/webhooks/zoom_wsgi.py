"""Mount the Zoom webhook receiver in any WSGI server: verified deliveries become decided changes.

The receiver is a plain function of (headers, raw body); this wraps it in a WSGI app with the standard library
only. Run it against the example ledger with::

    ZOOM_WEBHOOK_SECRET=... python examples/webhooks/zoom_wsgi.py --ledger term.sqlite --config adapters.json

and register ``http://<host>:8000/zoom/webhook`` as the app's event endpoint (Zoom first sends the URL
validation challenge, answered here). A forged, altered or replayed delivery gets 401.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import make_server

from lms_connectors.changes import ChangePolicy, apply_changes
from lms_connectors.scheduler import Scheduler
from lms_connectors_zoom.changes import changes_from_event
from lms_connectors_zoom.webhooks import InvalidWebhook, UrlValidation, ZoomWebhookReceiver

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def webhook_app(receiver: ZoomWebhookReceiver, scheduler: Scheduler, policy: ChangePolicy | None = None) -> Any:
    """A WSGI app answering POST /zoom/webhook."""

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != "/zoom/webhook":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")}
        try:
            event = receiver.handle(headers, body)
        except InvalidWebhook as exc:
            start_response("401 Unauthorized", [("Content-Type", "text/plain")])
            return [str(exc).encode()]
        if isinstance(event, UrlValidation):
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps(event.response()).encode()]
        applied = apply_changes(scheduler, changes_from_event(event, scheduler.ledger), policy)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps([{"session": a.change.session_id, "kind": a.change.kind.value,
                             "decision": a.decision.value, "outcome": a.outcome} for a in applied]).encode()]

    return app


def main() -> None:
    """Serve the webhook endpoint on port 8000."""
    from lms_connectors.registry import create_adapter
    from lms_connectors.store.sqlite import SQLiteLedger

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ledger", required=True)
    parser.add_argument("--config", required=True, help="JSON: adapter name -> configuration")
    args = parser.parse_args()
    with open(args.config, encoding="utf-8") as handle:
        configs = json.load(handle)
    scheduler = Scheduler([create_adapter(name, settings) for name, settings in configs.items()],
                          SQLiteLedger(args.ledger))
    receiver = ZoomWebhookReceiver(os.environ["ZOOM_WEBHOOK_SECRET"])
    with make_server("127.0.0.1", 8000, webhook_app(receiver, scheduler)) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
