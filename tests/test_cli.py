"""The ``lms-connectors`` command: demo (twice, idempotent), adapters, doctor, and the embedding example."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest
from icalendar import Calendar
from typer.testing import CliRunner

from lms_connectors.cli import app
from lms_connectors.models import EnrollmentStatus
from lms_connectors.store.sqlite import SQLiteLedger

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def _calls(output: str) -> int:
    match = re.search(r"provider HTTP calls this run: (\d+)", output)
    assert match, output
    return int(match.group(1))


def test_demo_schedules_the_cohort_and_is_idempotent(tmp_path: Path) -> None:
    first = runner.invoke(app, ["demo", "--workdir", str(tmp_path)])
    assert first.exit_code == 0, first.output
    assert _calls(first.output) > 0
    assert "waitlisted" in first.output

    ledger = SQLiteLedger(tmp_path / "ledger.sqlite")
    try:
        sessions = ledger.list_sessions()
        assert len(sessions) == 2
        virtual = next(s for s in sessions if s.is_virtual)
        in_person = next(s for s in sessions if not s.is_virtual)
        assert virtual.meeting is not None and virtual.meeting.join_url.startswith("https://")
        assert virtual.sequence == 1  # rescheduled once
        assert in_person.room is not None
        statuses = [e.status for e in ledger.list_enrollments(in_person.id)]
        # Five learners, capacity three: the cancellation promoted the first waitlisted learner.
        assert statuses.count(EnrollmentStatus.CONFIRMED) == 3
        assert statuses.count(EnrollmentStatus.WAITLISTED) == 1
        assert statuses.count(EnrollmentStatus.CANCELLED) == 1
        promoted = ledger.list_enrollments(in_person.id)[3]
        assert promoted.status is EnrollmentStatus.CONFIRMED and promoted.pushed_to
        audit_rows = len(list(ledger.iter_audit()))
    finally:
        ledger.close()

    invites = sorted((tmp_path / "invites").glob("*.ics"))
    assert len(invites) == 3 + 1 + 3  # in person: 3 seats + 1 cancel notice; virtual: 3 seats
    for path in invites:
        calendar = Calendar.from_ical(path.read_bytes())
        assert calendar.get("METHOD") in ("REQUEST", "CANCEL")

    notices = sorted((tmp_path / "invites").glob("*.waitlist.txt"))
    assert len(notices) == 1 + 2  # in person: Marcus still waits; virtual: two wait
    files = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (tmp_path / "invites").iterdir()}

    second = runner.invoke(app, ["demo", "--workdir", str(tmp_path), "--quiet"])
    assert second.exit_code == 0, second.output
    assert _calls(second.output) == 0
    # Nothing changed, so no invite or notice is rewritten (same bytes, same DTSTAMP, same file time).
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (tmp_path / "invites").iterdir()} == files
    ledger = SQLiteLedger(tmp_path / "ledger.sqlite")
    try:
        assert len(list(ledger.iter_audit())) == audit_rows
    finally:
        ledger.close()


def test_demo_on_google_calendar_alone_gives_the_virtual_session_a_meet_link(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--workdir", str(tmp_path), "--only", "google_calendar", "--quiet"])
    assert result.exit_code == 0, result.output
    ledger = SQLiteLedger(tmp_path / "ledger.sqlite")
    try:
        virtual = next(s for s in ledger.list_sessions() if s.is_virtual)
        assert virtual.meeting is not None and virtual.meeting.provider == "google_calendar"
        assert virtual.meeting.join_url.startswith("https://meet.google.com/")
        assert [r.provider for r in ledger.list_refs(virtual.id)] == ["google_calendar"]
    finally:
        ledger.close()
    invite = next((tmp_path / "invites").glob(f"{virtual.id}-*.ics")).read_bytes().replace(b"\r\n ", b"")
    assert virtual.meeting.join_url.encode() in invite


def test_adapters_lists_installed_adapters_with_capabilities() -> None:
    result = runner.invoke(app, ["adapters"], terminal_width=200)
    assert result.exit_code == 0, result.output
    for name in ("google_calendar", "moodle", "zoom", "acme_lms"):
        assert name in result.output
    assert "meeting_link" in result.output


def test_doctor_names_the_unknown_adapter(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text("{}")
    result = runner.invoke(app, ["doctor", "mooodle", "--config", str(config)], terminal_width=200)
    assert result.exit_code == 1
    assert "Unknown adapter 'mooodle'" in result.output
    assert "Did you mean 'moodle'?" in result.output


def test_embedding_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    runpy.run_path(str(ROOT / "examples" / "embed.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "join at https://" in out
    assert "waitlisted" in out
    # 14:00 in Berlin on 18 March 2027 (CET, UTC+1) is 22:00 in Tokyo.
    assert "starts 2027-03-18 22:00 JST his time" in out


def test_doctor_checks_a_moodle_site_served_on_loopback(tmp_path: Path) -> None:
    import json

    from lms_connectors.registry import load_harness
    from lms_connectors.testing.sandbox import SandboxServer

    harness = load_harness("moodle")
    simulator = harness.make_simulator()
    with SandboxServer(simulator) as server:
        config = tmp_path / "moodle.json"
        config.write_text(json.dumps({
            "base_url": server.url, "token": "sandbox-moodle-token-00000000000000", "course_id": 2,
            "site_timezone": "Europe/London",
        }))
        healthy = runner.invoke(app, ["doctor", "moodle", "--config", str(config)], env={"COLUMNS": "200"})
        assert healthy.exit_code == 0, healthy.output
        assert "FAIL" not in healthy.output
        assert "Europe/London" in healthy.output
        # The token must never be printed.
        assert "sandbox-moodle-token" not in healthy.output

        simulator.site.rest_enabled = False  # an admin switched the REST protocol off
        broken = runner.invoke(app, ["doctor", "moodle", "--config", str(config)], env={"COLUMNS": "200"})
        assert broken.exit_code == 1
        assert "FAIL" in broken.output
        assert "disabled" in broken.output


def test_demo_routes_both_sessions_through_one_scheduler_on_every_installed_adapter(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--workdir", str(tmp_path), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "adapters: acme_lms, caldav, canvas, google_calendar, librebooking, microsoft_graph, moodle, zoom" in result.output  # vendor too
    ledger = SQLiteLedger(tmp_path / "ledger.sqlite")
    try:
        virtual = next(s for s in ledger.list_sessions() if s.is_virtual)
        in_person = next(s for s in ledger.list_sessions() if not s.is_virtual)
        assert sorted(r.provider for r in ledger.list_refs(in_person.id)) == [
            "acme_lms",
            "caldav",
            "canvas",
            "google_calendar",
            "librebooking",
            "microsoft_graph",
            "moodle",
        ]
        assert sorted(r.provider for r in ledger.list_refs(virtual.id)) == [
            "acme_lms",
            "caldav",
            "canvas",
            "google_calendar",
            "microsoft_graph",
            "moodle",
            "zoom",
        ]
        assert in_person.meeting is None
        assert virtual.meeting is not None and virtual.meeting.provider == "zoom"
    finally:
        ledger.close()


@pytest.mark.parametrize(
    ("only", "holder"),
    [((), "librebooking"), (("--only", "google_calendar"), "google_calendar")],
    ids=["room-booking-system-installed", "google-calendar-alone"],
)
def test_demo_books_the_in_person_room_and_refuses_the_instructors_clashing_session(
    tmp_path: Path, only: tuple[str, ...], holder: str
) -> None:
    result = runner.invoke(app, ["demo", "--workdir", str(tmp_path), *only, "--quiet"], terminal_width=200)
    assert result.exit_code == 0, result.output
    ledger = SQLiteLedger(tmp_path / "ledger.sqlite")
    try:
        in_person = ledger.get_session("demo.forklift-safety.2027-03-16")
        assert in_person is not None and in_person.room is not None
        # A room-booking system's room when one is installed, else a room of the calendar that holds rooms.
        assert in_person.room.provider == holder
        assert holder in [ref.provider for ref in ledger.list_refs(in_person.id)]
        # The refresher (same instructor, 11:00 while she teaches 9-12) was refused before anything was stored.
        assert ledger.get_session("demo.forklift-refresher.2027-03-16") is None
        assert ledger.list_refs("demo.forklift-refresher.2027-03-16") == []
    finally:
        ledger.close()
    output = " ".join(result.output.split())
    assert "refused demo.forklift-refresher.2027-03-16: double booking" in output
    assert "priya.nair@example.org is busy 2027-03-16T15:00:00+00:00 to 2027-03-16T16:00:00+00:00 (session 'demo.forklift-safety.2027-03-16')" in output
    assert f"(room held by {holder})" in output


def test_demo_on_microsoft_graph_alone_makes_the_teams_link_itself(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--workdir", str(tmp_path), "--only", "microsoft_graph", "--quiet"])
    assert result.exit_code == 0, result.output
    ledger = SQLiteLedger(tmp_path / "ledger.sqlite")
    try:
        virtual = next(s for s in ledger.list_sessions() if s.is_virtual)
        assert virtual.meeting is not None and virtual.meeting.provider == "microsoft_graph"
        assert virtual.meeting.join_url.startswith("https://teams.microsoft.com/l/meetup-join/")
        assert [r.provider for r in ledger.list_refs(virtual.id)] == ["microsoft_graph"]
    finally:
        ledger.close()
    again = runner.invoke(app, ["demo", "--workdir", str(tmp_path), "--only", "microsoft_graph", "--quiet"])
    assert "provider HTTP calls this run: 0" in again.output


def test_demo_with_only_a_meeting_provider_skips_the_in_person_session_and_says_why(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--workdir", str(tmp_path), "--only", "zoom", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "skipped demo.forklift-safety.2027-03-16: no adapter serves session" in result.output
    assert "New-hire Onboarding (virtual)" in result.output


def test_demo_without_any_adapter_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import lms_connectors.demo as demo_module

    monkeypatch.setattr(demo_module, "available_adapters", lambda: [])
    result = runner.invoke(app, ["demo", "--workdir", str(tmp_path)])
    assert result.exit_code == 1
    assert "no adapter with a sandbox is installed" in result.output
    assert "pip install -r requirements-dev.txt" in result.output
    assert "Traceback" not in result.output


def test_demo_only_names_an_adapter_that_is_not_installed(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--workdir", str(tmp_path), "--only", "zoo"])
    assert result.exit_code == 1
    assert "--only zoo: not installed" in result.output


# -- the command as people use it: version, logging, clean errors, whole lines when piped -------------------


def test_version_is_the_installed_distributions() -> None:
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"lms-connectors {version('lms-connectors')}"


def test_verbose_logs_the_named_loggers_to_stderr(tmp_path: Path) -> None:
    quiet = runner.invoke(app, ["demo", "--workdir", str(tmp_path / "a"), "--quiet"])
    assert "lms_connectors.scheduler" not in quiet.stderr
    result = runner.invoke(app, ["-v", "demo", "--workdir", str(tmp_path / "b"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert " INFO lms_connectors.scheduler: create demo." in result.stderr
    assert "lms_connectors.scheduler" not in result.stdout
    debug = runner.invoke(app, ["--log-level", "debug", "demo", "--workdir", str(tmp_path / "c"), "--quiet"])
    assert debug.exit_code == 0 and " DEBUG lms_connectors." in debug.stderr


def test_an_unknown_log_level_is_a_usage_error() -> None:
    result = runner.invoke(app, ["--log-level", "LOUD", "adapters"], terminal_width=200)
    assert result.exit_code == 2 and "Invalid value for --log-level: 'LOUD' is not one of" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "cannot read the configuration file"),
        ("{base_url: nope", "is not valid JSON: Expecting property name"),
        ('["https://moodle.example.edu"]', "must hold a JSON object of settings, not list"),
        ('{"base_url": "moodle.example.edu", "token": "0123456789abcdef"}', "http(s) URL with a host"),
    ],
)
def test_doctor_reports_a_bad_configuration_file_in_one_line(tmp_path: Path, content: str | None, says: str) -> None:
    config = tmp_path / "moodle.json"
    if content is not None:
        config.write_text(content)
    result = runner.invoke(app, ["doctor", "moodle", "--config", str(config)])
    assert result.exit_code == 1
    assert says in result.output and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_demo_in_a_folder_that_is_a_file_is_a_clean_error(tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("")
    result = runner.invoke(app, ["demo", "--workdir", str(taken)])
    assert result.exit_code == 1 and f"cannot use {taken}" in result.output
    assert isinstance(result.exception, SystemExit)


def test_matrix_without_results_says_where_it_looked_and_how_to_make_them(tmp_path: Path) -> None:
    result = runner.invoke(app, ["matrix", "--results", str(tmp_path / "none.json")])
    assert result.exit_code == 1 and f"cannot read contract results {tmp_path / 'none.json'}" in result.output
    assert "pytest -m lmsc_contract --lmsc-results=" in result.output


def test_adapters_with_none_installed_says_how_to_install_one(monkeypatch: pytest.MonkeyPatch) -> None:
    import lms_connectors.registry as registry

    monkeypatch.setattr(registry, "available_adapters", lambda: [])
    result = runner.invoke(app, ["adapters"])
    assert result.exit_code == 0
    assert "No adapter is installed" in result.output and "pip install -r requirements-dev.txt" in result.output


def test_piped_output_keeps_ids_and_links_whole(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--workdir", str(tmp_path), "--quiet"], env={"COLUMNS": None})
    assert result.exit_code == 0, result.output
    (line,) = [line for line in result.stdout.splitlines() if "provider objects:" in line and "zoom=" in line]
    assert re.search(r"google_calendar=[a-v0-9]{20,}, ", line) and "moodle=" in line
    assert re.search(r"https://zoom\.us/j/\d+\?pwd=\S+", result.stdout)
