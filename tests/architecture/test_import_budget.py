"""What each function's cold start may load: the import path is part of its budget (see make bench).

Pydantic alone adds about 90 ms to a cold start. The respond path reads its settings from a dataclass
and its limits from :mod:`nps.kernel.categories` so that it never loads it; the follow-up functions
keep their record as a dataclass and load the event models, surveys, mail rendering, the wave
planner, the invites and suppressions adapters and the link signing only in the steps that use them; deliver
applies the quiet hours without the wave planning rules; the reporting API
reads its documented queries without pydantic (the models validate only the other spellings); the
contacts import loads its contact model with the first file; the hourly digest run decides from the stored
definitions' timing and loads the survey model, reports and templates only for a digest due; an erasure
loads neither the timeline, the web prompt's service nor the wave planner. Moving a constant into a module with models,
or importing a model at module level, must fail here, not only show up as a slower benchmark.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
NEVER_ON_THE_RESPOND_PATH = ("pydantic", "pydantic_core", "jsonschema", "moto")
#: Loaded by the follow-up steps that validate an event, read a survey, render mail, re-survey or record a
#: promoter's referral ask.
NEVER_ON_THE_FOLLOW_UP_PATH = (
    "pydantic",
    "pydantic_core",
    "jinja2",
    "nps.events.models",
    "nps.sending.surveys",
    "nps.sending.contacts",
    "nps.sending.messages",
    "nps.sending.delivery",
    "nps.sending.waves",
    "nps.sending.planning",
    "nps.sending.adapters.invites",
    "nps.sending.adapters.suppressions",
    "nps.accounts.adapters.referrals",
    "nps.accounts.referrals",
    "nps.accounts.health",
    # Signing (the email step's links) and the answering side's modules: the follow-up reads a response only.
    "nps.links.tokens",
    "nps.links.adapters.keyring",
    "nps.responding.adapters.invites",
    "nps.responding.scanners",
    "nps.reasons.answers",
    "nps.sending.digest_timing",
    "moto",
)


def _after_import(module: str, probe: str = "") -> Any:
    """What ``probe`` (an expression over ``sys.modules``) gives after importing ``module`` in a fresh
    interpreter with this checkout's code first on the path."""
    code = f"import json, sys\nimport {module}\nprint(json.dumps({probe or 'sorted(sys.modules)'}))\n"
    path = os.pathsep.join((str(ROOT / "layers"), str(ROOT)))
    environment = {**os.environ, "PYTHONPATH": path, "AWS_DEFAULT_REGION": "us-east-1"}
    completed = subprocess.run(  # noqa: S603 - this interpreter, fixed code
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, check=True
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


#: What the respond function's cold start never loads: a link's pages are answered without the Powertools
#: resolver (whose package imports every resolver, asyncio and all event data classes; about 75 ms).
NEVER_ON_THE_LINK_PATH = (*NEVER_ON_THE_RESPOND_PATH, "aws_lambda_powertools.event_handler", "asyncio")


def test_the_respond_handler_imports_no_pydantic_or_resolver() -> None:
    loaded = set(_after_import("functions.respond.handler"))
    assert sorted(set(NEVER_ON_THE_LINK_PATH) & loaded) == []


def test_a_score_link_and_a_scanners_wrong_method_are_answered_without_the_resolver() -> None:
    # Given a fresh interpreter with the respond handler, its tap route stubbed (no AWS here)
    events = "__import__('local.lambda_events').lambda_events"
    probe = (
        "[(h := sys.modules['functions.respond.handler'])._DIRECT[0][1].__setitem__('GET', lambda token:"
        f" h.Reply(200, 'text/html', token)), *[[(a := h.lambda_handler({events}.http_event(m, p, q),"
        f" {events}.LambdaContext()))['statusCode'], a['body'][:9], a['headers'].get('Allow')] for m, p, q in"
        " [('GET', '/r/tok-1', {'score': '9'}), ('PUT', '/r/tok-1', None)]], sorted(set("
        + repr(NEVER_ON_THE_LINK_PATH)
        + ") & set(sys.modules))][1:]"
    )
    # When a person taps a score, and a link checker sends a method the link does not take
    tap, wrong_method, loaded = _after_import("functions.respond.handler", probe)
    # Then both are answered (the tap's page, the 405 page), and still neither the resolver nor pydantic loaded
    assert tap == [200, "tok-1", None]
    assert wrong_method == [405, "<!doctype", "GET, HEAD, POST"]
    assert loaded == []


@pytest.mark.parametrize("function", ["follow_up", "follow_up_events"])
def test_the_follow_up_handlers_load_no_models_templates_or_planner(function: str) -> None:
    # Given a fresh interpreter, When the handler is imported (as Lambda does at cold start)
    loaded = set(_after_import(f"functions.{function}.handler"))
    # Then nothing only some steps need is loaded, but the follow-up service itself is
    assert sorted(set(NEVER_ON_THE_FOLLOW_UP_PATH) & loaded) == []
    assert {"nps.follow_ups.steps", "nps.follow_ups.wiring"} <= loaded


#: What deliver's cold start never loads: it applies the quiet hours (nps.sending.quiet_hours), not the wave
#: planning rules; the survey and contact models load with the first message that reads them, the SMS
#: opt-out rules (nps.sending.lifting) with the first text to a number suppressed by STOP.
NEVER_ON_THE_DELIVER_PATH = (
    "pydantic",
    "pydantic_core",
    "jinja2",
    "nps.sending.planning",
    "nps.sending.waves",
    "nps.sending.surveys",
    "nps.sending.contacts",
    "nps.sending.digest_timing",
    "nps.sending.lifting",
    "moto",
)


def test_the_deliver_handler_loads_no_models_templates_or_planning_rules() -> None:
    loaded = set(_after_import("functions.deliver.handler"))
    assert sorted(set(NEVER_ON_THE_DELIVER_PATH) & loaded) == []
    assert {"nps.sending.delivery", "nps.sending.quiet_hours"} <= loaded


#: What the reporting API's cold start never loads: its queries in their documented spelling are read
#: without pydantic (nps.reporting.queries); the models and the Powertools resolver (with its validation
#: and OpenAPI machinery) load only for a request the canonical reader refuses, the CSV writer only for
#: an export.
NEVER_ON_THE_REPORT_PATH = (
    "pydantic",
    "pydantic_core",
    "nps.reporting.models",
    "nps.reporting.export",
    "aws_lambda_powertools.event_handler",
    "moto",
)


def test_the_report_handler_loads_no_pydantic_models_or_openapi_machinery_at_import() -> None:
    # Given a fresh interpreter, When the report handler is imported (as Lambda does at cold start)
    loaded = set(_after_import("functions.report.handler"))
    # Then neither pydantic nor the query/answer models nor the OpenAPI machinery are loaded
    assert sorted(set(NEVER_ON_THE_REPORT_PATH) & loaded) == []
    assert "nps.reporting.queries" in loaded


def test_a_canonical_report_request_is_answered_without_pydantic_or_the_resolver() -> None:
    # Given a fresh interpreter with the report handler, its route code stubbed (no AWS here)
    probe = (
        "[(h := sys.modules['functions.report.handler']).BODIES.update(comments=lambda survey, query: {"
        "'survey': survey, 'limit': query.limit}), h.lambda_handler(__import__('local.lambda_events')"
        ".lambda_events.http_event('GET', '/reports/s-1/comments', {'from': '2026-01-01', 'to': '2026-03-31',"
        " 'segment': 'plan=pro', 'category': 'detractor', 'limit': '50'}), __import__('local.lambda_events')"
        ".lambda_events.LambdaContext())['body'], sorted(set("
        + repr(NEVER_ON_THE_REPORT_PATH)
        + ") & set(sys.modules))]"
    )
    # When a request spelled as the API documents it comes
    _, body, loaded = _after_import("functions.report.handler", probe)
    # Then it is answered, and still neither pydantic nor the Powertools resolver has loaded
    assert json.loads(body) == {"survey": "s-1", "limit": 50}
    assert loaded == []


def test_the_import_contacts_handler_loads_the_contact_model_with_the_first_file_only() -> None:
    # The contact model (pydantic) is needed to parse a file, not to start: an import of a file loads it.
    loaded = set(_after_import("functions.import_contacts.handler"))
    assert sorted({"pydantic", "pydantic_core", "nps.sending.contacts", "nps.sending.importing"} & loaded) == []


#: What the web prompt's cold start never loads: its documented requests are answered without the
#: Powertools resolver (whose package imports every resolver, asyncio and all event data classes).
NEVER_ON_THE_WEB_PATH = (*NEVER_ON_THE_RESPOND_PATH, "jinja2", "aws_lambda_powertools.event_handler", "asyncio")
#: Loaded by the web prompt and the share pages only when an invite is created (a prompt shown): the
#: aggregate keys it counts in, with the wave planner and the aggregation behind them.
WITH_A_NEW_INVITE = ("nps.sending.adapters.invites", "nps.sending.planning", "nps.scoring.aggregation")


def test_the_web_handler_imports_no_pydantic_jinja2_or_resolver() -> None:
    # The eligibility endpoint is called on every page view of the host app: its cold start stays small.
    loaded = set(_after_import("functions.web.handler"))
    assert sorted({*NEVER_ON_THE_WEB_PATH, *WITH_A_NEW_INVITE} & loaded) == []


def test_a_documented_web_request_is_answered_without_the_resolver() -> None:
    # Given a fresh interpreter with the web handler, its route code stubbed (no AWS here)
    probe = (
        "[(h := sys.modules['functions.web.handler']).__setattr__('post', lambda event, survey_id, action:"
        " h._json(200, {'survey': survey_id, 'action': action})), h.lambda_handler(__import__("
        "'local.lambda_events').lambda_events.http_event('POST', '/w/v1/surveys/s-1/eligibility', body='{}'),"
        " __import__('local.lambda_events').lambda_events.LambdaContext())['body'], sorted(set("
        + repr(NEVER_ON_THE_WEB_PATH)
        + ") & set(sys.modules))]"
    )
    # When the widget's eligibility call comes
    _, body, loaded = _after_import("functions.web.handler", probe)
    # Then it is answered, and still neither the Powertools resolver nor pydantic has loaded
    assert json.loads(body) == {"survey": "s-1", "action": "eligibility"}
    assert loaded == []


#: Loaded by the share pages only when a comment is saved: the survey's theme tagger and its stemmers.
WITH_A_COMMENT = ("nps.responding.adapters.taxonomy", "nps.reasons.themes")


def test_the_share_handler_imports_no_pydantic_jinja2_segno_or_resolver_before_its_first_page() -> None:
    # The share pages render with Jinja2 (loaded on the first page), read survey definitions without
    # pydantic, never load the command line's QR library, and are answered without the Powertools resolver;
    # a page view never tags a comment.
    loaded = set(_after_import("functions.share.handler"))
    assert sorted({*NEVER_ON_THE_WEB_PATH, *WITH_A_NEW_INVITE, *WITH_A_COMMENT, "segno"} & loaded) == []


def test_a_share_page_request_is_answered_without_the_resolver() -> None:
    # Given a fresh interpreter with the share handler, its route code stubbed (no AWS here)
    probe = (
        "[(h := sys.modules['functions.share.handler']).__setattr__('question', lambda survey_id:"
        " h.Reply(200, 'text/html', survey_id)), h.lambda_handler(__import__('local.lambda_events')"
        ".lambda_events.http_event('GET', '/s/s-1'), __import__('local.lambda_events').lambda_events"
        ".LambdaContext())['body'], sorted(set(" + repr(NEVER_ON_THE_WEB_PATH) + ") & set(sys.modules))]"
    )
    # When a person opens the link's page
    _, body, loaded = _after_import("functions.share.handler", probe)
    # Then it is answered, and still neither the Powertools resolver nor pydantic has loaded
    assert body == "s-1"
    assert loaded == []


def test_the_unsubscribe_handler_imports_no_pydantic_or_resolver() -> None:
    # Its links are answered without the Powertools resolver (loaded only for any other request).
    loaded = set(_after_import("functions.unsubscribe.handler"))
    assert sorted({*NEVER_ON_THE_RESPOND_PATH, "aws_lambda_powertools.event_handler", "asyncio"} & loaded) == []


def test_an_unsubscribe_link_is_answered_without_the_resolver() -> None:
    # Given a fresh interpreter with the unsubscribe handler, its route code stubbed (no AWS here)
    never = (*NEVER_ON_THE_RESPOND_PATH, "aws_lambda_powertools.event_handler", "asyncio")
    probe = (
        "[(h := sys.modules['functions.unsubscribe.handler'])._ROUTES.__setitem__('GET', lambda token:"
        " h.Reply(200, 'text/html', token)), h.lambda_handler(__import__('local.lambda_events')"
        ".lambda_events.http_event('GET', '/u/tok-1'), __import__('local.lambda_events').lambda_events"
        ".LambdaContext())['body'], sorted(set(" + repr(never) + ") & set(sys.modules))]"
    )
    # When a person opens the link
    _, body, loaded = _after_import("functions.unsubscribe.handler", probe)
    # Then it is answered, and still neither the Powertools resolver nor pydantic has loaded
    assert body == "tok-1"
    assert loaded == []


#: The referral redirect answers a tap in a mail app: no resolver, no pydantic, no survey model on its path.
NEVER_ON_THE_REFERRAL_PATH = (
    "pydantic",
    "pydantic_core",
    "aws_lambda_powertools.event_handler",
    "nps.events.models",
    "nps.sending.surveys",
    "moto",
)


def test_the_referral_handler_loads_no_resolver_and_no_pydantic() -> None:
    # Given a fresh interpreter, When the referral handler is imported (its cold start)
    loaded = set(_after_import("functions.referral.handler"))
    # Then neither the resolver nor pydantic (nor any model built on it) is loaded
    assert sorted(set(NEVER_ON_THE_REFERRAL_PATH) & loaded) == []
    assert "nps.referrals.redirect" in loaded


#: The churn function checks ``Customer Churned`` by hand (nps.events.consumed): the model stays the contract.
NEVER_ON_THE_CHURN_PATH = ("pydantic", "pydantic_core", "nps.events.models", "nps.events.fields", "moto")


def test_the_churn_handler_loads_no_pydantic_or_event_models() -> None:
    # Given a fresh interpreter, When the churn handler is imported (its cold start)
    loaded = set(_after_import("functions.churn.handler"))
    # Then neither pydantic nor the event models are loaded, but the hand parser of the contract is
    assert sorted(set(NEVER_ON_THE_CHURN_PATH) & loaded) == []
    assert "nps.events.consumed" in loaded


def test_a_churn_is_read_and_a_malformed_one_refused_without_pydantic() -> None:
    # Given a fresh interpreter with the churn handler
    good: dict[str, Any] = {"detail-type": "Customer Churned", "source": "crm", "id": "e-1"}
    good |= {"detail": {"contact_id": "ana", "churned_at": "2026-11-30", "reason": "Price"}}
    bad = good | {"detail": {"contact_id": "ana", "churned_at": "2026-11-30", "email": "x"}}
    batch = {"Records": [{"messageId": "m-1", "body": json.dumps(bad), "eventSource": "aws:sqs"}]}
    probe = (
        "[str((h := sys.modules['functions.churn.handler']).notice_of(" + repr(json.dumps(good)) + ")),"
        " h.lambda_handler(" + repr(batch) + ", __import__('local.lambda_events').lambda_events.LambdaContext()),"
        " sorted(set(" + repr(NEVER_ON_THE_CHURN_PATH) + ") & set(sys.modules))]"
    )
    # When a valid event is read and a batch holding a malformed one is processed
    notice, response, loaded = _after_import("functions.churn.handler", probe)
    # Then the valid one gives its notice, the malformed one is a partial batch failure (its DLQ path),
    # and pydantic was never loaded
    assert "churn_id='e-1'" in notice
    assert "reason='price'" in notice
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert loaded == []


#: The contact functions answer their documented requests without the resolver (its validation and OpenAPI
#: machinery) or the reporting API's pydantic error model: both load only for a request the direct door refuses.
NEVER_ON_THE_CONTACT_PATH = (
    "aws_lambda_powertools.event_handler",
    "nps.reporting.models",
    "moto",
)


@pytest.mark.parametrize("function", ["contact_timeline", "erase_contact"])
def test_the_contact_handlers_load_no_resolver_at_import(function: str) -> None:
    # Given a fresh interpreter, When the handler is imported (its cold start)
    loaded = set(_after_import(f"functions.{function}.handler"))
    # Then the resolver and the reporting models are not loaded
    assert sorted(set(NEVER_ON_THE_CONTACT_PATH) & loaded) == []


#: What the hourly digest run loads only when a digest is due: most runs decide from the stored definitions'
#: timing (nps.sending.digest_timing) that none is, without the survey model, the figures, the content, the
#: templates, the event models or the mail adapters.
NEVER_ON_THE_DIGEST_PATH = (
    "pydantic",
    "pydantic_core",
    "jinja2",
    "nps.sending.surveys",
    "nps.reporting.figures",
    "nps.reporting.html",
    "nps.reporting.accounts",
    "nps.reporting.adapters.reads",
    "nps.accounts.health",
    "nps.digests.content",
    "nps.digests.message",
    "nps.digests.adapters.health",
    "nps.events.models",
    "nps.sending.adapters.channels",
    "nps.sending.adapters.suppressions",
    "moto",
)


def test_the_digest_handler_loads_no_survey_model_reports_or_templates_at_import() -> None:
    # Given a fresh interpreter, When the digest handler is imported (its cold start)
    loaded = set(_after_import("functions.digest.handler"))
    # Then nothing only a due digest needs is loaded, but the schedule and the light definition reader are
    assert sorted(set(NEVER_ON_THE_DIGEST_PATH) & loaded) == []
    assert {"nps.digests.schedule", "nps.sending.digest_timing"} <= loaded


def test_an_hourly_run_with_no_digest_due_loads_none_of_what_a_due_digest_needs() -> None:
    # Given a fresh interpreter with the digest service wired, its surveys table stubbed (no AWS here):
    # a daily digest at 08:00 UTC, a weekly one on Mondays, a survey without a digest, a paused one
    definitions = [
        {"survey_id": "s-daily", "active": True, "digest": {"frequency": "daily", "hour": 8, "time_zone": "UTC"}},
        {"survey_id": "s-weekly", "digest": {"frequency": "weekly", "weekday": "monday", "hour": 10}},
        {"survey_id": "s-none", "active": True, "digest": None},
        {"survey_id": "s-paused", "active": False, "digest": {"frequency": "daily", "hour": 10}},
    ]
    probe = (
        "[(t := __import__('nps.sending.digest_timing', fromlist=['StoredSurvey'])),"
        " (s := __import__('functions.digest.handler', fromlist=['x']).digest_service(surveys_table='s',"
        " aggregates_table='a', responses_table='r', accounts_table='c', suppressions_table='p',"
        " event_bus_name='b')), s.__setattr__('surveys', type('Stored', (), {'stored': lambda self: ["
        "t.StoredSurvey.read(d) for d in " + repr([json.dumps(d) for d in definitions]) + "]})()),"
        " s.run(__import__('datetime').datetime(2026, 12, 3, 10, 0, tzinfo=__import__('datetime').UTC)),"
        " sorted(set(" + repr(NEVER_ON_THE_DIGEST_PATH) + ") & set(sys.modules))][3:]"
    )
    # When the run of Thursday 10:00 UTC decides (no digest is due then)
    outcomes, loaded = _after_import("functions.digest.handler", probe)
    # Then it sends nothing, and none of what a due digest needs has loaded
    assert outcomes == []
    assert loaded == []


#: An erasure deletes from every store, but never reads a timeline, runs the web prompt or plans a wave: the
#: keyed ids it recomputes come from light modules (nps.channels.web_ids, nps.sending.invite_ids).
NEVER_ON_THE_ERASURE_PATH = (
    *NEVER_ON_THE_CONTACT_PATH,
    "pydantic",
    "nps.contacts.timeline",
    "nps.channels.service",
    "nps.channels.eligibility",
    "nps.sending.planning",
    "nps.accounts.churn",
    "nps.responding.service",
)


def test_the_erase_contact_handler_loads_no_timeline_web_service_or_planner() -> None:
    # Given a fresh interpreter, When the handler is imported (its cold start)
    loaded = set(_after_import("functions.erase_contact.handler"))
    # Then the erasure and its stores are loaded, but nothing an erasure never runs
    assert sorted(set(NEVER_ON_THE_ERASURE_PATH) & loaded) == []
    assert {"nps.contacts.erasure", "nps.contacts.adapters.records"} <= loaded


def test_what_an_erasure_loads_when_it_is_served_is_not_the_planner_either() -> None:
    # Given the handler, When the modules the stores import as the erasure runs are loaded (the recorded
    # waves' prefix, the survey definitions' reader)
    probe = (
        "[__import__('nps.sending.adapters.waves'), __import__('nps.sending.adapters.surveys'),"
        " sorted(set(" + repr(NEVER_ON_THE_ERASURE_PATH) + ") & set(sys.modules))][-1]"
    )
    # Then still no planner, timeline or web prompt service: the request does not pay what the start saved
    assert _after_import("functions.erase_contact.handler", probe) == []
