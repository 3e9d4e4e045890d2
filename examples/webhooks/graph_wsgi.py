"""Mount Microsoft Graph change notifications in any WSGI server: the handshake, checked deliveries, lifecycle.

The receiver is a plain function of the request's query and raw body
(:func:`lms_connectors_microsoft_graph.push.handle_notifications`); this wraps it in a WSGI app with the
standard library only. Run it against a ledger with::

    python examples/webhooks/graph_wsgi.py --ledger term.sqlite --config adapters.json \\
        --address https://hooks.example.org/graph/notify

where ``--address`` is the public HTTPS address that reaches this server. On start it subscribes (Graph first
sends its validation request, answered here) or keeps the subscription the ledger holds, and renews it every
hour when it is due. A forged, replayed or expired delivery gets 401; a checked one 202 once its changes are
decided.
"""

from __future__ import annotations

import argparse
import json
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIServer, make_server

from lms_connectors.changes import ChangePolicy, ReplayGuard
from lms_connectors.errors import ConnectorError
from lms_connectors.push import ChannelKeeper, InvalidNotification
from lms_connectors.scheduler import Scheduler
from lms_connectors_microsoft_graph.adapter import MicrosoftGraphAdapter
from lms_connectors_microsoft_graph.push import handle_notifications, validation_answer

PATH = "/graph/notify"
StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """One thread per request: renewing a subscription while a notification is handled makes Graph call this
    endpoint again (its validation request), which a server of one thread could not answer."""

    daemon_threads = True


def wsgi_app(
    keeper: ChannelKeeper, scheduler: Scheduler, graph: MicrosoftGraphAdapter, policy: ChangePolicy | None = None
) -> Any:
    """A WSGI app answering POST /graph/notify (one replay guard per process)."""
    replays = ReplayGuard(window=3600.0)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != PATH:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        query = {name: values[0] for name, values in parse_qs(environ.get("QUERY_STRING", "")).items()}
        token = validation_answer(query)
        if token is not None:
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [token.encode()]
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        try:
            notes, applied = handle_notifications(
                body, keeper=keeper, scheduler=scheduler, adapter=graph, replays=replays, policy=policy
            )
        except InvalidNotification as exc:
            start_response("401 Unauthorized", [("Content-Type", "application/json")])
            return [json.dumps({"refused": exc.message}).encode()]
        except ConnectorError as exc:  # Graph delivers again later
            start_response("503 Service Unavailable", [("Content-Type", "application/json")])
            return [json.dumps({"error": exc.message}).encode()]
        start_response("202 Accepted", [("Content-Type", "application/json")])
        decided = [{"session": a.change.session_id, "kind": a.change.kind.value, "decision": a.decision.value,
                    "outcome": a.outcome} for a in applied]
        seen = [{"change": n.change_type, "lifecycle": n.lifecycle} for n in notes]
        return [json.dumps({"notifications": seen, "decided": decided}).encode()]

    return app


def main() -> None:
    """Subscribe (or keep the subscription), renew it hourly when due, and serve the endpoint on port 8000."""
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
    graph = adapters["microsoft_graph"]
    assert isinstance(graph, MicrosoftGraphAdapter)
    scheduler = Scheduler(list(adapters.values()), SQLiteLedger(args.ledger))
    keeper = ChannelKeeper(scheduler.ledger, graph, args.address)
    stop = threading.Event()
    with make_server("127.0.0.1", 8000, wsgi_app(keeper, scheduler, graph), server_class=ThreadingWSGIServer) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()  # up before Graph's handshake
        keeper.ensure()
        try:
            while not stop.wait(3600):
                keeper.ensure()
        finally:
            keeper.stop()
            server.shutdown()


if __name__ == "__main__":
    main()
