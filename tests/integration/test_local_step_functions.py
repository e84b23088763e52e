"""The local adjustments of moto's Step Functions interpreter, on their own: the simulated clock that ends
waits in deadline order, and the definitions' CloudFormation references resolved to local resources."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local.step_functions import ExecutionsStuck, SimulatedTime
from local.workflows import local_definition

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime


def test_waits_end_at_their_deadlines_in_order_and_only_when_the_clock_passes_them() -> None:
    clock = Clock(START)
    simulated = SimulatedTime(clock)
    ended: list[tuple[str, datetime, bool]] = []

    def execution(name: str, seconds: int) -> None:
        timed_out = simulated.park(name, seconds, lambda: True)
        ended.append((name, clock.now, timed_out))

    threads = {name: threading.Thread(target=execution, args=(name, s)) for name, s in (("later", 600), ("sooner", 60))}
    for thread in threads.values():
        thread.start()

    def running() -> set[str]:
        return {name for name, thread in threads.items() if thread.is_alive()}

    simulated.advance(timedelta(seconds=59), running)
    assert ended == []
    simulated.advance(timedelta(minutes=20), running)
    for thread in threads.values():
        thread.join(5)

    assert ended == [
        ("sooner", START + timedelta(seconds=60), True),
        ("later", START + timedelta(seconds=600), True),
    ]
    assert clock.now == START + timedelta(seconds=59, minutes=20)


def test_a_wait_whose_condition_is_met_ends_without_its_deadline() -> None:
    simulated = SimulatedTime(Clock(START))
    answered = threading.Event()
    outcome: list[bool] = []
    thread = threading.Thread(target=lambda: outcome.append(simulated.park("x", 3600, lambda: not answered.is_set())))
    thread.start()

    answered.set()  # SendTaskSuccess
    simulated.wake()
    thread.join(5)

    assert outcome == [False]


def test_settle_reports_executions_that_never_reach_a_wait() -> None:
    with pytest.raises(ExecutionsStuck, match="1 executions still running"):
        SimulatedTime(Clock(START)).settle(lambda: {"busy"}, timeout=0.05)


def test_a_definitions_references_become_local_values_and_an_unknown_one_is_refused() -> None:
    template: dict[str, Any] = {
        "Resources": {
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "DefinitionString": {
                        "Fn::Join": [
                            "",
                            [
                                '{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:',
                                {"Ref": "AWS::Partition"},
                                ':states:::sns:publish","Parameters":{"TopicArn":"',
                                {"Ref": "Topic"},
                                '","Message":"',
                                {"Fn::GetAtt": ["Bus", "Name"]},
                                '"},"End":true}}}',
                            ],
                        ]
                    }
                },
            },
            "Topic": {"Type": "AWS::SNS::Topic"},
            "Bus": {"Type": "AWS::Events::EventBus"},
        }
    }
    values = {("Topic", "Ref"): "arn:aws:sns:us-east-1:123456789012:alerts", ("Bus", "Name"): "bus"}

    definition = local_definition(template, "Machine", lambda lid, _type, attribute: values[(lid, attribute)])

    task = definition["States"]["A"]
    assert task["Resource"] == "arn:aws:states:::sns:publish"
    assert task["Parameters"] == {"TopicArn": "arn:aws:sns:us-east-1:123456789012:alerts", "Message": "bus"}

    def no_stand_in(logical_id: str, resource_type: str, attribute: str) -> str:
        raise LookupError(logical_id)

    with pytest.raises(LookupError, match="Topic"):
        local_definition(template, "Machine", no_stand_in)
