"""The ``lms-connectors`` console script: the command line when its extra is installed, one clear line when not.

The command line's libraries (typer, rich) are the ``cli`` extra, so that an application embedding the SDK does
not install them; this launcher imports nothing of them before it knows they are there.
"""

from __future__ import annotations

import importlib.util
import sys

__all__ = ["main"]


def main() -> None:
    """Run the command line, or say how to install it."""
    missing = [name for name in ("typer", "rich") if importlib.util.find_spec(name) is None]
    if missing:
        sys.stderr.write(
            f"lms-connectors: the command line needs {' and '.join(missing)}: pip install 'lms-connectors[cli]'\n"
        )
        raise SystemExit(1)
    from lms_connectors.cli import main as run

    run()
