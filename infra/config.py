"""Deployment settings from CDK context (``cdk deploy -c stage=prod``), with safe defaults."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from constructs import Node

#: Response API requests per second for each invite sent per second, while a wave is delivered.
#: Mail security scanners fetch a message's links as it arrives (11 score links, the preview link and
#: HEADs: about 13 requests) in roughly a third of business mailboxes (≈ 4.3 requests per send), and
#: people who answer within minutes of the send make a GET, the page's POST and often a comment
#: (≈ 3 requests, a fifth of them: ≈ 0.6). Rounded up: 5. docs/capacity.md, "Waves".
TAPS_PER_SEND = 5
#: The API throttle never goes below these (requests/s): a stack sending slowly still takes bursts of
#: taps from a forwarded message or a scanner re-checking old mail.
API_RATE_FLOOR = 50
API_BURST_FLOOR = 100
#: Sends one deliver instance makes per second (about 100 ms of reads, the claim, the SES call and the
#: recording transaction each, with margin): the concurrency the send rate needs.
SENDS_PER_DELIVER_INSTANCE = 5
DEFAULT_SEND_RATE = 10.0


def api_rate_for(send_rate_per_second: float) -> int:
    """The API's steady request rate for a send rate: ``sends/s × TAPS_PER_SEND``, at least the floor."""
    return max(API_RATE_FLOOR, math.ceil(send_rate_per_second * TAPS_PER_SEND))


def api_burst_for(api_rate_limit: int) -> int:
    """The API's burst: twice its steady rate (a scanner fetches a message's links within a second)."""
    return max(API_BURST_FLOOR, 2 * api_rate_limit)


def deliver_concurrency_for(send_rate_per_second: float) -> int:
    """Deliver instances needed to reach the send rate, at least SQS's minimum maximum concurrency (2)."""
    return max(2, math.ceil(send_rate_per_second / SENDS_PER_DELIVER_INSTANCE))


