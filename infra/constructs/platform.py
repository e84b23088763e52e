"""What every construct that builds functions shares: the settings, the layers and the data key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict, Unpack

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import StackConfig
from infra.constructs.functions import SharedLayers, python_function


class FunctionOptions(TypedDict, total=False):
    """What a function may set beyond the platform's defaults (see :func:`python_function`)."""

    memory_size: int
    timeout: Duration
    reserved_concurrency: int
    description: str


@dataclass(frozen=True)
class Platform:
    """The stack's settings (``config``), the shared Lambda layers (``layers``) and the customer-managed
    key that encrypts tables, queues, topics, secrets and events (``key``): built once by the stack and
    handed to each construct that builds functions."""

    config: StackConfig
    layers: SharedLayers
    key: kms.IKey

    def function(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        environment: dict[str, str],
        **options: Unpack[FunctionOptions],
    ) -> lambda_.Function:
        """A function from ``functions/<name>/handler.py`` with the shared layers and the stage's log retention."""
        return python_function(
            scope,
            construct_id,
            name=name,
            layers=self.layers,
            environment=environment,
            log_retention_days=self.config.log_retention_days,
            **options,
        )
