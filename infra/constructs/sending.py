"""Sending: contact imports, wave planning, delivery through SES/SNS, reminders, opt-outs and bounces.

CDK context (all optional; ``cdk synth`` works with none):

* ``senderIdentity``: the SES identity (domain or address) invites are sent from (``example.com``);
* ``sendRatePerSecond``: emails + SMS per second across all deliver instances (``10``; at most the
  SES account's sending rate). Planning keeps at most ``PLAN_AHEAD_SECONDS`` of sends at this rate
  on the send queue, and the response API's throttle follows from it (infra/config.py);
* ``deliverConcurrency``: deliver instances at once, 2–1000 (default: enough for the send rate at
  ``SENDS_PER_DELIVER_INSTANCE`` each, at least 2, SQS's minimum maximum concurrency; a value below 2
  stops the synth);
* ``triggerDetailTypes``: business event detail types that may start invites, a JSON list
  (``["Ticket Closed", "Order Delivered"]``; from ``-c`` it arrives as JSON text and is parsed).
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as event_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk.aws_apigatewayv2_integrations import HttpLambdaIntegration
from constructs import Construct

from infra.config import deliver_concurrency, deliver_concurrency_for, trigger_detail_types
from infra.constructs.functions import acknowledge
from infra.constructs.platform import Platform
from infra.constructs.queues import encrypted_queue
from infra.constructs.storage import grant_index_query, grant_items
from nps.events.models import EVENT_SOURCE
from nps.events.patterns import DEFAULT_TRIGGER_DETAIL_TYPES
from nps.kernel.tables import INVITES_IN_FLIGHT
from nps.sending.unknown_invites import STUCK_AFTER

DELIVER_TIMEOUT_SECONDS = 60
MAX_SEND_ATTEMPTS = 5
#: A send claimed this long ago and never recorded is marked unknown (far above the deliver timeout).
STUCK_CLAIM_MINUTES = int(STUCK_AFTER.total_seconds() // 60)
SWEEP_EVERY_MINUTES = 10
PLANNER_TIMEOUT = Duration.minutes(15)  # the hourly reminder run; a wave plans PLANNING_BUDGET_SECONDS per invocation
#: Seconds one planner invocation plans a wave before a continuation takes over ("a few minutes").
PLANNING_BUDGET_SECONDS = 240
#: How far planning runs ahead of delivery, in seconds of sends at the send rate (under the send
#: queue's one-hour age alarm).
PLAN_AHEAD_SECONDS = 1800


class Sending(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        platform: Platform,
        invites: dynamodb.ITable,
        responses: dynamodb.ITable,
        aggregates: dynamodb.ITable,
        surveys: dynamodb.ITable,
        contacts: dynamodb.ITable,
        suppressions: dynamodb.ITable,
        accounts: dynamodb.ITable,
        bus: events.IEventBus,
        api: apigw.HttpApi,
        public_base_url: str,
        signing_secret: secretsmanager.ISecret,
        id_key_secret: secretsmanager.ISecret,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        context = self.node.try_get_context
        identity = str(context("senderIdentity") or "example.com")
        send_rate = platform.config.send_rate_per_second
        concurrency = deliver_concurrency(context("deliverConcurrency"), deliver_concurrency_for(send_rate))
        detail_types = trigger_detail_types(context("triggerDetailTypes"), DEFAULT_TRIGGER_DETAIL_TYPES)

        # -- SES: configuration set whose bounce/complaint events go to an encrypted topic -------------
        self.feedback_topic = sns.Topic(
            self, "SesFeedback", display_name="SES bounces and complaints", master_key=platform.key, enforce_ssl=True
        )
        platform.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="SesPublishesFeedback",
                principals=[iam.ServicePrincipal("ses.amazonaws.com")],
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        # SNS parks what it cannot deliver to the suppress function in the feedback DLQ, encrypted with
        # this key: without this statement SNS could not write there and the notification would be lost.
        # (The topic's ARN cannot be named here: the topic depends on the key.)
        platform.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="SnsParksUndeliveredFeedback",
                principals=[iam.ServicePrincipal("sns.amazonaws.com")],
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                resources=["*"],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": f"arn:{stack.partition}:sns:{stack.region}:{stack.account}:*"},
                },
            )
        )
        self.configuration_set = ses.ConfigurationSet(
            self, "ConfigurationSet", reputation_metrics=True, sending_enabled=True
        )
        self.configuration_set.add_event_destination(
            "Feedback",
            destination=ses.EventDestination.sns_topic(self.feedback_topic),
            events=[ses.EmailSendingEvent.BOUNCE, ses.EmailSendingEvent.COMPLAINT],
        )

        # -- queues --------------------------------------------------------------------------------
        self.send_dlq = encrypted_queue(self, "SendDeadLetters", platform.key)
        self.send_queue = encrypted_queue(
            self,
            "SendQueue",
            platform.key,
            dead_letter_queue=self.send_dlq,
            # The function parks a message in the DLQ itself after MAX_SEND_ATTEMPTS; redrive is the
            # safety net for crashes before that.
            max_receive_count=MAX_SEND_ATTEMPTS + 3,
            visibility_timeout=Duration.seconds(6 * DELIVER_TIMEOUT_SECONDS),
        )
        self.feedback_dlq = encrypted_queue(
            self,
            "FeedbackDeadLetters",
            platform.key,
            dead_letter_role="SES feedback the suppress function could not take",
        )
        self.suppress_dlq = encrypted_queue(
            self,
            "SuppressDeadLetters",
            platform.key,
            dead_letter_role="SES feedback the suppress function failed on after Lambda's retries",
        )
        self.planner_dlq = encrypted_queue(
            self,
            "PlannerDeadLetters",
            platform.key,
            dead_letter_role="schedules, business events and wave continuations the planner missed",
        )
        # A wave too large for one invocation continues from here (one message per invocation).
        self.planning_queue = encrypted_queue(
            self,
            "PlanningQueue",
            platform.key,
            dead_letter_queue=self.planner_dlq,
            max_receive_count=5,
            # Lambda requires at least the function's timeout; six times it, as AWS advises for retries.
            visibility_timeout=Duration.minutes(6 * PLANNER_TIMEOUT.to_minutes()),
        )

        # -- contact import bucket -----------------------------------------------------------------
        self.import_bucket = s3.Bucket(
            self,
            "ContactImports",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=platform.key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(expiration=Duration.days(30), noncurrent_version_expiration=Duration.days(1))
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.import_bucket,
            {
                "AwsSolutions-S1": (
                    "Uploads are few and deliberate; each import is logged by the import function with its "
                    "counts, and the bucket expires files after 30 days."
                )
            },
        )

        tables = {
            "INVITES_TABLE": invites.table_name,
            "RESPONSES_TABLE": responses.table_name,
            "AGGREGATES_TABLE": aggregates.table_name,
            "SURVEYS_TABLE": surveys.table_name,
            "CONTACTS_TABLE": contacts.table_name,
            "SUPPRESSIONS_TABLE": suppressions.table_name,
        }

        def function(name: str, description: str, environment: dict[str, str], **kwargs: object) -> lambda_.Function:
            return platform.function(
                self,
                "".join(part.capitalize() for part in name.split("_")),
                name=name,
                description=description,
                environment=environment,
                **kwargs,  # type: ignore[arg-type]
            )

        # -- planner -------------------------------------------------------------------------------
        self.planner = function(
            "planner",
            "Starts waves (schedules, business events) and queues reminders",
            {
                **tables,
                "SEND_QUEUE_URL": self.send_queue.queue_url,
                "PLANNING_QUEUE_URL": self.planning_queue.queue_url,
                "ID_KEY_SECRET_NAME": id_key_secret.secret_arn,
                "SEND_RATE_PER_SECOND": str(send_rate),
                "PLANNING_BUDGET_SECONDS": str(PLANNING_BUDGET_SECONDS),
                "PLAN_AHEAD_SECONDS": str(PLAN_AHEAD_SECONDS),
            },
            memory_size=1024,
            timeout=PLANNER_TIMEOUT,
        )
        # UpdateItem: a wave's progress item (wave#<id>), advanced once per page planned.
        grant_items(
            surveys,
            self.planner,
            "dynamodb:GetItem",
            "dynamodb:Scan",
            "dynamodb:Query",
            "dynamodb:DeleteItem",
            "dynamodb:UpdateItem",
        )
        grant_items(contacts, self.planner, "dynamodb:GetItem")
        # Audience pages: the table itself, not the contacts' by_contact_id index (the timeline's and erasure's).
        grant_index_query(contacts, self.planner, None)
        grant_items(suppressions, self.planner, "dynamodb:BatchGetItem")
        grant_items(invites, self.planner, "dynamodb:PutItem")
        self.send_queue.grant_send_messages(self.planner)
        self.planning_queue.grant_send_messages(self.planner)
        id_key_secret.grant_read(self.planner)
        # One continuation per invocation: a failure retries that message alone, after its visibility timeout.
        self.planner.add_event_source(sources.SqsEventSource(self.planning_queue, batch_size=1, max_concurrency=2))

        # -- deliver -------------------------------------------------------------------------------
        self.deliver = function(
            "deliver",
            "Sends one invite or reminder per message through SES or SNS, at most once",
            {
                **tables,
                "SEND_QUEUE_URL": self.send_queue.queue_url,
                "SEND_DLQ_URL": self.send_dlq.queue_url,
                "EVENT_BUS_NAME": bus.event_bus_name,
                "SIGNING_SECRET_NAME": signing_secret.secret_arn,
                "ID_KEY_SECRET_NAME": id_key_secret.secret_arn,
                "PUBLIC_BASE_URL": public_base_url,
                "SES_CONFIGURATION_SET": self.configuration_set.configuration_set_name,
                "SEND_RATE_PER_SECOND": str(send_rate),
                "DELIVER_CONCURRENCY": str(concurrency),
                "MAX_SEND_ATTEMPTS": str(MAX_SEND_ATTEMPTS),
                "DEFAULT_LOCALE": platform.config.default_locale,
            },
            timeout=Duration.seconds(DELIVER_TIMEOUT_SECONDS),
        )
        # DeleteItem: a queued invite of a contact erased meanwhile (nps.sending.delivery, docs/privacy.md).
        grant_items(invites, self.deliver, "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
        grant_items(aggregates, self.deliver, "dynamodb:UpdateItem")
        # ConditionCheckItem: the claim of a send checks, in its transaction, that the contact was not erased.
        grant_items(contacts, self.deliver, "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem")
        grant_items(surveys, self.deliver, "dynamodb:GetItem", "dynamodb:PutItem")
        # PutItem: a STOP seen at send time; DeleteItem (+ the audit's PutItem): lifting it once SNS says the
        # number is opted in again (nps.sending.lifting.follow_sns).
        grant_items(suppressions, self.deliver, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem")
        grant_items(responses, self.deliver, "dynamodb:GetItem")
        self.send_queue.grant_send_messages(self.deliver)
        self.send_dlq.grant_send_messages(self.deliver)
        signing_secret.grant_read(self.deliver)
        id_key_secret.grant_read(self.deliver)
        bus.grant_put_events_to(self.deliver)
        self.sender_identity = identity
        self.grant_send_email(self.deliver)
        self.deliver.add_to_role_policy(
            iam.PolicyStatement(
                sid="TextMessagesAndOptOuts",
                actions=["sns:Publish", "sns:CheckIfPhoneNumberIsOptedOut"],
                resources=["*"],
            )
        )
        self.deliver.add_event_source(
            sources.SqsEventSource(
                self.send_queue,
                batch_size=10,
                max_batching_window=Duration.seconds(1),
                report_batch_item_failures=True,
                max_concurrency=concurrency,
            )
        )

        # -- sweep: claims left behind → unknown, and how many invites are unknown --------------------
        self.sweeper = function(
            "sweep_invites",
            "Marks invites whose send claim was left behind as unknown and counts unknown invites",
            {"INVITES_TABLE": invites.table_name, "STUCK_CLAIM_MINUTES": str(STUCK_CLAIM_MINUTES)},
            timeout=Duration.minutes(1),
        )
        # Query (the in-flight index) and conditional updates, with the key the table is encrypted with.
        # Queries the in-flight index only (not the table, nor the churn function's by_contact index).
        grant_index_query(invites, self.sweeper, INVITES_IN_FLIGHT.name)
        grant_items(invites, self.sweeper, "dynamodb:UpdateItem")

        # -- suppress (SES feedback) ----------------------------------------------------------------
        self.suppress = function(
            "suppress",
            "SES bounces and complaints → suppressions, invite status and events",
            {**tables, "EVENT_BUS_NAME": bus.event_bus_name, "ID_KEY_SECRET_NAME": id_key_secret.secret_arn},
        )
        id_key_secret.grant_read(self.suppress)
        grant_items(invites, self.suppress, "dynamodb:GetItem", "dynamodb:UpdateItem")
        grant_items(suppressions, self.suppress, "dynamodb:PutItem")
        bus.grant_put_events_to(self.suppress)
        # SNS invokes asynchronously: a notification that fails is retried twice, then parked with its
        # error in the on-failure queue (alarmed), never dropped. SNS's own DLQ holds what it could not
        # hand to Lambda at all.
        self.suppress.configure_async_invoke(
            on_failure=destinations.SqsDestination(self.suppress_dlq),
            retry_attempts=2,
            max_event_age=Duration.hours(6),
        )
        self.feedback_topic.add_subscription(
            subscriptions.LambdaSubscription(self.suppress, dead_letter_queue=self.feedback_dlq)
        )

        # -- contact import -------------------------------------------------------------------------
        self.importer = function(
            "import_contacts",
            "Contact CSVs put under imports/<audience>/ → contacts, with a per-row error report",
            {
                "CONTACTS_TABLE": contacts.table_name,
                "ACCOUNTS_TABLE": accounts.table_name,
                "IMPORT_BUCKET": self.import_bucket.bucket_name,
            },
            memory_size=1024,
            timeout=Duration.minutes(15),
        )
        grant_items(contacts, self.importer, "dynamodb:UpdateItem")
        # Account profiles: the revenue of the accounts the file names (nps.accounts.adapters.profiles).
        grant_items(accounts, self.importer, "dynamodb:UpdateItem")
        self.import_bucket.grant_read(self.importer, "imports/*")
        self.import_bucket.grant_put(self.importer, "reports/*")
        self.import_bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.LambdaDestination(self.importer),
            s3.NotificationKeyFilter(prefix="imports/", suffix=".csv"),
        )

        # -- unsubscribe (on the response API) ------------------------------------------------------
        self.unsubscribe = function(
            "unsubscribe",
            "Unsubscribe links: confirm page and one-click POST",
            {
                **tables,
                "SIGNING_SECRET_NAME": signing_secret.secret_arn,
                "ID_KEY_SECRET_NAME": id_key_secret.secret_arn,
                "DEFAULT_LOCALE": platform.config.default_locale,
            },
        )
        id_key_secret.grant_read(self.unsubscribe)
        grant_items(invites, self.unsubscribe, "dynamodb:GetItem")
        grant_items(contacts, self.unsubscribe, "dynamodb:GetItem")
        # Suppressions only: the event is published from them (infra/constructs/opt_outs.py).
        # UpdateItem: an unsubscribe turns a STOP-only suppression into an unsubscribe SNS cannot lift.
        # GetItem: the confirmation page says "already unsubscribed" when every address is suppressed.
        grant_items(suppressions, self.unsubscribe, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
        signing_secret.grant_read(self.unsubscribe)
        api.add_routes(
            path="/u/{token}",
            methods=[apigw.HttpMethod.GET, apigw.HttpMethod.POST],
            integration=HttpLambdaIntegration("UnsubscribeIntegration", self.unsubscribe),
        )

        # -- schedules and business events -----------------------------------------------------------
        self.schedule_group = scheduler.ScheduleGroup(self, "SurveySchedules")
        # The reminder schedule and the per-survey wave schedules (created at run time by the CLI's
        # `survey put`) invoke the planner through this role.
        self.scheduler_role = iam.Role(
            self, "SurveyScheduleRole", assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com")
        )
        self.planner.grant_invoke(self.scheduler_role)
        self.sweeper.grant_invoke(self.scheduler_role)
        self.planner_dlq.grant_send_messages(self.scheduler_role)
        reminders_target = scheduler_targets.LambdaInvoke(
            self.planner,
            input=scheduler.ScheduleTargetInput.from_object({"action": "reminders"}),
            role=self.scheduler_role,
            dead_letter_queue=self.planner_dlq,
            retry_attempts=5,
            max_event_age=Duration.hours(1),
        )
        scheduler.Schedule(
            self,
            "Reminders",
            schedule=scheduler.ScheduleExpression.rate(Duration.hours(1)),
            target=reminders_target,
            schedule_group=self.schedule_group,
            description="Queues the reminders that are due",
        )
        scheduler.Schedule(
            self,
            "InviteSweep",
            schedule=scheduler.ScheduleExpression.rate(Duration.minutes(SWEEP_EVERY_MINUTES)),
            target=scheduler_targets.LambdaInvoke(
                self.sweeper,
                input=scheduler.ScheduleTargetInput.from_object({"action": "sweep"}),
                role=self.scheduler_role,
                # A missed run is caught up by the next one, minutes later: no dead-letter queue needed.
                retry_attempts=2,
                max_event_age=Duration.minutes(SWEEP_EVERY_MINUTES),
            ),
            schedule_group=self.schedule_group,
            description="Marks invites whose send claim was left behind as unknown; counts unknown invites",
        )
        events.Rule(
            self,
            "BusinessEvents",
            event_bus=bus,
            description="Business events that may start a transactional invite",
            event_pattern=events.EventPattern(
                # The same pattern as nps.events.patterns.business_event_pattern (the local rule): not our own.
                source=events.Match.anything_but(EVENT_SOURCE),
                detail_type=list(detail_types),
            ),
            targets=[
                event_targets.LambdaFunction(
                    self.planner,
                    dead_letter_queue=self.planner_dlq,
                    retry_attempts=10,
                    max_event_age=Duration.hours(6),
                )
            ],
        )

        keyed = "Generated by grants on our one customer-managed key (scoped to that key)."
        for function_ in (
            self.planner,
            self.deliver,
            self.sweeper,
            self.suppress,
            self.importer,
            self.unsubscribe,
            self.scheduler_role,
        ):
            acknowledge(
                function_,
                {
                    "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]": keyed,
                    "AwsSolutions-IAM5[Action::kms:ReEncrypt*]": keyed,
                },
            )
        acknowledge(
            self.deliver,
            {
                "AwsSolutions-IAM5[Resource::*]": (
                    "SMS publishes go to phone numbers and the opt-out check has no resource: neither "
                    "sns:Publish to a number nor sns:CheckIfPhoneNumberIsOptedOut supports resource ARNs."
                )
            },
        )
        read_grant = "Read grant on the import bucket, limited to the imports/ prefix."
        put_grant = "Generated by the put grant, limited to the reports/ prefix."
        acknowledge(
            self.importer,
            {
                "AwsSolutions-IAM5[Action::s3:GetBucket*]": read_grant,
                "AwsSolutions-IAM5[Action::s3:GetObject*]": read_grant,
                "AwsSolutions-IAM5[Action::s3:List*]": read_grant,
                "AwsSolutions-IAM5[Action::s3:Abort*]": put_grant,
                "AwsSolutions-IAM5[Action::s3:DeleteObject*]": put_grant,
            },
        )
        bucket_id = stack.get_logical_id(self.import_bucket.node.default_child)  # type: ignore[arg-type]
        planner_id = stack.get_logical_id(self.planner.node.default_child)  # type: ignore[arg-type]
        sweeper_id = stack.get_logical_id(self.sweeper.node.default_child)  # type: ignore[arg-type]
        acknowledge(
            self,
            {
                f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/imports/*]": "Only imports/.",
                f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/reports/*]": "Only reports/.",
                f"AwsSolutions-IAM5[Resource::<{planner_id}.Arn>:*]": (
                    "Invoke permission on the planner's versions and aliases (the grant's own ARN form)."
                ),
                f"AwsSolutions-IAM5[Resource::<{sweeper_id}.Arn>:*]": (
                    "Invoke permission on the sweep function's versions and aliases (the grant's own ARN form)."
                ),
            },
        )
        # S3 notifications are wired by a stack-level custom resource whose role CDK creates.
        handler = stack.node.try_find_child("BucketNotificationsHandler050a0587b7544547bf325f094a3db834")
        if isinstance(handler, Construct):
            acknowledge(
                handler,
                {
                    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                    "AWSLambdaBasicExecutionRole]": (
                        "CDK's bucket-notification custom resource: it only writes its own logs."
                    ),
                    "AwsSolutions-IAM5[Resource::*]": (
                        "CDK's bucket-notification custom resource needs s3:PutBucketNotification, which it "
                        "applies to the one import bucket at deploy time."
                    ),
                },
            )

    def grant_send_email(self, grantee: lambda_.Function) -> None:
        """Send email through the sender identity and the configuration set (bounces tracked), nothing else."""
        stack = Stack.of(self)
        prefix = f"arn:{stack.partition}:ses:{stack.region}:{stack.account}"
        grantee.add_to_role_policy(
            iam.PolicyStatement(
                sid="SendThroughTheIdentityAndConfigurationSet",
                actions=["ses:SendRawEmail", "ses:SendEmail"],
                resources=[
                    f"{prefix}:identity/{self.sender_identity}",
                    f"{prefix}:configuration-set/{self.configuration_set.configuration_set_name}",
                ],
            )
        )