@dataclass(frozen=True)
class StackConfig:
    stage: str = "dev"
    default_locale: str = "en"
    link_lifetime_days: int = 30
    #: Emails + SMS per second across all deliver instances (at most the SES account's sending rate).
    send_rate_per_second: float = DEFAULT_SEND_RATE
    #: The response API's throttle; by default derived from the send rate (:func:`api_rate_for`).
    api_rate_limit: int = API_RATE_FLOOR
    api_burst_limit: int = API_BURST_FLOOR
    log_retention_days: int = 90
    #: Address subscribed to the alarm topic (optional; the subscription must be confirmed by mail).
    alarm_email: str | None = None
    #: survey id → alarm when its NPS over the alarm window falls below this value.
    nps_alarms: dict[str, float] = field(default_factory=dict)
    alarm_window_hours: int = 24
    #: Alarm when the detractor share over an hour exceeds this percentage…
    detractor_share_alarm: float = 40.0
    #: …or the NPS alarm fires, but only with at least this many responses in the window.
    alarm_min_responses: int = 20
    #: Custom domain for the links in messages (e.g. ``nps.example.com``) and its ACM certificate ARN
    #: (in the stack's region). Without them, links use the API's execute-api address.
    link_domain: str | None = None
    link_certificate_arn: str | None = None
    #: Address subscribed to the detractor alerts topic (optional).
    follow_up_alert_email: str | None = None
    #: Slack or any webhook that receives each detractor alert (an EventBridge API destination), and the
    #: Secrets Manager secret holding the value of its ``alert_webhook_header`` header.
    alert_webhook_url: str | None = None
    alert_webhook_secret_name: str | None = None
    alert_webhook_header: str = "Authorization"
    #: Sentiment and key phrases of every comment with Amazon Comprehend (``-c commentSentiment=true``):
    #: off by default, because it sends comments to another AWS service and costs per comment
    #: (docs/comment-sentiment.md).
    comment_sentiment: bool = False
    #: CRM destinations (off by default): HubSpot with ``-c crmHubspot=true``, Salesforce with
    #: ``-c crmSalesforceInstanceUrl=https://<domain>.my.salesforce.com`` (docs/crm.md).
    crm: CrmSettings = field(default_factory=lambda: CrmSettings())

    @classmethod
    def from_context(cls, node: Node) -> StackConfig:
        def get(name: str, default: object) -> object:
            value = node.try_get_context(name)
            return default if value is None else value

        send_rate = context_number(
            "sendRatePerSecond", get("sendRatePerSecond", DEFAULT_SEND_RATE), minimum=0.001, maximum=MAX_SEND_RATE
        )
        api_rate = int(context_number("apiRateLimit", get("apiRateLimit", api_rate_for(send_rate)), whole=True))
        return cls(
            stage=str(get("stage", cls.stage)),
            default_locale=str(get("defaultLocale", cls.default_locale)),
            link_lifetime_days=int(
                context_number("linkLifetimeDays", get("linkLifetimeDays", cls.link_lifetime_days), whole=True)
            ),
            send_rate_per_second=send_rate,
            api_rate_limit=api_rate,
            api_burst_limit=int(
                context_number("apiBurstLimit", get("apiBurstLimit", api_burst_for(api_rate)), whole=True)
            ),
            log_retention_days=int(
                context_number("logRetentionDays", get("logRetentionDays", cls.log_retention_days), whole=True)
            ),
            alarm_email=str(get("alarmEmail", "")) or None,
            nps_alarms=_thresholds(get("npsAlarms", {})),
            alarm_window_hours=int(
                context_number("alarmWindowHours", get("alarmWindowHours", cls.alarm_window_hours), whole=True)
            ),
            detractor_share_alarm=context_number(
                "detractorShareAlarm", get("detractorShareAlarm", cls.detractor_share_alarm), minimum=0, maximum=100
            ),
            alarm_min_responses=int(
                context_number(
                    "alarmMinResponses", get("alarmMinResponses", cls.alarm_min_responses), whole=True, minimum=0
                )
            ),
            link_domain=str(get("linkDomain", "")) or None,
            link_certificate_arn=str(get("linkCertificateArn", "")) or None,
            follow_up_alert_email=str(get("followUpAlertEmail", "")) or None,
            alert_webhook_url=str(get("alertWebhookUrl", "")) or None,
            alert_webhook_secret_name=str(get("alertWebhookSecretName", "")) or None,
            alert_webhook_header=str(get("alertWebhookHeader", cls.alert_webhook_header)),
            comment_sentiment=context_flag("commentSentiment", node.try_get_context("commentSentiment")),
            crm=crm_settings(node.try_get_context),
        )


#: The highest ``sendRatePerSecond`` deliver can reach: 1,000 instances (SQS's maximum concurrency) of
#: ``SENDS_PER_DELIVER_INSTANCE`` sends a second. (The invites' in-flight index caps one stack nearer
#: 500 a second: docs/capacity.md, "Waves".)
MAX_SEND_RATE = 1000.0 * SENDS_PER_DELIVER_INSTANCE


def context_number(
    name: str, value: object, *, whole: bool = False, minimum: float = 1, maximum: float | None = None
) -> float:
    """A numeric CDK context value ``name``, from text (``-c name=10``) or a JSON number (cdk.json).

    ``whole`` requires a whole number. Raises ``ValueError`` naming the setting (the synth stops with it)
    for text that is not a number, NaN or infinity, a fraction where a whole number is needed, or a value
    below ``minimum`` or above ``maximum``: a throttle of 0 requests a second or a negative lifetime would
    otherwise deploy.
    """
    kind = "a whole number" if whole else "a number"
    bounds = f"at least {minimum:g}" + (f" and at most {maximum:g}" if maximum is not None else "")
    if isinstance(value, bool):
        raise ValueError(f"{name} must be {kind}, {bounds}, not {value!r}")
    try:
        number = float(str(value).strip())
    except ValueError:
        raise ValueError(f"{name} must be {kind}, {bounds}, not {value!r}") from None
    if not math.isfinite(number) or (whole and not number.is_integer()):
        raise ValueError(f"{name} must be {kind}, {bounds}, not {value!r}")
    if number < minimum or (maximum is not None and number > maximum):
        raise ValueError(f"{name} must be {bounds}, not {value!r}")
    return number


