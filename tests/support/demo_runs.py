"""Running the whole demo (``local.demo.main``) inside a test, and leaving the process as it was."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.reliability.test_privacy import _clear_function_state


def run_demo(folder: Path, patch: pytest.MonkeyPatch, main: Callable[[], int]) -> tuple[int, str]:
    """Run ``main`` (the demo's, on its clock) in ``folder`` (it writes ``demo-output/`` where it runs) and
    return its exit status and printed output (its errors dropped). Afterwards the working folder,
    ``patch``, the environment and every function's cached state are as they were, before any test reads
    the result: a fixture that holds the demo's environment for its module would leave it to tests that
    set up their own platform."""
    saved = dict(os.environ)
    here = Path.cwd()
    _clear_function_state()
    out = io.StringIO()
    try:
        os.chdir(folder)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            status = main()
    finally:
        os.chdir(here)
        patch.undo()
        os.environ.clear()
        os.environ.update(saved)
        _clear_function_state()
    return status, out.getvalue()
