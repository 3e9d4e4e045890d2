"""Import time and installed size of the core and the adapters, side by side with the peers.

Import time: each module is imported in a fresh interpreter with ``python -X importtime``, rounds interleaved
across modules; the figure is the module's own cumulative import time from that report (the interpreter's start
left out), min and median over the rounds. A peer that is not installed is listed as such (``pip install -r
benchmarks/requirements-peers.txt`` installs them).

Installed size (``--sizes``): each distribution is installed with its dependencies into an empty folder
(``pip install --target``, no byte-code compiled) and the folder is measured. The core is installed from this
checkout, without and with its ``cli`` extra; the peers from the package index.

Run: ``python benchmarks/import_and_size.py [--rounds 7] [--sizes]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MODULES = {
    "lms_connectors": "lms-connectors (package)",
    "lms_connectors.scheduler": "lms-connectors scheduler",
    "lms_connectors_google_calendar.adapter": "lms-connectors Google adapter",
    "lms_connectors_zoom.adapter": "lms-connectors Zoom adapter",
    "lms_connectors_moodle.adapter": "lms-connectors Moodle adapter",
    "googleapiclient.discovery": "google-api-python-client",
    "gcsa.google_calendar": "gcsa",
    "zoomus": "zoomus",
    "canvasapi": "canvasapi",
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


def import_microseconds(module: str) -> int:
    """The module's cumulative import time, in microseconds, in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True, text=True, check=True,
    )
    for line in done.stderr.splitlines():
        parts = [part.strip() for part in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2] == module:
            return int(parts[1])
    raise RuntimeError(f"no import line for {module}")


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
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--sizes", action="store_true", help="also measure installed sizes (installs packages)")
    args = parser.parse_args()
    present = {m: label for m, label in MODULES.items() if importlib.util.find_spec(m.split(".")[0]) is not None}
    times: dict[str, list[int]] = {m: [] for m in present}
    for _ in range(args.rounds):
        for module in present:
            times[module].append(import_microseconds(module))
    print(f"import time (python -X importtime, cumulative, {args.rounds} interleaved rounds)")
    print(f"{'module':<42}{'min ms':>8}{'median ms':>11}")
    for module, label in MODULES.items():
        if module not in present:
            print(f"{label:<42}{'not installed':>19}")
            continue
        print(f"{label:<42}{min(times[module]) / 1000:>8.1f}{statistics.median(times[module]) / 1000:>11.1f}")
    if args.sizes:
        print("\ninstalled size with dependencies (pip install --target, no byte-code)")
        print(f"{'distribution':<42}{'MiB':>8}")
        for label, requirements in DISTRIBUTIONS.items():
            print(f"{label:<42}{installed_mib(requirements):>8.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
