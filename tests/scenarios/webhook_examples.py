"""Serving the webhook examples in the push scenario tests: the example modules loaded by path, a quiet handler."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "webhooks"


class QuietHandler(WSGIRequestHandler):
    """A WSGI request handler that keeps the test output free of access-log lines."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


def load_example(file_name: str) -> Any:
    """Load ``examples/webhooks/<file_name>`` as a module (the examples are scripts, not an installed package)."""
    spec = importlib.util.spec_from_file_location(f"webhook_example_{Path(file_name).stem}", EXAMPLES / file_name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
