"""The NPS platform stack: it only wires the constructs, one per concern."""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, Stack, Tags
from constructs import Construct

from infra.config import StackConfig
from infra.constructs.churn import Churn
from infra.constructs.comment_sentiment import CommentSentiment
from infra.constructs.contacts import ContactRecords
from infra.constructs.crm import CrmDestinations, needs_crm
from infra.constructs.digest import Digest
from infra.constructs.follow_ups import FollowUps, FollowUpTables
from infra.constructs.functions import SharedLayers
from infra.constructs.observability import Observability
from infra.constructs.opt_outs import OptOutEvents
from infra.constructs.platform import Platform
from infra.constructs.referrals import Referrals
from infra.constructs.reporting import Reporting
from infra.constructs.response_api import ResponseApi
from infra.constructs.routing import Routing
from infra.constructs.scoring import Scoring
from infra.constructs.sending import SWEEP_EVERY_MINUTES, Sending
from infra.constructs.share_link import ShareLink
from infra.constructs.storage import Storage
from infra.constructs.web_channel import WebChannel
from infra.nag import acknowledge_findings


class NpsStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, config: StackConfig, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        Tags.of(self).add("app", "nps-platform")
        Tags.of(self).add("stage", config.stage)

        storage = Storage(self, "Storage")
        platform = Platform(config=config, layers=SharedLayers(self, "Layers"), key=storage.key)
        routing = Routing(self, "Routing", key=storage.key)
        self.response_api = ResponseApi(
            self,
            "ResponseApi",
            platform=platform,
            invites=storage.invites,
            responses=storage.responses,
            surveys=storage.surveys,
        )
        self.scoring = Scoring(
            self,
            "Scoring",
            platform=platform,
            responses=storage.responses,
            aggregates=storage.aggregates,
            bus=routing.bus,
        )
        self.sending = Sending(
            self,
            "Sending",
            platform=platform,
            invites=storage.invites,
            responses=storage.responses,
            aggregates=storage.aggregates,
            surveys=storage.surveys,
            contacts=storage.contacts,
            suppressions=storage.suppressions,
            accounts=storage.accounts,
            bus=routing.bus,
            api=self.response_api.api,
            public_base_url=self.response_api.url,
            signing_secret=self.response_api.signing_secret,
            id_key_secret=storage.id_key,
        )
        self.web = WebChannel(
            self,
            "Web",
            platform=platform,
            api=self.response_api.api,
            invites=storage.invites,
            responses=storage.responses,
            aggregates=storage.aggregates,
            surveys=storage.surveys,
            contacts=storage.contacts,
            suppressions=storage.suppressions,
            id_key_secret=storage.id_key,
        )
        self.share_link = ShareLink(
            self,
            "ShareLink",
            platform=platform,
            api=self.response_api.api,
            invites=storage.invites,
            responses=storage.responses,
            surveys=storage.surveys,
            contacts=storage.contacts,
            site_keys=self.web.site_keys,
            id_key_secret=storage.id_key,
        )
        self.opt_outs = OptOutEvents(
            self,
            "OptOuts",
            platform=platform,
            suppressions=storage.suppressions,
            bus=routing.bus,
        )
        self.reporting = Reporting(
            self,
            "Reporting",
            platform=platform,
            api=self.response_api.api,
            aggregates=storage.aggregates,
            responses=storage.responses,
            accounts=storage.accounts,
        )
        # A contact's timeline and erasure (docs/privacy.md), on the same IAM-authorised API.
        self.contact_records = ContactRecords(
            self,
            "ContactRecords",
            platform=platform,
            api=self.response_api.api,
            tables={
                "contacts": storage.contacts,
                "invites": storage.invites,
                "responses": storage.responses,
                "followups": storage.follow_ups,
                "suppressions": storage.suppressions,
                "accounts": storage.accounts,
                "surveys": storage.surveys,
            },
            id_key_secret=storage.id_key,
            bus=routing.bus,
            import_bucket=self.sending.import_bucket,
        )
        self.follow_ups = FollowUps(
            self,
            "FollowUps",
            platform=platform,
            tables=FollowUpTables(
                follow_ups=storage.follow_ups,
                invites=storage.invites,
                responses=storage.responses,
                aggregates=storage.aggregates,
                surveys=storage.surveys,
                contacts=storage.contacts,
                suppressions=storage.suppressions,
                accounts=storage.accounts,
            ),
            routing=routing,
            sending=self.sending,
            public_base_url=self.response_api.url,
            signing_secret=self.response_api.signing_secret,
            id_key_secret=storage.id_key,
        )
        self.referrals = Referrals(
            self,
            "Referrals",
            platform=platform,
            api=self.response_api.api,
            responses=storage.responses,
            surveys=storage.surveys,
            aggregates=storage.aggregates,
            accounts=storage.accounts,
            routing=routing,
            signing_secret=self.response_api.signing_secret,
        )
        # Optional (off by default): sentiment and key phrases of each comment with Amazon Comprehend.
        self.comment_sentiment = (
            CommentSentiment(self, "CommentSentiment", platform=platform, responses=storage.responses, routing=routing)
            if config.comment_sentiment
            else None
        )
        # Customer Churned business events → churn records against the last NPS answer (docs/churn.md).
        self.churn = Churn(
            self,
            "Churn",
            platform=platform,
            invites=storage.invites,
            responses=storage.responses,
            aggregates=storage.aggregates,
            surveys=storage.surveys,
            accounts=storage.accounts,
            routing=routing,
        )
        # Optional (off by default): scored responses and account health written to HubSpot / Salesforce
        # by API destinations (docs/crm.md).
        self.crm = (
            CrmDestinations(self, "Crm", settings=config.crm, bus=routing.bus, key=storage.key)
            if needs_crm(config.crm)
            else None
        )
        # The team's digest: hourly, every survey's digest due at that local hour (docs/digest.md).
        self.digest = Digest(
            self,
            "Digest",
            platform=platform,
            surveys=storage.surveys,
            aggregates=storage.aggregates,
            responses=storage.responses,
            accounts=storage.accounts,
            suppressions=storage.suppressions,
            routing=routing,
            sending=self.sending,
            id_key_secret=storage.id_key,
        )
        # The erasure stops the open follow-up workflows of the contact it erases (docs/privacy.md).
        self.contact_records.may_stop_workflows(self.follow_ups.state_machines.values())
        # Last: it watches every function and dead-letter queue the constructs above created.
        self.observability = Observability(self, "Observability", config=config, key=storage.key)
        self.observability.watch(self)
        for machine in self.follow_ups.state_machines.values():
            self.observability.add_state_machine(machine)
        self.observability.add_stream_consumer(self.scoring.function)
        self.observability.add_unknown_invites(Duration.minutes(SWEEP_EVERY_MINUTES))
        self.observability.add_rejected_signing_keys()

        outputs = {
            "ResponseApiUrl": self.response_api.url,
            "InvitesTable": storage.invites.table_name,
            "ResponsesTable": storage.responses.table_name,
            "AggregatesTable": storage.aggregates.table_name,
            "EventBusName": routing.bus.event_bus_name,
            "FollowUpTaskQueueUrl": self.follow_ups.tasks.queue_url,
            "FollowUpAlertTopicArn": self.follow_ups.alerts.topic_arn,
            "FollowUpsTable": storage.follow_ups.table_name,
            "AccountsTable": storage.accounts.table_name,
            "DetractorWorkflowArn": self.follow_ups.state_machines["detractor"].state_machine_arn,
            "FailedStreamRecordsQueueUrl": self.scoring.failed_records.queue_url,
            "FailedOptOutRecordsQueueUrl": self.opt_outs.failed_records.queue_url,
            "SigningSecretArn": self.response_api.signing_secret.secret_arn,
            "IdKeySecretArn": storage.id_key.secret_arn,
            "SiteKeysSecretArn": self.web.site_keys.secret_arn,
            "WebFunctionName": self.web.function.function_name,
            "AlarmTopicArn": self.observability.topic.topic_arn,
            "DashboardName": self.observability.dashboard.dashboard_name,
            "SurveysTable": storage.surveys.table_name,
            "ContactsTable": storage.contacts.table_name,
            "SuppressionsTable": storage.suppressions.table_name,
            "SendQueueUrl": self.sending.send_queue.queue_url,
            "SendDeadLetterQueueUrl": self.sending.send_dlq.queue_url,
            "ContactImportBucket": self.sending.import_bucket.bucket_name,
            "SesConfigurationSet": self.sending.configuration_set.configuration_set_name,
            "ScheduleGroup": self.sending.schedule_group.schedule_group_name,
            "PlannerArn": self.sending.planner.function_arn,
            "SchedulerRoleArn": self.sending.scheduler_role.role_arn,
            "PlannerDeadLetterQueueArn": self.sending.planner_dlq.queue_arn,
            "PlanningQueueUrl": self.sending.planning_queue.queue_url,
            "SenderIdentity": self.sending.sender_identity,
        }
        if self.crm is not None:
            outputs["CrmDeadLetterQueueUrl"] = self.crm.dead_letters.queue_url
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)
        acknowledge_findings(self)
