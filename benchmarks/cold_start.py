"""Figure 1: cold start of every function as deployed (code asset + layers, Python 3.12, isolated).

Each sample is a fresh ``python3.12 -I -S -B`` process: isolated (no ``PYTHONPATH``, no checkout, no
user site), no ``site`` (Lambda's runtime sets its own path), no bytecode writes (``/opt`` and
``/var/task`` are read-only). The probe sets ``sys.path`` to what Lambda has, in Lambda's order:

* the function's built asset (``.build/functions/<name>``, ``/var/task``);
* the built layers' ``python`` folders (``/opt/python``): dependencies, then the domain package;
* the runtime's boto3 (``.build/runtime/python``): the venv's boto3, botocore, s3transfer, jmespath,
  urllib3, python-dateutil and six for Python 3.12, compiled like the layers (the runtime ships bytecode);
* the interpreter's standard library.

The dependency layer holds arm64 wheels. On another machine, the locked versions of the packages with
compiled extensions (pydantic-core, markupsafe, wrapt) are installed for this machine into
``.build/host-binaries/python``, placed just before the dependency layer: same versions and same
bytecode, only the extension modules differ. Without them, markupsafe and wrapt would silently fall
back to their pure-Python code and pydantic-core would not import at all.

The environment is the function's as synthesized (table and bus names are the logical ids, standing
in for the names CloudFormation gives them), the variables Lambda defines, and fake credentials.

Inside the probe, the measured quantity is the process's CPU time (``time.process_time``, robust to a
noisy, shared machine) from ``import handler`` to the first client the function needs, made through
``nps.kernel.aws`` like the function does; wall time is recorded beside it. Interpreter start-up is
not measured (it is the same for any Python function). The baseline is the least a Python function
talking to AWS does: ``import boto3; boto3.client("dynamodb")``, with the same interpreter, flags and
boto3 folder. Function and baseline samples alternate, so drift hits both alike.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.report import Figure, median

REPO_ROOT = Path(__file__).resolve().parent.parent
BUILD = REPO_ROOT / ".build"
RUNTIME = BUILD / "runtime" / "python"
HOST_BINARIES = BUILD / "host-binaries" / "python"
MARKER = "BENCH_RESULT "
START_MARKER = "BENCH_TIMED_IMPORTS_START"
#: What the Lambda Python runtime provides (boto3 and its dependencies), at the venv's versions.
RUNTIME_DISTRIBUTIONS = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six")
#: Where the runtime's packages live in Lambda (written into their bytecode, like the layers' paths).
RUNTIME_SITE_PACKAGES = "/var/lang/lib/python3.12/site-packages"
REGION = "us-east-1"
BASELINE_SERVICE = "dynamodb"
#: The first client each function makes on its first request (``nps.kernel.aws``). DynamoDB unless the
#: function starts elsewhere: the contacts import reads its file from S3, the opt-out publisher only
#: talks to EventBridge.
FIRST_CLIENT = {"import_contacts": "s3", "suppression_events": "events"}
HEAVY_MODULES = (
    "pydantic",
    "jinja2",
    "asyncio",
    "s3transfer",
    "aws_xray_sdk",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.utilities.parameters",
    "aws_lambda_powertools.utilities.batch",
    "aws_lambda_powertools.utilities.parser",
    "phonenumbers",
)
#: Variables Lambda sets for every function (developer guide, "Defined runtime environment variables").
LAMBDA_VARIABLES = {
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
    "AWS_LAMBDA_LOG_FORMAT": "JSON",
    "AWS_LAMBDA_LOG_LEVEL": "INFO",
    "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
    "LAMBDA_TASK_ROOT": "/var/task",
    "LAMBDA_RUNTIME_DIR": "/var/runtime",
    "LANG": "en_US.UTF-8",
    "TZ": ":UTC",
    "_HANDLER": "handler.lambda_handler",
}
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}

# Runs in the fresh interpreter; argv[1] is a JSON spec (path, module, client factory, service).
_PROBE = f"""
import json, sys, time
spec = json.loads(sys.argv[1])
sys.path[:0] = spec["path"]
print({START_MARKER!r}, file=sys.stderr, flush=True)
cpu0, wall0 = time.process_time(), time.perf_counter()
module = __import__(spec["module"])
cpu1, wall1 = time.process_time(), time.perf_counter()
factory_module, factory_name = spec["factory"].split(":")
__import__(factory_module)
getattr(sys.modules[factory_module], factory_name)(spec["service"])
cpu2, wall2 = time.process_time(), time.perf_counter()
result = {{
    "cpu_ms": (cpu2 - cpu0) * 1e3,
    "wall_ms": (wall2 - wall0) * 1e3,
    "import_cpu_ms": (cpu1 - cpu0) * 1e3,
    "client_cpu_ms": (cpu2 - cpu1) * 1e3,
    "modules": len(sys.modules),
    "heavy_modules": [m for m in {HEAVY_MODULES!r} if m in sys.modules],
    "outside_deployment": sorted(
        name for name, m in sys.modules.items()
        if getattr(m, "__file__", None) and not any(m.__file__.startswith(p) for p in spec["allowed"])
    ),
}}
if spec.get("first_request"):
    sys.path.append(spec["first_request"])
    from benchmarks.respond_request import first_request
    result.update(first_request(module))
