"""Deployment settings from CDK context (``cdk deploy -c stage=prod``), with safe defaults."""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Node


@dataclass(frozen=True)
class StackConfig:
    stage: str = "dev"
    default_locale: str = "en"
    link_lifetime_days: int = 30
    api_rate_limit: int = 50
    api_burst_limit: int = 100
    log_retention_days: int = 90

    @classmethod
    def from_context(cls, node: Node) -> StackConfig:
        def get(name: str, default: object) -> object:
            value = node.try_get_context(name)
            return default if value is None else value

        return cls(
            stage=str(get("stage", cls.stage)),
            default_locale=str(get("defaultLocale", cls.default_locale)),
            link_lifetime_days=int(str(get("linkLifetimeDays", cls.link_lifetime_days))),
            api_rate_limit=int(str(get("apiRateLimit", cls.api_rate_limit))),
            api_burst_limit=int(str(get("apiBurstLimit", cls.api_burst_limit))),
            log_retention_days=int(str(get("logRetentionDays", cls.log_retention_days))),
        )
