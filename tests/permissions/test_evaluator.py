"""The policy evaluator and the call mapping the permission test relies on (pure, no AWS)."""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.permissions.calls import needs
from tests.permissions.iam import Decision, Request, Statement, UnsupportedCondition, evaluate, matches
from tests.permissions.recorder import Recorder, Use, key_denies
from tests.permissions.template import DeployedTemplate

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/Invites"


def allow(action: Any, resource: Any = "*", **extra: Any) -> Statement:
    return Statement.parse({"Effect": "Allow", "Action": action, "Resource": resource, **extra})


def deny(action: Any, resource: Any = "*", **extra: Any) -> Statement:
    return Statement.parse({"Effect": "Deny", "Action": action, "Resource": resource, **extra})


def test_an_allow_on_the_resource_allows_and_nothing_else_does() -> None:
    statements = [allow("dynamodb:GetItem", TABLE)]
    assert evaluate(statements, Request("dynamodb:GetItem", TABLE)) is Decision.ALLOWED
    assert evaluate(statements, Request("dynamodb:UpdateItem", TABLE)) is Decision.IMPLICIT_DENY
    assert evaluate(statements, Request("dynamodb:GetItem", TABLE + "2")) is Decision.IMPLICIT_DENY


def test_an_explicit_deny_wins_over_any_allow() -> None:
    statements = [allow("dynamodb:*"), deny("dynamodb:DeleteItem", TABLE)]
    assert evaluate(statements, Request("dynamodb:DeleteItem", TABLE)) is Decision.EXPLICIT_DENY
    assert evaluate(statements, Request("dynamodb:PutItem", TABLE)) is Decision.ALLOWED


def test_actions_match_case_insensitively_with_wildcards_and_resources_case_sensitively() -> None:
    statements = [allow(["kms:GenerateDataKey*", "s3:Get?bject"], ["arn:aws:s3:::bucket/imports/*", "*"])]
    assert evaluate(statements, Request("KMS:generatedatakeywithoutplaintext", "k")) is Decision.ALLOWED
    assert evaluate(statements, Request("s3:GetObject", "arn:aws:s3:::bucket/imports/a.csv")) is Decision.ALLOWED
    assert evaluate(statements, Request("s3:GetObjects", "x")) is Decision.IMPLICIT_DENY
    only_imports = [allow("s3:GetObject", "arn:aws:s3:::bucket/imports/*")]
    assert evaluate(only_imports, Request("s3:GetObject", "arn:aws:s3:::bucket/Imports/a")) is Decision.IMPLICIT_DENY


def test_not_action_and_not_resource_invert_the_match() -> None:
    statements = [Statement.parse({"Effect": "Allow", "NotAction": "iam:*", "NotResource": TABLE})]
    assert evaluate(statements, Request("sqs:SendMessage", "arn:aws:sqs:q")) is Decision.ALLOWED
    assert evaluate(statements, Request("iam:PassRole", "arn:aws:iam::1:role/r")) is Decision.IMPLICIT_DENY
    assert evaluate(statements, Request("dynamodb:GetItem", TABLE)) is Decision.IMPLICIT_DENY


def test_conditions_follow_iam_semantics_for_missing_keys_and_if_exists() -> None:
    scoped = allow("sqs:SendMessage", Condition={"ArnEquals": {"aws:SourceArn": "arn:aws:events:rule/mine"}})
    assert evaluate([scoped], Request("sqs:SendMessage", "q", {"aws:SourceArn": "arn:aws:events:rule/mine"})) is (
        Decision.ALLOWED
    )
    assert evaluate([scoped], Request("sqs:SendMessage", "q", {"aws:SourceArn": "arn:aws:events:rule/x"})) is (
        Decision.IMPLICIT_DENY
    )
    assert evaluate([scoped], Request("sqs:SendMessage", "q")) is Decision.IMPLICIT_DENY
    if_exists = allow("sqs:SendMessage", Condition={"StringEqualsIfExists": {"aws:SourceAccount": "1"}})
    assert evaluate([if_exists], Request("sqs:SendMessage", "q")) is Decision.ALLOWED
    insecure = deny("sqs:*", Condition={"Bool": {"aws:SecureTransport": "false"}})
    assert evaluate([allow("sqs:*"), insecure], Request("sqs:SendMessage", "q", {"aws:SecureTransport": "true"})) is (
        Decision.ALLOWED
    )
    negated = deny("sqs:*", Condition={"StringNotEquals": {"aws:SourceAccount": "1"}})
    # A negated operator holds when the key is absent (IAM: "...NotEquals" matches a missing key).
    assert evaluate([allow("sqs:*"), negated], Request("sqs:SendMessage", "q")) is Decision.EXPLICIT_DENY
    assert evaluate([allow("sqs:*"), negated], Request("sqs:SendMessage", "q", {"aws:SourceAccount": "1"})) is (
        Decision.ALLOWED
    )


