"""Import time and installed size of the core and the adapters, side by side with the peers.

Import time: each module is imported in a fresh interpreter (``python -c "import MODULE"``), and so is nothing
(``python -c pass``, the interpreter's own start-up). Rounds are interleaved: every round imports every module
once, in a new random order, so that a burst of load on a shared machine hits all of them alike. A module's figure
is its wall time and its CPU time (the child's user + system, from ``wait4``) minus the same for ``python -c pass``:
the minimum over the rounds (what the import costs when nothing else gets in the way) and the median (what a
loaded machine gives). Byte-code caches are written before the counted rounds, as pip writes them
when it installs a wheel. The last column is the median CPU time as a ratio to zoomus's in the same run, the
figure to compare across machines. A peer that is not installed is listed as such (``pip install -r
benchmarks/requirements-peers.txt`` installs them).

``--breakdown MODULE`` prints what importing ``MODULE`` spends most in (``python -X importtime``, best of the
rounds): its own time summed by top-level package, and the heaviest modules by their own time.

Installed size (``--sizes``): each distribution is installed with its dependencies into an empty folder
(``pip install --target``, no byte-code compiled) and the folder is measured. The core is installed from this
checkout, without and with its ``cli`` extra; the peers from the package index.

Run: ``python benchmarks/import_and_size.py [--rounds 41] [--breakdown lms_connectors_zoom.adapter] [--sizes]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BASELINE = "(python -c pass)"
REFERENCE = "zoomus"

MODULES = {
    "lms_connectors": "lms-connectors (package)",
    "lms_connectors.scheduler": "lms-connectors scheduler",
    "lms_connectors.models": "lms-connectors models",
    "lms_connectors_google_calendar.adapter": "Google Calendar adapter",
    "lms_connectors_zoom.adapter": "Zoom adapter",
    "lms_connectors_moodle.adapter": "Moodle adapter",
    "lms_connectors_canvas.adapter": "Canvas adapter",
    "lms_connectors_microsoft_graph.adapter": "Microsoft Graph adapter",
    "lms_connectors_caldav.adapter": "CalDAV adapter",
    "lms_connectors_librebooking.adapter": "LibreBooking adapter",
    "requests": "requests",
    "pydantic": "pydantic (BaseModel)",
    "pydantic.types": "pydantic (what the SDK uses)",
    "zoomus": "zoomus",
    "googleapiclient.discovery": "google-api-python-client",
    "gcsa.google_calendar": "gcsa",
    "canvasapi": "canvasapi",
}

# Children may write byte-code caches (the uncounted first round does): an installed wheel has them, compiled by
# pip, while an editable install of this checkout has none until a first import writes them.
CHILD_ENVIRONMENT = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}

# What each module's child runs: ``import X``; pydantic's top-level import is itself lazy, so it is measured the
# way its users pay for it: by reaching BaseModel, and by reaching every name the SDK's models use.
STATEMENTS = {
    "pydantic": "from pydantic import BaseModel",
    # Every pydantic name the SDK's modules import when an adapter is imported: the floor of an adapter's import.
    "pydantic.types": "from pydantic import (AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, SecretStr, "
    "StrictBool, StrictInt, StrictStr, TypeAdapter, ValidationError, field_validator, model_validator)",
}

DISTRIBUTIONS = {
    "lms-connectors (core)": [str(ROOT)],
    "lms-connectors[cli]": [f"{ROOT}[cli]"],
    "lms-connectors + Google adapter": [str(ROOT), str(ROOT / "adapters" / "google_calendar")],
    "canvasapi": ["canvasapi"],
    "zoomus": ["zoomus"],
    "gcsa": ["gcsa"],
    "google-api-python-client": ["google-api-python-client"],
}


def child_seconds(code: str) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of a fresh interpreter running ``code``."""
    began = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             env=CHILD_ENVIRONMENT)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - began
    child.returncode = os.waitstatus_to_exitcode(status)
    assert child.stderr is not None
    errors = child.stderr.read()
    child.stderr.close()
    if child.returncode != 0:
        raise RuntimeError(f"{code!r} failed: {errors.decode(errors='replace')}")
    return wall, usage.ru_utime + usage.ru_stime


def statement(module: str) -> str:
    """The code a child runs to import ``module``."""
    return "pass" if module == BASELINE else STATEMENTS.get(module, f"import {module}")


