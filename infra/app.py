"""CDK entry point (``cdk.json``): ``npx cdk synth`` / ``npx cdk deploy -c stage=prod``."""

from __future__ import annotations

import os

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.config import StackConfig
from infra.stack import NpsStack


def build_app(context: dict[str, object] | None = None) -> tuple[cdk.App, NpsStack]:
    app = cdk.App(context=context or {})
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
