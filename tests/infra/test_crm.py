"""The CRM destinations as synthesized: off by default; with their context, API destinations to HubSpot and
Salesforce whose input transformers, applied to sample events the way EventBridge applies them
(tests/infra/input_transformer.py), write exactly the documented fields, as JSON, whatever the event holds."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from moto.events.models import EventPattern

from infra.app import build_app
from infra.config import crm_settings
from infra.constructs.crm import (
    ALL_FIELDS,
    HEALTH_FIELDS,
    REDRIVE_SOURCE,
    REDRIVE_SOURCES,
    RESPONSE_FIELDS,
    RETRACTED_FIELDS,
    split_rate,
)
from nps.events.details import response_scored
from nps.events.models import (
    ID_PATTERN,
    AccountHealthChangedDetail,
    ContactErasedDetail,
    ErasedCounts,
    ResponseRetractedDetail,
    ResponseScoredDetail,
)
from nps.events.names import ACCOUNT_HEALTH_CHANGED
from nps.kernel.categories import Category, categorize
from tests.infra.input_transformer import InvalidBody, apply_json, extract

pytestmark = pytest.mark.infra

CONTEXT: dict[str, object] = {"crmHubspot": "true", "crmSalesforceInstanceUrl": "https://acme.my.salesforce.com"}
Template = dict[str, Any]


def synth(context: dict[str, object] | None = None) -> Template:
    app, stack = build_app(context)
    template: Template = app.synth().get_stack_by_name(stack.stack_name).template
    return template


@pytest.fixture(scope="module")
def default_template() -> Template:
    return synth()


@pytest.fixture(scope="module")
def template() -> Template:
    return synth(CONTEXT)


def of_type(template: Template, kind: str) -> dict[str, Any]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == kind}


def crm_rules(template: Template) -> dict[str, dict[str, Any]]:
    """Rule logical id → its properties, for the rules whose target is a CRM API destination."""
    destinations = of_type(template, "AWS::Events::ApiDestination")
    return {
        lid: r["Properties"]
        for lid, r in of_type(template, "AWS::Events::Rule").items()
        if r["Properties"]["Targets"][0]["Arn"].get("Fn::GetAtt", [""])[0] in destinations and lid.startswith("Crm")
    }


def rule(template: Template, name: str) -> dict[str, Any]:
    (found,) = [r for lid, r in crm_rules(template).items() if lid.startswith(f"Crm{name}Rule")]
    return found


def endpoint(template: Template, rule_properties: dict[str, Any]) -> str:
    destination_id = rule_properties["Targets"][0]["Arn"]["Fn::GetAtt"][0]
    endpoint_url: str = template["Resources"][destination_id]["Properties"]["InvocationEndpoint"]
    return endpoint_url


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    return bool(EventPattern.load(json.dumps(pattern)).matches_event(event))  # type: ignore[arg-type]


def deliver(template: Template, name: str, event: dict[str, Any]) -> tuple[str, Any] | None:
    """What EventBridge would send for ``event`` through the rule ``name``: ``(url, body)``, or ``None``
    when the rule's pattern does not match. The URL has the path parameter and query string filled in."""
    props = rule(template, name)
    if not matches(props["EventPattern"], event):
        return None
    target = props["Targets"][0]
    parameters = target["HttpParameters"]
    (path,) = parameters["PathParameterValues"]
    url = endpoint(template, props).replace("*", str(extract(event, path)))
    query = parameters.get("QueryStringParameters")
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    if "Input" in target:  # a constant body (nothing copied from the event)
        return url, json.loads(target["Input"])
    return url, apply_json(target["InputTransformer"], event)


# -- sample events --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Ids:
    survey_id: str = "onboarding"
    wave_id: str = "2026-q4"
    invite_id: str = "inv_8f3a"
    contact_id: str = "c-42"
    channel: str = "email"
    locale: str = "en"
    segments: dict[str, str] = field(default_factory=lambda: {"plan": "pro"})


def envelope(detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": detail_type,
        "source": "nps",
        "account": "123456789012",
        "time": "2026-12-03T10:00:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": detail,
    }


ANSWERED_AT = datetime(2026, 12, 3, 9, 59, 58, 123456, tzinfo=UTC)


def scored_event(ids: Ids = Ids(), score: int = 3, previous: int | None = None, version: int = 1) -> dict[str, Any]:
    """An ``NPS Response Scored`` exactly as the score function writes it (``nps.events.details``)."""
    category = categorize(score)
    detail = response_scored(
        ids,
        event_id=f"{ids.invite_id}:{version}",
        score=score,
        category=category,
        previous_score=previous,
        previous_category=None if previous is None else categorize(previous),
        category_changed=previous is None or categorize(previous) != category,
        category_entered=True,
        version=version,
        first_answered_at=ANSWERED_AT,
        answered_at=ANSWERED_AT,
    ).model_dump_json()
    return envelope("NPS Response Scored", json.loads(detail))


