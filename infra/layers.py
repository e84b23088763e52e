"""Build the Lambda layers and function code assets without Docker, with their bytecode.

* dependency layer: ``pip install --platform manylinux2014_aarch64 --only-binary=:all:`` of the locked
  ``requirements.txt`` into ``.build/layers/dependencies/python`` (Python 3.12, arm64 wheels);
* domain layer: the ``nps`` package and ``templates/`` copied into ``.build/layers/domain/python``;
* function assets: ``functions/<name>/`` copied into ``.build/functions/<name>``.

**Bytecode.** Lambda mounts layers under ``/opt`` and code under ``/var/task``, both read-only, so a
module without a ``.pyc`` beside it is compiled again on every cold start. Each asset is therefore
compiled here with the runtime's own Python minor version (bytecode is specific to it: PEP 3147), with
``--invalidation-mode unchecked-hash`` (PEP 552: the ``.pyc`` records a hash of its source, not its
mtime, and the runtime trusts it without reading the source again) and with the paths the modules have
in Lambda (``/opt/python/...``, ``/var/task/...``) written into the code objects, so tracebacks point
where the code runs and nothing of the build machine's folders reaches the asset.

**Determinism.** CDK names an asset by the hash of its files' paths and contents, so a build must be
byte-identical from any clone: no mtimes (hash-based ``.pyc``), no build paths (``-s``/``-p`` above;
pip's console scripts in ``bin/`` carry the installing interpreter's path and are dropped — Lambda never
runs them), no install records (``*.dist-info`` dropped).

``--report`` prints the size of each asset.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: builds are not serialised between processes there
    fcntl = None  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "layers" / "dependencies" / "requirements.txt"
BUILD = ROOT / ".build" / "layers"
DEPENDENCIES = BUILD / "dependencies"
DOMAIN = BUILD / "domain"
FUNCTIONS = ROOT / ".build" / "functions"
#: What each domain and function build was made from (so an unchanged source is not rebuilt), and the lock
#: that serialises builds between processes (parallel test workers each synthesize the app).
STAMPS = ROOT / ".build" / "stamps"
LOCK = ROOT / ".build" / ".lock"
PLATFORM = "manylinux2014_aarch64"
PYTHON_VERSION = "3.12"
#: Where Lambda mounts layers and a function's code (AWS Lambda developer guide, "Layer paths for each
#: Lambda runtime" and "Defined runtime environment variables": LAMBDA_TASK_ROOT).
LAYER_ROOT = "/opt/python"
TASK_ROOT = "/var/task"
#: Set to the path of a Python 3.12 interpreter to compile with it instead of searching for one.
PYTHON_OVERRIDE = "NPS_LAMBDA_PYTHON"
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.dist-info", "tests")


class LayerBuildError(RuntimeError):
    """The layers cannot be built as deployed (no Python of the Lambda runtime's version here)."""


def _minor_version(python: str) -> str | None:
    """``"3.12"`` for an interpreter that runs, else ``None`` (a pyenv shim for a version not selected
    fails to run and counts as missing)."""
    try:
        completed = subprocess.run(  # noqa: S603
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return None
    return completed.stdout.strip() if completed.returncode == 0 else None


@lru_cache(maxsize=1)
def runtime_python() -> str:
    """The path of a Python interpreter of the Lambda runtime's minor version (3.12).

    ``$NPS_LAMBDA_PYTHON`` when set (an error if it is not a Python 3.12 that runs: an explicit choice is
    never silently replaced); else ``python3.12`` on ``PATH``, then pyenv's installed 3.12 versions
    (``$PYENV_ROOT`` or ``~/.pyenv``), newest first. Raises :class:`LayerBuildError` with the way out when
    none runs.
    """
    if override := os.environ.get(PYTHON_OVERRIDE):
        found = _minor_version(override)
        if found != PYTHON_VERSION:
            what = f"is Python {found}" if found else "does not run"
            raise LayerBuildError(
                f"{PYTHON_OVERRIDE}={override} {what}; the layers' bytecode needs Python {PYTHON_VERSION} "
                f"(the Lambda runtime's version): point it at a python{PYTHON_VERSION} or unset it"
            )
        return override
    candidates: list[str] = []
    if on_path := shutil.which(f"python{PYTHON_VERSION}"):
        candidates.append(on_path)
    pyenv_root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    installed = glob.glob(os.path.join(pyenv_root, "versions", f"{PYTHON_VERSION}.*", "bin", f"python{PYTHON_VERSION}"))
    candidates += sorted(installed, key=_version_key, reverse=True)
    for candidate in candidates:
        if _minor_version(candidate) == PYTHON_VERSION:
            return candidate
    raise LayerBuildError(
        f"Python {PYTHON_VERSION} (the Lambda runtime's version) is needed to compile the layers' bytecode "
        f"and none was found: install it (e.g. `pyenv install {PYTHON_VERSION}`) or set "
        f"{PYTHON_OVERRIDE}=/path/to/python{PYTHON_VERSION}"
    )


def _version_key(path: str) -> tuple[int, ...]:
    version = Path(path).parents[1].name  # …/versions/3.12.1/bin/python3.12
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def _full_version(python: str) -> str:
    completed = subprocess.run(  # noqa: S603
        [python, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True, text=True, check=True
    )
    return completed.stdout.strip()


def compile_tree(folder: Path, deployed_as: str, python: str) -> None:
    """Write ``__pycache__/*.cpython-312.pyc`` beside every module under ``folder``.

    ``deployed_as`` is the folder's path in Lambda; it replaces ``folder`` in the code objects' file
    names. Raises ``subprocess.CalledProcessError`` when a module does not compile (a syntax error
    under 3.12 is a build failure, not a cold-start surprise).
    """
    command = [
        python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash",
        "-s", str(folder), "-p", deployed_as, str(folder),
    ]  # fmt: skip
    subprocess.run(command, check=True, env={**os.environ, "PYTHONHASHSEED": "0"})  # noqa: S603


def _fingerprint(python_version: str) -> str:
    digest = hashlib.sha256(REQUIREMENTS.read_bytes())
    digest.update(f"{PLATFORM}/{PYTHON_VERSION}/{python_version}".encode())
    return digest.hexdigest()


def build_dependencies(force: bool = False) -> Path:
    """Install the locked wheels for the Lambda platform and compile them (skipped when already built
    from this lock with this interpreter). Raises :class:`LayerBuildError` without Python 3.12."""
    python = runtime_python()
    with _exclusive():
        stamp = DEPENDENCIES / ".built"
        fingerprint = _fingerprint(_full_version(python))
        if not force and stamp.exists() and stamp.read_text() == fingerprint:
            return DEPENDENCIES
        shutil.rmtree(DEPENDENCIES, ignore_errors=True)
        target = DEPENDENCIES / "python"
        command = [
            sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile",
            "--platform", PLATFORM, "--python-version", PYTHON_VERSION, "--implementation", "cp",
            "--only-binary=:all:", "--target", str(target), "-r", str(REQUIREMENTS),
        ]  # fmt: skip
        subprocess.run(command, check=True)  # noqa: S603
        # Install records and console scripts carry this machine's paths; Lambda needs neither.
        for path in sorted(target.glob("*.dist-info")):
            shutil.rmtree(path)
        shutil.rmtree(target / "bin", ignore_errors=True)
        for path in sorted(target.rglob("__pycache__")):
            shutil.rmtree(path)
        compile_tree(target, LAYER_ROOT, python)
        stamp.write_text(fingerprint)
    return DEPENDENCIES


@contextmanager
def _exclusive() -> Iterator[None]:
    """Hold the build lock: one process at a time builds (or checks) an asset, so no process reads a
    folder another one is deleting and copying again."""
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    with LOCK.open("a") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _sources_fingerprint(python: str, *folders: Path) -> str:
    """SHA-256 over the interpreter's version and every file's path (relative to the checkout) and bytes
    under ``folders``, skipping what the build skips (bytecode, install records, tests)."""
    digest = hashlib.sha256(_full_version(python).encode())
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            parts = path.relative_to(folder).parts
            if not path.is_file() or "__pycache__" in parts or "tests" in parts or path.suffix == ".pyc":
                continue
            if any(part.endswith(".dist-info") for part in parts):
                continue
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _up_to_date(stamp: Path, target: Path, fingerprint: str) -> bool:
    return target.is_dir() and stamp.is_file() and stamp.read_text() == fingerprint


def build_domain() -> Path:
    """Copy the domain package and the templates into the layer folder and compile it; skipped when the
    folder was built from the same sources with the same interpreter. Raises :class:`LayerBuildError`
    without Python 3.12."""
    python = runtime_python()
    with _exclusive():
        stamp = STAMPS / "domain"
        fingerprint = _sources_fingerprint(python, ROOT / "layers" / "nps", ROOT / "templates")
        if _up_to_date(stamp, DOMAIN, fingerprint):
            return DOMAIN
        stamp.unlink(missing_ok=True)
        shutil.rmtree(DOMAIN, ignore_errors=True)
        package = DOMAIN / "python" / "nps"
        shutil.copytree(ROOT / "layers" / "nps", package, ignore=_SKIP)
        shutil.copytree(ROOT / "templates", package / "templates", ignore=_SKIP)
        compile_tree(DOMAIN / "python", LAYER_ROOT, python)
        STAMPS.mkdir(parents=True, exist_ok=True)
        stamp.write_text(fingerprint)
    return DOMAIN


def build_function(name: str) -> Path:
    """Copy ``functions/<name>/`` into ``.build/functions/<name>`` and compile it as ``/var/task``; skipped
    when built from the same sources with the same interpreter. Raises :class:`LayerBuildError` without
    Python 3.12."""
    python = runtime_python()
    target = FUNCTIONS / name
    with _exclusive():
        stamp = STAMPS / f"function-{name}"
        fingerprint = _sources_fingerprint(python, ROOT / "functions" / name)
        if _up_to_date(stamp, target, fingerprint):
            return target
        stamp.unlink(missing_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(ROOT / "functions" / name, target, ignore=_SKIP)
        compile_tree(target, TASK_ROOT, python)
        STAMPS.mkdir(parents=True, exist_ok=True)
        stamp.write_text(fingerprint)
    return target


def function_names() -> list[str]:
    """The functions under ``functions/`` (each a folder with a ``handler.py``)."""
    return sorted(p.name for p in (ROOT / "functions").iterdir() if (p / "handler.py").is_file())


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--force", action="store_true", help="rebuild the dependency layer")
    parser.add_argument("--report", action="store_true", help="print layer and function sizes")
    args = parser.parse_args()
    try:
        build_dependencies(force=args.force)
        build_domain()
        functions = [build_function(name) for name in function_names()]
    except LayerBuildError as error:
        sys.exit(f"layers: {error}")
    if args.report:
        rows = [("dependency layer", DEPENDENCIES), ("domain layer", DOMAIN)]
        rows += [(f"function {p.name}", p) for p in functions]
        for label, path in rows:
            print(f"{label:<24} {_size(path) / 1024:>10.1f} KiB  {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
