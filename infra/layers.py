"""Build the Lambda layers without Docker.

* dependency layer: ``pip install --platform manylinux2014_aarch64 --only-binary=:all:`` of the locked
  ``requirements.txt`` into ``.build/layers/dependencies/python`` (Python 3.12, arm64 wheels, no
  bytecode, so two builds are byte-identical and CDK asset hashes are stable);
* domain layer: the ``nps`` package and ``templates/`` copied into ``.build/layers/domain/python``.

``--report`` prints the size of each layer.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "layers" / "dependencies" / "requirements.txt"
BUILD = ROOT / ".build" / "layers"
DEPENDENCIES = BUILD / "dependencies"
DOMAIN = BUILD / "domain"
PLATFORM = "manylinux2014_aarch64"
PYTHON_VERSION = "3.12"
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.dist-info", "tests")


def _fingerprint() -> str:
    digest = hashlib.sha256(REQUIREMENTS.read_bytes())
    digest.update(f"{PLATFORM}/{PYTHON_VERSION}".encode())
    return digest.hexdigest()


def build_dependencies(force: bool = False) -> Path:
    """Install the locked wheels for the Lambda platform (skipped when already built from this lock)."""
    stamp = DEPENDENCIES / ".built"
    fingerprint = _fingerprint()
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
    # Metadata folders carry install-time RECORD files; they are not needed at run time.
    for path in sorted(target.glob("*.dist-info")):
        shutil.rmtree(path)
    for path in sorted(target.rglob("__pycache__")):
        shutil.rmtree(path)
    stamp.write_text(fingerprint)
    return DEPENDENCIES


def build_domain() -> Path:
    """Copy the domain package and the templates into the layer folder (always fresh)."""
    shutil.rmtree(DOMAIN, ignore_errors=True)
    package = DOMAIN / "python" / "nps"
    shutil.copytree(ROOT / "layers" / "nps", package, ignore=_SKIP)
    shutil.copytree(ROOT / "templates", package / "templates", ignore=_SKIP)
    return DOMAIN


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--force", action="store_true", help="rebuild the dependency layer")
    parser.add_argument("--report", action="store_true", help="print layer and function sizes")
    args = parser.parse_args()
    build_dependencies(force=args.force)
    build_domain()
    if args.report:
        rows = [("dependency layer", DEPENDENCIES), ("domain layer", DOMAIN)]
        rows += [(f"function {p.name}", p) for p in sorted((ROOT / "functions").iterdir()) if p.is_dir()]
        for label, path in rows:
            if path.name != "__pycache__":
                print(f"{label:<24} {_size(path) / 1024:>10.1f} KiB  {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
