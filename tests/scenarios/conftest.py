"""Scenario helpers shared by several scenario files, registered before those files are collected.

The suite runs with ``--import-mode=importlib``, which puts no test folder on ``sys.path``: the shared module is
loaded by path here (pytest reads a folder's conftest before its test files), and the files import it by name.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def _register(name: str) -> None:
    if name in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = sys.modules[name] = importlib.util.module_from_spec(spec)  # its dataclasses look themselves up
    spec.loader.exec_module(module)


_register("vilt_matrix")
_register("webhook_examples")