def health_event(**overrides: Any) -> dict[str, Any]:
    """``NPS Account Health Changed`` (valid against its model unless ``overrides`` say otherwise)."""
    detail = {
        "schema_version": "1.0",
        "survey_id": "onboarding",
        "account_id": "acme-1",
        "health": "at_risk",
        "reasons": ["nps_fell", "more_detractors"],
        "nps": -12.5,
        "n": 14,
        "period": "weekly:2026-11-30",
        "assessed_at": "2026-12-03T09:00:00Z",
        **overrides,
    }
    return envelope(ACCOUNT_HEALTH_CHANGED, detail)


# -- off by default -------------------------------------------------------------------------------------
def test_without_its_context_the_stack_has_no_crm_resource(default_template: Template) -> None:
    assert not [lid for lid in default_template["Resources"] if "Crm" in lid]
    assert not of_type(default_template, "AWS::Events::ApiDestination")
    assert not of_type(default_template, "AWS::Events::Connection")
    assert "InvokeApiDestination" not in json.dumps(default_template)
    assert "CrmDeadLetterQueueUrl" not in default_template["Outputs"]


def test_the_dead_letter_queue_url_is_an_output_when_on(template: Template) -> None:
    (queue_id,) = [lid for lid, r in of_type(template, "AWS::SQS::Queue").items() if lid.startswith("CrmDeadLetters")]
    assert template["Outputs"]["CrmDeadLetterQueueUrl"]["Value"] == {"Ref": queue_id}


def test_turning_it_on_only_adds_resources_and_the_alarm_of_its_queue(
    default_template: Template, template: Template
) -> None:
    before, after = default_template["Resources"], template["Resources"]
    assert set(before) <= set(after)
    changed = {lid for lid in before if before[lid] != after[lid]}
    assert changed <= {lid for lid in before if before[lid]["Type"] == "AWS::CloudWatch::Dashboard"}
    added = set(after) - set(before)
    assert {lid for lid in added if not lid.startswith("Crm")} == {
        lid for lid in added if after[lid]["Type"] == "AWS::CloudWatch::Alarm"
    }


# -- what is deployed -----------------------------------------------------------------------------------
def test_each_crm_has_a_connection_with_credentials_only_from_secrets_manager(template: Template) -> None:
    connections = {lid: r["Properties"] for lid, r in of_type(template, "AWS::Events::Connection").items()}
    hubspot = connections[next(lid for lid in connections if "Hubspot" in lid)]
    assert hubspot["AuthorizationType"] == "API_KEY"
    assert hubspot["AuthParameters"]["ApiKeyAuthParameters"] == {
        "ApiKeyName": "Authorization",
        "ApiKeyValue": "{{resolve:secretsmanager:nps/crm/hubspot:SecretString:::}}",
    }
    salesforce = connections[next(lid for lid in connections if "Salesforce" in lid)]
    assert salesforce["AuthorizationType"] == "OAUTH_CLIENT_CREDENTIALS"
    oauth = salesforce["AuthParameters"]["OAuthParameters"]
    assert oauth["AuthorizationEndpoint"] == "https://acme.my.salesforce.com/services/oauth2/token"
    assert oauth["HttpMethod"] == "POST"
    assert oauth["ClientParameters"] == {
        "ClientID": "{{resolve:secretsmanager:nps/crm/salesforce:SecretString:client_id::}}",
        "ClientSecret": "{{resolve:secretsmanager:nps/crm/salesforce:SecretString:client_secret::}}",
    }
    assert oauth["OAuthHttpParameters"]["BodyParameters"] == [
        {"IsValueSecret": False, "Key": "grant_type", "Value": "client_credentials"}
    ]


def test_destinations_write_by_id_at_each_crms_documented_rate(template: Template) -> None:
    destinations = {
        (r["Properties"]["InvocationEndpoint"], r["Properties"]["HttpMethod"]): r["Properties"]
        for r in of_type(template, "AWS::Events::ApiDestination").values()
    }
    sobjects = "https://acme.my.salesforce.com/services/data/v62.0/sobjects"
    # HubSpot: 100 requests per 10 s per private app, shared by contacts and companies; Salesforce: one
    # answer a second and one account (or one erased response: erasures are rare).
    assert {key: d["InvocationRateLimitPerSecond"] for key, d in destinations.items()} == {
        ("https://api.hubapi.com/crm/v3/objects/contacts/*", "PATCH"): 9,
        ("https://api.hubapi.com/crm/v3/objects/companies/*", "PATCH"): 1,
        (f"{sobjects}/NPS_Response__c/NPS_Invite_Id__c/*", "PATCH"): 1,
        (f"{sobjects}/NPS_Response__c/NPS_Invite_Id__c/*", "DELETE"): 1,
        (f"{sobjects}/Account/NPS_Account_Id__c/*", "PATCH"): 1,
    }


