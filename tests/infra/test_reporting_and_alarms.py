"""The reporting routes, the report function's permissions, the dashboard and the alarms."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.app import build_app
from nps.kernel.tables import ALL_TABLES

pytestmark = pytest.mark.infra
CONTEXT: dict[str, object] = {
    "alarmEmail": "oncall@example.com",
    "npsAlarms": '{"onboarding": 20, "support-csat": 0}',
}


@pytest.fixture(scope="module")
def template() -> Template:
    app, stack = build_app(CONTEXT)
    app.synth()
    return Template.from_stack(stack)


def resources(template: Template, kind: str) -> dict[str, Any]:
    return dict(template.find_resources(kind))


def alarms(template: Template) -> list[dict[str, Any]]:
    return [a["Properties"] for a in resources(template, "AWS::CloudWatch::Alarm").values()]


def test_report_routes_require_iam_and_reach_the_report_function(template: Template) -> None:
    routes = [r["Properties"] for r in resources(template, "AWS::ApiGatewayV2::Route").values()]
    (route,) = [r for r in routes if r["RouteKey"].startswith("GET /reports/")]
    assert route["RouteKey"] == "GET /reports/{survey_id}/{report}"
    assert route["AuthorizationType"] == "AWS_IAM"


def test_the_report_function_may_only_query_read_answers_by_key_and_decrypt(template: Template) -> None:
    statements = [
        s
        for p in resources(template, "AWS::IAM::Policy").values()
        if "ReportingReport" in json.dumps(p["Properties"]["Roles"])
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    actions = {a for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}
    assert {a for a in actions if a.startswith("dynamodb:")} == {"dynamodb:Query", "dynamodb:BatchGetItem"}
    assert {a for a in actions if a.startswith("kms:")} == {"kms:Decrypt"}
    # BatchGetItem on the responses table itself, for the answers its index does not project; nothing else
    (by_key,) = [s for s in statements if "dynamodb:BatchGetItem" in json.dumps(s["Action"])]
    assert by_key["Action"] in ("dynamodb:BatchGetItem", ["dynamodb:BatchGetItem"])
    assert "Responses" in json.dumps(by_key["Resource"])
    assert "/index/" not in json.dumps(by_key["Resource"])
    assert "/index/*" not in json.dumps(statements)


def test_tables_have_the_indexes_reports_query(template: Template) -> None:
    tables = resources(template, "AWS::DynamoDB::Table")
    for spec in ALL_TABLES:
        (props,) = [
            t["Properties"] for lid, t in tables.items() if lid.startswith(f"Storage{spec.logical_name.capitalize()}")
        ]
        indexes = {i["IndexName"]: i for i in props.get("GlobalSecondaryIndexes", [])}
        deployed = spec.deployed().indexes  # a fresh deployment: no retiring index
        assert set(indexes) == {index.name for index in deployed}
        for index in deployed:
            keys = [k["AttributeName"] for k in indexes[index.name]["KeySchema"]]
            assert keys == [index.partition_key, index.sort_key]


def test_every_function_has_an_error_alarm_and_every_dead_letter_queue_a_depth_alarm(
    template: Template,
) -> None:
    # CDK's own handler that configures S3 notifications at deploy time runs only during deployments.
    functions = {
        f for f in resources(template, "AWS::Lambda::Function") if not f.startswith("BucketNotificationsHandler")
    }
    watched_functions = {
        d["Value"]["Ref"] for a in alarms(template) for d in a.get("Dimensions", []) if d["Name"] == "FunctionName"
    }
    assert functions <= watched_functions
    depth = [a for a in alarms(template) if a.get("MetricName") == "ApproximateNumberOfMessagesVisible"]
    queues = resources(template, "AWS::SQS::Queue")
    dead_letter_ids = {lid for lid in queues if "DeadLetters" in lid or "FailedStreamRecords" in lid}
    assert {d["Value"]["Fn::GetAtt"][0] for a in depth for d in a["Dimensions"]} == dead_letter_ids
    assert all(a["Threshold"] == 0 and a["ComparisonOperator"] == "GreaterThanThreshold" for a in depth)


def test_each_configured_survey_has_an_nps_alarm_at_its_threshold(template: Template) -> None:
    nps = [a for a in alarms(template) if a["AlarmDescription"].startswith("NPS of survey")]
    assert sorted((a["AlarmDescription"].split()[3], a["Threshold"]) for a in nps) == [
        ("onboarding", 20),
        ("support-csat", 0),
    ]
    for alarm in nps:
        assert alarm["ComparisonOperator"] == "LessThanThreshold"
        expression = next(m["Expression"] for m in alarm["Metrics"] if "Expression" in m)
        assert re.search(r"100\*\(FILL\(p_\d,0\)-FILL\(d_\d,0\)\)", expression)
        dims = [m["MetricStat"]["Metric"]["Dimensions"] for m in alarm["Metrics"] if "MetricStat" in m]
        assert all({"Name": "survey_id", "Value": alarm["AlarmDescription"].split()[3]} in d for d in dims)


def test_detractor_spikes_alarm_for_all_surveys_and_each_configured_one(template: Template) -> None:
    descriptions = [a["AlarmDescription"] for a in alarms(template)]
    spikes = [d for d in descriptions if "% detractors" in d or d.startswith("Detractor share")]
    assert len(spikes) == 3


def test_alarms_notify_an_encrypted_topic_with_the_optional_email_subscription(template: Template) -> None:
    (topic_id,) = {a["AlarmActions"][0]["Ref"] for a in alarms(template)}
    assert all(a["AlarmActions"] == [{"Ref": topic_id}] for a in alarms(template))
    assert "KmsMasterKeyId" in resources(template, "AWS::SNS::Topic")[topic_id]["Properties"]
    template.has_resource_properties("AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "oncall@example.com"})
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)


def test_without_context_there_is_no_email_subscription_and_no_survey_alarm() -> None:
    app, stack = build_app()
    app.synth()
    plain = Template.from_stack(stack)
    subscriptions = resources(plain, "AWS::SNS::Subscription").values()
    assert not [s for s in subscriptions if s["Properties"]["Protocol"] == "email"]
    assert not [a for a in alarms(plain) if a["AlarmDescription"].startswith("NPS of survey")]
