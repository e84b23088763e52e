"""CRM destinations (optional, off by default): each scored response and each account health change
written to HubSpot and/or Salesforce by EventBridge API destinations, without a function.

``NPS Response Retracted`` (a mail scanner's answer, withdrawn) records the withdrawing version on the
invite's Salesforce record and the withdrawn invite and version on the HubSpot contact. An erasure
(``NPS Contact Erased``, docs/privacy.md) clears the HubSpot contact's NPS properties, and each response it
deletes (``NPS Response Retracted``, reason ``removed``) deletes its Salesforce record by invite id.

* HubSpot (``-c crmHubspot=true``): ``NPS Response Scored`` → ``PATCH /crm/v3/objects/contacts/{contact_id}
  ?idProperty=<contact id property>``; ``NPS Account Health Changed`` → the same on companies by the
  account id property. A PATCH only updates: a contact or company HubSpot does not know is a 404 (parked
  in the dead letters), never a new record. Auth: the private app's token as ``Authorization: Bearer …``.
* Salesforce (``-c crmSalesforceInstanceUrl=https://….my.salesforce.com``): responses upserted on a custom
  object by external id ``PATCH /services/data/<version>/sobjects/<object>/<field>/{invite_id}``; account
  health on Account by its external id field (an upsert without ``Name`` cannot create an Account: an
  unknown account is a 400, parked). Auth: OAuth client credentials of a connected app.

Writes repeat safely: each is keyed by the platform's own id (contact, invite, account) and sets the same
values again. The body is built by an input transformer from fields whose contract allows only ids,
enumerations, numbers and timestamps: EventBridge does not escape the text it copies into a template
(docs/crm.md, "Why these fields and no others"). Every rule's pattern also requires each field it copies,
so an event without one never reaches a CRM half-written. Failed deliveries are retried (429 and 5xx, up
to a day) and then parked in one encrypted dead-letter queue, whose depth raises the stack's alarm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import SecretValue, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.config import CrmSettings, HubspotSettings, SalesforceSettings
from infra.constructs.queues import TARGET_MAX_EVENT_AGE, TARGET_RETRY_ATTEMPTS, encrypted_queue
from nps.events.names import ACCOUNT_HEALTH_CHANGED, CONTACT_ERASED, EVENT_SOURCE, RESPONSE_RETRACTED, RESPONSE_SCORED

#: The source to put a dead-lettered event back on the bus with: the CRM rules match it as well as ``nps``,
#: and no other rule does, so a redrive reaches the CRMs only (docs/crm.md, "Failures, retries and redrive").
REDRIVE_SOURCE = "nps.crm-redrive"
#: The sources to put a dead-lettered event back for one CRM only: when one CRM failed and the other took the
#: event long ago, writing it to both again would put an older answer over the other's newer "last" one.
REDRIVE_SOURCES = {"hubspot": f"{REDRIVE_SOURCE}.hubspot", "salesforce": f"{REDRIVE_SOURCE}.salesforce"}
HUBSPOT_API = "https://api.hubapi.com"
PATCH = events.HttpMethod.PATCH
CATEGORIES = ["promoter", "passive", "detractor"]
HEALTH_VALUES = ["at_risk", "healthy"]


@dataclass(frozen=True)
class Field:
    """One value a CRM receives: the event path it comes from, its kind (``number``, ``text`` or
    ``timestamp``; every text field is an id or an enumeration by contract) and its default names in each
    CRM (``None``: not sent there)."""

    path: str
    kind: str
    hubspot: str | None
    salesforce: str | None


#: ``NPS Response Scored`` → the contact (HubSpot) and the response record (Salesforce). ``contact_id``
#: is HubSpot's record id (the URL), ``invite_id`` Salesforce's (the URL).
RESPONSE_FIELDS: dict[str, Field] = {
    "score": Field("$.detail.score", "number", "nps_last_score", "NPS_Score__c"),
    "category": Field("$.detail.category", "text", "nps_last_category", "NPS_Category__c"),
    "survey_id": Field("$.detail.survey_id", "text", "nps_last_survey_id", "NPS_Survey_Id__c"),
    "wave_id": Field("$.detail.wave_id", "text", "nps_last_wave_id", "NPS_Wave_Id__c"),
    "invite_id": Field("$.detail.invite_id", "text", "nps_last_invite_id", None),
    "contact_id": Field("$.detail.contact_id", "text", None, "NPS_Contact_Id__c"),
    "channel": Field("$.detail.channel", "text", "nps_last_channel", "NPS_Channel__c"),
    "answered_at": Field("$.detail.answered_at", "timestamp", "nps_last_answered_at", "NPS_Answered_At__c"),
    # The response's version: every change of an answer has a higher one, so a retraction (below) and an
    # answer can be ordered whichever arrives first.
    "version": Field("$.detail.version", "number", "nps_last_version", "NPS_Version__c"),
}
#: ``NPS Response Retracted`` (a mail scanner's answer, withdrawn): the invite's Salesforce record and the
#: HubSpot contact record the retraction's version; an answer is withdrawn while that version is above the
#: answer's (docs/crm.md), so it does not matter which event arrives first. HubSpot's "last answer"
#: properties are not rolled back: the answer before is not in the event.
RETRACTED_FIELDS: dict[str, Field] = {
    "retracted_invite_id": Field("$.detail.invite_id", "text", "nps_last_retracted_invite_id", None),
    "retracted_version": Field("$.detail.version", "number", "nps_last_retracted_version", "NPS_Retracted_Version__c"),
    "retracted_at": Field("$.detail.retracted_at", "timestamp", "nps_last_retracted_at", "NPS_Retracted_At__c"),
}
#: ``NPS Account Health Changed`` → the company (HubSpot) and the Account (Salesforce), by ``account_id``.
#: ``nps`` is null while an account has too few answers: separate rules send the number or the CRM's
#: empty value, so no template ever copies a null. ``reasons`` (a list) and ``period`` (free text in the
#: contract) are not sent: docs/crm.md says why.
HEALTH_FIELDS: dict[str, Field] = {
    "health": Field("$.detail.health", "text", "nps_health", "NPS_Health__c"),
    "nps": Field("$.detail.nps", "number", "nps_account_score", "NPS_Account_Score__c"),
    "n": Field("$.detail.n", "number", "nps_account_responses", "NPS_Account_Responses__c"),
    "health_survey_id": Field("$.detail.survey_id", "text", "nps_health_survey_id", "NPS_Health_Survey_Id__c"),
    "assessed_at": Field("$.detail.assessed_at", "timestamp", "nps_health_assessed_at", "NPS_Health_Assessed_At__c"),
}
#: ``NPS Contact Erased`` → the HubSpot contact: every NPS property above is cleared and the erasure's time
#: written. In Salesforce each answer is its own record (by invite id): the erasure deletes the contact's
#: responses, whose ``NPS Response Retracted`` (reason ``removed``) deletes each record there.
ERASED_FIELDS: dict[str, Field] = {
    "erased_at": Field("$.detail.erased_at", "timestamp", "nps_erased_at", None),
}


ALL_FIELDS = (RESPONSE_FIELDS, RETRACTED_FIELDS, HEALTH_FIELDS, ERASED_FIELDS)


def scored_pattern() -> dict[str, Any]:
    """Every ``NPS Response Scored`` that carries each field a CRM write copies (numbers as numbers)."""
    return {
        "source": [EVENT_SOURCE, REDRIVE_SOURCE],
        "detail-type": [RESPONSE_SCORED],
        "detail": {
            "score": [{"numeric": [">=", 0, "<=", 10]}],
            "version": [{"numeric": [">=", 1]}],
            "category": CATEGORIES,
            **{key: [{"exists": True}] for key in ("survey_id", "wave_id", "invite_id", "contact_id")},
            **{key: [{"exists": True}] for key in ("channel", "answered_at")},
        },
    }


def retracted_pattern(*reasons: str) -> dict[str, Any]:
    """Every ``NPS Response Retracted`` that carries the fields a CRM write copies (of one of ``reasons``:
    ``automated``, a mail scanner's answer withdrawn; ``removed``, the response deleted by an erasure;
    every reason when none is given)."""
    return {
        "source": [EVENT_SOURCE, REDRIVE_SOURCE],
        "detail-type": [RESPONSE_RETRACTED],
        "detail": {
            "version": [{"numeric": [">=", 1]}],
            **{key: [{"exists": True}] for key in ("invite_id", "contact_id", "retracted_at")},
            **({"reason": list(reasons)} if reasons else {}),
        },
    }


def erased_pattern() -> dict[str, Any]:
    """Every ``NPS Contact Erased`` (its contact id and time are required by its contract)."""
    return {
        "source": [EVENT_SOURCE, REDRIVE_SOURCE],
        "detail-type": [CONTACT_ERASED],
        "detail": {key: [{"exists": True}] for key in ("contact_id", "erased_at")},
    }


def health_pattern(*, scored: bool) -> dict[str, Any]:
    """``NPS Account Health Changed`` with a number for ``nps`` (``scored``) or with ``nps`` null."""
    return {
        "source": [EVENT_SOURCE, REDRIVE_SOURCE],
        "detail-type": [ACCOUNT_HEALTH_CHANGED],
        "detail": {
            "health": HEALTH_VALUES,
            "nps": [{"numeric": [">=", -100, "<=", 100]}] if scored else [None],
            "n": [{"numeric": [">=", 0]}],
            **{key: [{"exists": True}] for key in ("account_id", "survey_id", "assessed_at")},
        },
    }


def split_rate(total: int) -> tuple[int, int]:
    """``(answers, accounts)`` requests per second sharing one CRM's ``total`` (at least 2): each
    destination has its own limit in EventBridge, and both spend the same app's or org's allowance.
    Account health changes are rare, so they get a tenth (at least 1)."""
    accounts = max(1, total // 10)
    return max(1, total - accounts), accounts


def names_for(fields: dict[str, Field], crm: str, overrides: dict[str, str]) -> dict[str, str]:
    """Logical field → the CRM's property/field name: the defaults, with ``overrides`` (context) applied.

    Raises ``ValueError`` when two fields of one write would get the same name.
    """
    defaults = {key: getattr(f, crm) for key, f in fields.items() if getattr(f, crm) is not None}
    names = {**defaults, **{k: v for k, v in overrides.items() if k in defaults}}
    repeated = sorted({name for name in names.values() if list(names.values()).count(name) > 1})
    if repeated:
        raise ValueError(f"two {crm} fields would be written to the same property: {repeated}")
    return names


def check_overrides(overrides: dict[str, str], crm: str, setting: str) -> None:
    """Raises ``ValueError`` when ``overrides`` names a field ``crm`` is not sent (a typo would otherwise
    silently keep the default name)."""
    known = {k for fields in ALL_FIELDS for k, f in fields.items() if getattr(f, crm)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"{setting} names fields {crm} is not sent: {unknown} (known: {sorted(known)})")


def body(fields: dict[str, Field], names: dict[str, str], *, null_value: object = None) -> dict[str, Any]:
    """The JSON a CRM receives: each named field copied from the event by path, except ``nps`` when
    ``null_value`` is given (the null-``nps`` rule writes that constant instead)."""
    out: dict[str, Any] = {}
    for key, name in names.items():
        if key == "nps" and null_value is not None:
            out[name] = null_value
        else:
            out[name] = events.EventField.from_path(fields[key].path)
    return out


class CrmDestinations(Construct):
    """The connections, API destinations and rules of the CRM destinations that are on, and their
    dead-letter queue (``dead_letters``)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: CrmSettings, bus: events.IEventBus, key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        self.bus = bus
        self.dead_letters = encrypted_queue(
            self, "DeadLetters", key, dead_letter_role="CRM writes that failed after a day of retries"
        )
        self.rules: list[events.Rule] = []
        if settings.hubspot is not None:
            self._hubspot(settings.hubspot)
        if settings.salesforce is not None:
            self._salesforce(settings.salesforce)

    def _target(
        self, destination: events.ApiDestination, event: events.RuleTargetInput, path_parameter: str, **kwargs: Any
    ) -> targets.ApiDestination:
        return targets.ApiDestination(
            destination,
            event=event,
            path_parameter_values=[path_parameter],
            dead_letter_queue=self.dead_letters,
            retry_attempts=TARGET_RETRY_ATTEMPTS,
            max_event_age=TARGET_MAX_EVENT_AGE,
            **kwargs,
        )

    def _rule(
        self, crm: str, construct_id: str, pattern: dict[str, Any], description: str, target: targets.ApiDestination
    ) -> None:
        self.rules.append(
            events.Rule(
                self,
                construct_id,
                event_bus=self.bus,
                description=description,
                event_pattern=events.EventPattern(
                    # and the redrive source of this rule's CRM (its construct id names it)
                    source=[
                        *pattern["source"],
                        *(v for k, v in REDRIVE_SOURCES.items() if construct_id.lower().startswith(k)),
                    ],
                    detail_type=pattern["detail-type"],
                    # ``[None]`` (a null value) is written with CDK's matcher, which keeps the null.
                    detail={k: events.Match.null_value() if v == [None] else v for k, v in pattern["detail"].items()},
                ),
                targets=[target],
            )
        )

    @staticmethod
    def _names(fields: dict[str, Field], hubspot: HubspotSettings) -> list[str]:
        return list(names_for(fields, "hubspot", hubspot.properties).values())

    # -- HubSpot ------------------------------------------------------------------------------------------
    def _hubspot(self, hubspot: HubspotSettings) -> None:
        check_overrides(hubspot.properties, "hubspot", "crmHubspotProperties")
        connection = events.Connection(
            self,
            "HubspotConnection",
            description="HubSpot private app (token from Secrets Manager)",
            # The secret holds the whole header value, ``Bearer pat-…``: EventBridge copies it into the
            # connection's own secret, so the token never appears in the template.
            authorization=events.Authorization.api_key(
                "Authorization", SecretValue.secrets_manager(hubspot.secret_name)
            ),
        )

        def destination(construct_id: str, objects: str, rate: int) -> events.ApiDestination:
            return events.ApiDestination(
                self,
                construct_id,
                connection=connection,
                endpoint=f"{HUBSPOT_API}/crm/v3/objects/{objects}/*",
                http_method=events.HttpMethod.PATCH,
                rate_limit_per_second=rate,
                description=f"HubSpot {objects}, updated by the platform's id",
            )

        answers_rate, accounts_rate = split_rate(hubspot.rate_per_second)
        contacts = destination("HubspotContacts", "contacts", answers_rate)
        names = names_for(RESPONSE_FIELDS, "hubspot", hubspot.properties)
        self._rule(
            "hubspot",
            "HubspotResponseRule",
            scored_pattern(),
            "NPS Response Scored → the HubSpot contact's last NPS answer",
            self._target(
                contacts,
                events.RuleTargetInput.from_object({"properties": body(RESPONSE_FIELDS, names)}),
                "$.detail.contact_id",
                query_string_parameters={"idProperty": hubspot.contact_id_property},
            ),
        )
        self._rule(
            "hubspot",
            "HubspotRetractedRule",
            retracted_pattern(),
            "NPS Response Retracted → which invite's answer the HubSpot contact had withdrawn",
            self._target(
                contacts,
                events.RuleTargetInput.from_object(
                    {"properties": body(RETRACTED_FIELDS, names_for(RETRACTED_FIELDS, "hubspot", hubspot.properties))}
                ),
                "$.detail.contact_id",
                query_string_parameters={"idProperty": hubspot.contact_id_property},
            ),
        )
        erased = {name: "" for fields in (RESPONSE_FIELDS, RETRACTED_FIELDS) for name in self._names(fields, hubspot)}
        erased_at = body(ERASED_FIELDS, names_for(ERASED_FIELDS, "hubspot", hubspot.properties))
        self._rule(
            "hubspot",
            "HubspotErasedRule",
            erased_pattern(),
            "NPS Contact Erased → the HubSpot contact's NPS properties cleared",
            self._target(
                contacts,
                # HubSpot clears a property set to the empty string; the contact record itself is the team's.
                events.RuleTargetInput.from_object({"properties": {**erased, **erased_at}}),
                "$.detail.contact_id",
                query_string_parameters={"idProperty": hubspot.contact_id_property},
            ),
        )
        companies = destination("HubspotCompanies", "companies", accounts_rate)
        health_names = names_for(HEALTH_FIELDS, "hubspot", hubspot.properties)
        for scored, suffix in ((True, "Scored"), (False, "Unscored")):
            self._rule(
                "hubspot",
                f"HubspotHealth{suffix}Rule",
                health_pattern(scored=scored),
                "NPS Account Health Changed → the HubSpot company's NPS health",
                self._target(
                    companies,
                    # HubSpot clears a property set to the empty string.
                    events.RuleTargetInput.from_object(
                        {"properties": body(HEALTH_FIELDS, health_names, null_value=None if scored else "")}
                    ),
                    "$.detail.account_id",
                    query_string_parameters={"idProperty": hubspot.company_id_property},
                ),
            )

    # -- Salesforce ---------------------------------------------------------------------------------------
    def _salesforce(self, salesforce: SalesforceSettings) -> None:
        check_overrides(salesforce.fields, "salesforce", "crmSalesforceFields")
        secret = salesforce.secret_name
        connection = events.Connection(
            self,
            "SalesforceConnection",
            description="Salesforce connected app, OAuth client credentials (from Secrets Manager)",
            authorization=events.Authorization.oauth(
                authorization_endpoint=f"{salesforce.instance_url}/services/oauth2/token",
                # A dynamic reference resolved by CloudFormation at deploy time: no credential in the template.
                client_id=SecretValue.secrets_manager(secret, json_field="client_id").unsafe_unwrap(),
                client_secret=SecretValue.secrets_manager(secret, json_field="client_secret"),
                http_method=events.HttpMethod.POST,
                body_parameters={"grant_type": events.HttpParameter.from_string("client_credentials")},
            ),
        )
        sobjects = f"{salesforce.instance_url}/services/data/{salesforce.api_version}/sobjects"

        def destination(
            construct_id: str,
            objects: str,
            id_field: str,
            rate: int,
            method: events.HttpMethod = events.HttpMethod.PATCH,
        ) -> events.ApiDestination:
            verb = "deleted" if method == events.HttpMethod.DELETE else "upserted"
            return events.ApiDestination(
                self,
                construct_id,
                connection=connection,
                endpoint=f"{sobjects}/{objects}/{id_field}/*",
                http_method=method,
                rate_limit_per_second=rate,
                description=f"Salesforce {objects}, {verb} by {id_field}",
            )

        answers_rate, accounts_rate = split_rate(salesforce.rate_per_second)
        responses = destination(
            "SalesforceResponses", salesforce.response_object, salesforce.response_id_field, answers_rate
        )
        self._rule(
            "salesforce",
            "SalesforceResponseRule",
            scored_pattern(),
            f"NPS Response Scored → Salesforce {salesforce.response_object} (upsert by invite id)",
            self._target(
                responses,
                events.RuleTargetInput.from_object(
                    body(RESPONSE_FIELDS, names_for(RESPONSE_FIELDS, "salesforce", salesforce.fields))
                ),
                "$.detail.invite_id",
            ),
        )
        self._rule(
            "salesforce",
            "SalesforceRetractedRule",
            retracted_pattern("automated"),
            f"NPS Response Retracted → the version that withdrew the Salesforce {salesforce.response_object}",
            self._target(
                responses,
                events.RuleTargetInput.from_object(
                    body(RETRACTED_FIELDS, names_for(RETRACTED_FIELDS, "salesforce", salesforce.fields))
                ),
                "$.detail.invite_id",
            ),
        )
        # An erasure deletes the contact's responses; each removal's retraction deletes its record (a
        # DELETE by external id; erasures are rare, so this destination takes the accounts' share).
        deletes = destination(
            "SalesforceResponseDeletes",
            salesforce.response_object,
            salesforce.response_id_field,
            accounts_rate,
            events.HttpMethod.DELETE,
        )
        self._rule(
            "salesforce",
            "SalesforceRemovedRule",
            retracted_pattern("removed"),
            f"NPS Response Retracted (removed by an erasure) → the Salesforce {salesforce.response_object} deleted",
            self._target(deletes, events.RuleTargetInput.from_object({}), "$.detail.invite_id"),
        )
        accounts = destination("SalesforceAccounts", "Account", salesforce.account_id_field, accounts_rate)
        health_names = names_for(HEALTH_FIELDS, "salesforce", salesforce.fields)
        for scored, suffix in ((True, "Scored"), (False, "Unscored")):
            self._rule(
                "salesforce",
                f"SalesforceHealth{suffix}Rule",
                health_pattern(scored=scored),
                "NPS Account Health Changed → the Salesforce Account's NPS health (by external id)",
                self._target(
                    accounts,
                    # Salesforce clears a field set to null: a constant in the template, not copied.
                    events.RuleTargetInput.from_object(
                        body(HEALTH_FIELDS, health_names, null_value=None if scored else NULL_SENTINEL)
                    ),
                    "$.detail.account_id",
                ),
            )
            if not scored:
                _write_nulls(self.rules[-1])


#: CDK drops ``None`` from ``RuleTargetInput.from_object``; this text stands for a JSON null until
#: :func:`_write_nulls` turns it into one.
NULL_SENTINEL = "__nps_crm_null__"


def _write_nulls(rule: events.Rule) -> None:
    """Turn :data:`NULL_SENTINEL` strings in ``rule``'s (one) target template into JSON ``null``."""
    cfn = rule.node.default_child
    if not isinstance(cfn, events.CfnRule):
        raise TypeError(f"{rule.node.path} has no CfnRule")
    (target,) = Stack.of(rule).resolve(cfn.targets)
    template = target["inputTransformer"]["inputTemplate"]
    quoted = f'"{NULL_SENTINEL}"'
    if quoted not in template:
        raise RuntimeError(f"{rule.node.path}: the null placeholder is missing from its template")
    cfn.add_property_override("Targets.0.InputTransformer.InputTemplate", template.replace(quoted, "null"))


def needs_crm(settings: CrmSettings) -> bool:
    """Whether any CRM destination is on."""
    return settings.hubspot is not None or settings.salesforce is not None
