"""Mount Google Calendar push notifications in any WSGI or ASGI server: checked notifications read the feed.

The receiver is a plain function of the request's headers
(:func:`lms_connectors_google_calendar.push.handle_notification`); this wraps it as a WSGI app and as an ASGI app
with the standard library only. Run it against a ledger with::

    python examples/webhooks/google_calendar_push.py --ledger term.sqlite --config adapters.json \\
        --address https://hooks.example.org/google/push

where ``--address`` is the public HTTPS address that reaches this server (Google posts nothing to plain HTTP).
On start it opens a channel (or keeps the one the ledger holds) and renews it every hour when it is due. A
forged, replayed or expired notification gets 401; a checked one is answered 200 once the changes it stands for
are decided.
"""

from __future__ import annotations

import argparse
import json
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any
from wsgiref.simple_server import make_server

from lms_connectors.changes import ChangePolicy
from lms_connectors.errors import ConnectorError
from lms_connectors.push import ChannelKeeper, InvalidNotification
from lms_connectors.scheduler import Scheduler
from lms_connectors_google_calendar.adapter import GoogleCalendarAdapter
from lms_connectors_google_calendar.push import handle_notification

PATH = "/google/push"
StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def answer(
    headers: Mapping[str, str],
    keeper: ChannelKeeper,
    scheduler: Scheduler,
    adapter: GoogleCalendarAdapter,
    policy: ChangePolicy | None = None,
) -> tuple[int, dict[str, Any]]:
    """The status and JSON body to answer a notification with."""
    try:
        notification, applied = handle_notification(
            headers, keeper=keeper, scheduler=scheduler, adapter=adapter, policy=policy
        )
    except InvalidNotification as exc:
        return 401, {"refused": exc.message}
    except ConnectorError as exc:  # the feed could not be read: Google delivers the notification again later
        return 503, {"error": exc.message}
    decided = [{"session": a.change.session_id, "kind": a.change.kind.value, "decision": a.decision.value,
                "outcome": a.outcome} for a in applied]
    return 200, {"state": notification.state, "message": notification.message, "decided": decided}


def wsgi_app(keeper: ChannelKeeper, scheduler: Scheduler, adapter: GoogleCalendarAdapter) -> Any:
    """A WSGI app answering POST /google/push."""

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != PATH:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")}
        status, body = answer(headers, keeper, scheduler, adapter)
        reason = {200: "OK", 401: "Unauthorized", 503: "Service Unavailable"}[status]
        start_response(f"{status} {reason}", [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]

    return app


Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def asgi_app(
    keeper: ChannelKeeper, scheduler: Scheduler, adapter: GoogleCalendarAdapter
) -> Callable[[dict[str, Any], Receive, Send], Awaitable[None]]:
    """An ASGI app answering POST /google/push (the SDK's calls run in a worker thread, off the event loop)."""
    import asyncio

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope.get("method") != "POST" or scope.get("path") != PATH:
            status, body = 404, {"error": "not found"}
        else:
            while (await receive()).get("more_body"):  # Google's notifications have no body: drain it anyway
                pass
            headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope.get("headers", [])}
            status, body = await asyncio.to_thread(answer, headers, keeper, scheduler, adapter)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": json.dumps(body).encode()})

    return app


def main() -> None:
    """Open or keep the channel, renew it hourly when due, and serve the endpoint on port 8000."""
    from lms_connectors.registry import create_adapter
    from lms_connectors.store.sqlite import SQLiteLedger

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ledger", required=True)
    parser.add_argument("--config", required=True, help="JSON: adapter name -> configuration")
    parser.add_argument("--address", required=True, help="the public HTTPS address of this endpoint")
    args = parser.parse_args()
    with open(args.config, encoding="utf-8") as handle:
        configs = json.load(handle)
    adapters = {name: create_adapter(name, settings) for name, settings in configs.items()}
    google = adapters["google_calendar"]
    assert isinstance(google, GoogleCalendarAdapter)
    scheduler = Scheduler(list(adapters.values()), SQLiteLedger(args.ledger))
    keeper = ChannelKeeper(scheduler.ledger, google, args.address)
    keeper.ensure()
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(3600):
            keeper.ensure()

    threading.Thread(target=renew, daemon=True).start()
    with make_server("127.0.0.1", 8000, wsgi_app(keeper, scheduler, google)) as server:
        try:
            server.serve_forever()
        finally:
            stop.set()
            keeper.stop()


if __name__ == "__main__":
    main()