def _thresholds(value: object) -> dict[str, float]:
    """``npsAlarms``: a JSON object (or its text, from ``-c npsAlarms='{"survey": 20}'``) of thresholds."""
    parsed = json.loads(value) if isinstance(value, str) else value
    if not isinstance(parsed, dict):
        raise ValueError('npsAlarms must be a JSON object such as {"onboarding": 20}')
    return {str(survey): float(threshold) for survey, threshold in parsed.items()}


def trigger_detail_types(value: object, default: tuple[str, ...]) -> tuple[str, ...]:
    """``triggerDetailTypes``: a JSON list of detail types (or its text, from
    ``-c 'triggerDetailTypes=["Ticket Closed"]'``); ``default`` when unset.

    Raises ``ValueError`` (the synth stops with it) for text that is not JSON, a value that is not a
    list, or an entry that is not a non-empty string: a bare string would otherwise become a list of
    its characters and match no event.
    """
    if value is None:
        return default
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ValueError(
                f'triggerDetailTypes must be a JSON list such as ["Ticket Closed"], not {value!r} '
                "(quote it for the shell: -c 'triggerDetailTypes=[\"Ticket Closed\"]')"
            ) from None
    if not isinstance(value, list) or not value:
        raise ValueError(f'triggerDetailTypes must be a non-empty JSON list such as ["Ticket Closed"], not {value!r}')
    if not all(isinstance(entry, str) and entry.strip() for entry in value):
        raise ValueError(f"triggerDetailTypes entries must be non-empty strings: {value!r}")
    return tuple(value)


#: SQS event sources run at least two instances at once (``ScalingConfig.MaximumConcurrency``: 2–1000).
MIN_DELIVER_CONCURRENCY = 2
MAX_DELIVER_CONCURRENCY = 1000


def deliver_concurrency(value: object, default: int = 2) -> int:
    """``deliverConcurrency``: deliver instances at once, 2–1000 (``default`` when unset: see
    :func:`deliver_concurrency_for`).

    Raises ``ValueError`` for a value that is not a whole number or is outside 2–1000; SQS's event
    source mapping cannot cap a function at one instance, so ``1`` is refused rather than raised silently.
    """
    if value is None:
        return max(MIN_DELIVER_CONCURRENCY, default)
    try:
        number = int(str(value))
    except ValueError:
        raise ValueError(f"deliverConcurrency must be a whole number from 2 to 1000, not {value!r}") from None
    if not MIN_DELIVER_CONCURRENCY <= number <= MAX_DELIVER_CONCURRENCY:
        raise ValueError(
            f"deliverConcurrency must be from 2 to 1000 (SQS runs at least 2 instances at once), not {number}"
        )
    return number


_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0", ""})


def context_flag(name: str, value: object) -> bool:
    """A true/false CDK context value ``name`` (``False`` when unset).

    Accepts ``true``/``false`` (any case; also ``yes``/``no``, ``1``/``0``) as text from ``-c`` or as a
    JSON boolean from cdk.json. Raises ``ValueError`` (the synth stops with it) for anything else, so a
    misspelt value never silently deploys the opposite of what was meant.
    """
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{name} must be true or false (e.g. -c {name}=true), not {value!r}")


def keep_retiring_indexes(value: object) -> bool:
    """``keepRetiringIndexes``: whether the tables keep the previous release's indexes (``False`` when unset).

    Set it (``-c keepRetiringIndexes=true``) for the one deploy that upgrades a stack from the previous
    release: CloudFormation creates or deletes one global secondary index per table per update, so that
    deploy adds the new indexes and keeps the old ones, and the next deploy without it deletes them
    (docs/operations.md, "Upgrading the responses' index"). A fresh stack never needs it. Parsed by
    :func:`context_flag`: a misspelt value never silently deletes the indexes an upgrade still reads.
    """
    return context_flag("keepRetiringIndexes", value)