def test_every_rule_retries_for_a_day_then_parks_in_an_encrypted_alarmed_queue(template: Template) -> None:
    rules = crm_rules(template)
    assert len(rules) == 10
    (queue_id,) = {r["Targets"][0]["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0] for r in rules.values()}
    for props in rules.values():
        assert props["Targets"][0]["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
    queue = template["Resources"][queue_id]["Properties"]
    assert "KmsMasterKeyId" in queue
    key_id = queue["KmsMasterKeyId"]["Fn::GetAtt"][0]
    # EventBridge may encrypt into the queue with the key …
    key_statements = template["Resources"][key_id]["Properties"]["KeyPolicy"]["Statement"]
    assert any(
        s["Principal"] == {"Service": "events.amazonaws.com"}
        and {"kms:GenerateDataKey*", "kms:Decrypt"} <= set(s["Action"])
        for s in key_statements
    )
    # … and may send to it from each CRM rule,
    (policy,) = [
        p["Properties"]
        for p in of_type(template, "AWS::SQS::QueuePolicy").values()
        if {"Ref": queue_id} in p["Properties"]["Queues"]
    ]
    senders = {
        s["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::GetAtt"][0]
        for s in policy["PolicyDocument"]["Statement"]
        if s["Action"] == "sqs:SendMessage"
    }
    assert senders == set(rules)
    # and one message in it raises the stack's alarm.
    alarms = [
        a["Properties"]
        for a in of_type(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
        and {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}} in a["Properties"]["Dimensions"]
    ]
    assert len(alarms) == 1
    assert alarms[0]["Threshold"] == 0 or alarms[0]["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_each_rules_role_may_invoke_its_own_destination_and_nothing_else(template: Template) -> None:
    for props in crm_rules(template).values():
        target = props["Targets"][0]
        role_id = target["RoleArn"]["Fn::GetAtt"][0]
        statements = [
            s
            for p in of_type(template, "AWS::IAM::Policy").values()
            if {"Ref": role_id} in p["Properties"]["Roles"]
            for s in p["Properties"]["PolicyDocument"]["Statement"]
        ]
        assert statements == [{"Action": "events:InvokeApiDestination", "Effect": "Allow", "Resource": target["Arn"]}]
        trust = template["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert [s["Principal"] for s in trust] == [{"Service": "events.amazonaws.com"}]


# -- what each CRM receives -----------------------------------------------------------------------------
def test_a_scored_response_updates_the_hubspot_contact_by_the_platforms_contact_id(template: Template) -> None:
    delivered = deliver(template, "HubspotResponse", scored_event(score=9, previous=3, version=2))
    assert delivered == (
        "https://api.hubapi.com/crm/v3/objects/contacts/c-42?idProperty=nps_contact_id",
        {
            "properties": {
                "nps_last_score": 9,
                "nps_last_category": "promoter",
                "nps_last_survey_id": "onboarding",
                "nps_last_wave_id": "2026-q4",
                "nps_last_invite_id": "inv_8f3a",
                "nps_last_channel": "email",
                "nps_last_answered_at": "2026-12-03T09:59:58.123456Z",
                "nps_last_version": 2,
            }
        },
    )


def test_a_scored_response_is_upserted_in_salesforce_by_its_invite_id(template: Template) -> None:
    delivered = deliver(template, "SalesforceResponse", scored_event(score=0))
    assert delivered == (
        "https://acme.my.salesforce.com/services/data/v62.0/sobjects/NPS_Response__c/NPS_Invite_Id__c/inv_8f3a",
        {
            "NPS_Score__c": 0,
            "NPS_Category__c": "detractor",
            "NPS_Survey_Id__c": "onboarding",
            "NPS_Wave_Id__c": "2026-q4",
            "NPS_Contact_Id__c": "c-42",
            "NPS_Channel__c": "email",
            "NPS_Answered_At__c": "2026-12-03T09:59:58.123456Z",
            "NPS_Version__c": 1,
        },
    )


def test_a_retracted_answer_is_marked_in_salesforce_and_named_on_the_hubspot_contact(template: Template) -> None:
    scored = scored_event(score=10)
    event = envelope(
        "NPS Response Retracted",
        {
            **{k: scored["detail"][k] for k in ("schema_version", "survey_id", "wave_id", "invite_id", "contact_id")},
            **{k: scored["detail"][k] for k in ("channel", "locale", "segments")},
            "event_id": "inv_8f3a:2:retracted",
            "previous_score": 10,
            "previous_category": "promoter",
            "reason": "automated",
            "version": 2,
            "retracted_at": "2026-12-03T10:00:04Z",
        },
    )
    ResponseRetractedDetail.model_validate(event["detail"])
    assert deliver(template, "SalesforceRetracted", event) == (
        "https://acme.my.salesforce.com/services/data/v62.0/sobjects/NPS_Response__c/NPS_Invite_Id__c/inv_8f3a",
        {"NPS_Retracted_Version__c": 2, "NPS_Retracted_At__c": "2026-12-03T10:00:04Z"},
    )
    assert deliver(template, "HubspotRetracted", event) == (
        "https://api.hubapi.com/crm/v3/objects/contacts/c-42?idProperty=nps_contact_id",
        {
            "properties": {
                "nps_last_retracted_invite_id": "inv_8f3a",
                "nps_last_retracted_version": 2,
                "nps_last_retracted_at": "2026-12-03T10:00:04Z",
            }
        },
    )
    assert deliver(template, "SalesforceResponse", event) is None


def retracted_event(reason: str = "automated") -> dict[str, Any]:
    """An ``NPS Response Retracted`` as its model allows (``removed``: deleted by an erasure)."""
    scored = scored_event(score=10)
    event = envelope(
        "NPS Response Retracted",
        {
            **{k: scored["detail"][k] for k in ("schema_version", "survey_id", "wave_id", "invite_id", "contact_id")},
            **{k: scored["detail"][k] for k in ("channel", "locale", "segments")},
            "event_id": f"inv_8f3a:2:{reason}",
            "previous_score": 10,
            "previous_category": "promoter",
            "reason": reason,
            "version": 2,
            "retracted_at": "2026-12-03T10:00:04Z",
        },
    )
    ResponseRetractedDetail.model_validate(event["detail"])
    return event


def erased_event(contact_id: str = "c-42") -> dict[str, Any]:
    """An ``NPS Contact Erased`` as the erasure publishes it (valid against its model)."""
    counts = dict.fromkeys(ErasedCounts.model_fields, 1)
    detail = ContactErasedDetail(
        event_id=f"{contact_id}:erased",
        contact_id=contact_id,
        erased_at=datetime(2026, 12, 3, 10, 5, tzinfo=UTC),
        counts=ErasedCounts(**counts),
        suppression_kept=False,
    ).model_dump_json()
    return envelope("NPS Contact Erased", json.loads(detail))


def test_an_erased_contacts_hubspot_nps_properties_are_cleared_and_the_erasure_recorded(template: Template) -> None:
    url, body = deliver(template, "HubspotErased", erased_event()) or ("", {})
    assert url == "https://api.hubapi.com/crm/v3/objects/contacts/c-42?idProperty=nps_contact_id"
    properties = body["properties"]
    assert properties.pop("nps_erased_at") == "2026-12-03T10:05:00Z"
    # every property an answer or a retraction writes is cleared, and nothing else is written
    written = {f.hubspot for fields in (RESPONSE_FIELDS, RETRACTED_FIELDS) for f in fields.values() if f.hubspot}
    assert properties == dict.fromkeys(written, "")
    # and no other rule writes anything for an erasure
    others = [
        name for name in crm_rules(template) if matches(crm_rules(template)[name]["EventPattern"], erased_event())
    ]
    assert [name for name in others if not name.startswith("CrmHubspotErasedRule")] == []


def test_a_response_removed_by_an_erasure_deletes_its_salesforce_record_instead_of_marking_it(
    template: Template,
) -> None:
    removed = retracted_event("removed")
    assert deliver(template, "SalesforceRemoved", removed) == (
        "https://acme.my.salesforce.com/services/data/v62.0/sobjects/NPS_Response__c/NPS_Invite_Id__c/inv_8f3a",
        {},
    )
    props = rule(template, "SalesforceRemoved")
    destination = template["Resources"][props["Targets"][0]["Arn"]["Fn::GetAtt"][0]]["Properties"]
    assert destination["HttpMethod"] == "DELETE"
    assert deliver(template, "SalesforceRetracted", removed) is None
    # a scanner's withdrawn answer is marked, not deleted
    assert deliver(template, "SalesforceRemoved", retracted_event("automated")) is None
    assert deliver(template, "SalesforceRetracted", retracted_event("automated")) is not None
    # HubSpot names the withdrawn invite either way (its contact's properties are cleared by the erasure)
    assert deliver(template, "HubspotRetracted", removed) is not None


def test_account_health_updates_the_hubspot_company_and_the_salesforce_account(template: Template) -> None:
    event = health_event()
    assert deliver(template, "HubspotHealthScored", event) == (
        "https://api.hubapi.com/crm/v3/objects/companies/acme-1?idProperty=nps_account_id",
        {
            "properties": {
                "nps_health": "at_risk",
                "nps_account_score": -12.5,
                "nps_account_responses": 14,
                "nps_health_survey_id": "onboarding",
                "nps_health_assessed_at": "2026-12-03T09:00:00Z",
            }
        },
    )
    assert deliver(template, "SalesforceHealthScored", event) == (
        "https://acme.my.salesforce.com/services/data/v62.0/sobjects/Account/NPS_Account_Id__c/acme-1",
        {
            "NPS_Health__c": "at_risk",
            "NPS_Account_Score__c": -12.5,
            "NPS_Account_Responses__c": 14,
            "NPS_Health_Survey_Id__c": "onboarding",
            "NPS_Health_Assessed_At__c": "2026-12-03T09:00:00Z",
        },
    )
    assert deliver(template, "HubspotHealthUnscored", event) is None
    assert deliver(template, "SalesforceHealthUnscored", event) is None


def test_an_account_without_a_score_clears_it_instead_of_copying_a_null(template: Template) -> None:
    event = health_event(nps=None, n=2, health="healthy")
    assert deliver(template, "HubspotHealthScored", event) is None
    assert deliver(template, "SalesforceHealthScored", event) is None
    hubspot = deliver(template, "HubspotHealthUnscored", event)
    assert hubspot is not None
    assert hubspot[1]["properties"]["nps_account_score"] == ""
    salesforce = deliver(template, "SalesforceHealthUnscored", event)
    assert salesforce is not None
    assert salesforce[1]["NPS_Account_Score__c"] is None
    assert salesforce[1]["NPS_Account_Responses__c"] == 2
    for props in (rule(template, "HubspotHealthUnscored"), rule(template, "SalesforceHealthUnscored")):
        assert "$.detail.nps" not in props["Targets"][0]["InputTransformer"]["InputPathsMap"].values()


def test_reasons_period_comments_locale_and_segments_never_reach_a_crm(template: Template) -> None:
    copied = {
        path
        for props in crm_rules(template).values()
        for path in props["Targets"][0].get("InputTransformer", {}).get("InputPathsMap", {}).values()
    }
    assert copied == {f.path for fields in ALL_FIELDS for f in fields.values()}
    for path in ("$.detail.reasons", "$.detail.period", "$.detail.locale", "$.detail.segments", "$.detail.comment"):
        assert path not in copied
    assert not [p for p in copied if not p.startswith("$.detail.")]


# -- hostile and broken events --------------------------------------------------------------------------
SAFE_FORMATS = {"date-time"}


def safe_by_contract(schema: dict[str, Any]) -> bool:
    """Whether every value the schema allows goes into a template unescaped and stays JSON: numbers,
    enumerations of plain words, ids (``ID_PATTERN``) and timestamps."""
    if schema.get("type") in ("integer", "number", "boolean"):
        return True
    if "enum" in schema or "const" in schema:
        values = schema.get("enum", [schema.get("const")])
        return all(isinstance(v, str) and re.fullmatch(r"[a-z_]+", v) for v in values)
    if schema.get("type") == "string":
        return schema.get("pattern") == ID_PATTERN or schema.get("format") in SAFE_FORMATS
    return False


def resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        resolved: dict[str, Any] = root["$defs"][schema["$ref"].rsplit("/", 1)[-1]]
        return resolved
    return schema


@pytest.mark.parametrize(
    ("model", "fields"), [(ResponseScoredDetail, RESPONSE_FIELDS), (ResponseRetractedDetail, RETRACTED_FIELDS)]
)
def test_every_answer_field_a_crm_receives_is_safe_by_the_events_contract(model: Any, fields: Any) -> None:
    root = model.model_json_schema()
    for key, spec in fields.items():
        name = spec.path.removeprefix("$.detail.")
        schema = resolve(root["properties"][name], root)
        assert name in root["required"], f"{name} may be missing from an event"
        assert safe_by_contract(schema), f"{key}: {name} can hold text the transformer would not escape: {schema}"


def _health_contract() -> dict[str, dict[str, Any]]:
    """``NPS Account Health Changed``'s JSON Schema per field (its model's), ``nps`` as its number branch (a
    null ``nps`` goes by a separate rule, which does not copy it)."""
    root = AccountHealthChangedDetail.model_json_schema()
    fields = {name: resolve(schema, root) for name, schema in root["properties"].items()}
    fields["nps"] = next(branch for branch in fields["nps"]["anyOf"] if branch.get("type") == "number")
    return fields


HEALTH_CONTRACT = _health_contract()


def test_the_sample_health_event_is_one_the_digest_could_publish() -> None:
    AccountHealthChangedDetail.model_validate(health_event()["detail"])


def test_every_account_field_a_crm_receives_is_safe_by_its_contract_and_the_unsafe_ones_stay_out() -> None:
    for key, spec in HEALTH_FIELDS.items():
        assert safe_by_contract(HEALTH_CONTRACT[spec.path.removeprefix("$.detail.")]), key
    assert not safe_by_contract(HEALTH_CONTRACT["period"])
    assert not safe_by_contract(HEALTH_CONTRACT["reasons"])


ids = st.from_regex(ID_PATTERN, fullmatch=True)
timestamps = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


@given(
    survey_id=ids,
    wave_id=ids,
    invite_id=ids,
    contact_id=ids,
    channel=st.sampled_from(["email", "sms", "web", "link", "link_anonymous"]),
    locale=st.text(),
    segments=st.dictionaries(st.text(min_size=1, max_size=64), st.text(), max_size=3),
    score=st.integers(0, 10),
    version=st.integers(1, 10_000),
    answered_at=timestamps,
)
def test_any_event_the_contract_allows_arrives_as_json_with_its_own_values(
    template: Template,
    survey_id: str,
    wave_id: str,
    invite_id: str,
    contact_id: str,
    channel: str,
    locale: str,
    segments: dict[str, str],
    score: int,
    version: int,
    answered_at: datetime,
) -> None:
    # Hostile text (quotes, backslashes, control characters, any unicode) is allowed in the locale and the
    # segment values: they must neither break the body nor appear in it.
    detail = ResponseScoredDetail(
        event_id=f"{invite_id}:{version}",
        survey_id=survey_id,
        wave_id=wave_id,
        invite_id=invite_id,
        contact_id=contact_id,
        channel=channel,  # type: ignore[arg-type]
        locale=locale,
        segments=segments,
        score=score,
        category=categorize(score),
        category_changed=True,
        category_entered=True,
        version=version,
        first_answered_at=answered_at,
        answered_at=answered_at,
    )
    event = envelope("NPS Response Scored", json.loads(detail.model_dump_json()))
    hubspot = deliver(template, "HubspotResponse", event)
    salesforce = deliver(template, "SalesforceResponse", event)
    assert hubspot is not None
    assert salesforce is not None
    assert hubspot[0].endswith(f"/contacts/{contact_id}?idProperty=nps_contact_id")
    assert salesforce[0].endswith(f"/NPS_Invite_Id__c/{invite_id}")
    properties = hubspot[1]["properties"]
    assert properties["nps_last_score"] == score
    assert type(properties["nps_last_score"]) is int
    assert (properties["nps_last_survey_id"], properties["nps_last_invite_id"]) == (survey_id, invite_id)
    assert salesforce[1]["NPS_Contact_Id__c"] == contact_id
    assert salesforce[1]["NPS_Version__c"] == version
    assert datetime.fromisoformat(properties["nps_last_answered_at"]) == answered_at
    assert set(properties) == {f.hubspot for f in RESPONSE_FIELDS.values() if f.hubspot}
    assert set(salesforce[1]) == {f.salesforce for f in RESPONSE_FIELDS.values() if f.salesforce}


@given(
    account_id=ids,
    survey_id=ids,
    health=st.sampled_from(["at_risk", "healthy"]),
    nps=st.none() | st.integers(-100, 100) | st.floats(-100, 100, allow_nan=False),
    n=st.integers(0, 10**6),
    assessed_at=timestamps,
    reasons=st.lists(st.text(), max_size=3),
    period=st.text(),
)
def test_any_account_health_event_reaches_each_crm_once_as_json_with_its_own_values(
    template: Template,
    account_id: str,
    survey_id: str,
    health: str,
    nps: float | None,
    n: int,
    assessed_at: datetime,
    reasons: list[str],
    period: str,
) -> None:
    # Free text (reasons, period) may hold anything: it must neither break the body nor appear in it.
    event = health_event(
        account_id=account_id,
        survey_id=survey_id,
        health=health,
        nps=nps,
        n=n,
        assessed_at=assessed_at.isoformat().replace("+00:00", "Z"),
        reasons=reasons,
        period=period,
    )
    for crm in ("Hubspot", "Salesforce"):
        sent = [d for d in (deliver(template, f"{crm}Health{k}", event) for k in ("Scored", "Unscored")) if d]
        assert len(sent) == 1
        url, body = sent[0]
        assert f"/{account_id}" in url
        values = body["properties"] if crm == "Hubspot" else body
        assert sorted(values.values(), key=repr) == sorted(
            [
                health,
                n,
                survey_id,
                event["detail"]["assessed_at"],
                nps if nps is not None else ("" if crm == "Hubspot" else None),
            ],
            key=repr,
        )


@pytest.mark.parametrize(
    "hostile",
    ['a"b', 'x","nps_last_score":10,"y":"', "trailing\\", "Zoë", "line\nbreak", "<detail-score>"],
)
def test_an_id_outside_the_contract_is_refused_by_the_contract_not_trusted_to_the_transformer(hostile: str) -> None:
    # The transformer would not escape it (tests/infra/test_input_transformer.py); the contract's id type
    # refuses it wherever an event is built from a model, and the score function's ids come from validated
    # responses. This pins the contract the CRM rules rely on.
    with pytest.raises(ValueError, match="pattern"):
        ResponseScoredDetail.model_validate({**scored_event()["detail"], "contact_id": hostile})


@pytest.mark.parametrize(
    "missing", sorted({f.path.removeprefix("$.detail.") for f in RESPONSE_FIELDS.values() if f.path})
)
def test_an_event_missing_a_copied_field_matches_no_rule_rather_than_sending_broken_json(
    template: Template, missing: str
) -> None:
    event = scored_event()
    del event["detail"][missing]
    for name in ("HubspotResponse", "SalesforceResponse"):
        props = rule(template, name)
        assert not matches(props["EventPattern"], event)
        # Why the pattern matters: EventBridge would drop the variable and send a body that is not JSON.
        if f"$.detail.{missing}" in props["Targets"][0]["InputTransformer"]["InputPathsMap"].values():
            with pytest.raises(InvalidBody):
                apply_json(props["Targets"][0]["InputTransformer"], event)


@pytest.mark.parametrize(
    "change",
    [{"score": "9"}, {"score": 11}, {"score": None}, {"category": "fan"}, {"version": 0}, {"version": "2"}],
)
def test_a_score_or_category_of_the_wrong_kind_matches_no_rule(template: Template, change: dict[str, Any]) -> None:
    event = scored_event(score=9)
    event["detail"].update(change)
    for name in ("HubspotResponse", "SalesforceResponse"):
        assert deliver(template, name, event) is None


@pytest.mark.parametrize(
    "change",
    [{"nps": "12"}, {"nps": 101}, {"health": "dying"}, {"n": "3"}, {"n": -1}],
)
def test_account_health_of_the_wrong_kind_matches_no_rule(template: Template, change: dict[str, Any]) -> None:
    event = health_event(**change)
    for name in ("HubspotHealthScored", "HubspotHealthUnscored", "SalesforceHealthScored", "SalesforceHealthUnscored"):
        assert deliver(template, name, event) is None


def test_account_health_without_an_nps_field_at_all_matches_no_rule(template: Template) -> None:
    event = health_event()
    del event["detail"]["nps"]
    for name in ("HubspotHealthScored", "HubspotHealthUnscored", "SalesforceHealthScored", "SalesforceHealthUnscored"):
        assert deliver(template, name, event) is None


def test_an_event_from_another_source_or_of_another_type_matches_no_rule(template: Template) -> None:
    foreign = {**scored_event(), "source": "acme.crm"}
    comment = {**scored_event(), "detail-type": "NPS Comment Received"}
    for name in ("HubspotResponse", "SalesforceResponse"):
        assert deliver(template, name, foreign) is None
        assert deliver(template, name, comment) is None


def test_a_redriven_event_reaches_the_crm_rules_and_no_other_rule(template: Template) -> None:
    events_ = [scored_event(), health_event(), health_event(nps=None)]
    redriven = [{**event, "source": REDRIVE_SOURCE} for event in events_]
    crm = crm_rules(template)
    for event in redriven:
        assert any(matches(props["EventPattern"], event) for props in crm.values())
        others = [
            lid
            for lid, r in of_type(template, "AWS::Events::Rule").items()
            if lid not in crm and "EventPattern" in r["Properties"] and matches(r["Properties"]["EventPattern"], event)
        ]
        assert others == []
    # while the same events from the platform reach the other rules too (the follow-up workflows)
    assert [
        lid
        for lid, r in of_type(template, "AWS::Events::Rule").items()
        if lid not in crm and "EventPattern" in r["Properties"] and matches(r["Properties"]["EventPattern"], events_[0])
    ]


@pytest.mark.parametrize(("crm", "other"), [("hubspot", "salesforce"), ("salesforce", "hubspot")])
def test_an_event_redriven_to_one_crm_reaches_that_crm_only(template: Template, crm: str, other: str) -> None:
    # Given events parked after Salesforce (or HubSpot) failed, while the other CRM took them long ago:
    # sending them to that one again would write an older answer over a newer "last" one
    events_ = [scored_event(), health_event(), health_event(nps=None)]
    redriven = [{**event, "source": REDRIVE_SOURCES[crm]} for event in events_]
    rules = crm_rules(template)
    for event in redriven:
        # When they are put back with that CRM's redrive source / Then only its rules match, no other rule
        matched = [
            lid
            for lid, r in of_type(template, "AWS::Events::Rule").items()
            if "EventPattern" in r["Properties"] and matches(r["Properties"]["EventPattern"], event)
        ]
        assert matched
        assert all(lid in rules and crm in lid.lower() for lid in matched), matched
        assert not any(other in lid.lower() for lid in matched)


# -- configuration --------------------------------------------------------------------------------------
def test_names_rates_and_the_api_version_come_from_context() -> None:
    template = synth(
        {
            "crmHubspot": True,
            "crmHubspotContactIdProperty": "platform_id",
            "crmHubspotProperties": json.dumps({"score": "nps_score"}),
            "crmHubspotRatePerSecond": "19",
            "crmSalesforceInstanceUrl": "https://acme--uat.sandbox.my.salesforce.com/",
            "crmSalesforceApiVersion": "v61.0",
            "crmSalesforceResponseObject": "Survey_Answer__c",
            "crmSalesforceFields": {"score": "Score__c"},
        }
    )
    delivered = deliver(template, "HubspotResponse", scored_event(score=7))
    assert delivered is not None
    assert delivered[0].endswith("?idProperty=platform_id")
    assert delivered[1]["properties"]["nps_score"] == 7
    salesforce = deliver(template, "SalesforceResponse", scored_event(score=7))
    assert salesforce is not None
    assert salesforce[0] == (
        "https://acme--uat.sandbox.my.salesforce.com/services/data/v61.0/sobjects/Survey_Answer__c/NPS_Invite_Id__c/inv_8f3a"
    )
    assert salesforce[1]["Score__c"] == 7
    destinations = of_type(template, "AWS::Events::ApiDestination").values()
    assert sorted(r["Properties"]["InvocationRateLimitPerSecond"] for r in destinations) == [1, 1, 1, 1, 18]


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"crmSalesforceInstanceUrl": "http://acme.my.salesforce.com"}, "crmSalesforceInstanceUrl"),
        ({"crmSalesforceInstanceUrl": "https://acme.my.salesforce.com/services"}, "crmSalesforceInstanceUrl"),
        ({"crmSalesforceInstanceUrl": "https://a.my.salesforce.com", "crmSalesforceApiVersion": "62"}, "v62.0"),
        ({"crmHubspot": "yes please"}, "crmHubspot must be true or false"),
        ({"crmHubspot": True, "crmHubspotContactIdProperty": 'id"}'}, "crmHubspotContactIdProperty"),
        ({"crmHubspot": True, "crmHubspotProperties": '{"score": "Bad Name"}'}, "crmHubspotProperties"),
        ({"crmHubspot": True, "crmHubspotProperties": "score=x"}, "crmHubspotProperties"),
        ({"crmHubspot": True, "crmHubspotRatePerSecond": "1"}, "crmHubspotRatePerSecond must be from 2"),
        ({"crmSalesforceInstanceUrl": "https://a.my.salesforce.com", "crmSalesforceRatePerSecond": "x"}, "whole"),
        ({"crmHubspot": True, "crmHubspotSecretName": "a:b"}, "crmHubspotSecretName"),
    ],
)
def test_bad_settings_stop_the_synth_with_the_setting_named(context: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_app(context)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("crmSalesforceInstanceUrl", "https://evil.example.com"),
        ("crmSalesforceInstanceUrl", "https://acme.my.salesforce.co"),
        ("crmSalesforceInstanceUrl", "https://acme.my.salesforce.com.evil.example"),
        ("crmSalesforceInstanceUrl", "https://localhost"),
        ("crmSalesforceInstanceUrl", "https://169.254.169.254"),
        ("crmSalesforceInstanceUrl", "https://acme..my.salesforce.com"),
        ("crmSalesforceInstanceUrl", "https://acme.my.salesforce.com:8443"),
        ("crmSalesforceInstanceUrl", "https://acme.my.salesforce.com?x=1"),
        ("crmSalesforceInstanceUrl", "https://acme.my.salesforce.com\n"),
        ("crmSalesforceApiVersion", "v62.0\n"),
        ("crmSalesforceSecretName", "nps/crm/salesforce\n"),
        ("crmSalesforceResponseObject", "NPS_Response__c\n"),
        ("crmSalesforceFields", {"score": "Score__c\n"}),
        ("crmHubspotContactIdProperty", "nps_contact_id\n"),
        ("crmHubspotProperties", {"score": "nps_score\n"}),
    ],
)
def test_a_host_other_than_salesforces_or_a_name_with_a_trailing_line_break_stops_the_synth(
    key: str, value: object
) -> None:
    # Given CRM settings that are right but for one value: another host (the client secret would go there),
    # or a name followed by a line break (it would break the template's JSON and the request's URL)
    context: dict[str, object] = {**CONTEXT, key: value}
    # When the settings are read / Then the synth stops, naming the setting
    with pytest.raises(ValueError, match=key):
        crm_settings(context.get)


