"""The package boundaries in ``pyproject.toml`` ([tool.importlinter]) hold, and each contract bites.

``make lint`` runs ``lint-imports`` on the tree; here each kind of violation is planted in a copy of the
domain package and must break the contract that forbids it (a contract that cannot fail checks nothing).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(layers: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(layers), str(ROOT)])}
    return subprocess.run(  # noqa: S603 - our own venv's console script, fixed arguments
        [str(LINT_IMPORTS), "--no-cache", "--config", str(ROOT / "pyproject.toml")],
        cwd=layers,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture(scope="module")
def clean_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    layers = tmp_path_factory.mktemp("layers")
    shutil.copytree(ROOT / "layers" / "nps", layers / "nps", ignore=shutil.ignore_patterns("__pycache__"))
    return layers


def test_the_tree_keeps_every_contract(clean_copy: Path) -> None:
    result = _lint(clean_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


VIOLATIONS = [
    # (module that gains the import, the import, the contract it breaks)
    ("kernel/periods.py", "from nps.sending import surveys", "Every subpackage of nps has its place"),
    ("scoring/aggregation.py", "from nps.reporting import figures", "Every subpackage of nps has its place"),
    ("sending/planning.py", "from nps.responding import scanners", "Every subpackage of nps has its place"),
    ("scoring/stream.py", "from nps.links import tokens", "Scoring uses events and the kernel only"),
    ("responding/service.py", "from nps.scoring import aggregation", "Responding uses links, events and the kernel"),
    ("follow_ups/steps.py", "from nps.responding import scanners", "Follow-ups read responses through responding's"),
    ("reporting/figures.py", "from nps.events import models", "Reporting reads scoring's aggregation and the"),
    ("follow_ups/steps.py", "from nps.sending import sms", "The SMS segment counter is for nps survey put"),
    ("events/models.py", "import functions.respond.handler", "The domain never imports the handlers"),
    ("reporting/figures.py", "import local.environment", "The domain never imports the handlers"),
    ("sending/delivery.py", "import boto3", "Only adapters (and the kernel's client factory) import the AWS SDK"),
    ("responding/service.py", "import botocore.exceptions", "Only adapters (and the kernel's client factory)"),
    ("links/tokens.py", "from aws_lambda_powertools import Logger", "Only adapters (and the kernel's client factory)"),
    ("follow_ups/steps.py", "from nps.sending import unsubscribing", "Sending's internals stay inside sending"),
    ("smoke/checks.py", "from nps.responding import service", "The one-tap service is the respond function's"),
    ("reporting/figures.py", "from nps.scoring.adapters import aggregates", "Stream scoring and the aggregates store"),
    ("sending/delivery.py", "from nps.events import schemas", "The event schemas are the contract's tooling"),
    ("sending/waves.py", "from nps.follow_ups import steps", "Follow-ups, reporting and smoke are used only by"),
    ("reasons/themes.py", "from nps.events import fields", "Every subpackage of nps has its place"),
    ("kernel/statistics.py", "from nps.reasons import scales", "Every subpackage of nps has its place"),
    ("reasons/answers.py", "import pydantic", "The reasons' answers, themes and figures load no pydantic"),
    ("reasons/sentiment.py", "import pydantic", "The reasons' answers, themes and figures load no pydantic"),
    ("channels/service.py", "from nps.responding.adapters import sentiment", "Comment sentiment's adapters"),
]


@pytest.mark.parametrize(("module", "statement", "contract"), VIOLATIONS)
def test_a_planted_violation_breaks_its_contract(
    tmp_path: Path, clean_copy: Path, module: str, statement: str, contract: str
) -> None:
    # Given a copy of the domain package with one forbidden import added at the end of a module
    layers = tmp_path / "layers"
    shutil.copytree(clean_copy, layers)
    target = layers / "nps" / module
    target.write_text(target.read_text("utf-8") + f"\n{statement}  # planted\n", "utf-8")
    # When the boundaries are checked / Then the run fails and names the broken contract
    result = _lint(layers)
    assert result.returncode == 1, result.stdout
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout


def test_a_new_subpackage_must_be_given_its_place(tmp_path: Path, clean_copy: Path) -> None:
    # Given a copy of the domain package with a capability nobody placed among the layers
    layers = tmp_path / "layers"
    shutil.copytree(clean_copy, layers)
    (layers / "nps" / "billing").mkdir()
    (layers / "nps" / "billing" / "__init__.py").write_text('"""Billing."""\n', "utf-8")
    # Then the boundaries check fails until it is placed
    result = _lint(layers)
    assert result.returncode == 1, result.stdout
    assert "nps.billing" in result.stdout
