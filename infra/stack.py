"""The NPS platform stack: it only wires the constructs, one per concern."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack, Tags
from constructs import Construct

from infra.config import StackConfig
from infra.constructs.functions import SharedLayers
from infra.constructs.observability import Observability
from infra.constructs.reporting import Reporting
from infra.constructs.response_api import ResponseApi
from infra.constructs.routing import Routing
from infra.constructs.scoring import Scoring
from infra.constructs.storage import Storage
from infra.nag import acknowledge_findings


class NpsStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, config: StackConfig, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        Tags.of(self).add("app", "nps-platform")
        Tags.of(self).add("stage", config.stage)

        storage = Storage(self, "Storage")
        layers = SharedLayers(self, "Layers")
        routing = Routing(self, "Routing", key=storage.key)
        self.response_api = ResponseApi(
            self,
            "ResponseApi",
            config=config,
            layers=layers,
            key=storage.key,
            invites=storage.invites,
            responses=storage.responses,
        )
        self.scoring = Scoring(
            self,
            "Scoring",
            config=config,
            layers=layers,
            key=storage.key,
            responses=storage.responses,
            aggregates=storage.aggregates,
            bus=routing.bus,
        )
        self.reporting = Reporting(
            self,
            "Reporting",
            config=config,
            layers=layers,
            key=storage.key,
            api=self.response_api.api,
            aggregates=storage.aggregates,
            responses=storage.responses,
        )
        # Last: it watches every function and dead-letter queue the constructs above created.
        self.observability = Observability(self, "Observability", config=config, key=storage.key)
        self.observability.watch(self)

        outputs = {
            "ResponseApiUrl": self.response_api.url,
            "InvitesTable": storage.invites.table_name,
            "ResponsesTable": storage.responses.table_name,
            "AggregatesTable": storage.aggregates.table_name,
            "EventBusName": routing.bus.event_bus_name,
            "DetractorFollowUpQueueUrl": routing.follow_up_queue.queue_url,
            "FailedStreamRecordsQueueUrl": self.scoring.failed_records.queue_url,
            "SigningSecretArn": self.response_api.signing_secret.secret_arn,
            "AlarmTopicArn": self.observability.topic.topic_arn,
            "DashboardName": self.observability.dashboard.dashboard_name,
        }
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)
        acknowledge_findings(self)
