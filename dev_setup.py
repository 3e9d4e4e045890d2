"""Set up a development environment from any folder: ``python path/to/lms-connectors/dev_setup.py``.

It runs ``pip install -r requirements-dev.txt`` (the README's set-up command) from this checkout's root, with
the Python that runs it, and passes any further arguments to pip. It exists because pip resolves the relative
``-e`` paths of a requirements file against the current folder, not the file's (pypa/pip#8765, #6112), so
``pip install -r path/to/requirements-dev.txt`` works only from the checkout's root.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def main(pip_arguments: list[str]) -> int:
    """Install the development requirements of this checkout; returns pip's exit status."""
    command = [sys.executable, "-m", "pip", "install", "-r", "requirements-dev.txt", *pip_arguments]
    return subprocess.call(command, cwd=ROOT)  # noqa: S603 (the command is fixed; extra arguments go to pip)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
