"""Encrypted, TLS-only SQS queues (one helper so every queue gets the same protections)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import Duration
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

DEAD_LETTER_METADATA = "nps:dead-letter-queue"
#: Seconds a message may wait before the queue's oldest-message alarm fires (default in observability).
MAX_MESSAGE_AGE_METADATA = "nps:max-message-age-seconds"


def encrypted_queue(
    scope: Construct,
    construct_id: str,
    key: kms.IKey,
    *,
    dead_letter_queue: sqs.IQueue | None = None,
    max_receive_count: int = 5,
    visibility_timeout: Duration | None = None,
    dead_letter_role: str | None = None,
    max_message_age: Duration | None = None,
) -> sqs.Queue:
    """A KMS-encrypted, TLS-only queue. ``dead_letter_role`` says what the queue is the DLQ of, when it
    is one that cdk-nag cannot see (an EventBridge target DLQ or a stream on-failure destination);
    ``max_message_age`` is how long a message may wait before its alarm (default one hour)."""
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=Duration.days(14),
        visibility_timeout=visibility_timeout or Duration.seconds(60),
        dead_letter_queue=(
            sqs.DeadLetterQueue(queue=dead_letter_queue, max_receive_count=max_receive_count)
            if dead_letter_queue
            else None
        ),
    )
    if max_message_age is not None:
        queue.node.add_metadata(MAX_MESSAGE_AGE_METADATA, str(int(max_message_age.to_seconds())))
    if dead_letter_role:
        # Observability finds every dead-letter queue by this mark (or by a queue naming it as its DLQ).
        queue.node.add_metadata(DEAD_LETTER_METADATA, dead_letter_role)
        cdk.Validations.of(queue).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions::AwsSolutions-SQS3",
                reason=f"This queue is itself a dead-letter queue: {dead_letter_role}.",
            )
        )
    return queue


#: EventBridge retries delivering an event to a target for up to a day, then parks it in the bus's DLQ.
TARGET_RETRY_ATTEMPTS = 185
TARGET_MAX_EVENT_AGE = Duration.hours(24)


def queue_target(queue: sqs.IQueue, dead_letters: sqs.IQueue) -> targets.SqsQueue:
    """A rule's target that puts each matched event on ``queue``, retried for up to a day
    (:data:`TARGET_RETRY_ATTEMPTS`, :data:`TARGET_MAX_EVENT_AGE`) and then parked in ``dead_letters``."""
    return targets.SqsQueue(
        queue,
        dead_letter_queue=dead_letters,
        retry_attempts=TARGET_RETRY_ATTEMPTS,
        max_event_age=TARGET_MAX_EVENT_AGE,
    )


def consumer_queues(
    scope: Construct,
    construct_id: str,
    dead_letters_id: str,
    key: kms.IKey,
    *,
    function_timeout: Duration,
    max_receives: int,
) -> tuple[sqs.Queue, sqs.Queue]:
    """``(queue, dead letters)`` of a function that consumes a queue with partial batch failures: both
    encrypted, a message moved to the dead letters after ``max_receives`` receives, and a visibility of
    six function timeouts, as Lambda advises for SQS sources (a retried batch waits)."""
    dead_letters = encrypted_queue(scope, dead_letters_id, key)
    queue = encrypted_queue(
        scope,
        construct_id,
        key,
        dead_letter_queue=dead_letters,
        max_receive_count=max_receives,
        visibility_timeout=Duration.seconds(6 * int(function_timeout.to_seconds())),
    )
    return queue, dead_letters