def breakdown(module: str, rounds: int, shown: int = 12) -> None:
    """Print where importing ``module`` spends its time (``-X importtime``, the round with the least in total)."""
    best: list[tuple[int, int, int, str]] | None = None
    for _ in range(rounds):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", statement(module)], capture_output=True, text=True, check=True,
            env=CHILD_ENVIRONMENT,
        )
        rows = []
        for line in done.stderr.splitlines():
            parts = line.removeprefix("import time:").split("|")
            if len(parts) != 3 or not parts[0].strip().isdigit():
                continue
            name = parts[2].rstrip()
            depth = (len(name) - len(name.lstrip())) // 2
            rows.append((int(parts[0]), int(parts[1]), depth, name.strip()))
        if best is None or sum(r[0] for r in rows) < sum(r[0] for r in best):
            best = rows
    assert best is not None
    total = sum(r[0] for r in best)
    print(f"\nwhere `{statement(module)}` spends its time (python -X importtime, best of {rounds}): {total / 1000:.1f} ms")
    by_package: dict[str, int] = {}
    for own, _, _, name in best:
        package = name.split(".")[0]
        by_package[package] = by_package.get(package, 0) + own
    print(f"{'by top-level package (own times summed)':<58}{'ms':>14}")
    for package, own in sorted(by_package.items(), key=lambda item: -item[1])[:shown]:
        print(f"  {package:<56}{own / 1000:>14.1f}")
    print(f"{'heaviest modules by their own time':<58}{'self ms':>14}")
    for own, _, _, name in sorted(best, key=lambda r: -r[0])[:shown]:
        print(f"  {name:<56}{own / 1000:>14.1f}")


def installed_mib(requirements: list[str]) -> float:
    """MiB of ``requirements`` and their dependencies installed into an empty folder."""
    with tempfile.TemporaryDirectory() as target:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--disable-pip-version-check",
             "--target", target, *requirements],
            check=True, capture_output=True, env={**os.environ, "PIP_NO_WARN_SCRIPT_LOCATION": "1"},
        )
        total = sum(path.stat().st_size for path in Path(target).rglob("*") if path.is_file())
    return total / 2**20


def main() -> int:
    """Print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=41)
    parser.add_argument("--breakdown", action="append", default=[], metavar="MODULE",
                        help="also print where importing MODULE spends its time (repeatable)")
    parser.add_argument("--sizes", action="store_true", help="also measure installed sizes (installs packages)")
    args = parser.parse_args()
    present = [m for m in MODULES if importlib.util.find_spec(m.split(".")[0]) is not None]
    measured = [BASELINE, *present]
    walls: dict[str, list[float]] = {m: [] for m in measured}
    cpus: dict[str, list[float]] = {m: [] for m in measured}
    order = list(measured)
    for module in order:  # a round that is not counted: byte-code caches written, files in the page cache
        child_seconds(statement(module))
    for _ in range(args.rounds):
        random.shuffle(order)
        for module in order:
            wall, cpu = child_seconds(statement(module))
            walls[module].append(wall)
            cpus[module].append(cpu)

    def net(samples: dict[str, list[float]], module: str, pick: object) -> float:
        assert callable(pick)
        return 1000 * (float(pick(samples[module])) - float(pick(samples[BASELINE])))

    start_min, start_median = 1000 * min(walls[BASELINE]), 1000 * statistics.median(walls[BASELINE])
    print(f"import time in a fresh interpreter, {args.rounds} interleaved rounds, minus `python -c pass` "
          f"(itself {start_min:.0f} ms fastest, {start_median:.0f} ms median wall)")
    print(f"{'module':<28}{'wall min':>9}{'wall med':>9}{'CPU min':>9}{'CPU med':>9}{'vs ' + REFERENCE:>11}")
    reference = net(cpus, REFERENCE, statistics.median) if REFERENCE in present else None
    for module, label in MODULES.items():
        if module not in present:
            print(f"{label:<28}{'not installed':>19}")
            continue
        figures = [net(walls, module, min), net(walls, module, statistics.median),
                   net(cpus, module, min), net(cpus, module, statistics.median)]
        ratio = f"{figures[3] / reference:>10.2f}x" if reference else f"{'-':>11}"
        print(f"{label:<28}" + "".join(f"{value:>9.0f}" for value in figures) + ratio)
    print("(milliseconds; the ratio is the median CPU time over zoomus's)")
    for module in args.breakdown:
        breakdown(module, max(3, min(args.rounds, 9)))
    if args.sizes:
        print("\ninstalled size with dependencies (pip install --target, no byte-code)")
        print(f"{'distribution':<42}{'MiB':>8}")
        for label, requirements in DISTRIBUTIONS.items():
            print(f"{label:<42}{installed_mib(requirements):>8.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