# -- CRM destinations (docs/crm.md) ------------------------------------------------------------------------
#: A HubSpot property's internal name (lower case, digits, ``_``) and a Salesforce API name (``Name`` or
#: ``Name__c``): both go into a JSON key of an input template and, for id properties, into a URL, so
#: nothing else is accepted.
HUBSPOT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
SALESFORCE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")
#: A Secrets Manager secret name (it goes into a ``{{resolve:secretsmanager:…}}`` reference).
SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
SALESFORCE_API_VERSION = re.compile(r"^v[0-9]{2}\.0$")
#: ``https://<my domain>.my.salesforce.com`` (or a sandbox's ``--<name>.sandbox.my.salesforce.com``; Government
#: Cloud Plus: ``.my.salesforce.mil``): a Salesforce host only, no path, port, query or credentials. The
#: connection sends the connected app's client secret to this host, so a typo (``.salesforce.co``) or another
#: host stops the synth rather than handing the secret to whoever answers there.
SALESFORCE_INSTANCE = re.compile(
    r"^https://(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+my\.salesforce\.(?:com|mil)$"
)
#: HubSpot allows a private app 100 requests every 10 seconds (Free and Starter; 190 on Professional and
#: Enterprise): 10 per second fits every tier.
HUBSPOT_RATE_PER_SECOND = 10
#: Salesforce sets no per-second limit but a daily allocation per org (Enterprise: 100,000 requests per
#: 24 hours plus 1,000 per user licence): one answer a second (plus one for the rare account health
#: change) stays about inside the smallest allocation.
SALESFORCE_RATE_PER_SECOND = 2
#: A CRM's rate is shared by its two destinations (answers and accounts), each at least 1 per second.
MIN_RATE_PER_SECOND = 2
MAX_RATE_PER_SECOND = 300


@dataclass(frozen=True)
class HubspotSettings:
    """Where HubSpot writes go: the private-app token's secret, the unique properties that hold the
    platform's contact and account ids, the properties written (logical field → internal name) and the
    invocation rate (requests per second)."""

    secret_name: str = "nps/crm/hubspot"  # noqa: S105 - the secret's name, not its value
    contact_id_property: str = "nps_contact_id"
    company_id_property: str = "nps_account_id"
    rate_per_second: int = HUBSPOT_RATE_PER_SECOND
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SalesforceSettings:
    """Where Salesforce writes go: the instance, the connected app's secret (JSON with ``client_id`` and
    ``client_secret``), the REST API version, the custom response object and its external id field, the
    Account external id field, the fields written (logical field → API name) and the rate per second."""

    instance_url: str
    secret_name: str = "nps/crm/salesforce"  # noqa: S105 - the secret's name, not its value
    api_version: str = "v62.0"
    response_object: str = "NPS_Response__c"
    response_id_field: str = "NPS_Invite_Id__c"
    account_id_field: str = "NPS_Account_Id__c"
    rate_per_second: int = SALESFORCE_RATE_PER_SECOND
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CrmSettings:
    """The CRM destinations that are on (``None``: off, the default)."""

    hubspot: HubspotSettings | None = None
    salesforce: SalesforceSettings | None = None


