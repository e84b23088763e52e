"""The shared Lambda layers and one factory for every function (same runtime, tracing, logs, layers)."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64


class SharedLayers(Construct):
    """The dependency layer (locked wheels for arm64) and the domain layer (``nps`` + templates)."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        from infra.layers import build_dependencies, build_domain

        self.dependencies = lambda_.LayerVersion(
            self,
            "Dependencies",
            code=lambda_.Code.from_asset(str(build_dependencies())),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="Powertools, pydantic, Jinja2 (locked; boto3 comes with the runtime)",
        )
        self.domain = lambda_.LayerVersion(
            self,
            "Domain",
            code=lambda_.Code.from_asset(str(build_domain())),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="The nps domain package and its templates",
        )

    @property
    def all(self) -> list[lambda_.ILayerVersion]:
        return [self.dependencies, self.domain]


def python_function(
    scope: Construct,
    construct_id: str,
    *,
    name: str,
    layers: SharedLayers,
    environment: dict[str, str],
    log_retention_days: int,
    memory_size: int = 512,
    timeout: Duration | None = None,
    reserved_concurrency: int | None = None,
    description: str = "",
) -> lambda_.Function:
    """A function from ``functions/<name>/handler.py`` with the platform's defaults (its asset is the
    folder compiled for Python 3.12 by :func:`infra.layers.build_function`)."""
    from infra.layers import build_function

    log_group = logs.LogGroup(
        scope,
        f"{construct_id}Logs",
        retention=retention(log_retention_days),
        removal_policy=RemovalPolicy.DESTROY,
    )
    function = lambda_.Function(
        scope,
        construct_id,
        runtime=RUNTIME,
        architecture=ARCHITECTURE,
        handler="handler.lambda_handler",
        code=lambda_.Code.from_asset(str(build_function(name))),
        layers=layers.all,
        memory_size=memory_size,
        timeout=timeout or Duration.seconds(10),
        tracing=lambda_.Tracing.ACTIVE,
        log_group=log_group,
        logging_format=lambda_.LoggingFormat.JSON,
        reserved_concurrent_executions=reserved_concurrency,
        description=description,
        environment={
            "POWERTOOLS_SERVICE_NAME": name,
            "POWERTOOLS_METRICS_NAMESPACE": "NPS",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            **environment,
        },
    )
    acknowledge(function, FUNCTION_ACKNOWLEDGEMENTS)
    return function


_BASIC_EXECUTION = "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
FUNCTION_ACKNOWLEDGEMENTS = {
    f"AwsSolutions-IAM4[Policy::{_BASIC_EXECUTION}]": (
        "The AWS-managed basic execution policy only lets the function write its own CloudWatch logs."
    ),
    "AwsSolutions-IAM5[Resource::*]": (
        "X-Ray PutTraceSegments and PutTelemetryRecords have no resource-level permissions."
    ),
    "AwsSolutions-L1": (
        "Pinned to Python 3.12: the dependency layer's wheels are built and tested for exactly this runtime."
    ),
}


def acknowledge(scope: Construct, findings: dict[str, str]) -> None:
    """Acknowledge cdk-nag findings on ``scope`` and its children, each with its reason."""
    validations = cdk.Validations.of(scope)
    for finding, reason in findings.items():
        validations.acknowledge(cdk.Acknowledgment(id=f"AwsSolutions::{finding}", reason=reason))


_RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    731: logs.RetentionDays.TWO_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}


def retention(days: int) -> logs.RetentionDays:
    """The shortest CloudWatch retention that keeps logs at least ``days`` days."""
    return _RETENTION[min((d for d in _RETENTION if d >= days), default=3653)]
