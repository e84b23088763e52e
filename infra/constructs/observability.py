"""Observability: the alarm topic, alarms on NPS, detractors, dead letters, errors and workflows, a dashboard.

Call :meth:`Observability.watch` once every other construct exists: it finds every Lambda function and
every dead-letter queue in the stack, so a construct added later is watched without changes here.
Workflows add their state machines with :meth:`Observability.add_state_machine`.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct, IConstruct

from infra.config import StackConfig
from infra.constructs.queues import DEAD_LETTER_METADATA, MAX_MESSAGE_AGE_METADATA
from nps.kernel import metrics as metric_names
from nps.kernel.metrics import CATEGORY_DIMENSION, NAMESPACE, RESPONSES_BY_CATEGORY, SURVEY_DIMENSION

#: How long a message may wait in a work queue before someone should look (seconds); a queue overrides
#: it with ``MAX_MESSAGE_AGE_METADATA``. Held sends are re-queued with a new delay at most every 15 min,
#: so an hour-old message means the consumer is stuck or failing, not a contact's quiet hours.
DEFAULT_MAX_MESSAGE_AGE_SECONDS = 3600
#: A stream consumer this far behind the newest record is losing the race (records expire after 24 h).
MAX_ITERATOR_AGE_SECONDS = 900

_CATEGORIES = {"p": "promoter", "a": "passive", "d": "detractor"}


class Observability(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig, key: kms.Key) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.topic = sns.Topic(self, "AlarmTopic", display_name="NPS alarms", master_key=key, enforce_ssl=True)
        # CloudWatch publishes alarms to the encrypted topic with the stack's key.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
            )
        )
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=f"nps-{config.stage}", default_interval=Duration.days(7)
        )
        self.alarms: list[cloudwatch.Alarm] = []
        self._watched: set[str] = set()
        self._nps_widgets()

    # -- metrics ------------------------------------------------------------------------------------
    def _responses(self, category: str, survey_id: str | None, period: Duration) -> cloudwatch.Metric:
        dimensions = {CATEGORY_DIMENSION: category}
        if survey_id is not None:
            dimensions[SURVEY_DIMENSION] = survey_id
        return cloudwatch.Metric(
            namespace=NAMESPACE,
            metric_name=RESPONSES_BY_CATEGORY,
            dimensions_map=dimensions,
            statistic="Sum",
            period=period,
        )

    def _shares(
        self, survey_id: str | None, period: Duration, suffix: str = ""
    ) -> tuple[cloudwatch.MathExpression, ...]:
        """NPS and detractor share over ``period``; with too few responses they read as not alarming.

        ``suffix`` keeps metric ids unique when several surveys' expressions share one graph.
        """
        using = {
            f"{key}{suffix}": self._responses(category, survey_id, period) for key, category in _CATEGORIES.items()
        }
        minimum = self.config.alarm_min_responses
        p, a, d = (f"FILL({key}{suffix},0)" for key in _CATEGORIES)
        n = f"({p}+{a}+{d})"
        nps = cloudwatch.MathExpression(
            expression=f"IF({n} >= {minimum}, 100*({p}-{d})/{n}, 100)",
            using_metrics=using,
            label="NPS" if survey_id is None else f"NPS {survey_id}",
            period=period,
        )
        detractors = cloudwatch.MathExpression(
            expression=f"IF({n} >= {minimum}, 100*{d}/{n}, 0)",
            using_metrics=using,
            label="detractor share %",
            period=period,
        )
        return nps, detractors

    def _alarm(self, construct_id: str, **kwargs: object) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(self, construct_id, **kwargs)  # type: ignore[arg-type]
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        self.alarms.append(alarm)
        return alarm

    def _any_alarm(self, construct_id: str, description: str, metric: cloudwatch.IMetric) -> cloudwatch.Alarm:
        """An alarm as soon as the metric is above zero in a 5-minute period (no data: all is well)."""
        return self._alarm(
            construct_id,
            alarm_description=description,
            metric=metric,
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

    def _nps_widgets(self) -> None:
        window = Duration.hours(self.config.alarm_window_hours)
        hour = Duration.hours(1)
        _, all_detractors = self._shares(None, hour)
        all_detractors_alarm = self._alarm(
            "DetractorShareSpike",
            alarm_description=(
                f"More than {self.config.detractor_share_alarm:g}% detractors among at least "
                f"{self.config.alarm_min_responses} responses in an hour (all surveys)"
            ),
            metric=all_detractors,
            threshold=self.config.detractor_share_alarm,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        nps_lines: list[cloudwatch.IMetric] = []
        for index, (survey_id, threshold) in enumerate(sorted(self.config.nps_alarms.items())):
            safe = "".join(ch for ch in survey_id.title() if ch.isalnum())
            nps, _ = self._shares(survey_id, window, f"_{index}")
            nps_lines.append(nps)
            self._alarm(
                f"NpsBelow{safe}",
                alarm_description=(
                    f"NPS of survey {survey_id} below {threshold:g} over {self.config.alarm_window_hours} h "
                    f"(at least {self.config.alarm_min_responses} responses)"
                ),
                metric=nps,
                threshold=threshold,
                comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            _, detractors = self._shares(survey_id, hour)
            self._alarm(
                f"DetractorShareSpike{safe}",
                alarm_description=f"Detractor share of survey {survey_id} above "
                f"{self.config.detractor_share_alarm:g}% in an hour",
                metric=detractors,
                threshold=self.config.detractor_share_alarm,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        categories = [self._responses(c, None, Duration.hours(1)) for c in _CATEGORIES.values()]
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Responses by category (net, per hour)", left=categories, stacked=True, width=12
            ),
            cloudwatch.AlarmWidget(title="Detractor share (all surveys, hourly)", alarm=all_detractors_alarm, width=12),
        )
        if nps_lines:
            self.dashboard.add_widgets(
                cloudwatch.GraphWidget(
                    title=f"NPS over {self.config.alarm_window_hours} h (alarmed surveys)",
                    left=nps_lines,
                    left_y_axis=cloudwatch.YAxisProps(min=-100, max=100),
                    width=24,
                )
            )

    # -- resources ----------------------------------------------------------------------------------
    def watch(self, root: IConstruct) -> None:
        """Alarm on errors and throttles of every function, the depth of every dead-letter queue, the age of
        the oldest message of every other queue and the throttle events of every table under ``root``."""
        functions: list[lambda_.Function] = []
        queues: list[sqs.Queue] = []
        for node in root.node.find_all():
            if isinstance(node, lambda_.Function):
                functions.append(node)
            elif isinstance(node, sqs.Queue):
                queues.append(node)
        targets = {q.dead_letter_queue.queue.node.path for q in queues if q.dead_letter_queue is not None}
        dead_letters = [
            q for q in queues if q.node.path in targets or any(e.type == DEAD_LETTER_METADATA for e in q.node.metadata)
        ]
        error_metrics: list[cloudwatch.IMetric] = []
        duration_metrics: list[cloudwatch.IMetric] = []
        for function in functions:
            if function.node.path in self._watched:
                continue
            self._watched.add(function.node.path)
            errors = function.metric_errors(period=Duration.minutes(5), statistic="Sum")
            error_metrics.append(errors)
            duration_metrics.append(function.metric_duration(period=Duration.minutes(5), statistic="p95"))
            self._any_alarm(f"Errors{_name(function)}", f"The {function.node.path} function failed", errors)
        throttle_metrics: list[cloudwatch.IMetric] = []
        for function in functions:
            if f"{function.node.path}#throttles" in self._watched:
                continue
            self._watched.add(f"{function.node.path}#throttles")
            throttles = function.metric_throttles(period=Duration.minutes(5), statistic="Sum")
            throttle_metrics.append(throttles)
            self._any_alarm(
                f"Throttles{_name(function)}",
                f"Invocations of {function.node.path} were throttled (requests refused or events delayed)",
                throttles,
            )
        age_metrics: list[cloudwatch.IMetric] = []
        for queue in queues:
            if queue in dead_letters or f"{queue.node.path}#age" in self._watched:
                continue
            self._watched.add(f"{queue.node.path}#age")
            limit = next(
                (int(str(e.data)) for e in queue.node.metadata if e.type == MAX_MESSAGE_AGE_METADATA),
                DEFAULT_MAX_MESSAGE_AGE_SECONDS,
            )
            age = queue.metric_approximate_age_of_oldest_message(period=Duration.minutes(5), statistic="Maximum")
            age_metrics.append(age)
            self._alarm(
                f"OldestMessage{_name(queue)}",
                alarm_description=f"A message has waited over {limit} s in {queue.node.path}: its consumer is "
                "stuck, failing or too slow",
                metric=age,
                threshold=limit,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        for table in (n for n in root.node.find_all() if isinstance(n, dynamodb.Table)):
            if f"{table.node.path}#throttles" in self._watched:
                continue
            self._watched.add(f"{table.node.path}#throttles")
            events = {
                f"{kind.lower()}_{_name(table).lower()}": cloudwatch.Metric(
                    namespace="AWS/DynamoDB",
                    metric_name=f"{kind}ThrottleEvents",
                    dimensions_map={"TableName": table.table_name},
                    statistic="Sum",
                    period=Duration.minutes(5),
                )
                for kind in ("Read", "Write")
            }
            throttled = cloudwatch.MathExpression(
                expression="+".join(f"FILL({key},0)" for key in events),
                using_metrics=events,
                label=f"{table.node.id} throttle events",
                period=Duration.minutes(5),
            )
            throttle_metrics.append(throttled)
            self._any_alarm(
                f"Throttles{_name(table)}",
                f"Requests to {table.node.path} were throttled (a hot partition key or an account limit)",
                throttled,
            )
        depth_metrics: list[cloudwatch.IMetric] = []
        for queue in dead_letters:
            if queue.node.path in self._watched:
                continue
            self._watched.add(queue.node.path)
            depth = queue.metric_approximate_number_of_messages_visible(period=Duration.minutes(5), statistic="Maximum")
            depth_metrics.append(depth)
            self._any_alarm(
                f"DeadLetters{_name(queue)}", f"Messages are waiting in the dead-letter queue {queue.node.path}", depth
            )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Function errors", left=error_metrics, width=8),
            cloudwatch.GraphWidget(title="Function duration p95", left=duration_metrics, width=8),
            cloudwatch.GraphWidget(title="Dead-letter queue depth", left=depth_metrics, width=8),
            cloudwatch.GraphWidget(title="Oldest message age (s)", left=age_metrics, width=8),
            cloudwatch.GraphWidget(title="Throttles", left=throttle_metrics, width=8),
        )

    def add_stream_consumer(self, function: lambda_.IFunction) -> cloudwatch.Alarm:
        """Alarm when a stream consumer falls behind (iterator age): scoring stalls before anything fails."""
        age = function.metric("IteratorAge", period=Duration.minutes(5), statistic="Maximum")
        self.dashboard.add_widgets(cloudwatch.GraphWidget(title="Stream iterator age (ms)", left=[age], width=8))
        return self._alarm(
            f"IteratorAge{_name(function)}",
            alarm_description=f"{function.node.path} is more than {MAX_ITERATOR_AGE_SECONDS} s behind its stream",
            metric=age,
            threshold=MAX_ITERATOR_AGE_SECONDS * 1000,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=3,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

    def add_state_machine(self, state_machine: sfn.IStateMachine) -> cloudwatch.Alarm:
        """Alarm (and chart) when executions of a follow-up workflow fail or are throttled."""
        throttled = state_machine.metric_throttled(period=Duration.minutes(5), statistic="Sum")
        self._any_alarm(
            f"ThrottledExecutions{_name(state_machine)}",
            f"Executions of {state_machine.node.path} were throttled",
            throttled,
        )
        failed = state_machine.metric_failed(period=Duration.minutes(5), statistic="Sum")
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title=f"Failed executions: {state_machine.node.id}", left=[failed], width=8)
        )
        return self._any_alarm(
            f"FailedExecutions{_name(state_machine)}", f"Executions of {state_machine.node.path} failed", failed
        )

    def add_rejected_signing_keys(self) -> cloudwatch.Alarm:
        """Alarm when any function skipped a malformed entry of the signing secret (links signed with it
        read as invalid until the entry is fixed; the good keys keep working)."""
        rejected = cloudwatch.Metric(
            namespace=NAMESPACE,
            metric_name=metric_names.SIGNING_KEYS_REJECTED,
            statistic="Maximum",
            period=Duration.minutes(5),
        )
        self.dashboard.add_widgets(cloudwatch.GraphWidget(title="Signing keys rejected", left=[rejected], width=8))
        return self._any_alarm(
            "SigningKeysRejected",
            "An entry of the link-signing secret has a bad key id or key and is skipped: fix or remove it "
            "(the function logs name and reason; docs/operations.md, 'Link-signing keys')",
            rejected,
        )

    def add_unknown_invites(self, sweep_period: Duration) -> cloudwatch.Alarm:
        """Alarm while any invite's send is in the unknown state (reported by the sweep every
        ``sweep_period``); chart the sends found unknown and the claims found stuck."""
        outstanding = cloudwatch.Metric(
            namespace=NAMESPACE,
            metric_name=metric_names.INVITES_UNKNOWN_OUTSTANDING,
            dimensions_map={"service": metric_names.SWEEP_SERVICE},
            statistic="Maximum",
            period=sweep_period.plus(Duration.minutes(5)),  # at least one sweep report in every period
        )
        fresh = cloudwatch.Metric(
            namespace=NAMESPACE,
            metric_name=metric_names.MESSAGES_UNKNOWN,
            dimensions_map={"service": "deliver"},
            statistic="Sum",
            period=Duration.minutes(5),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Invites in an unknown state", left=[outstanding], right=[fresh], width=8)
        )
        return self._alarm(
            "InvitesUnknown",
            alarm_description=(
                "Invites whose send may or may not have happened: list them with `nps invites unknown SURVEY` "
                "and resolve each (docs/operations.md)"
            ),
            metric=outstanding,
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            # Between two sweep reports the alarm keeps its state; a sweep that fails has its own alarm.
            treat_missing_data=cloudwatch.TreatMissingData.IGNORE,
        )


def _name(construct: IConstruct) -> str:
    """A construct id unique in the stack, from its path (``Scoring/Score`` → ``ScoringScore``)."""
    return "".join(part for part in construct.node.path.split("/")[1:] if part.isalnum())