print({MARKER!r} + json.dumps(result), flush=True)
import os
os._exit(0)  # interpreter teardown is not part of a cold start
"""


class ProbeError(RuntimeError):
    """A probe process failed (its stderr tail is in the message)."""


@dataclass(frozen=True, slots=True)
class Deployment:
    """The folders a function sees in Lambda, built on this machine, and its environment."""

    python: str
    layers: tuple[Path, ...]
    runtime: Path
    environments: Mapping[str, Mapping[str, str]]

    def task_root(self, function: str) -> Path:
        return BUILD / "functions" / function


@dataclass(frozen=True, slots=True)
class ImportCost:
    module: str
    cumulative_ms: float
    self_ms: float


@dataclass(slots=True)
class FunctionColdStart:
    """One function's samples and figure."""

    name: str
    service: str
    figure: Figure
    samples: list[dict[str, Any]]
    top_imports: list[ImportCost] = field(default_factory=list)


@dataclass(slots=True)
class ColdStartResult:
    functions: list[FunctionColdStart]
    baseline_samples: list[dict[str, Any]]
    first_request_ms: float | None
    second_request_ms: float | None
    first_request_status: Any


# --- building what Lambda has -------------------------------------------------------------------------


def _pip_install(target: Path, requirements: Sequence[str], platform_tag: str | None = None) -> None:
    shutil.rmtree(target, ignore_errors=True)
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile",
        "--python-version", "3.12", "--implementation", "cp", "--only-binary=:all:", "--target", str(target),
    ]  # fmt: skip
    if platform_tag:
        command += ["--platform", platform_tag]
    completed = subprocess.run([*command, *requirements], capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise ProbeError(f"pip install into {target} failed:\n{completed.stderr[-2000:]}")
    for path in sorted(target.glob("*.dist-info")):
        shutil.rmtree(path)
    shutil.rmtree(target / "bin", ignore_errors=True)


def _built_from(target: Path, fingerprint: str) -> bool:
    stamp = target.parent / ".built"
    return stamp.exists() and stamp.read_text() == fingerprint


def build_runtime(python: str) -> Path:
    """``.build/runtime/python``: the venv's boto3 and its dependencies for Python 3.12, compiled as
    the runtime's site-packages (rebuilt when the venv's versions change)."""
    from infra.layers import compile_tree

    pins = [f"{name}=={importlib.metadata.version(name)}" for name in RUNTIME_DISTRIBUTIONS]
    fingerprint = " ".join(pins) + f" {python}"
    if not _built_from(RUNTIME, fingerprint):
        _pip_install(RUNTIME, pins)
        compile_tree(RUNTIME, RUNTIME_SITE_PACKAGES, python)
        (RUNTIME.parent / ".built").write_text(fingerprint)
    return RUNTIME


def _locked_versions() -> dict[str, str]:
    from infra.layers import REQUIREMENTS

    versions: dict[str, str] = {}
    for line in REQUIREMENTS.read_text().splitlines():
        name, _, version = line.split("#", 1)[0].strip().partition("==")
        if version:
            versions[name.lower().replace("-", "_")] = f"{name}=={version}"
    return versions


def build_host_binaries(python: str) -> Path | None:
    """The dependency layer's packages with compiled extensions, for this machine, at the locked versions
    (``None`` on arm64 Linux, where the layer's own extensions load)."""
    from infra.layers import DEPENDENCIES, LAYER_ROOT, compile_tree

    machine = platform.machine().lower()
    if machine in ("aarch64", "arm64") and sys.platform == "linux":
        return None
    layer = DEPENDENCIES / "python"
    packages = sorted({path.relative_to(layer).parts[0] for path in layer.rglob("*.so")})
    locked = _locked_versions()
    pins = [locked[package.lower()] for package in packages if package.lower() in locked]
    platform_tag = f"manylinux2014_{machine}"
    fingerprint = " ".join(pins) + f" {platform_tag} {python}"
    if not _built_from(HOST_BINARIES, fingerprint):
        _pip_install(HOST_BINARIES, pins, platform_tag)
        compile_tree(HOST_BINARIES, LAYER_ROOT, python)
        (HOST_BINARIES.parent / ".built").write_text(fingerprint)
    return HOST_BINARIES


_SYNTH = """
import json, sys
from aws_cdk.assertions import Template
from infra.app import build_app

def value(v):
    if isinstance(v, str):
        return v
    if isinstance(v, dict) and "Ref" in v:
        return v["Ref"]
    if isinstance(v, dict) and "Fn::GetAtt" in v:
        return ".".join(v["Fn::GetAtt"])
    return "placeholder"

template = Template.from_stack(build_app({"commentSentiment": True})[1]).to_json()  # every optional function too
found = {}
for resource in template["Resources"].values():
    variables = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
    if resource["Type"] == "AWS::Lambda::Function" and "POWERTOOLS_SERVICE_NAME" in variables:
        found[variables["POWERTOOLS_SERVICE_NAME"]] = {k: value(v) for k, v in variables.items()}
print(json.dumps(found))
"""


def synthesized_environments() -> dict[str, dict[str, str]]:
    """Each function's environment variables as the CDK app synthesizes them, by function folder name
    (its ``POWERTOOLS_SERVICE_NAME``); references become their logical ids. Synthesizing also builds the
    layers and every function asset, so the probes measure the code of this checkout."""
    env = {
        **os.environ,
        # This checkout's domain package first, not the one the virtualenv was installed from.
        "PYTHONPATH": os.pathsep.join((str(REPO_ROOT), str(REPO_ROOT / "layers"))),
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    }
    completed = subprocess.run(
        [sys.executable, "-c", _SYNTH], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise ProbeError(f"synthesizing the app failed:\n{completed.stderr[-2000:]}")
    environments: dict[str, dict[str, str]] = json.loads(completed.stdout.strip().splitlines()[-1])
    return environments


def prepare() -> Deployment:
    """Build the assets, the layers, the runtime's boto3 (and this machine's extension modules), and
    read the functions' environments."""
    from infra.layers import DEPENDENCIES, DOMAIN, runtime_python

    python = runtime_python()
    environments = synthesized_environments()
    host = build_host_binaries(python)
    layers = ((host,) if host else ()) + (DEPENDENCIES / "python", DOMAIN / "python")
    return Deployment(python=python, layers=layers, runtime=build_runtime(python), environments=environments)


# --- probing ------------------------------------------------------------------------------------------


def function_names() -> list[str]:
    from infra.layers import function_names as names

    return names()


def _stdlib_prefixes(python: str) -> list[str]:
    completed = subprocess.run(
        [python, "-I", "-S", "-c", "import sys, json; print(json.dumps([p for p in sys.path if p]))"],
        capture_output=True,
        text=True,
        check=True,
    )
    paths: list[str] = json.loads(completed.stdout)
    return paths


def _spec(deployment: Deployment, function: str | None, **extra: Any) -> tuple[dict[str, Any], dict[str, str]]:
    base = {name: os.environ[name] for name in ("PATH", "HOME", "TMPDIR") if name in os.environ}
    if function is None:
        path = [str(deployment.runtime)]
        spec = {"module": "boto3", "factory": "boto3:client", "service": BASELINE_SERVICE}
        env = base | FAKE_CREDENTIALS | LAMBDA_VARIABLES
    else:
        path = [str(deployment.task_root(function)), *map(str, deployment.layers), str(deployment.runtime)]
        spec = {"module": "handler", "factory": "nps.kernel.aws:client", "service": first_client(function)}
        variables = dict(deployment.environments.get(function, {"POWERTOOLS_SERVICE_NAME": function}))
        env = base | FAKE_CREDENTIALS | LAMBDA_VARIABLES | {"AWS_LAMBDA_FUNCTION_NAME": function} | variables
    allowed = [*path, *_stdlib_prefixes(deployment.python)]
    return {"path": path, "allowed": allowed, **spec, **extra}, env


def first_client(function: str) -> str:
    """The AWS service of the first client ``function`` makes."""
    return FIRST_CLIENT.get(function, "dynamodb")


def _probe(deployment: Deployment, function: str | None, *flags: str, **extra: Any) -> subprocess.CompletedProcess[str]:
    spec, env = _spec(deployment, function, **extra)
    return subprocess.run(
        [deployment.python, "-I", "-S", "-B", *flags, "-c", _PROBE, json.dumps(spec)],
        cwd="/",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def sample(deployment: Deployment, function: str | None, **extra: Any) -> dict[str, Any]:
    """One cold start of ``function`` (``None``: the boto3 baseline) in a fresh process."""
    completed = _probe(deployment, function, **extra)
    for line in completed.stdout.splitlines():
        if line.startswith(MARKER):
            result: dict[str, Any] = json.loads(line[len(MARKER) :])
            return result
    label = function or "baseline"
    raise ProbeError(f"{label} probe failed (exit {completed.returncode}):\n{completed.stderr[-3000:]}")


def parse_importtime(stderr: str, module: str) -> list[ImportCost]:
    """The imports of a timed cold start by cumulative time, largest first, from ``-X importtime`` output.

    Only lines after :data:`START_MARKER` count. Returned: the direct imports of ``module`` (the
    handler), its own code, and the top-level imports made after it (while creating the client, marked
    ``(client)``). Attribution is first-import: a module shared by two imports is charged to the first.
    """
    lines = stderr.split(START_MARKER, 1)[-1].splitlines()
    entries: list[tuple[int, str, float, float]] = []
    for line in lines:
        if not line.startswith("import time:") or "imported package" in line:
            continue
        self_us, cumulative_us, name_field = line[len("import time:") :].split("|")
        name_field = name_field[1:]
        depth = (len(name_field) - len(name_field.lstrip(" "))) // 2
        entries.append((depth, name_field.strip(), int(self_us) / 1e3, int(cumulative_us) / 1e3))
    target = next((i for i, entry in enumerate(entries) if entry[1] == module and entry[0] == 0), None)
    if target is None:
        return []
    costs = [ImportCost(f"{module} (own code)", entries[target][2], entries[target][2])]
    # -X importtime prints a module after its imports: the handler's direct imports come before it.
    for depth, name, self_ms, cumulative_ms in reversed(entries[:target]):
        if depth == 0:
            break
        if depth == 1:
            costs.append(ImportCost(name, cumulative_ms, self_ms))
    costs += [ImportCost(f"{name} (client)", cum, own) for depth, name, own, cum in entries[target + 1 :] if depth == 0]
    return sorted(costs, key=lambda cost: cost.cumulative_ms, reverse=True)


def top_imports(deployment: Deployment, function: str, limit: int = 5) -> list[ImportCost]:
    """``function``'s ``limit`` largest imports in one ``-X importtime`` run (which inflates them somewhat)."""
    completed = _probe(deployment, function, "-X", "importtime")
    if MARKER not in completed.stdout:
        raise ProbeError(f"{function} importtime probe failed:\n{completed.stderr[-3000:]}")
    return parse_importtime(completed.stderr, "handler")[:limit]


def run(samples: int = 7, first_request: bool = True, functions: Sequence[str] | None = None) -> ColdStartResult:
    """Measure every function (or ``functions``): ``samples`` cold starts each, each followed by a
    baseline sample (a function's ratio is against the median of its own baseline samples); then one
    ``-X importtime`` run per function for its top five imports."""
    deployment = prepare()
    names = list(functions or function_names())
    # One discarded round warms the page cache for every folder.
    sample(deployment, None)
    for name in names:
        sample(deployment, name)
    measured: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    paired: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for _ in range(samples):
        for name in names:
            extra = {"first_request": str(REPO_ROOT)} if first_request and name == "respond" else {}
            measured[name].append(sample(deployment, name, **extra))
            paired[name].append(sample(deployment, None))

    baseline = [run for name in names for run in paired[name]]
    results = []
    for name in names:
        runs = measured[name]
        # Each function is compared with the baseline samples taken right after its own, so a busy
        # stretch of the machine weighs on both sides of its ratio.
        own = paired[name]
        figure = Figure(
            name=f"{name} cold start (CPU)",
            unit="ms",
            measured=median([s["cpu_ms"] for s in runs]),
            baseline_name=f"boto3 import + {BASELINE_SERVICE} client",
            baseline=median([s["cpu_ms"] for s in own]),
            target=1.5,
            target_of="ratio",
            direction="max",
            detail={
                "samples": samples,
                "client": first_client(name),
                "wall_ms_median": median([s["wall_ms"] for s in runs]),
                "baseline_wall_ms_median": median([s["wall_ms"] for s in own]),
                "baseline_cpu_ms_all_median": median([s["cpu_ms"] for s in baseline]),
                "import_cpu_ms_median": median([s["import_cpu_ms"] for s in runs]),
                "client_cpu_ms_median": median([s["client_cpu_ms"] for s in runs]),
                "modules": runs[-1]["modules"],
                "baseline_modules": baseline[-1]["modules"],
                "heavy_modules": runs[-1]["heavy_modules"],
                "outside_deployment": runs[-1]["outside_deployment"],
            },
        )
        results.append(FunctionColdStart(name, first_client(name), figure, runs, top_imports(deployment, name)))

    respond = measured.get("respond", [])
    first = [s["first_request_ms"] for s in respond if "first_request_ms" in s]
    second = [s["second_request_ms"] for s in respond if "second_request_ms" in s]
    return ColdStartResult(
        functions=results,
        baseline_samples=baseline,
        first_request_ms=median(first) if first else None,
        second_request_ms=median(second) if second else None,
        first_request_status=respond[-1].get("first_request_status") if first else None,
    )
