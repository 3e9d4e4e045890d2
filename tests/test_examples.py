"""Every script under examples/ runs as a user would run it, and every installed adapter has one."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

from lms_connectors.registry import available_adapters

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(p for p in (ROOT / "examples").glob("*.py") if p.name != "embed.py")  # embed.py: test_cli


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_example_runs_against_its_sandbox(script: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    assert out.startswith("scheduled ") or "\nscheduled " in out
    calls = re.search(r"calls: (\d+)$", out.strip())
    assert calls and int(calls.group(1)) > 0


def test_every_adapter_has_a_runnable_example() -> None:
    covered = {
        name
        for script in SCRIPTS
        for name in re.findall(r'sandboxed_adapters\(\["(\w+)"\]\)', script.read_text(encoding="utf-8"))
    }
    installed = {info.name for info in available_adapters()}
    assert installed >= {"acme_lms", "caldav", "google_calendar", "librebooking", "microsoft_graph", "moodle", "zoom"}
    assert installed <= covered, f"no example for {sorted(installed - covered)}"


def test_readme_names_every_example() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [script.name for script in SCRIPTS if f"`{script.name}`" not in readme]
    assert not missing, f"README's example list lacks {missing}"
