"""The follow-up workflows on moto: the state machines' steps, in their order, through the real handlers.

moto cannot run a Step Functions state machine whose tasks are Lambda functions, so locally this
module plays the state machine: it takes the events the start rules delivered (SQS stand-ins), calls
the follow-up function with the payload each state sends (``STEPS`` lists them in order; the infra tests
check the synthesized definitions follow the same order), publishes the alert (SNS, ``NPS Follow-up
Alert``) and the ``NPS Follow-up Opened`` event as the state machine's SDK tasks do, and keeps each task
token until the team resolves the task or the wait times out. Waits are not slept: the caller decides
when time has passed.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from local.environment import REGION, LocalStack
from local.lambda_events import LambdaContext, sqs_record
from nps import aws
from nps.follow_ups import FollowUpClosed
from nps.models import EVENT_SOURCE, FOLLOW_UP_ALERT, FOLLOW_UP_OPENED

#: The follow-up function's actions each workflow calls, in order (``close`` after the answer wait).
STEPS: dict[str, tuple[str, ...]] = {
    "detractor": ("open", "email", "open_task", "resurvey", "close"),
    "passive": ("open", "email"),
    "promoter": ("open", "email"),
}


def _step(payload: dict[str, Any]) -> dict[str, Any]:
    from functions.follow_up import handler

    result: dict[str, Any] = handler.lambda_handler(payload, LambdaContext("follow-up"))
    return result


def receive_all(queue_url: str) -> list[dict[str, Any]]:
    """Every message on a queue (received and deleted)."""
    sqs = aws.client("sqs")
    messages: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"])
        if not batch.get("Messages"):
            return messages
        for message in batch["Messages"]:
            messages.append(message)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


@dataclass
class LocalFollowUps:
    stack: LocalStack
    counts: Counter[str] = field(default_factory=Counter)
    #: Task token → follow-up id, for every detractor workflow waiting for the team.
    waiting: dict[str, str] = field(default_factory=dict)
    #: Follow-ups whose wait ended (resolved by the team, timed out or retracted), with the output.
    resolved: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Follow-ups whose re-survey is out (the workflow waits for the link to expire, then closes).
    awaiting_answer: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        from nps.follow_up_wiring import follow_up_service

        # Step Functions' SendTaskSuccess ends a local wait here.
        follow_up_service().tokens = self

    # -- starting (the rules' targets) ------------------------------------------------------------
    def start_all(self) -> int:
        """Start a workflow for every event the start rules delivered; returns how many started."""
        started = 0
        for category, url in self.stack.workflow_queue_urls.items():
            for message in receive_all(url):
                started += self.start(category, json.loads(message["Body"]))
        return started

    def start(self, category: str, event: dict[str, Any]) -> int:
        opened = _step({"action": "open", "event": event, "execution": f"local:{uuid.uuid4()}"})
        self.counts[f"{category} {opened['status']}"] += 1
        if opened["status"] != "opened":
            return 0
        follow_up_id = opened["follow_up_id"]
        if opened["settings"].get("alert"):
            alert = opened["alert"]
            aws.client("sns").publish(
                TopicArn=self.stack.alerts_topic_arn, Subject=alert["subject"], Message=alert["message"]
            )
            self._put(FOLLOW_UP_ALERT, alert["event"])
            self.counts["alerts"] += 1
        email = _step({"action": "email", "follow_up_id": follow_up_id})
        self.counts[f"{category} email {'sent' if email['email_sent'] else 'not sent: ' + str(email['reason'])}"] += 1
        if email["status"] == "resolved":
            return 1
        self._put(FOLLOW_UP_OPENED, email["opened"])
        if category == "detractor":
            token = f"local-{uuid.uuid4()}"
            self.waiting[token] = follow_up_id
            try:
                _step({"action": "open_task", "follow_up_id": follow_up_id, "task_token": token})
            except FollowUpClosed:  # the state machine's catch: retracted meanwhile, the workflow ends
                self.waiting.pop(token)
        return 1

    def _put(self, detail_type: str, detail: dict[str, Any]) -> None:
        """The state machine's EventBridge PutEvents task."""
        entry = {"Source": EVENT_SOURCE, "DetailType": detail_type, "Detail": json.dumps(detail)}
        result = aws.client("events").put_events(Entries=[entry | {"EventBusName": self.stack.bus_name}])
        if result.get("FailedEntryCount"):
            raise RuntimeError(f"{detail_type} could not be published")

    # -- the wait for the team ----------------------------------------------------------------------
    def succeed(self, token: str, output: dict[str, Any]) -> None:
        """``SendTaskSuccess``: the wait ends; the workflow waits ``resurvey_after_days``, then re-surveys."""
        follow_up_id = self.waiting.pop(token, None)
        if follow_up_id is not None:
            self.resolved[follow_up_id] = output

    def time_out_waits(self) -> int:
        """Every open wait reaches its timeout (the state machine's ``States.Timeout`` catch)."""
        for follow_up_id in self.waiting.values():
            self.resolved[follow_up_id] = {"resolution": "timed_out"}
        count = len(self.waiting)
        self.waiting.clear()
        return count

    def run_resurveys(self) -> int:
        """The wait after resolution is over: the ``resurvey`` step for each resolved follow-up."""
        invited = 0
        for follow_up_id, resolution in sorted(self.resolved.items()):
            result = _step({"action": "resurvey", "follow_up_id": follow_up_id, "resolution": resolution})
            self.counts[f"after {resolution.get('resolution')}: {result.get('outcome') or result['status']}"] += 1
            if result["status"] == "re_surveying":
                self.awaiting_answer.add(follow_up_id)
                invited += 1
        self.resolved.clear()
        return invited

    def expire_resurveys(self) -> int:
        """The re-survey links expire: unanswered follow-ups close."""
        closed = 0
        for follow_up_id in sorted(self.awaiting_answer):
            closed += _step({"action": "close", "follow_up_id": follow_up_id}).get("outcome") == "closed"
        self.awaiting_answer.clear()
        return closed

    # -- the follow-up events consumer ------------------------------------------------------------
    def consume_events(self) -> Counter[str]:
        """Run the follow-up events queue through the follow-up events function."""
        from functions.follow_up_events import handler

        outcomes: Counter[str] = Counter()
        url = self.stack.follow_up_events_queue_url
        arn = f"arn:aws:sqs:{REGION}:123456789012:{url.rsplit('/', 1)[-1]}"
        messages = receive_all(url)
        for start in range(0, len(messages), 10):
            records = [sqs_record(m, arn) for m in messages[start : start + 10]]
            result = handler.lambda_handler({"Records": records}, LambdaContext("follow-up-events"))
            if result.get("batchItemFailures"):
                raise RuntimeError(f"follow-up events failed: {result['batchItemFailures']}")
            for record in records:
                outcomes[json.loads(record["body"]).get("detail-type", "?")] += 1
        return outcomes
