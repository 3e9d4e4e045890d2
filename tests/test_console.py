"""The console script: the command line with its extra, one clear line without it; the core needs neither."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path

import pytest

from lms_connectors import console

ROOT = Path(__file__).resolve().parents[1]


def test_without_the_cli_extra_the_script_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "typer" else real(name, *a))
    with pytest.raises(SystemExit) as ended:
        console.main()
    assert ended.value.code == 1
    assert capsys.readouterr().err == "lms-connectors: the command line needs typer: pip install 'lms-connectors[cli]'\n"


def test_with_the_extra_the_script_runs_the_command_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.argv", ["lms-connectors", "--version"])
    with pytest.raises(SystemExit) as ended:
        console.main()
    assert ended.value.code in (0, None)
    assert "lms-connectors" in capsys.readouterr().out


def test_the_core_installs_no_command_line_library() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {requirement.split(">")[0].split("<")[0].split(";")[0].split("[")[0].strip() for requirement in project["dependencies"]}
    assert not names & {"typer", "rich", "click", "pygments"}
    assert set(project["optional-dependencies"]["cli"]) == {"typer>=0.12,<1", "rich>=13,<16"}
    assert project["scripts"]["lms-connectors"] == "lms_connectors.console:main"
