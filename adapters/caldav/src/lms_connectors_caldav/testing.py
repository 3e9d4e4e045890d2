"""Contract-kit harness of the CalDAV adapter: a real Radicale server, started on 127.0.0.1 by the tests.

:class:`RadicaleServer` runs ``python -m radicale`` (Radicale from PyPI, the ``test`` extra) in a subprocess with a
configuration, a plain-text htpasswd file and an empty storage folder in a temporary directory, on a free
loopback port; it waits until the server answers and stops it (and removes the folder) afterwards.

The kit's "sandbox" is a :class:`RadicaleProxy`: a :class:`~lms_connectors.testing.sandbox.Simulator` that hands
every request to that Radicale unchanged, so the kit's loopback server can inject its faults (throttling, a
lost answer) in front of a real CalDAV server; every other answer is Radicale's own. Cassettes recorded through
it replay offline; the same matrix also runs live against Radicale (``tests/test_contract.py``).

Re-recording against another server (Nextcloud, iCloud, ...): ``LMS_CONNECTORS_RECORD=live`` with
``LMSC_CALDAV_URL``, ``LMSC_CALDAV_USERNAME``, ``LMSC_CALDAV_PASSWORD`` and ``LMSC_CALDAV_CALENDAR``.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import http.client
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar
from xml.etree import ElementTree as ET

from lms_connectors.errors import ConfigurationError
from lms_connectors.testing.harness import ContractHarness
from lms_connectors.testing.sandbox import SandboxRequest, SandboxResponse, SandboxServer, Simulator
from lms_connectors_caldav import dav
from lms_connectors_caldav.adapter import CalDavAdapter
from lms_connectors_caldav.config import CalDavConfig

__all__ = ["CANONICAL_BASE_URL", "CalDavHarness", "RadicaleProxy", "RadicaleServer", "radicale_installed"]

CANONICAL_BASE_URL = "https://caldav.example.org"
"""Where cassettes say the server is (loopback URLs are rewritten to it)."""
USERNAME = "trainer"
PLACEHOLDER_PASSWORD = "placeholder-caldav-password"  # noqa: S105 - a placeholder, never a real secret
CALENDAR = "training"
CALENDAR_PATH = f"/{USERNAME}/{CALENDAR}/"
ORGANIZER_EMAIL = "training-desk@example.org"

# Request headers the proxy does not pass on: hop-by-hop ones, and Accept-Encoding (Radicale would gzip; plain
# bodies keep cassettes readable). Response headers it drops: hop-by-hop ones, and Date/Server (stable cassettes).
_DROP_REQUEST = frozenset(
    {"host", "connection", "keep-alive", "content-length", "transfer-encoding", "accept-encoding"}
)
_DROP_RESPONSE = frozenset({"connection", "keep-alive", "content-length", "transfer-encoding", "date", "server"})


def radicale_installed() -> bool:
    """Whether Radicale can be started here (the adapter's ``test`` extra installs it)."""
    return importlib.util.find_spec("radicale") is not None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RadicaleServer:
    """A Radicale process on 127.0.0.1 with its own temporary configuration and storage.

    Args:
        username: The one account (htpasswd, plain text: a throw-away test password).
        password: Its password.
        start_timeout: Seconds to wait for the server to answer.

    Attributes:
        url: ``http://127.0.0.1:<port>`` once started.
    """

    def __init__(self, username: str = USERNAME, password: str = PLACEHOLDER_PASSWORD, *,
                 start_timeout: float = 20.0) -> None:
        self.username = username
        self.password = password
        self.start_timeout = start_timeout
        self.url = ""
        self._folder: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        """Whether the process is up."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> RadicaleServer:
        """Write the configuration, start Radicale and wait until it answers.

        Raises:
            ConfigurationError: Radicale is not installed, or did not answer in time (its log is in the message).
        """
        if not radicale_installed():
            raise ConfigurationError("Radicale is not installed: pip install 'lms-connectors-caldav[test]'")
        folder = Path(tempfile.mkdtemp(prefix="lmsc-radicale-"))
        self._folder = folder
        (folder / "users").write_text(f"{self.username}:{self.password}\n", encoding="utf-8")
        last_error = ""
        for _ in range(3):  # another process may take the free port between the probe and Radicale's bind
            port = _free_port()
            config = folder / "config"
            config.write_text(
                "\n".join([
                    "[server]", f"hosts = 127.0.0.1:{port}",
                    "[auth]", "type = htpasswd", f"htpasswd_filename = {folder / 'users'}",
                    "htpasswd_encryption = plain", "delay = 0",
                    "[rights]", "type = owner_only",
                    "[storage]", f"filesystem_folder = {folder / 'collections'}",
                    "[web]", "type = none",
                    "[logging]", "level = warning",
                ]) + "\n",
                encoding="utf-8",
            )
            log = (folder / "radicale.log").open("wb")
            self._process = subprocess.Popen(  # noqa: S603 - our own interpreter, our own arguments
                [sys.executable, "-m", "radicale", "--config", str(config)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
            log.close()
            self.url = f"http://127.0.0.1:{port}"
            if self._wait_ready():
                atexit.register(self.stop)
                return self
            last_error = (folder / "radicale.log").read_text(encoding="utf-8", errors="replace")[-2000:]
            self._terminate()
        self.stop()
        raise ConfigurationError(f"Radicale did not start on 127.0.0.1: {last_error or 'no output'}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                return False
            with contextlib.suppress(OSError):
                status, _, _ = self.send("OPTIONS", "/")
                if status < 500:
                    return True
            time.sleep(0.05)
        return False

    def send(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
             ) -> tuple[int, list[tuple[str, str]], bytes]:
        """One request straight to Radicale, on a socket of its own.

        ``http.client`` and ``requests`` are patched by vcrpy while a cassette records; the proxy's own hop must
        not be recorded, so it writes the request to a plain socket and reads the answer with ``HTTPResponse``.
        """
        host, port = self.url.removeprefix("http://").split(":")
        credentials = base64.b64encode(f"{self.username}:{self.password}".encode()).decode("ascii")
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close",
                 f"Content-Length: {len(body)}"]
        sent = {name.lower() for name in (headers or {})}
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if "authorization" not in sent:
            lines.append(f"Authorization: Basic {credentials}")
        with socket.create_connection((host, int(port)), timeout=30) as connection:
            connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
            answer = http.client.HTTPResponse(connection)
            answer.begin()
            content = answer.read()
            return answer.status, list(answer.getheaders()), content

    def reset_calendar(self, calendar_path: str = CALENDAR_PATH) -> None:
        """Remove the calendar with everything in it, and make it again empty (each contract case starts so)."""
        self.send("DELETE", calendar_path)
        status, _, content = self.send("MKCALENDAR", calendar_path, dav.mkcalendar("Training sessions"),
                                       {"Content-Type": "application/xml; charset=utf-8"})
        if status != 201:
            raise ConfigurationError(f"Radicale refused MKCALENDAR {calendar_path}: {status} {content[:200]!r}")

    def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def stop(self) -> None:
        """Stop Radicale and remove its folder (idempotent)."""
        self._terminate()
        folder, self._folder = self._folder, None
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def __enter__(self) -> RadicaleServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class RadicaleProxy(Simulator):
    """Hands every request to a running Radicale and answers what it answered (the kit adds faults in front).

    Args:
        server: The running Radicale.
    """

    def __init__(self, server: RadicaleServer) -> None:
        super().__init__()
        self.server = server

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        """Forward ``request`` as it came (path re-encoded, credentials as sent) and return Radicale's answer."""
        from urllib.parse import quote, urlencode

        path = quote(request.path, safe="/:@!$&'()*+,;=-._~")
        if request.query:
            path += "?" + urlencode(request.query, doseq=True)
        headers = {name: value for name, value in request.headers.items() if name not in _DROP_REQUEST}
        status, answer_headers, content = self.server.send(request.method, path, request.body, headers)
        kept = {name: value for name, value in answer_headers if name.lower() not in _DROP_RESPONSE}
        return SandboxResponse(status=status, body=content, headers=kept)


class CalDavHarness(ContractHarness[CalDavAdapter, RadicaleProxy]):
    """How the contract kit builds, records and provokes the CalDAV adapter, on a real Radicale.

    One Radicale serves every case of a run; it is started at the first :meth:`make_simulator` and stopped by
    :meth:`stop_server` (the contract tests call it; an exit hook stops it otherwise).
    """

    canonical_base_url: ClassVar[str] = CANONICAL_BASE_URL
    keeps: ClassVar[frozenset[str]] = frozenset({"timezone", "location", "capacity"})
    create_method: ClassVar[str] = "PUT"
    missing_external_id: ClassVar[str] = f"{CALENDAR_PATH}contract-missing-0.ics"
    unsupported: ClassVar[dict[str, str]] = {
        "expired_auth": (
            "CalDAV servers take Basic credentials (or a bearer token issued elsewhere) that cannot be refreshed: "
            "a refused one is an AuthError at once (tested against Radicale in adapters/caldav/tests)"
        ),
    }

    _server: ClassVar[RadicaleServer | None] = None
    _server_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, *, require_server: bool = True) -> None:
        """Check that Radicale can be started, unless ``require_server`` is false (replaying cassettes needs none).

        Raises:
            ConfigurationError: Radicale is not installed (the demo then leaves CalDAV out, saying why).
        """
        if require_server and not radicale_installed():
            raise ConfigurationError(
                "the CalDAV sandbox is a real Radicale: pip install 'lms-connectors-caldav[test]'", provider="caldav"
            )

    @classmethod
    def radicale(cls) -> RadicaleServer:
        """The shared Radicale of this process, started on first use."""
        with cls._server_lock:
            if cls._server is None or not cls._server.running:
                cls._server = RadicaleServer().start()
            return cls._server

    @classmethod
    def stop_server(cls) -> None:
        """Stop the shared Radicale."""
        with cls._server_lock:
            if cls._server is not None:
                cls._server.stop()
                cls._server = None

    def make_simulator(self) -> RadicaleProxy:
        """Radicale behind the kit's proxy, with the sessions' calendar emptied (made again)."""
        server = self.radicale()
        server.reset_calendar()
        return RadicaleProxy(server)

    def adapter_settings(self, base_url: str) -> dict[str, Any]:
        """The placeholder Basic credentials; the adapter discovers its calendar from ``base_url``."""
        return {
            "base_url": base_url,
            "calendar": CALENDAR,
            "username": USERNAME,
            "password": PLACEHOLDER_PASSWORD,
            "organizer_email": ORGANIZER_EMAIL,
            "organizer_name": "Training Desk",
        }

    def live_adapter(self, *, sleep: Callable[[float], None]) -> CalDavAdapter:
        """The adapter on another CalDAV server, from ``LMSC_CALDAV_URL``, ``..._USERNAME``, ``..._PASSWORD``.

        ``LMSC_CALDAV_CALENDAR`` names the calendar collection (default ``training``; it must exist and be empty).

        Raises:
            ConfigurationError: A variable is missing.
        """
        env = os.environ
        missing = [name for name in ("LMSC_CALDAV_URL", "LMSC_CALDAV_USERNAME", "LMSC_CALDAV_PASSWORD")
                   if not env.get(name)]
        if missing:
            raise ConfigurationError(f"live recording needs {', '.join(missing)}", provider=self.adapter_name)
        config = CalDavConfig.model_validate({
            "base_url": env["LMSC_CALDAV_URL"],
            "calendar": env.get("LMSC_CALDAV_CALENDAR", CALENDAR),
            "username": env["LMSC_CALDAV_USERNAME"],
            "password": env["LMSC_CALDAV_PASSWORD"],
            "organizer_email": ORGANIZER_EMAIL,
        })
        return CalDavAdapter(config, sleep=sleep)

    def secret_values(self) -> list[str]:
        """The placeholder password (the kit's default finds it in the settings) and its Basic encoding."""
        encoded = base64.b64encode(f"{USERNAME}:{PLACEHOLDER_PASSWORD}".encode()).decode("ascii")
        return [*super().secret_values(), encoded]

    def request_signature(self, body: bytes | None) -> str | None:
        """What a replayed body must match: XML in canonical form, iCalendar without its ``DTSTAMP``.

        ``DTSTAMP`` is the time of writing, which differs at every run; anything else is matched as the default
        does.
        """
        if not body:
            return None
        text = body.decode("utf-8", errors="replace")
        if text.lstrip().startswith("<?xml") or text.lstrip().startswith("<"):
            try:
                return ET.canonicalize(text, strip_text=True)
            except ET.ParseError:
                return text
        if text.startswith("BEGIN:VCALENDAR"):
            unfolded = text.replace("\r\n ", "").replace("\r\n\t", "")
            return "\n".join(line for line in unfolded.splitlines() if not line.startswith("DTSTAMP"))
        return super().request_signature(body)

    def provoke_invalid_request(self, adapter: CalDavAdapter, sandbox: SandboxServer[RadicaleProxy] | None) -> None:
        """Store a resource holding a VTODO and a VEVENT of two UIDs, which RFC 4791 4.1 forbids (Radicale: 400)."""
        adapter.transport.request(
            "PUT", adapter.dav.url(adapter.ex_calendar() + "contract-invalid.ics"),
            data=(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//lms-connectors//contract//EN\r\n"
                  b"BEGIN:VTODO\r\nUID:contract-invalid-1\r\nDTSTAMP:20270101T000000Z\r\nEND:VTODO\r\n"
                  b"BEGIN:VEVENT\r\nUID:contract-invalid-2\r\nDTSTAMP:20270101T000000Z\r\n"
                  b"DTSTART:20270504T140000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"),
            headers={"Content-Type": "text/calendar; charset=utf-8", "If-None-Match": "*"},
        )

    def provoke_conflict(self, adapter: CalDavAdapter, sandbox: SandboxServer[RadicaleProxy] | None) -> None:
        """Create a session; another client renames it (its own GET and PUT); the SDK's reschedule is refused."""
        from datetime import datetime, timedelta
        from zoneinfo import ZoneInfo

        from lms_connectors.models import Session, TimeSlot

        start = datetime(2027, 5, 4, 10, 0, tzinfo=ZoneInfo("America/New_York"))
        session = Session(
            id="contract-typed-errors-conflict",
            title="Contract typed errors conflict",
            slot=TimeSlot(start=start, end=start + timedelta(hours=1), timezone="America/New_York"),
        )
        ref = adapter.create_session(session, key=f"{session.id}.{self.adapter_name}.g1")
        url = adapter.dav.url(ref.external_id)
        current = adapter.transport.request("GET", url)
        edited = current.content.replace(b"SUMMARY:Contract typed errors conflict", b"SUMMARY:Renamed elsewhere")
        adapter.transport.request("PUT", url, data=edited, headers={
            "Content-Type": "text/calendar; charset=utf-8", "If-Match": current.headers.get("ETag", "*")})
        moved = session.rescheduled(TimeSlot(start=start + timedelta(days=1), end=start + timedelta(days=1, hours=1),
                                             timezone="America/New_York"))
        adapter.reschedule_session(ref, moved)

