"""The synthesized CloudFormation template: what deploys is what the product needs, and nothing more."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from infra.app import build_app
from nps.events.patterns import DETRACTOR_FOLLOW_UP
from nps.kernel.tables import ALL_TABLES

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def template() -> Template:
    # Synthesizing runs the cdk-nag AwsSolutions checks: any unacknowledged finding raises here.
    app, stack = build_app()
    app.synth()
    return Template.from_stack(stack)


def resources(template: Template, kind: str) -> dict[str, Any]:
    return dict(template.find_resources(kind))


def test_every_table_is_on_demand_kms_encrypted_with_pitr(template: Template) -> None:
    tables = resources(template, "AWS::DynamoDB::Table")
    assert len(tables) == len(ALL_TABLES)
    for table in tables.values():
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["SSESpecification"]["SSEEnabled"] is True
        assert props["SSESpecification"]["SSEType"] == "KMS"
        assert "KMSMasterKeyId" in props["SSESpecification"]
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert table["DeletionPolicy"] == "Retain"


def test_tables_match_the_key_schemas_the_local_environment_uses(template: Template) -> None:
    tables = resources(template, "AWS::DynamoDB::Table")
    for spec in ALL_TABLES:
        (props,) = [
            t["Properties"] for lid, t in tables.items() if lid.startswith(f"Storage{spec.logical_name.capitalize()}")
        ]
        keys = [(spec.partition_key, "HASH")] + ([(spec.sort_key, "RANGE")] if spec.sort_key else [])
        assert [(k["AttributeName"], k["KeyType"]) for k in props["KeySchema"]] == keys
        assert ("StreamSpecification" in props) == spec.stream, spec.logical_name
        if spec.stream:
            assert props["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        if spec.ttl_attribute:
            assert props["TimeToLiveSpecification"]["AttributeName"] == spec.ttl_attribute


def test_the_kms_key_rotates(template: Template) -> None:
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_functions_run_python_312_on_arm_with_tracing_and_two_layers(template: Template) -> None:
    functions = resources(template, "AWS::Lambda::Function")
    assert len(functions) >= 2
    for logical_id, function in functions.items():
        if logical_id.startswith("BucketNotificationsHandler"):
            continue  # CDK's own custom resource that wires S3 notifications at deploy time
        props = function["Properties"]
        assert props["Runtime"] == "python3.12"
        assert props["Architectures"] == ["arm64"]
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert len(props["Layers"]) == 2
        assert props["LoggingConfig"]["LogFormat"] == "JSON"


def test_the_score_function_reads_the_stream_with_bisect_partial_failures_and_a_dlq(
    template: Template,
) -> None:
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            # 250 typical records (~2.5 KB); Lambda cuts batches of larger ones at 6 MB (nps.scoring.capacity)
            "BatchSize": 250,
            "MaximumBatchingWindowInSeconds": 2,
            "MaximumRecordAgeInSeconds": 86400,
            "BisectBatchOnFunctionError": True,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "MaximumRetryAttempts": 10,
            "ParallelizationFactor": 1,
            "StartingPosition": "TRIM_HORIZON",
            "DestinationConfig": {"OnFailure": {"Destination": Match.any_value()}},
        },
    )


def test_the_http_api_is_throttled_and_logs_route_keys_not_paths(template: Template) -> None:
    (stage,) = resources(template, "AWS::ApiGatewayV2::Stage").values()
    props = stage["Properties"]
    assert props["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    assert props["DefaultRouteSettings"]["ThrottlingBurstLimit"] > 0
    log_format = props["AccessLogSettings"]["Format"]
    assert "$context.routeKey" in log_format
    assert "$context.path" not in log_format


def test_the_api_routes_every_method_to_the_respond_function(template: Template) -> None:
    routes = {r["Properties"]["RouteKey"] for r in resources(template, "AWS::ApiGatewayV2::Route").values()}
    assert {"GET /r/{token}", "HEAD /r/{token}", "POST /r/{token}/comment", "$default"} <= routes


def test_detractor_answers_start_the_detractor_workflow(template: Template) -> None:
    (rule,) = [
        r
        for r in resources(template, "AWS::Events::Rule").values()
        if r["Properties"].get("EventPattern") == DETRACTOR_FOLLOW_UP
    ]
    (target,) = rule["Properties"]["Targets"]
    assert "DeadLetterConfig" in target
    assert list(target["Arn"]) == ["Ref"]
    machine = resources(template, "AWS::StepFunctions::StateMachine").get(target["Arn"]["Ref"])
    assert machine is not None
    assert machine["Type"] == "AWS::StepFunctions::StateMachine"


def test_the_bus_is_encrypted_and_archived(template: Template) -> None:
    template.has_resource_properties("AWS::Events::EventBus", {"KmsKeyIdentifier": Match.any_value()})
    template.resource_count_is("AWS::Events::Archive", 1)


def test_queues_are_encrypted_and_tls_only(template: Template) -> None:
    queues = resources(template, "AWS::SQS::Queue")
    assert queues
    for queue in queues.values():
        assert "KmsMasterKeyId" in queue["Properties"]
    policies = json.dumps(resources(template, "AWS::SQS::QueuePolicy"))
    assert '"aws:SecureTransport": "false"' in policies


def test_no_policy_grants_every_action(template: Template) -> None:
    for policy in resources(template, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert "*" not in actions
            assert not any(a.endswith(":*") for a in actions)


def test_the_respond_function_can_only_read_invites_and_write_responses(template: Template) -> None:
    statements = [
        s
        for p in resources(template, "AWS::IAM::Policy").values()
        if "Respond" in json.dumps(p["Properties"]["Roles"])
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    dynamodb_actions = {
        a
        for s in statements
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
        if a.startswith("dynamodb:")
    }
    assert dynamodb_actions == {"dynamodb:GetItem", "dynamodb:UpdateItem"}


def test_log_groups_have_a_retention(template: Template) -> None:
    for log_group in resources(template, "AWS::Logs::LogGroup").values():
        assert log_group["Properties"]["RetentionInDays"] > 0


def test_a_custom_link_domain_maps_the_api_and_becomes_the_links_base_url() -> None:
    app, stack = build_app(
        {"linkDomain": "nps.example.com", "linkCertificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/abc"}
    )
    app.synth()
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::ApiGatewayV2::DomainName", {"DomainName": "nps.example.com"})
    template.resource_count_is("AWS::ApiGatewayV2::ApiMapping", 1)
    assert stack.response_api.url == "https://nps.example.com/"


def test_synthesis_is_reproducible_asset_for_asset() -> None:
    # Two synths of the same sources give the same asset hashes (layers, functions): deploys are
    # repeatable and an unchanged layer is never uploaded twice.
    hashes = []
    for _ in range(2):
        app, _stack = build_app()
        assembly = app.synth()
        manifest = json.loads((Path(assembly.directory) / f"{_stack.stack_name}.assets.json").read_text())
        hashes.append(sorted(manifest["files"]))
    assert hashes[0] == hashes[1]
    assert len(hashes[0]) >= 5


@pytest.mark.parametrize(("account", "region"), [("123456789012", "us-east-1"), ("210987654321", "eu-west-1")])
def test_a_stack_for_a_named_environment_synthesizes_without_a_finding(
    monkeypatch: pytest.MonkeyPatch, account: str, region: str
) -> None:
    # Given the environment `cdk synth` and `cdk deploy` give the app (the account and region of the caller),
    # in which ARNs carry the partition and region as text rather than as pseudo parameters
    monkeypatch.setenv("CDK_DEFAULT_ACCOUNT", account)
    monkeypatch.setenv("CDK_DEFAULT_REGION", region)
    # When synthesized, Then every cdk-nag finding is acknowledged (an unacknowledged one raises here)
    app, stack = build_app()
    app.synth()
    assert stack.region == region
