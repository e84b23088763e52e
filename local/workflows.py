"""The follow-up workflows on moto: the three state machines executed from their synthesized definitions.

The CDK app is synthesized once per process (:func:`synthesized_template`; it takes seconds), each
category's ``DefinitionString`` gets this environment's resources in place of its CloudFormation
references (:func:`local_definition`), and the state machines are created in moto, whose ASL interpreter
executes them. ``local/step_functions.py`` says how that interpreter is adjusted: Lambda tasks are answered
in-process by the real follow-up handler (``functions/follow_up/handler.py``), SDK tasks (SNS alert,
EventBridge PutEvents, parking a failure on the SQS DLQ) reach this moto as the state machine's principal,
and Wait states and the task-token timeout elapse on the simulated clock the handlers read. So paths,
``ResultPath``, Choice rules, ``Retry``/``Catch`` and waits are the synthesized ones, executed.

What is played here, because moto cannot do it: an EventBridge rule cannot start a state machine in moto,
so each start rule delivers to a stand-in queue (``LocalStack.workflow_queue_urls``) and
:meth:`LocalWorkflows.start_all` starts one execution per delivered event, with the event as input (what
the rule's target passes), as ``rule:<category>``. Time passes for the executions only through
:meth:`LocalWorkflows.advance`.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from typing import Any

from local.environment import REGION, LocalStack
from local.lambda_events import LambdaContext, sqs_record
from local.principals import acting_as, register_resource
from local.step_functions import Clock, Handler, Interpreter, interpreter, running_executions
from nps.events.patterns import FOLLOW_UP_CATEGORIES
from nps.kernel import aws

ACCOUNT_ID = "123456789012"
PSEUDO_PARAMETERS = {
    "AWS::Partition": "aws",
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT_ID,
    "AWS::URLSuffix": "amazonaws.com",
}


#: CDK context that switches on every optional function (off in a default deployment), so the template
#: the local environment and the permission test read holds their roles and wiring too.
OPTIONAL_FUNCTIONS: dict[str, object] = {"commentSentiment": True}


#: jsii's kernel is one Node process spoken to over a pipe, one request at a time: two threads synthesizing
#: at once (the local server handles requests in threads, and the first recorded call may synthesize)
#: interleave their messages and get each other's answers.
_SYNTH_LOCK = threading.Lock()


def synthesized_template() -> dict[str, Any]:
    """The CDK app's CloudFormation template with :data:`OPTIONAL_FUNCTIONS` on, synthesized once per process
    (thread-safe: a second caller waits for the first one's template)."""
    with _SYNTH_LOCK:
        return _synthesized_template()


@cache
def _synthesized_template() -> dict[str, Any]:
    # As `make synth` runs it: without jsii's banner about the Node version (the Makefile sets these too).
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    from infra.app import build_app

    app, stack = build_app(OPTIONAL_FUNCTIONS)
    template: dict[str, Any] = app.synth().get_stack_by_name(stack.stack_name).template
    return template


def state_machine_ids(template: dict[str, Any]) -> dict[str, str]:
    """Category → logical id of its follow-up state machine."""
    ids = {
        category: logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::StepFunctions::StateMachine"
        for category in FOLLOW_UP_CATEGORIES
        if logical_id.startswith(f"FollowUps{category.capitalize()}")
    }
    if set(ids) != set(FOLLOW_UP_CATEGORIES):
        raise LookupError(f"follow-up state machines in the template: {ids}")
    return ids


def local_definition(
    template: dict[str, Any], logical_id: str, resolve: Callable[[str, str, str], str]
) -> dict[str, Any]:
    """A state machine's definition with each ``Ref``/``Fn::GetAtt`` replaced by
    ``resolve(logical id, resource type, attribute)`` (``Ref`` for a Ref), pseudo parameters by this region."""
    body = template["Resources"][logical_id]["Properties"]["DefinitionString"]
    if isinstance(body, str):
        return dict(json.loads(body))
    separator, parts = body["Fn::Join"]
    text: list[str] = []
    for part in parts:
        if isinstance(part, str):
            text.append(part)
        elif "Ref" in part and part["Ref"] in PSEUDO_PARAMETERS:
            text.append(PSEUDO_PARAMETERS[part["Ref"]])
        elif "Ref" in part:
            text.append(resolve(part["Ref"], template["Resources"][part["Ref"]]["Type"], "Ref"))
        elif "Fn::GetAtt" in part:
            referenced, attribute = part["Fn::GetAtt"]
            text.append(resolve(referenced, template["Resources"][referenced]["Type"], attribute))
        else:
            raise ValueError(f"unexpected CloudFormation expression in {logical_id}'s definition: {part}")
    return dict(json.loads(separator.join(text)))


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


def follow_up_step(event: dict[str, Any], context: LambdaContext) -> Any:
    """The follow-up function, as Lambda runs it (imported when first invoked)."""
    from functions.follow_up import handler

    return handler.lambda_handler(event, context)


@dataclass
class LocalWorkflows:
    """The follow-up state machines of one local stack, and the executions started in this run."""

    stack: LocalStack
    engine: Interpreter
    #: Category → state machine ARN.
    machines: dict[str, str] = field(default_factory=dict)
    #: Execution ARN → category, in the order they started.
    started: dict[str, str] = field(default_factory=dict)

    @property
    def function_name(self) -> str:
        return f"{self.stack.prefix}-follow-up"

    def use_step_handler(self, handler: Handler) -> None:
        """Answer the workflows' Lambda tasks with ``handler`` (a test wraps the real one to inject faults)."""
        self.engine.register(self.function_name, handler)

    def create_state_machines(self, template: dict[str, Any] | None = None) -> None:
        template = template or synthesized_template()
        self.use_step_handler(follow_up_step)
        for category, logical_id in state_machine_ids(template).items():
            self.create_state_machine(category, local_definition(template, logical_id, self._stand_in))

    def create_state_machine(self, category: str, definition: dict[str, Any], name: str = "") -> str:
        """Create (in moto) a state machine running ``definition`` as the ``category`` workflow."""
        name = name or f"{self.stack.prefix}-{category}-follow-up"
        arn: str = aws.client("stepfunctions").create_state_machine(
            name=name,
            definition=json.dumps(definition),
            roleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/{name}",
            type="STANDARD",
        )["stateMachineArn"]
        self.engine.principals[arn] = f"state-machine:{category}"
        register_resource(state_machine_ids(synthesized_template())[category], arn)
        if category not in self.machines:
            self.machines[category] = arn
        return arn

    def _stand_in(self, logical_id: str, resource_type: str, attribute: str) -> str:
        """This environment's value for a resource the synthesized definitions refer to."""
        value = self._local_value(logical_id, resource_type, attribute)
        if attribute == "Ref" or resource_type == "AWS::Lambda::Function":
            register_resource(logical_id, value)
        return value

    def _local_value(self, logical_id: str, resource_type: str, attribute: str) -> str:
        stack = self.stack
        if resource_type == "AWS::Lambda::Function" and logical_id.startswith("FollowUpsSteps") and attribute == "Arn":
            return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"
        if resource_type == "AWS::SNS::Topic" and logical_id.startswith("FollowUpsAlerts") and attribute == "Ref":
            return stack.alerts_topic_arn
        if (
            resource_type == "AWS::SQS::Queue"
            and logical_id.startswith("FollowUpsWorkflowDeadLetters")
            and attribute == "Ref"
        ):
            return stack.workflow_dead_letters_url
        if resource_type == "AWS::Events::EventBus" and logical_id.startswith("RoutingBus"):
            if attribute == "Arn":
                return f"arn:aws:events:{REGION}:{ACCOUNT_ID}:event-bus/{stack.bus_name}"
            if attribute in ("Ref", "Name"):
                return stack.bus_name
        raise LookupError(
            f"a follow-up definition refers to {logical_id}.{attribute} ({resource_type}), which has no local "
            "stand-in: add one to LocalWorkflows._stand_in and to local/environment.py"
        )

    # -- starting (the rules' targets) ------------------------------------------------------------
    def start_all(self) -> int:
        """Start an execution for every event the start rules delivered; returns how many started."""
        started = 0
        for category, url in self.stack.workflow_queue_urls.items():
            for message in receive_all(url):
                self.start(category, json.loads(message["Body"]))
                started += 1
        return started

    def start(self, category: str, event: dict[str, Any], machine_arn: str = "") -> str:
        """``StartExecution`` as the category's start rule does (the event is the input), then let it run
        until it finishes or waits."""
        with acting_as(f"rule:{category}"):
            arn: str = aws.client("stepfunctions").start_execution(
                stateMachineArn=machine_arn or self.machines[category],
                name=str(uuid.uuid4()),
                input=json.dumps(event),
            )["executionArn"]
        self.started[arn] = category
        self.settle()
        return arn

    # -- time ---------------------------------------------------------------------------------------
    def running(self) -> set[str]:
        return running_executions(self.started, ACCOUNT_ID, REGION)

    def settle(self) -> None:
        """Let every execution run until it finishes or waits (for time, or for a task token)."""
        self.engine.time.settle(self.running)

    def advance(self, delta: timedelta) -> None:
        """Time passes: each Wait and task timeout falling inside ``delta`` ends at its deadline, in order."""
        self.engine.time.advance(delta, self.running)

    def stop_all(self) -> None:
        """Stop every execution still running (end of a run: nothing is left waiting in a thread)."""
        client = aws.client("stepfunctions")
        for arn in self.running():
            client.stop_execution(executionArn=arn, cause="the local run ended")
        self.engine.time.wake()

    # -- what the executions did -------------------------------------------------------------------
    def describe(self, arn: str) -> dict[str, Any]:
        result: dict[str, Any] = aws.client("stepfunctions").describe_execution(executionArn=arn)
        return result

    def output(self, arn: str) -> dict[str, Any]:
        """A finished execution's output (its last state's output)."""
        return dict(json.loads(self.describe(arn)["output"]))

    def history(self, arn: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        for page in aws.client("stepfunctions").get_paginator("get_execution_history").paginate(executionArn=arn):
            events.extend(page["events"])
        return events

    def states_entered(self, arn: str) -> list[str]:
        """The states an execution entered, in order (a retried task appears once)."""
        return [
            event["stateEnteredEventDetails"]["name"]
            for event in self.history(arn)
            if "stateEnteredEventDetails" in event
        ]

    def executions(self, category: str | None = None, status: str | None = None) -> list[str]:
        return [
            arn
            for arn, of in self.started.items()
            if (category is None or of == category) and (status is None or self.describe(arn)["status"] == status)
        ]

    def statuses(self) -> Counter[str]:
        """The executions by status (RUNNING, SUCCEEDED, FAILED...)."""
        return Counter(self.describe(arn)["status"] for arn in self.started)

    def tally(self) -> Counter[str]:
        """How many executions of each category entered each state, as ``<category> <state>``."""
        counts: Counter[str] = Counter()
        for arn, category in self.started.items():
            counts.update(f"{category} {state}" for state in set(self.states_entered(arn)))
        return counts

    # -- the follow-up events consumer ------------------------------------------------------------
    def consume_events(self) -> Counter[str]:
        """Run the follow-up events queue through the follow-up events function (a retraction ends a
        workflow's wait with ``SendTaskSuccess``), then let the executions move on."""
        from functions.follow_up_events import handler

        outcomes: Counter[str] = Counter()
        url = self.stack.follow_up_events_queue_url
        arn = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{url.rsplit('/', 1)[-1]}"
        messages = receive_all(url)
        for start in range(0, len(messages), 10):
            records = [sqs_record(m, arn) for m in messages[start : start + 10]]
            result = handler.lambda_handler({"Records": records}, LambdaContext("follow-up-events"))
            if result.get("batchItemFailures"):
                raise RuntimeError(f"follow-up events failed: {result['batchItemFailures']}")
            for record in records:
                outcomes[json.loads(record["body"]).get("detail-type", "?")] += 1
        self.settle()
        return outcomes


@contextmanager
def follow_up_workflows(stack: LocalStack, clock: Clock) -> Iterator[LocalWorkflows]:
    """The stack's follow-up state machines, created from the synthesized template, executing on ``clock``
    (inside ``mock_aws(config=MOTO_CONFIG)``). Executions still running at the end are stopped."""
    with interpreter(clock) as engine:
        workflows = LocalWorkflows(stack, engine)
        workflows.create_state_machines()
        try:
            yield workflows
        finally:
            workflows.stop_all()
