"""Closing the loop: one Step Functions workflow per category, started by rules on the bus.

* Detractor: open → alert the team (SNS, and ``NPS Follow-up Alert`` on the bus, which the optional
  webhook posts) → wait
  (the survey's delay, held to the contact's daytime) → apology email → ``NPS Follow-up Opened`` → a task
  on the follow-up task queue, waiting (task token) for the team's resolution or the survey's timeout →
  wait → re-survey → wait for the answer → close unanswered.
* Promoter: open → wait → thank-you with the survey's referral/review links → ``NPS Follow-up Opened``.
* Passive: open → wait → "what would make it a 10?" → ``NPS Follow-up Opened``.

Steps are the follow-up function's actions (``nps.follow_ups.steps``); AWS calls are SDK integrations. Every
task retries with backoff, and every failure is caught: the execution's input and error are parked in
the workflow DLQ and the execution fails (the failed-executions alarm). A contract-breaking event
(``InvalidFollowUpEvent``) is never retried.

CDK context (optional): ``followUpAlertEmail`` subscribes an address to the alerts topic;
``alertWebhookUrl`` + ``alertWebhookSecretName`` (a Secrets Manager secret holding the value of the
``alertWebhookHeader`` header, ``Authorization`` by default) post each ``NPS Follow-up Alert`` to Slack
or any webhook (an EventBridge API destination).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, SecretValue, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.config import StackConfig
from infra.constructs.functions import acknowledge, retention
from infra.constructs.platform import Platform
from infra.constructs.queues import encrypted_queue
from infra.constructs.routing import Routing, pattern_rule
from infra.constructs.sending import Sending
from infra.constructs.storage import grant_items
from nps.events.models import EVENT_SOURCE, FOLLOW_UP_ALERT, FOLLOW_UP_OPENED
from nps.events.patterns import FOLLOW_UP_ALERTED, FOLLOW_UP_CATEGORIES, FOLLOW_UP_STARTS

#: Errors a retry cannot fix: the step raised them on purpose (see nps.follow_ups.steps).
PERMANENT_ERRORS = ["InvalidFollowUpEvent", "FollowUpNotFound", "FollowUpClosed"]
STEP_TIMEOUT = Duration.seconds(30)
#: ``step(state name, action, result path, **payload)``: a follow-up function task with retries and catch.
Step = Callable[..., tasks.LambdaInvoke]


@dataclass(frozen=True)
class FollowUpTables:
    follow_ups: dynamodb.ITable
    invites: dynamodb.ITable
    responses: dynamodb.ITable
    aggregates: dynamodb.ITable
    surveys: dynamodb.ITable
    contacts: dynamodb.ITable
    suppressions: dynamodb.ITable
    #: The promoter email's referral ask is recorded here (marker + the contact's latest ask).
    accounts: dynamodb.ITable


class FollowUps(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        platform: Platform,
        tables: FollowUpTables,
        routing: Routing,
        sending: Sending,
        public_base_url: str,
        signing_secret: secretsmanager.ISecret,
        id_key_secret: secretsmanager.ISecret,
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = platform.key
        self.alerts = sns.Topic(
            self, "Alerts", display_name="NPS detractor alerts", master_key=platform.key, enforce_ssl=True
        )
        if platform.config.follow_up_alert_email:
            self.alerts.add_subscription(subscriptions.EmailSubscription(platform.config.follow_up_alert_email))
        # The team's tasks (a CRM or ticketing integration reads them; docs/events.md), and the
        # executions that failed after retries, parked with their input and error.
        self.task_dead_letters = encrypted_queue(self, "TaskDeadLetters", platform.key)
        # The team's CRM integration consumes tasks; a day without pick-up means it is down.
        self.tasks = encrypted_queue(
            self, "Tasks", platform.key, dead_letter_queue=self.task_dead_letters, max_message_age=Duration.days(1)
        )
        self.workflow_dead_letters = encrypted_queue(
            self, "WorkflowDeadLetters", platform.key, dead_letter_role="follow-up workflow executions that failed"
        )

        environment = {
            "FOLLOW_UPS_TABLE": tables.follow_ups.table_name,
            "INVITES_TABLE": tables.invites.table_name,
            "RESPONSES_TABLE": tables.responses.table_name,
            "AGGREGATES_TABLE": tables.aggregates.table_name,
            "SURVEYS_TABLE": tables.surveys.table_name,
            "CONTACTS_TABLE": tables.contacts.table_name,
            "SUPPRESSIONS_TABLE": tables.suppressions.table_name,
            "ACCOUNTS_TABLE": tables.accounts.table_name,
            "SEND_QUEUE_URL": sending.send_queue.queue_url,
            "FOLLOW_UP_TASK_QUEUE_URL": self.tasks.queue_url,
            "FOLLOW_UP_EVENTS_DLQ_URL": routing.follow_up_events_dead_letters.queue_url,
            "FOLLOW_UP_EVENTS_QUEUE_URL": routing.follow_up_events.queue_url,
            "EVENT_BUS_NAME": routing.bus.event_bus_name,
            "SIGNING_SECRET_NAME": signing_secret.secret_arn,
            "ID_KEY_SECRET_NAME": id_key_secret.secret_arn,
            "PUBLIC_BASE_URL": public_base_url,
            "SES_CONFIGURATION_SET": sending.configuration_set.configuration_set_name,
        }
        self.steps = platform.function(
            self,
            "Steps",
            name="follow_up",
            environment=environment,
            timeout=STEP_TIMEOUT,
            description="The steps of the follow-up workflows (open, email, task, re-survey, close)",
        )
        self.consumer = platform.function(
            self,
            "EventsConsumer",
            name="follow_up_events",
            environment=environment,
            timeout=Duration.seconds(60),
            description="Detractor comments, retractions and re-survey answers → their follow-ups",
        )
        self.consumer.add_event_source(
            sources.SqsEventSource(routing.follow_up_events, batch_size=10, report_batch_item_failures=True)
        )
        self._grant(self.steps, tables, routing, sending, signing_secret)
        self._grant(self.consumer, tables, routing, sending, signing_secret)
        # Re-survey invite ids and the apology email's suppression lookup: steps only (the consumer
        # shares the wiring, so it has the variable, but never computes either).
        id_key_secret.grant_read(self.steps)
        # The promoter email's referral ask, once per invite: its marker and the contact's latest ask
        # (PutItem) with referral_asked on the answer's aggregates (UpdateItem), one transaction.
        grant_items(tables.accounts, self.steps, "dynamodb:PutItem")
        grant_items(tables.aggregates, self.steps, "dynamodb:UpdateItem")
        routing.follow_up_events_dead_letters.grant_send_messages(self.consumer)
        # Comment updates: the consumer schedules them as delayed messages on its own queue.
        routing.follow_up_events.grant_send_messages(self.consumer)

        self.state_machines: dict[str, sfn.StateMachine] = {}
        for category in FOLLOW_UP_CATEGORIES:
            machine = self._state_machine(category, routing.bus)
            self.state_machines[category] = machine
            pattern_rule(
                self,
                f"{category.capitalize()}Rule",
                routing.bus,
                FOLLOW_UP_STARTS[category],
                description=f"{category.capitalize()} answers → the {category} follow-up workflow",
                targets=[
                    targets.SfnStateMachine(
                        machine,
                        dead_letter_queue=routing.dead_letters,
                        retry_attempts=185,
                        max_event_age=Duration.hours(24),
                    )
                ],
            )
        # A retraction ends a detractor's wait for resolution (SendTaskSuccess on its task token).
        for machine in self.state_machines.values():
            machine.grant_task_response(self.consumer)
        if platform.config.alert_webhook_url:
            self._webhook(platform.config, routing)
        self._acknowledge()

    # -- permissions --------------------------------------------------------------------------------
    def _grant(
        self,
        function: lambda_.Function,
        tables: FollowUpTables,
        routing: Routing,
        sending: Sending,
        signing_secret: secretsmanager.ISecret,
    ) -> None:
        grant_items(
            tables.follow_ups, function, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"
        )
        grant_items(tables.invites, function, "dynamodb:GetItem", "dynamodb:PutItem")
        grant_items(tables.responses, function, "dynamodb:GetItem")
        grant_items(tables.surveys, function, "dynamodb:GetItem")
        grant_items(tables.contacts, function, "dynamodb:GetItem")
        grant_items(tables.suppressions, function, "dynamodb:GetItem", "dynamodb:BatchGetItem")
        sending.send_queue.grant_send_messages(function)
        self.tasks.grant_send_messages(function)
        signing_secret.grant_read(function)
        routing.bus.grant_put_events_to(function)
        sending.grant_send_email(function)

    # -- the workflows ------------------------------------------------------------------------------
    def _state_machine(self, category: str, bus: events.IEventBus) -> sfn.StateMachine:
        scope = Construct(self, category.capitalize())
        failed = sfn.Fail(scope, "Failed", error="FollowUpFailed", cause="A step failed after retries (see the DLQ)")
        park = tasks.SqsSendMessage(
            scope,
            "ParkInDeadLetterQueue",
            queue=self.workflow_dead_letters,
            message_body=sfn.TaskInput.from_object(
                {
                    "execution": sfn.JsonPath.execution_id,
                    "state_machine": sfn.JsonPath.state_machine_name,
                    "input": sfn.JsonPath.object_at("$$.Execution.Input"),
                    "error": sfn.JsonPath.object_at("$.error"),
                }
            ),
            result_path=sfn.JsonPath.DISCARD,
        )
        park.add_retry(errors=["States.ALL"], interval=Duration.seconds(2), max_attempts=6, backoff_rate=2)
        park.next(failed)

        def step(name: str, action: str, result_path: str, **payload: object) -> tasks.LambdaInvoke:
            task = tasks.LambdaInvoke(
                scope,
                name,
                lambda_function=self.steps,
                payload=sfn.TaskInput.from_object({"action": action, **payload}),
                payload_response_only=True,
                result_path=result_path,
                retry_on_service_exceptions=False,
            )
            _resilient(task, park)
            return task

        follow_up_id = sfn.JsonPath.string_at("$.follow_up.follow_up_id")
        open_ = step(
            "Open",
            "open",
            "$.follow_up",
            event=sfn.JsonPath.entire_payload,
            execution=sfn.JsonPath.execution_id,
        )
        done = sfn.Succeed(scope, "Done")
        email_wait = sfn.Wait(
            scope, "WaitToEmail", time=sfn.WaitTime.seconds_path("$.follow_up.settings.email_wait_seconds")
        )
        email = step("Email", "email", "$.email", follow_up_id=follow_up_id)
        publish = _put_event(scope, "PublishOpened", bus, FOLLOW_UP_OPENED, "$.email.opened", park)
        email_chain = email_wait.next(email).next(
            sfn.Choice(scope, "StillOpen")
            .when(sfn.Condition.string_equals("$.email.status", "resolved"), done)
            .otherwise(publish)
        )
        if category == "detractor":
            publish.next(self._detractor_tail(scope, step, park, follow_up_id, done))
            alert = _resilient(
                tasks.SnsPublish(
                    scope,
                    "AlertTeam",
                    topic=self.alerts,
                    subject=sfn.JsonPath.string_at("$.follow_up.alert.subject"),
                    message=sfn.TaskInput.from_json_path_at("$.follow_up.alert.message"),
                    result_path=sfn.JsonPath.DISCARD,
                ),
                park,
            )
            alert_event = _put_event(scope, "PublishAlert", bus, FOLLOW_UP_ALERT, "$.follow_up.alert.event", park)
            after_open: sfn.IChainable = (
                sfn.Choice(scope, "Alert")
                .when(
                    sfn.Condition.boolean_equals("$.follow_up.settings.alert", True),
                    alert.next(alert_event).next(email_chain),
                )
                .otherwise(email_chain)
            )
        else:
            publish.next(done)
            after_open = email_chain
        definition = open_.next(
            sfn.Choice(scope, "Opened")
            .when(sfn.Condition.string_equals("$.follow_up.status", "opened"), after_open)
            .otherwise(sfn.Succeed(scope, "NothingToFollowUp", comment="duplicate, disabled or superseded"))
        )
        log_group = logs.LogGroup(
            scope,
            "Logs",
            retention=retention(90),
            removal_policy=RemovalPolicy.DESTROY,
        )
        machine = sfn.StateMachine(
            scope,
            "Workflow",
            comment=f"The {category} follow-up (nps.follow_ups)",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            state_machine_type=sfn.StateMachineType.STANDARD,
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
            # Execution data (ids, scores, task tokens: no personal data) is encrypted at rest with an
            # AWS-owned key. A customer-managed key would make every caller (the rules' roles, the CRM
            # resolving a task) need kms:GenerateDataKey on it: a deploy-time trap for integrations.
            encryption_configuration=sfn.AwsOwnedEncryptionConfiguration(),
        )
        # Its SDK tasks publish to the encrypted alerts topic and dead-letter queue (customer-managed key).
        self.key.grant(machine, "kms:GenerateDataKey*", "kms:Decrypt")
        return machine

    def _detractor_tail(
        self,
        scope: Construct,
        step: Step,
        park: sfn.IChainable,
        follow_up_id: str,
        done: sfn.Succeed,
    ) -> sfn.IChainable:
        """The task for the team (wait for resolution or the timeout), then re-survey and await the answer."""
        task = tasks.LambdaInvoke(
            scope,
            "OpenTaskAndWait",
            lambda_function=self.steps,
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            payload=sfn.TaskInput.from_object(
                {"action": "open_task", "follow_up_id": follow_up_id, "task_token": sfn.JsonPath.task_token}
            ),
            task_timeout=sfn.Timeout.at("$.follow_up.settings.resolve_timeout_seconds"),
            result_path="$.resolution",
            retry_on_service_exceptions=False,
        )
        timed_out = sfn.Pass(
            scope, "TimedOut", result=sfn.Result.from_object({"resolution": "timed_out"}), result_path="$.resolution"
        )
        resurvey_wait = sfn.Wait(
            scope, "WaitToResurvey", time=sfn.WaitTime.seconds_path("$.follow_up.settings.resurvey_wait_seconds")
        )
        task.add_catch(timed_out, errors=["States.Timeout"], result_path="$.timeout")
        # The answer was retracted between the email and the task: nothing left to do.
        task.add_catch(done, errors=["FollowUpClosed"], result_path="$.closed")
        _resilient(task, park)
        timed_out.next(resurvey_wait)
        resurvey = step(
            "Resurvey",
            "resurvey",
            "$.resurvey",
            follow_up_id=follow_up_id,
            resolution=sfn.JsonPath.object_at("$.resolution"),
        )
        answer_wait = sfn.Wait(scope, "WaitForAnswer", time=sfn.WaitTime.seconds_path("$.resurvey.answer_wait_seconds"))
        close = step("CloseUnanswered", "close", "$.closed", follow_up_id=follow_up_id)
        return (
            task.next(resurvey_wait)
            .next(resurvey)
            .next(
                sfn.Choice(scope, "Resurveyed")
                .when(
                    sfn.Condition.string_equals("$.resurvey.status", "re_surveying"),
                    answer_wait.next(close).next(done),
                )
                .otherwise(done)
            )
        )

    # -- webhook ------------------------------------------------------------------------------------
    def _webhook(self, config: StackConfig, routing: Routing) -> None:
        if not config.alert_webhook_secret_name:
            raise ValueError(
                "alertWebhookUrl needs alertWebhookSecretName: a Secrets Manager secret with the value of the "
                f"{config.alert_webhook_header} header the webhook expects"
            )
        connection = events.Connection(
            self,
            "WebhookConnection",
            description="Detractor alerts webhook (credentials from Secrets Manager)",
            authorization=events.Authorization.api_key(
                config.alert_webhook_header, SecretValue.secrets_manager(config.alert_webhook_secret_name)
            ),
        )
        destination = events.ApiDestination(
            self,
            "Webhook",
            connection=connection,
            endpoint=config.alert_webhook_url or "",
            http_method=events.HttpMethod.POST,
            rate_limit_per_second=5,
            description="Detractor alerts (Slack or any webhook)",
        )
        field = events.EventField.from_path
        pattern_rule(
            self,
            "WebhookRule",
            routing.bus,
            FOLLOW_UP_ALERTED,
            description="Detractor alerts → the alerts webhook",
            targets=[
                targets.ApiDestination(
                    destination,
                    event=events.RuleTargetInput.from_object(
                        {
                            "text": (
                                f"NPS detractor: {field('$.detail.score')}/10 on survey {field('$.detail.survey_id')}"
                                f" (follow-up {field('$.detail.follow_up_id')}, contact {field('$.detail.contact_id')})"
                            ),
                            "follow_up_id": field("$.detail.follow_up_id"),
                            "survey_id": field("$.detail.survey_id"),
                            "contact_id": field("$.detail.contact_id"),
                            "score": field("$.detail.score"),
                        }
                    ),
                    dead_letter_queue=routing.dead_letters,
                    retry_attempts=185,
                    max_event_age=Duration.hours(24),
                )
            ],
        )

    def _acknowledge(self) -> None:
        keyed = "Generated by grants on our one customer-managed key (scoped to that key)."
        steps_id = Stack.of(self).get_logical_id(self.steps.node.default_child)  # type: ignore[arg-type]
        acknowledge(
            self,
            {
                f"AwsSolutions-IAM5[Resource::<{steps_id}.Arn>:*]": (
                    "The workflows invoke the follow-up function's versions and aliases (the grant's own ARN form)."
                )
            },
        )
        for function in (self.steps, self.consumer):
            acknowledge(
                function,
                {
                    "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]": keyed,
                    "AwsSolutions-IAM5[Action::kms:ReEncrypt*]": keyed,
                },
            )
        for machine in self.state_machines.values():
            acknowledge(
                machine,
                {
                    "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]": keyed,
                    "AwsSolutions-IAM5[Action::kms:ReEncrypt*]": keyed,
                    "AwsSolutions-IAM5[Resource::*]": (
                        "X-Ray tracing and CloudWatch log delivery actions have no resource-level permissions."
                    ),
                },
            )


def _put_event(
    scope: Construct, name: str, bus: events.IEventBus, detail_type: str, detail_path: str, park: sfn.IChainable
) -> sfn.TaskStateBase:
    """An EventBridge PutEvents task publishing the NPS event whose detail is at ``detail_path``."""
    task = tasks.EventBridgePutEvents(
        scope,
        name,
        entries=[
            tasks.EventBridgePutEventsEntry(
                detail=sfn.TaskInput.from_json_path_at(detail_path),
                detail_type=detail_type,
                source=EVENT_SOURCE,
                event_bus=bus,
            )
        ],
        result_path=sfn.JsonPath.DISCARD,
    )
    return _resilient(task, park)


def _resilient(task: sfn.TaskStateBase, park: sfn.IChainable) -> sfn.TaskStateBase:
    """Retries with backoff for transient failures (never for contract errors, nor a wait's timeout:
    ``States.TaskFailed`` matches every task error but ``States.Timeout``), then the DLQ path."""
    task.add_retry(errors=PERMANENT_ERRORS, max_attempts=0)
    task.add_retry(
        errors=["States.TaskFailed"],
        interval=Duration.seconds(2),
        max_attempts=5,
        backoff_rate=2,
        max_delay=Duration.minutes(2),
        jitter_strategy=sfn.JitterType.FULL,
    )
    task.add_catch(park, errors=["States.ALL"], result_path="$.error")
    return task


__all__ = ["FollowUpTables", "FollowUps"]
