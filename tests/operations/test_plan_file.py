"""Plan files: validated with the file, line and field to blame; enrolments from an HRIS-shaped CSV."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from lms_connectors.errors import ValidationError
from lms_connectors.operations.plan_file import load_plan, read_enrolments_csv

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "plans" / "spring-term.yaml"

MINIMAL = """\
version: 1
instructors:
  - email: priya@example.org
    name: Priya
    timezone: America/New_York
sessions:
  - id: s.one
    title: One
    start: 2027-03-16 09:00
    minutes: 60
    timezone: America/New_York
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    return path


def test_the_example_plan_loads_with_its_csv() -> None:
    plan, rows = load_plan(EXAMPLE)
    assert [s.id for s in plan.sessions] == ["plan.forklift-safety.2027-03-16", "plan.onboarding.2027-03-18"]
    by_session = {(r.session_id, r.learner.email) for r in rows}
    assert ("plan.forklift-safety.2027-03-16", "yuki.tanaka@example.org") in by_session  # from the CSV
    assert ("plan.onboarding.2027-03-18", "kenji.sato@example.org") in by_session  # from the plan
    slot = plan.sessions[0].slot()
    assert slot.start.utcoffset() == timedelta(hours=-4)  # New York is on EDT from 14 March 2027
    assert slot.end - slot.start == timedelta(minutes=180)


@pytest.mark.parametrize(
    ("change", "line", "field", "words"),
    [
        (("    minutes: 60", "    minutes: -5"), 10, "sessions.0.minutes", "greater than 0"),
        (("    timezone: America/New_York\n", "    timezone: America/New_Yrok\n"), 5, "instructors.0.timezone",
         "America/New_York"),
        (("  - id: s.one", "  - id: s.one\n    colour: blue"), 8, "sessions.0.colour", "Extra inputs"),  # the line added
        (("    start: 2027-03-16 09:00", "    start: 2027-03-14 02:30"), 9, "sessions.0.start", "skip"),
        (("    start: 2027-03-16 09:00", "    start: 2027-03-16 09:00:00+01:00"), 7, "sessions.0", "without an offset"),
        (("    minutes: 60", "    minutes: 60\n    instructor: nobody@example.org"), 11, "sessions.0.instructor",
         "not in instructors"),
    ],
)
def test_errors_name_the_line_and_the_field(
    tmp_path: Path, change: tuple[str, str], line: int, field: str | None, words: str
) -> None:
    text = MINIMAL.replace(*change, 1)
    with pytest.raises(ValidationError) as caught:
        load_plan(_write(tmp_path, text))
    message = caught.value.message
    assert message.startswith("plan.yaml:"), message
    assert words in message, message
    if field is not None:
        assert caught.value.field == field, message
        assert f"plan.yaml:{line}:" in message, message


def test_not_yaml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"plan\.yaml:4: not valid YAML"):
        load_plan(_write(tmp_path, "version: 1\nsessions:\n  - id: [unclosed\n"))


def test_a_missing_plan_is_a_validation_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="cannot read the plan"):
        load_plan(tmp_path / "absent.yaml")


def test_csv_columns_are_found_whatever_their_spelling(tmp_path: Path) -> None:
    path = tmp_path / "hris.csv"
    path.write_text("\ufeffFull Name,Time Zone,Work Email,Session ID\nAna Lima,america/sao_paulo,Ana.Lima@Example.org,s.one\n")
    (row,) = read_enrolments_csv(path)
    assert (row.session_id, row.learner.email, row.learner.name) == ("s.one", "ana.lima@example.org", "Ana Lima")
    assert row.learner.person().timezone == "America/Sao_Paulo"


def test_a_bad_csv_row_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "hris.csv"
    path.write_text("session,email,name,timezone\ns.one,a@example.org,A,UTC\ns.one,not-an-email,B,UTC\n")
    with pytest.raises(ValidationError, match=r"hris\.csv:3:"):
        read_enrolments_csv(path)
    path.write_text("session,name\ns.one,A\n")
    with pytest.raises(ValidationError, match="no column for email"):
        read_enrolments_csv(path)


def test_csv_rows_must_name_sessions_of_the_plan(tmp_path: Path) -> None:
    (tmp_path / "e.csv").write_text("session,email,name\ns.two,a@example.org,A\n")
    with pytest.raises(ValidationError, match=r"sessions not in the plan: s\.two"):
        load_plan(_write(tmp_path, MINIMAL + "enrolments_csv: e.csv\n"))
