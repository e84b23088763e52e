"""Figure 1: cold start of the respond function (import + DynamoDB client) in fresh interpreters.

Each sample is a new ``python`` process; the time is taken inside it with ``time.perf_counter``
around the import and the client creation only (interpreter start-up is excluded). The baseline
process does the least any Python function talking to DynamoDB does: ``import boto3`` and
``boto3.client("dynamodb")``. Respond and baseline samples are interleaved so drift hits both alike.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.report import Figure, median
from benchmarks.synthetic import FAKE_CREDENTIALS

REPO_ROOT = Path(__file__).resolve().parent.parent
MARKER = "BENCH_RESULT "
HEAVY_MODULES = (
    "pydantic",
    "jinja2",
    "asyncio",
    "s3transfer",
    "urllib3",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.utilities.parameters",
    "aws_lambda_powertools.utilities.data_classes",
)

_PROBE = """
import json, sys, time
started = time.perf_counter()
{import_statement}
imported = time.perf_counter()
{client_statement}
ready = time.perf_counter()
result = {{
    "import_ms": (imported - started) * 1e3,
    "client_ms": (ready - imported) * 1e3,
    "total_ms": (ready - started) * 1e3,
    "modules": len(sys.modules),
    "heavy_modules": [m for m in {heavy!r} if m in sys.modules],
}}
{after}
print({marker!r} + json.dumps(result), flush=True)
import os
os._exit(0)  # skip interpreter teardown: it is not part of a cold start
"""

RESPOND_PROBE = _PROBE.format(
    import_statement="import functions.respond.handler",
    client_statement='from nps.kernel import aws\naws.client("dynamodb")',
    heavy=HEAVY_MODULES,
    after=(
        "if '--first-request' in sys.argv:\n"
        "    from benchmarks.respond_request import first_request\n"
        "    result.update(first_request())"
    ),
    marker=MARKER,
)
BASELINE_PROBE = _PROBE.format(
    import_statement="import boto3",
    client_statement='boto3.client("dynamodb", region_name="us-east-1")',
    heavy=HEAVY_MODULES,
    after="",
    marker=MARKER,
)


# Bytecode for the probes lives here (git-ignored), so they never write into the source tree and
# every module, product code and site-packages alike, is loaded from a warm bytecode cache.
PYCACHE = REPO_ROOT / "benchmarks" / "results" / "pycache"


def _environment() -> dict[str, str]:
    keep = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR") if name in os.environ}
    python = {"PYTHONPATH": str(REPO_ROOT), "PYTHONHASHSEED": "0", "PYTHONPYCACHEPREFIX": str(PYCACHE)}
    return keep | FAKE_CREDENTIALS | python


def _run(code: str, *args: str) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO_ROOT,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    for line in completed.stdout.splitlines():
        if line.startswith(MARKER):
            result: dict[str, Any] = json.loads(line[len(MARKER) :])
            return result
    raise RuntimeError(f"probe failed (exit {completed.returncode}):\n{completed.stderr[-2000:]}")


@dataclass(frozen=True, slots=True)
class ImportCost:
    module: str
    cumulative_ms: float
    self_ms: float


@dataclass(slots=True)
class ColdStartResult:
    figure: Figure
    respond_samples: list[dict[str, Any]]
    baseline_samples: list[dict[str, Any]]
    first_request_ms: float | None
    second_request_ms: float | None
    first_request_status: Any
    import_breakdown: list[ImportCost] = field(default_factory=list)


def import_breakdown(limit: int = 10) -> list[ImportCost]:
    """Direct imports of the respond handler by cumulative time (one ``-X importtime`` run).

    Attribution is first-import: a module shared by two imports is charged to the first one.
    ``-X importtime`` itself inflates the figures somewhat.
    """
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import functions.respond.handler"],
        cwd=REPO_ROOT,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    entries: list[tuple[int, str, float, float]] = []
    for line in completed.stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        self_us, cumulative_us, name_field = line[len("import time:") :].split("|")
        name_field = name_field[1:]
        depth = (len(name_field) - len(name_field.lstrip(" "))) // 2
        entries.append((depth, name_field.strip(), int(self_us) / 1e3, int(cumulative_us) / 1e3))
    target = next((i for i, entry in enumerate(entries) if entry[1] == "functions.respond.handler"), None)
    if target is None:
        return []
    depth = entries[target][0]
    children: list[ImportCost] = []
    for child_depth, name, self_ms, cumulative_ms in reversed(entries[:target]):
        if child_depth <= depth:
            break
        if child_depth == depth + 1:
            children.append(ImportCost(name, cumulative_ms, self_ms))
    children.append(ImportCost("functions.respond.handler (own code)", entries[target][2], entries[target][2]))
    return sorted(children, key=lambda cost: cost.cumulative_ms, reverse=True)[:limit]


def run(samples: int = 7, first_request: bool = True) -> ColdStartResult:
    # One discarded round warms the page cache and the bytecode caches for both probes.
    _run(RESPOND_PROBE)
    _run(BASELINE_PROBE)
    respond: list[dict[str, Any]] = []
    baseline: list[dict[str, Any]] = []
    extra = ("--first-request",) if first_request else ()
    for _ in range(samples):
        respond.append(_run(RESPOND_PROBE, *extra))
        baseline.append(_run(BASELINE_PROBE))

    first = [s["first_request_ms"] for s in respond if "first_request_ms" in s]
    second = [s["second_request_ms"] for s in respond if "second_request_ms" in s]
    figure = Figure(
        name="respond cold start (import + client)",
        unit="ms",
        measured=median([s["total_ms"] for s in respond]),
        baseline_name="boto3 import+client",
        baseline=median([s["total_ms"] for s in baseline]),
        target=1.5,
        target_of="ratio",
        direction="max",
        detail={
            "samples": samples,
            "respond_import_ms_median": median([s["import_ms"] for s in respond]),
            "respond_client_ms_median": median([s["client_ms"] for s in respond]),
            "baseline_import_ms_median": median([s["import_ms"] for s in baseline]),
            "baseline_client_ms_median": median([s["client_ms"] for s in baseline]),
            "respond_total_ms_min": min(s["total_ms"] for s in respond),
            "baseline_total_ms_min": min(s["total_ms"] for s in baseline),
            "respond_modules": respond[-1]["modules"],
            "baseline_modules": baseline[-1]["modules"],
            "respond_heavy_modules": respond[-1]["heavy_modules"],
        },
    )
    return ColdStartResult(
        figure=figure,
        respond_samples=respond,
        baseline_samples=baseline,
        first_request_ms=median(first) if first else None,
        second_request_ms=median(second) if second else None,
        first_request_status=respond[-1].get("first_request_status"),
        import_breakdown=import_breakdown(),
    )
