"""The Lambda assets as deployed: bytecode for the runtime's Python beside every module, and the same
bytes from any clone (CDK names assets by content, so a path or mtime in a file would redeploy)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infra import layers

pytestmark = pytest.mark.infra

ROOT = Path(__file__).resolve().parents[2]
#: PEP 552: the pyc header's flags word; bit 0 = hash-based, bit 1 = check the source.
_HASH_BASED_UNCHECKED = 0b01


def _magic(python: str) -> bytes:
    completed = subprocess.run(  # noqa: S603
        [python, "-c", "import importlib.util, sys; sys.stdout.buffer.write(importlib.util.MAGIC_NUMBER)"],
        capture_output=True,
        check=True,
    )
    return completed.stdout


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != ".built"
    }


@pytest.fixture(scope="module")
def built() -> list[Path]:
    """The dependency layer, the domain layer and every function asset, built here."""
    return [layers.build_dependencies(), layers.build_domain()] + [
        layers.build_function(name) for name in layers.function_names()
    ]


def test_every_module_has_unchecked_hash_bytecode_for_the_runtime(built: list[Path]) -> None:
    # Given the assets as CDK uploads them, and the magic number of the runtime's Python
    magic = _magic(layers.runtime_python())
    modules = [module for folder in built for module in folder.rglob("*.py")]
    assert len(modules) > 500  # the dependency layer alone has hundreds
    for module in modules:
        # Then each module has a 3.12 pyc that Lambda trusts without reading the source (PEP 552)
        compiled = module.parent / "__pycache__" / f"{module.stem}.cpython-312.pyc"
        assert compiled.is_file(), f"no bytecode for {module}"
        header = compiled.read_bytes()[:8]
        assert header[:4] == magic, f"{compiled} was compiled by another Python"
        assert int.from_bytes(header[4:8], "little") == _HASH_BASED_UNCHECKED, compiled


def test_code_objects_name_the_paths_in_lambda_and_nothing_of_this_machine(built: list[Path]) -> None:
    # Given the compiled domain layer and respond function
    domain_pyc = layers.DOMAIN / "python" / "nps" / "kernel" / "__pycache__" / "config.cpython-312.pyc"
    respond_pyc = layers.FUNCTIONS / "respond" / "__pycache__" / "handler.cpython-312.pyc"
    # Then the file names in their code objects are where Lambda mounts them
    assert b"/opt/python/nps/kernel/config.py" in domain_pyc.read_bytes()
    assert b"/var/task/handler.py" in respond_pyc.read_bytes()
    # And no file of any asset carries the checkout's path (pip's console scripts did)
    build_path = str(ROOT).encode()
    for folder in built:
        for path in folder.rglob("*"):
            assert not (path.is_file() and build_path in path.read_bytes()), f"{path} names {ROOT}"
    assert not (layers.DEPENDENCIES / "python" / "bin").exists()


def test_a_build_from_another_clone_is_byte_identical(built: list[Path], tmp_path: Path) -> None:
    # Given the sources copied to another folder, as a second clone would have them
    clone = tmp_path / "elsewhere" / "nps-platform"
    for part in ("infra", "layers", "templates", "functions"):
        shutil.copytree(ROOT / part, clone / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    # When that clone builds its assets
    subprocess.run([sys.executable, "-m", "infra.layers"], cwd=clone, check=True, capture_output=True)
    # Then every asset has the same files with the same bytes (so the same CDK asset hash)
    for folder in built:
        other = clone / folder.relative_to(ROOT)
        assert _digest(other) == _digest(folder), f"{folder.relative_to(ROOT)} differs between clones"


def test_without_the_runtimes_python_the_build_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given a machine with no Python 3.12 anywhere the build looks
    monkeypatch.delenv(layers.PYTHON_OVERRIDE, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    layers.runtime_python.cache_clear()
    try:
        # Then the build stops with the fix, not a compile error later
        with pytest.raises(layers.LayerBuildError, match=r"pyenv install 3\.12.*NPS_LAMBDA_PYTHON"):
            layers.runtime_python()
    finally:
        layers.runtime_python.cache_clear()


@pytest.mark.parametrize("script", ["#!/bin/sh\necho 3.11\n", "#!/bin/sh\nexit 1\n"])
def test_an_override_of_another_version_stops_the_build_naming_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, script: str
) -> None:
    # Given NPS_LAMBDA_PYTHON pointing at an interpreter of another minor version (or one that does not
    # run), while a Python 3.12 is on PATH
    other = tmp_path / "python3.11"
    other.write_text(script)
    other.chmod(0o755)
    found = tmp_path / "bin" / "python3.12"
    found.parent.mkdir()
    found.write_text("#!/bin/sh\necho 3.12\n")
    found.chmod(0o755)
    monkeypatch.setenv(layers.PYTHON_OVERRIDE, str(other))
    monkeypatch.setenv("PATH", str(found.parent))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    layers.runtime_python.cache_clear()
    try:
        # Then the build stops naming the setting: bytecode is specific to the minor version (PEP 3147),
        # and an explicit choice is not silently replaced by another interpreter
        with pytest.raises(
            layers.LayerBuildError, match=r"^NPS_LAMBDA_PYTHON=.*python3\.11 (is Python 3\.11|does not run)"
        ):
            layers.runtime_python()
    finally:
        layers.runtime_python.cache_clear()