def test_arn_like_matches_each_arn_part_on_its_own() -> None:
    scoped = allow("sqs:SendMessage", Condition={"ArnLike": {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:*"}})
    ours = Request("sqs:SendMessage", "q", {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:feedback"})
    # A wildcard in the region part cannot swallow the account part.
    sneaky = allow("sqs:SendMessage", Condition={"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:feedback"}})
    theirs = Request("sqs:SendMessage", "q", {"aws:SourceArn": "arn:aws:sns:us-east-1:210987654321:feedback"})
    assert evaluate([scoped], ours) is Decision.ALLOWED
    assert evaluate([sneaky], theirs) is Decision.IMPLICIT_DENY


def test_not_principal_is_refused_not_ignored() -> None:
    with pytest.raises(UnsupportedCondition):
        Statement.parse({"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::1:root"}, "Action": "*"})


def test_an_unknown_condition_operator_is_refused_not_guessed() -> None:
    odd = allow("sqs:*", Condition={"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}})
    with pytest.raises(UnsupportedCondition):
        evaluate([odd], Request("sqs:SendMessage", "q"))


def test_resource_policies_match_the_principal() -> None:
    policy = [
        Statement.parse(
            {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage"}
        )
    ]
    events = Request("sqs:SendMessage", "q", principal="events.amazonaws.com")
    sns = Request("sqs:SendMessage", "q", principal="sns.amazonaws.com")
    assert evaluate(policy, events, resource_policy=True) is Decision.ALLOWED
    assert evaluate(policy, sns, resource_policy=True) is Decision.IMPLICIT_DENY


@given(st.text(alphabet="ab*?:/", max_size=8), st.text(alphabet="ab:/", max_size=8))
def test_wildcard_matching_agrees_with_shell_style_matching(pattern: str, value: str) -> None:
    assert matches(pattern, value) == fnmatch.fnmatchcase(value, pattern)


def test_transactions_need_each_items_own_action() -> None:
    params = {
        "TransactItems": [
            {"Update": {"TableName": "agg"}},
            {"Put": {"TableName": "agg"}},
            {"ConditionCheck": {"TableName": "ledger"}},
        ]
    }
    found = {
        (n.action, n.resource.rsplit("/", 1)[-1], n.access) for n in needs("dynamodb", "TransactWriteItems", params)
    }
    assert found == {
        ("dynamodb:UpdateItem", "agg", "write"),
        ("dynamodb:PutItem", "agg", "write"),
        ("dynamodb:ConditionCheckItem", "ledger", "read"),
    }


def test_batch_and_index_calls_name_the_right_resources() -> None:
    (query,) = needs("dynamodb", "Query", {"TableName": "r", "IndexName": "by_survey"})
    assert query.resource.endswith("table/r/index/by_survey")
    (batch,) = needs("sqs", "SendMessageBatch", {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/1/send"})
    assert (batch.action, batch.resource.rsplit(":", 1)[-1], batch.access) == ("sqs:SendMessage", "send", "write")
    (head,) = needs("s3", "HeadObject", {"Bucket": "b", "Key": "imports/x.csv"})
    assert (head.action, head.resource) == ("s3:GetObject", "arn:aws:s3:::b/imports/x.csv")
    (text,) = needs("sns", "Publish", {"PhoneNumber": "+447700900123", "Message": "hi"})
    assert text.resource == "*"


def test_an_email_is_authorized_by_the_sender_or_its_domain_and_the_configuration_set() -> None:
    raw = b"From: NPS <surveys@example.com>\r\nX-SES-CONFIGURATION-SET: sending\r\n\r\nhi"
    identity, configuration_set = needs("sesv2", "SendEmail", {"Content": {"Raw": {"Data": raw}}})
    assert identity.resource.endswith("identity/surveys@example.com")
    assert identity.alternatives[0].endswith("identity/example.com")
    assert configuration_set.resource.endswith("configuration-set/sending")


def test_an_unmodelled_call_is_checked_on_every_resource() -> None:
    assert [(n.action, n.resource) for n in needs("kinesis", "PutRecord", {})] == [("kinesis:PutRecord", "*")]


MINI_TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Key": {
            "Type": "AWS::KMS::Key",
            "Properties": {
                "KeyPolicy": {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {
                                "AWS": {"Fn::Join": ["", ["arn:aws:iam::", {"Ref": "AWS::AccountId"}, ":root"]]}
                            },
                            "Action": "kms:*",
                            "Resource": "*",
                        }
                    ]
                }
            },
        },
        "Table": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {"SSESpecification": {"KMSMasterKeyId": {"Fn::GetAtt": ["Key", "Arn"]}}},
        },
        "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
        "Policy": {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "Roles": [{"Ref": "Role"}],
                "PolicyDocument": {
                    "Statement": [
                        {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": {"Fn::GetAtt": ["Table", "Arn"]}},
                        {
                            "Effect": "Allow",
                            "Action": "dynamodb:Query",
                            "Resource": {"Fn::Sub": "${Table.Arn}/index/*"},
                        },
                    ]
                },
            },
        },
        "Function": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Environment": {"Variables": {"POWERTOOLS_SERVICE_NAME": "reader", "TABLE": {"Ref": "Table"}}},
            },
        },
    }
}


