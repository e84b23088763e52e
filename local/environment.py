"""A complete local environment on moto: tables (from :mod:`nps.kernel.tables`), bus, rules, queues, secret,
and the sending side (SES identity and configuration set, send queue + DLQ, import bucket, SNS topic).

Used by ``make demo`` and the integration tests; everything is created through boto3 exactly as the
CDK app declares it, so the handlers run unchanged.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nps.events.patterns import (
    BUSINESS_EVENTS,
    COMMENT_SENTIMENT,
    CUSTOMER_CHURNED_EVENTS,
    FOLLOW_UP_EVENTS,
    FOLLOW_UP_LIFECYCLE,
    FOLLOW_UP_STARTS,
    REFERRAL_JOINS,
)
from nps.kernel import aws
from nps.kernel.config import reset_settings
from nps.kernel.tables import ALL_TABLES, TableSpec
from nps.links.pseudonyms import IdKey
from nps.links.tokens import Keyring
from nps.sending.settings import reset_sending_settings

REGION = "us-east-1"


def prepare_process_environment() -> None:
    """Fake credentials and settings moto needs; call before starting ``mock_aws``."""
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            # moto does not serve account-scoped endpoints (DynamoDB Streams fail without this).
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            "POWERTOOLS_METRICS_NAMESPACE": "NPS",
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
    )


@dataclass
class LocalStack:
    prefix: str
    tables: dict[str, str]
    bus_name: str
    follow_up_queue_url: str
    signing_secret_name: str
    keyring: Keyring
    #: The id key secret (invite ids and suppression keys) and the key it holds.
    id_key_secret_name: str
    id_key: IdKey
    stream_arns: dict[str, str] = field(default_factory=dict)
    sending: SendingResources | None = None
    #: Local stand-ins for the follow-up workflows' start rules (SQS targets: moto cannot start them),
    #: by category; ``detractor`` is ``follow_up_queue_url``.
    workflow_queue_urls: dict[str, str] = field(default_factory=dict)
    #: The follow-up consumer's queue (detractor comments, retractions, re-survey answers).
    follow_up_events_queue_url: str = ""
    #: ``Referral Joined`` events (the referral joins function's queue).
    referral_joins_queue_url: str = ""
    follow_up_events_dlq_url: str = ""
    #: The team's follow-up tasks (what a CRM integration reads) and alerts topic.
    follow_up_task_queue_url: str = ""
    alerts_topic_arn: str = ""
    #: A subscriber's queue: every ``NPS Follow-up Opened`` / ``Resolved`` event on the bus.
    follow_up_subscriber_queue_url: str = ""
    #: Where the follow-up workflows park a failed execution's input and error.
    workflow_dead_letters_url: str = ""
    #: The web prompt's site keys (the keyring each survey's site secret derives from) and its secret.
    site_keys_secret_name: str = ""
    site_keyring: Keyring | None = None
    #: The optional comment sentiment function's queue (every ``NPS Comment Received``; deployed with
    #: ``-c commentSentiment=true``): events wait here until a test or the demo runs the function.
    comment_sentiment_queue_url: str = ""
    #: The churn function's queue (every ``Customer Churned`` from a source other than ``nps``).
    churn_queue_url: str = ""
    #: Table → the reader of its stream (:meth:`stream_reader`).
    stream_readers: dict[str, StreamReader] = field(default_factory=dict, repr=False)

    def stream_reader(self, table: str) -> StreamReader:
        """The one reader of ``table``'s stream (``responses``) for this stack, as Lambda's event source
        mapping keeps one position per function: each read continues where the previous one stopped, so
        no record is handed to the function twice."""
        if table not in self.stream_readers:
            self.stream_readers[table] = StreamReader(self.stream_arns[table])
        return self.stream_readers[table]

    def site_secret(self, survey_id: str) -> str:
        """``<kid>.<site secret>`` of ``survey_id``, as ``nps survey site-secret`` prints it."""
        from nps.channels.site_tokens import printable_site_secret

        if self.site_keyring is None:
            raise RuntimeError("this local stack has no site keys")
        return printable_site_secret(self.site_keyring, survey_id)

    def function_environment(self) -> dict[str, str]:
        environment = {
            "INVITES_TABLE": self.tables["invites"],
            "RESPONSES_TABLE": self.tables["responses"],
            "AGGREGATES_TABLE": self.tables["aggregates"],
            "EVENT_BUS_NAME": self.bus_name,
            "SIGNING_SECRET_NAME": self.signing_secret_name,
            "ID_KEY_SECRET_NAME": self.id_key_secret_name,
            "SURVEYS_TABLE": self.tables["surveys"],
            "CONTACTS_TABLE": self.tables["contacts"],
            "SUPPRESSIONS_TABLE": self.tables["suppressions"],
            "ACCOUNTS_TABLE": self.tables["accounts"],
        }
        if self.site_keys_secret_name:
            environment["SITE_KEYS_SECRET_NAME"] = self.site_keys_secret_name
        if self.sending is not None:
            environment |= self.sending.environment(self.tables)
        environment |= {
            "FOLLOW_UPS_TABLE": self.tables["followups"],
            "FOLLOW_UP_TASK_QUEUE_URL": self.follow_up_task_queue_url,
            "FOLLOW_UP_EVENTS_DLQ_URL": self.follow_up_events_dlq_url,
            "FOLLOW_UP_EVENTS_QUEUE_URL": self.follow_up_events_queue_url,
        }
        return environment

    def activate(self) -> None:
        """Point the handlers of this process at this environment."""
        from nps.follow_ups.wiring import reset_follow_up_service

        os.environ.update(self.function_environment())
        reset_settings()
        reset_sending_settings()
        reset_follow_up_service()


@dataclass
class SendingResources:
    """The sending side on moto: SES identity + configuration set, queues, bucket, topic, trigger rule."""

    sender: str
    configuration_set: str
    send_queue_url: str
    dead_letter_queue_url: str
    trigger_queue_url: str
    import_bucket: str
    feedback_topic_arn: str
    schedule_group: str
    #: The planner's continuation queue (a wave too large for one invocation resumes from it).
    planning_queue_url: str = ""
    public_base_url: str = "https://nps.example.test"
    send_rate_per_second: float = 1000.0

    def environment(self, tables: dict[str, str]) -> dict[str, str]:
        return {
            "SURVEYS_TABLE": tables["surveys"],
            "CONTACTS_TABLE": tables["contacts"],
            "SUPPRESSIONS_TABLE": tables["suppressions"],
            "SEND_QUEUE_URL": self.send_queue_url,
            "SEND_DLQ_URL": self.dead_letter_queue_url,
            "PLANNING_QUEUE_URL": self.planning_queue_url,
            "SES_CONFIGURATION_SET": self.configuration_set,
            "IMPORT_BUCKET": self.import_bucket,
            "PUBLIC_BASE_URL": self.public_base_url,
            "SEND_RATE_PER_SECOND": str(self.send_rate_per_second),
            "DELIVER_CONCURRENCY": "1",
        }


def create_sending(prefix: str, bus_name: str, sender: str = "surveys@example.com") -> SendingResources:
    """SES (verified sender, configuration set), send queue + DLQ, import bucket, SES feedback topic,
    Scheduler group, and the business-event rule (an SQS target here: moto cannot invoke Lambda targets)."""
    ses = aws.client("ses")
    ses.verify_email_identity(EmailAddress=sender)
    configuration_set = f"{prefix}-sending"
    ses.create_configuration_set(ConfigurationSet={"Name": configuration_set})
    topic_arn = aws.client("sns").create_topic(Name=f"{prefix}-ses-feedback")["TopicArn"]
    sqs = aws.client("sqs")
    dlq_url = sqs.create_queue(QueueName=f"{prefix}-send-dlq")["QueueUrl"]
    dlq_arn = _queue_arn(dlq_url)
    send_url = sqs.create_queue(
        QueueName=f"{prefix}-send",
        Attributes={
            "VisibilityTimeout": "120",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "8"}),
        },
    )["QueueUrl"]
    trigger_url = sqs.create_queue(QueueName=f"{prefix}-business-events")["QueueUrl"]
    planning_url = sqs.create_queue(QueueName=f"{prefix}-planning", Attributes={"VisibilityTimeout": "900"})["QueueUrl"]
    events = aws.client("events")
    events.put_rule(Name=f"{prefix}-business-events", EventBusName=bus_name, EventPattern=json.dumps(BUSINESS_EVENTS))
    events.put_targets(
        Rule=f"{prefix}-business-events",
        EventBusName=bus_name,
        Targets=[{"Id": "planner", "Arn": _queue_arn(trigger_url)}],
    )
    bucket = f"{prefix}-contact-imports"
    aws.client("s3").create_bucket(Bucket=bucket)
    group = f"{prefix}-surveys"
    aws.client("scheduler").create_schedule_group(Name=group)
    return SendingResources(
        sender=sender,
        configuration_set=configuration_set,
        send_queue_url=send_url,
        dead_letter_queue_url=dlq_url,
        trigger_queue_url=trigger_url,
        import_bucket=bucket,
        feedback_topic_arn=topic_arn,
        schedule_group=group,
        planning_queue_url=planning_url,
    )


def _queue_arn(url: str) -> str:
    attributes = aws.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])


def _create_table(spec: TableSpec, name: str) -> dict[str, Any]:
    keys = [{"AttributeName": spec.partition_key, "KeyType": "HASH"}]
    attributes = [{"AttributeName": spec.partition_key, "AttributeType": "S"}]
    if spec.sort_key:
        keys.append({"AttributeName": spec.sort_key, "KeyType": "RANGE"})
        attributes.append({"AttributeName": spec.sort_key, "AttributeType": "S"})
    indexes = []
    for index in spec.indexes:
        index_keys = [{"AttributeName": index.partition_key, "KeyType": "HASH"}]
        if index.sort_key:
            index_keys.append({"AttributeName": index.sort_key, "KeyType": "RANGE"})
        projection: dict[str, Any] = {"ProjectionType": index.projection}
        if index.include:
            projection["NonKeyAttributes"] = list(index.include)
        indexes.append({"IndexName": index.name, "KeySchema": index_keys, "Projection": projection})
        for attribute in (index.partition_key, index.sort_key):
            if attribute and all(a["AttributeName"] != attribute for a in attributes):
                attributes.append({"AttributeName": attribute, "AttributeType": "S"})
    kwargs: dict[str, Any] = {
        "TableName": name,
        "KeySchema": keys,
        "AttributeDefinitions": attributes,
        "BillingMode": "PAY_PER_REQUEST",
    }
    if indexes:
        kwargs["GlobalSecondaryIndexes"] = indexes
    if spec.stream:
        kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    result: dict[str, Any] = aws.client("dynamodb").create_table(**kwargs)["TableDescription"]
    if spec.ttl_attribute:
        aws.client("dynamodb").update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute}
        )
    return result


def create_stack(prefix: str = "nps-local", *, keep_retiring_indexes: bool = False) -> LocalStack:
    """Create every resource the foundation needs in the current (mocked) account.

    The tables have the indexes of a fresh deployment; ``keep_retiring_indexes`` adds the previous
    release's (as the upgrade deploy with ``-c keepRetiringIndexes=true`` has them), for tests of a stack
    upgrading from that release.
    """
    tables: dict[str, str] = {}
    stream_arns: dict[str, str] = {}
    for spec in ALL_TABLES:
        name = f"{prefix}-{spec.logical_name}"
        description = _create_table(spec.deployed(keep_retiring_indexes), name)
        tables[spec.logical_name] = name
        if spec.stream:
            stream_arns[spec.logical_name] = description["LatestStreamArn"]

    events = aws.client("events")
    bus_name = f"{prefix}-bus"
    events.create_event_bus(Name=bus_name)
    workflow_queues = {
        category: _queue_with_rule(prefix, bus_name, f"{category}-follow-up", [pattern])
        for category, pattern in FOLLOW_UP_STARTS.items()
    }
    queue_url = workflow_queues["detractor"]
    events_queue_url = _queue_with_rule(prefix, bus_name, "follow-up-events", list(FOLLOW_UP_EVENTS.values()))

    keyring = Keyring(keys={"k1": secrets.token_urlsafe(48).encode()}, active_kid="k1")
    secret_name = f"{prefix}/link-signing"
    aws.client("secretsmanager").create_secret(
        Name=secret_name,
        SecretString=json.dumps({"active": "k1", "k1": keyring.keys["k1"].decode()}),
    )
    id_key = IdKey(secrets.token_urlsafe(48).encode())
    id_key_secret_name = f"{prefix}/id-key"
    aws.client("secretsmanager").create_secret(
        Name=id_key_secret_name, SecretString=json.dumps({"key": id_key.key.decode()})
    )
    stack = LocalStack(
        prefix, tables, bus_name, queue_url, secret_name, keyring, id_key_secret_name, id_key, stream_arns
    )
    site_keyring = Keyring(keys={"s1": secrets.token_urlsafe(48).encode()}, active_kid="s1")
    stack.site_keys_secret_name = f"{prefix}/site-keys"
    stack.site_keyring = site_keyring
    aws.client("secretsmanager").create_secret(
        Name=stack.site_keys_secret_name,
        SecretString=json.dumps({"active": "s1", "s1": site_keyring.keys["s1"].decode()}),
    )
    stack.workflow_queue_urls = workflow_queues
    stack.follow_up_events_queue_url = events_queue_url
    sqs = aws.client("sqs")
    stack.follow_up_events_dlq_url = sqs.create_queue(QueueName=f"{prefix}-follow-up-events-dlq")["QueueUrl"]
    stack.follow_up_task_queue_url = sqs.create_queue(QueueName=f"{prefix}-follow-up-tasks")["QueueUrl"]
    stack.alerts_topic_arn = aws.client("sns").create_topic(Name=f"{prefix}-follow-up-alerts")["TopicArn"]
    stack.workflow_dead_letters_url = sqs.create_queue(QueueName=f"{prefix}-follow-up-workflow-dlq")["QueueUrl"]
    stack.follow_up_subscriber_queue_url = _queue_with_rule(
        prefix, bus_name, "follow-up-subscriber", [FOLLOW_UP_LIFECYCLE]
    )
    stack.comment_sentiment_queue_url = _queue_with_rule(prefix, bus_name, "comment-sentiment", [COMMENT_SENTIMENT])
    stack.churn_queue_url = _queue_with_rule(prefix, bus_name, "churn", [CUSTOMER_CHURNED_EVENTS])
    stack.referral_joins_queue_url = _queue_with_rule(prefix, bus_name, "referral-joins", [REFERRAL_JOINS])
    stack.sending = create_sending(prefix, bus_name)
    stack.activate()
    return stack


def _queue_with_rule(prefix: str, bus_name: str, name: str, patterns: list[dict[str, Any]]) -> str:
    """A queue and one rule per pattern delivering matching events to it (as the CDK rules do)."""
    sqs, events = aws.client("sqs"), aws.client("events")
    queue_url: str = sqs.create_queue(QueueName=f"{prefix}-{name}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for index, pattern in enumerate(patterns):
        rule = f"{prefix}-{name}" + (f"-{index}" if index else "")
        events.put_rule(Name=rule, EventBusName=bus_name, EventPattern=json.dumps(pattern))
        events.put_targets(Rule=rule, EventBusName=bus_name, Targets=[{"Id": "queue", "Arn": queue_arn}])
    return queue_url


class StreamReader:
    """Reads a table's stream from the start and hands out Lambda-shaped event batches.

    Remembers its position, so each call returns only records written since the last one.
    """

    def __init__(self, stream_arn: str, batch_size: int = 100) -> None:
        self.stream_arn = stream_arn
        self.batch_size = batch_size
        self._iterators: dict[str, str | None] = {}

    def _shard_iterators(self) -> Iterator[tuple[str, str]]:
        streams = aws.client("dynamodbstreams")
        shards = streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id not in self._iterators:
                self._iterators[shard_id] = streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
            iterator = self._iterators[shard_id]
            if iterator:
                yield shard_id, iterator

    def read_records(self) -> list[dict[str, Any]]:
        """Every new record, in Lambda's event-record shape, in stream order."""
        streams = aws.client("dynamodbstreams")
        out: list[dict[str, Any]] = []
        for shard_id, iterator in list(self._shard_iterators()):
            current: str | None = iterator
            while current:
                page = streams.get_records(ShardIterator=current, Limit=1000)
                records = page["Records"]
                out.extend(self._as_lambda_record(r) for r in records)
                current = page.get("NextShardIterator")
                self._iterators[shard_id] = current
                if not records:
                    break
        return out

    def read_batches(self, batch_size: int | None = None) -> list[dict[str, Any]]:
        """New records as Lambda events of at most ``batch_size`` records (default: the reader's)."""
        records = self.read_records()
        size = batch_size or self.batch_size
        return [{"Records": records[start : start + size]} for start in range(0, len(records), size)]

    def _as_lambda_record(self, record: dict[str, Any]) -> dict[str, Any]:
        converted = dict(record)
        dynamodb = dict(record["dynamodb"])
        created = dynamodb.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            dynamodb["ApproximateCreationDateTime"] = int(created.astimezone(UTC).timestamp())
        converted["dynamodb"] = dynamodb
        converted["eventSourceARN"] = self.stream_arn
        return converted
