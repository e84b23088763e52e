"""CDK entry point (``cdk.json``): ``npx cdk synth`` / ``npx cdk deploy -c stage=prod``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.config import StackConfig
from infra.stack import NpsStack

CDK_JSON = Path(__file__).resolve().parents[1] / "cdk.json"


def project_context() -> dict[str, Any]:
    """The ``context`` of ``cdk.json``: the feature flags the deployment runs with (the CDK CLI passes them
    to the app; tests build the app directly, so they read them here and test what deploys)."""
    context: dict[str, Any] = json.loads(CDK_JSON.read_text())["context"]
    return context


def build_app(context: dict[str, object] | None = None) -> tuple[cdk.App, NpsStack]:
    app = cdk.App(context={**project_context(), **(context or {})})
    config = StackConfig.from_context(app.node)
    stack = NpsStack(
        app,
        f"Nps-{config.stage}",
        config=config,
        description="Self-hosted Net Promoter Score platform",
        env=cdk.Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION")),
    )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack


if __name__ == "__main__":
    build_app()[0].synth()