@pytest.mark.parametrize(
    "url",
    [
        "https://acme.my.salesforce.com",
        "https://ACME-Corp.my.salesforce.com/",
        "https://x--uat.sandbox.my.salesforce.com",
    ],
)
def test_a_salesforce_my_domain_is_accepted(url: str) -> None:
    salesforce = crm_settings({"crmSalesforceInstanceUrl": url}.get).salesforce
    assert salesforce is not None
    assert salesforce.instance_url == url.rstrip("/")


def test_a_field_override_for_a_field_the_crm_is_not_sent_stops_the_synth() -> None:
    with pytest.raises(ValueError, match="crmHubspotProperties names fields hubspot is not sent"):
        build_app({"crmHubspot": True, "crmHubspotProperties": {"contact_id": "x_id"}})


def test_two_fields_renamed_to_one_property_stop_the_synth() -> None:
    with pytest.raises(ValueError, match=r"same property: \['nps_last_score'\]"):
        build_app({"crmHubspot": True, "crmHubspotProperties": {"category": "nps_last_score"}})


@pytest.mark.parametrize(("total", "split"), [(2, (1, 1)), (10, (9, 1)), (19, (18, 1)), (300, (270, 30))])
def test_a_crms_rate_is_shared_by_its_two_destinations(total: int, split: tuple[int, int]) -> None:
    assert split_rate(total) == split
    assert sum(split_rate(total)) <= total


def test_categories_in_the_patterns_are_the_platforms() -> None:
    from infra.constructs.crm import CATEGORIES

    assert sorted(CATEGORIES) == sorted(c.value for c in Category)
