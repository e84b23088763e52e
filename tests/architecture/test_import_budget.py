"""The respond function's import path: what its cold start loads is part of its budget (see make bench).

Pydantic alone adds about 90 ms to a cold start; the respond path reads its settings from a dataclass
and its limits from :mod:`nps.kernel.categories` so that it never loads it. Moving a constant into a
module with models must fail here, not only show up as a slower benchmark.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NEVER_ON_THE_RESPOND_PATH = ("pydantic", "pydantic_core", "jsonschema", "moto")


def test_the_respond_handler_imports_no_pydantic() -> None:
    code = (
        "import json, sys\n"
        "import functions.respond.handler\n"
        f"print(json.dumps(sorted(set({NEVER_ON_THE_RESPOND_PATH!r}) & set(sys.modules))))\n"
    )
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "AWS_DEFAULT_REGION": "us-east-1"}
    completed = subprocess.run(  # noqa: S603 - this interpreter, fixed code
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, check=True
    )
    assert json.loads(completed.stdout.strip().splitlines()[-1]) == []


def test_the_web_handler_imports_no_pydantic_or_jinja2() -> None:
    # The eligibility endpoint is called on every page view of the host app: its cold start stays small.
    never = (*NEVER_ON_THE_RESPOND_PATH, "jinja2")
    code = (
        "import json, sys\n"
        "import functions.web.handler\n"
        f"print(json.dumps(sorted(set({never!r}) & set(sys.modules))))\n"
    )
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join((str(ROOT / "layers"), str(ROOT))),
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    completed = subprocess.run(  # noqa: S603 - this interpreter, fixed code
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, check=True
    )
    assert json.loads(completed.stdout.strip().splitlines()[-1]) == []


def test_the_share_handler_imports_no_pydantic_jinja2_or_segno_before_its_first_page() -> None:
    # The share pages render with Jinja2 (loaded on the first page), read survey definitions without
    # pydantic, and never load the command line's QR library.
    never = (*NEVER_ON_THE_RESPOND_PATH, "jinja2", "segno")
    code = (
        "import json, sys\n"
        "import functions.share.handler\n"
        f"print(json.dumps(sorted(set({never!r}) & set(sys.modules))))\n"
    )
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join((str(ROOT / "layers"), str(ROOT))),
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    completed = subprocess.run(  # noqa: S603 - this interpreter, fixed code
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, check=True
    )
    assert json.loads(completed.stdout.strip().splitlines()[-1]) == []