def test_a_recorded_call_meets_the_template_through_the_functions_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a function whose TABLE variable names the table, here called "local-table"
    template = DeployedTemplate(MINI_TEMPLATE)
    recorder = Recorder(lambda: template)
    monkeypatch.setenv("TABLE", "local-table")
    # When it reads an item, queries an index and writes an item
    recorder.record("function:reader", "dynamodb", "GetItem", {"TableName": "local-table"})
    recorder.record("function:reader", "dynamodb", "Query", {"TableName": "local-table", "IndexName": "i"})
    recorder.record("function:reader", "dynamodb", "PutItem", {"TableName": "local-table"})
    # Then the calls are judged on the template's table: the write is refused, and so is every use of the
    # key, which its role does not name although the key policy delegates to the account
    found = recorder.violations()
    missing = sorted(v.missing.split(" on ")[0] for v in found)
    assert missing == ["dynamodb:PutItem", "kms:Decrypt", "kms:Decrypt", "kms:Decrypt", "kms:GenerateDataKey"]
    assert all("Table" in v.use.resource for v in found)


def test_a_key_policy_that_does_not_delegate_must_name_the_role() -> None:
    template_json: dict[str, Any] = {
        "Resources": {
            **MINI_TEMPLATE["Resources"],
            "Key": {
                "Type": "AWS::KMS::Key",
                "Properties": {
                    "KeyPolicy": {
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"AWS": {"Fn::GetAtt": ["Role", "Arn"]}},
                                "Action": "kms:Decrypt",
                                "Resource": "*",
                            }
                        ]
                    }
                },
            },
        }
    }
    template = DeployedTemplate(template_json)
    principal = template.principals()["function:reader"]
    assert key_denies(template, "Key", principal, "kms:Decrypt", {}) == ""
    assert "neither names" in key_denies(template, "Key", principal, "kms:GenerateDataKey", {})


def test_a_deny_in_the_role_wins_over_a_key_policy_that_names_it() -> None:
    template_json: dict[str, Any] = json.loads(json.dumps(MINI_TEMPLATE))
    template_json["Resources"]["Key"]["Properties"]["KeyPolicy"]["Statement"].append(
        {"Effect": "Allow", "Principal": {"AWS": {"Fn::GetAtt": ["Role", "Arn"]}}, "Action": "kms:*", "Resource": "*"}
    )
    template_json["Resources"]["Policy"]["Properties"]["PolicyDocument"]["Statement"].append(
        {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"}
    )
    template = DeployedTemplate(template_json)
    principal = template.principals()["function:reader"]
    assert "explicitly denied" in key_denies(template, "Key", principal, "kms:Decrypt", {})
    assert key_denies(template, "Key", principal, "kms:GenerateDataKey", {}) == ""


def test_a_use_of_an_unknown_principal_is_a_violation() -> None:
    recorder = Recorder(lambda: DeployedTemplate(MINI_TEMPLATE))
    (violation,) = recorder.violations([Use("function:ghost", "dynamodb:GetItem", "dynamodb:GetItem", TABLE)])
    assert "no such function" in violation.reason