def crm_settings(get: Callable[[str], object]) -> CrmSettings:
    """The CRM destinations from CDK context (``get`` is ``node.try_get_context``).

    HubSpot is on with ``crmHubspot=true``; Salesforce with ``crmSalesforceInstanceUrl``. Raises
    ``ValueError`` (the synth stops with it) for a name that is not a valid property/API name, an
    instance URL that is not ``https://host``, an API version not like ``v62.0``, a rate outside
    2–300 per second, or a field map that is not a JSON object of names.
    """
    hubspot = None
    if context_flag("crmHubspot", get("crmHubspot")):
        hubspot_name = partial(_name, get, pattern=HUBSPOT_NAME)
        hubspot = HubspotSettings(
            secret_name=_name(get, "crmHubspotSecretName", HubspotSettings.secret_name, pattern=SECRET_NAME),
            contact_id_property=hubspot_name("crmHubspotContactIdProperty", HubspotSettings.contact_id_property),
            company_id_property=hubspot_name("crmHubspotCompanyIdProperty", HubspotSettings.company_id_property),
            rate_per_second=_rate(get, "crmHubspotRatePerSecond", HUBSPOT_RATE_PER_SECOND),
            properties=_names(get, "crmHubspotProperties", HUBSPOT_NAME),
        )
    salesforce = None
    instance = get("crmSalesforceInstanceUrl")
    if instance not in (None, ""):
        url = str(instance).rstrip("/")
        if not SALESFORCE_INSTANCE.fullmatch(url):
            raise ValueError(
                "crmSalesforceInstanceUrl must be https://<my domain>.my.salesforce.com (a Salesforce host, no path), "
                f"not {instance!r}"
            )
        version = _text(get, "crmSalesforceApiVersion", SalesforceSettings.api_version)
        if not SALESFORCE_API_VERSION.fullmatch(version):
            raise ValueError(f"crmSalesforceApiVersion must look like v62.0, not {version!r}")
        salesforce_name = partial(_name, get, pattern=SALESFORCE_NAME)
        salesforce = SalesforceSettings(
            instance_url=url,
            secret_name=_name(get, "crmSalesforceSecretName", SalesforceSettings.secret_name, pattern=SECRET_NAME),
            api_version=version,
            response_object=salesforce_name("crmSalesforceResponseObject", SalesforceSettings.response_object),
            response_id_field=salesforce_name("crmSalesforceResponseIdField", SalesforceSettings.response_id_field),
            account_id_field=salesforce_name("crmSalesforceAccountIdField", SalesforceSettings.account_id_field),
            rate_per_second=_rate(get, "crmSalesforceRatePerSecond", SALESFORCE_RATE_PER_SECOND),
            fields=_names(get, "crmSalesforceFields", SALESFORCE_NAME),
        )
    return CrmSettings(hubspot=hubspot, salesforce=salesforce)


def _text(get: Callable[[str], object], key: str, default: str) -> str:
    value = get(key)
    text = default if value in (None, "") else str(value)
    if not text.strip():
        raise ValueError(f"{key} must not be blank")
    return text


def _name(get: Callable[[str], object], key: str, default: str, *, pattern: re.Pattern[str]) -> str:
    text = _text(get, key, default)
    if not pattern.fullmatch(text):
        raise ValueError(f"{key} must match {pattern.pattern}, not {text!r}")
    return text


def _rate(get: Callable[[str], object], key: str, default: int) -> int:
    value = get(key)
    if value in (None, ""):
        return default
    try:
        rate = int(str(value))
    except ValueError:
        raise ValueError(f"{key} must be a whole number of requests per second, not {value!r}") from None
    if not MIN_RATE_PER_SECOND <= rate <= MAX_RATE_PER_SECOND:
        raise ValueError(
            f"{key} must be from {MIN_RATE_PER_SECOND} to {MAX_RATE_PER_SECOND} requests per second, not {rate}"
        )
    return rate


def _names(get: Callable[[str], object], key: str, pattern: re.Pattern[str]) -> dict[str, str]:
    """A JSON object (or its text, from ``-c key='{"score": "my_score"}'``) of logical field → CRM name."""
    value = get(key)
    if value in (None, ""):
        return {}
    try:
        parsed = json.loads(value) if isinstance(value, str) else value
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise ValueError(f'{key} must be a JSON object such as {{"score": "my_score"}}, not {value!r}')
    for logical, name in parsed.items():
        if not isinstance(name, str) or not pattern.fullmatch(name):
            raise ValueError(f"{key}: {logical!r} must name a CRM property matching {pattern.pattern}, not {name!r}")
    return {str(k): str(v) for k, v in parsed.items()}
