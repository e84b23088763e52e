"""The input transformer model (tests/infra/input_transformer.py) gives the outputs the EventBridge user guide
documents, so the CRM tests that rely on it test what EventBridge would send."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infra.input_transformer import InvalidBody, TemplateError, apply, apply_json

# The guide's example event and input paths ("Input transform examples").
EC2_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2015-11-11T21:29:54Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {"instance-id": "i-0123456789", "state": "RUNNING"},
}
PATHS = {"timestamp": "$.time", "instance": "$.detail.instance-id", "state": "$.detail.state"}


def transform(template: str, paths: dict[str, str] = PATHS, event: dict[str, Any] = EC2_EVENT) -> str:
    return apply({"InputPathsMap": paths, "InputTemplate": template}, event)


def test_a_string_template_takes_the_values_as_text() -> None:
    assert transform('"instance <instance> is in <state>"') == '"instance i-0123456789 is in RUNNING"'


def test_a_bare_string_variable_gets_quotes_and_a_quoted_one_keeps_them() -> None:
    # The guide's "JSON with strings and variables".
    template = (
        '{"instance" : <instance>, "state": "<state>", "instanceStatus": "instance \\"<instance>\\" is in <state>"}'
    )
    assert json.loads(transform(template)) == {
        "instance": "i-0123456789",
        "state": "RUNNING",
        "instanceStatus": 'instance "i-0123456789" is in RUNNING',
    }


def test_numbers_booleans_null_objects_and_arrays_go_in_as_json() -> None:
    event = {"detail": {"n": 9, "ok": True, "none": None, "obj": {"a": [1, "x"]}, "list": ["a", "b"], "f": 1.5}}
    paths = {k: f"$.detail.{k}" for k in ("n", "ok", "none", "obj", "list", "f")}
    body = apply_json(
        {
            "InputPathsMap": paths,
            "InputTemplate": '{"n":<n>,"ok":<ok>,"none":<none>,"obj":<obj>,"list":<list>,"f":<f>}',
        },
        event,
    )
    assert body == event["detail"]
    assert isinstance(body["n"], int)


def test_values_are_not_escaped_so_a_quote_in_a_string_breaks_or_rewrites_the_json() -> None:
    # The guide: "EventBridge doesn't escape values extracted by Input Path".
    transformer = {"InputPathsMap": {"id": "$.detail.id"}, "InputTemplate": '{"score":1,"id":<id>}'}
    with pytest.raises(InvalidBody):
        apply_json(transformer, {"detail": {"id": 'a"b'}})
    # A value can also rewrite the body: here it overrides the score the template wrote.
    assert apply_json(transformer, {"detail": {"id": 'x","score":10,"y":"'}}) == {"score": 10, "id": "x", "y": ""}


def test_a_backslash_at_the_end_of_a_value_swallows_the_closing_quote() -> None:
    transformer = {"InputPathsMap": {"id": "$.detail.id"}, "InputTemplate": '{"id":<id>}'}
    with pytest.raises(InvalidBody):
        apply_json(transformer, {"detail": {"id": "a\\"}})


def test_a_path_missing_from_the_event_writes_nothing() -> None:
    # In a string, the text around it (AWS's recorded answer); as a bare value, a body that is not JSON.
    paths = {**PATHS, "command": "$.detail.notinmessage"}
    assert transform('"state <state>, command <command>"', paths) == '"state RUNNING, command "'
    with pytest.raises(InvalidBody):
        apply_json({"InputPathsMap": paths, "InputTemplate": '{"command":<command>}'}, EC2_EVENT)


def test_array_indices_and_dashes_in_paths() -> None:
    paths = {"first": "$.resources[0]", "type": "$.detail-type", "gone": "$.resources[3]"}
    assert apply_json(
        {"InputPathsMap": paths, "InputTemplate": '{"first":<first>,"type":<type>,"gone":"<gone>"}'}, EC2_EVENT
    ) == {"first": EC2_EVENT["resources"][0], "type": EC2_EVENT["detail-type"], "gone": ""}


def test_a_placeholder_that_names_no_variable_is_refused() -> None:
    with pytest.raises(TemplateError, match="invalid placeholder unknown"):
        transform('{"x":<unknown>}')


def test_unicode_goes_in_as_it_is() -> None:
    body = apply_json(
        {"InputPathsMap": {"v": "$.detail.v"}, "InputTemplate": '{"v":<v>,"w":"<v>"}'}, {"detail": {"v": "Zoë 💬"}}
    )
    assert body == {"v": "Zoë 💬", "w": "Zoë 💬"}
