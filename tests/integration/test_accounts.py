"""Accounts through a whole wave: contacts imported with accounts and roles → invites → taps → stream →
the account report, checked against a recount of the responses table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest

from local import demo
from local import demo_sending as ds
from local.environment import LocalStack
from local.lambda_events import LambdaContext, http_event
from nps.accounts.adapters.profiles import DynamoAccountProfiles
from nps.accounts.health import Health, Reason
from nps.kernel import aws
from nps.kernel.periods import Granularity
from nps.reporting.accounts import accounts_report
from nps.reporting.adapters.reads import DynamoAggregateReader
from nps.reporting.ranges import DateRange

START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SPAN = DateRange(date(2026, 10, 1), date(2026, 12, 31))
CONTACTS = (
    "contact_id,email,account_id,role,revenue,plan\n"
    "c1,c1@example.com,acme,Decision Maker,120000,pro\n"
    "c2,c2@example.com,acme,user,,pro\n"
    "c3,c3@example.com,acme,user,,pro\n"
    "c4,c4@example.com,beta,DM,30000,basic\n"
    "c5,c5@example.com,beta,user,30000,basic\n"
    "c6,c6@example.com,gamma,user,5000,basic\n"
    "c7,c7@example.com,,,,basic\n"
)
SCORES = {"c1": 3, "c2": 10, "c3": 9, "c4": 10, "c5": 9, "c7": 8}


@pytest.fixture
def clock(platform: LocalStack) -> Iterator[ds.Clock]:
    clock = ds.Clock(START)
    with ds.handlers(clock):
        yield clock


def run_wave(platform: LocalStack, clock: ds.Clock, scores: dict[str, int]) -> None:
    ds.create_survey(platform, {**ds.DEMO_SURVEY, "reminder_days": None, "channels": ["email"]})
    ds.import_csv(platform, CONTACTS)
    ds.fire_wave(ds.SURVEY_ID, clock.now)
    ds.drain_send_queue(platform, clock)
    links = {link.invite_id: link for link in ds.sent_links(platform)}
    contact_of = {item["invite_id"]["S"]: item["contact_id"]["S"] for item in ds.invite_items(platform)}
    for invite_id, link in links.items():
        contact = contact_of[invite_id]
        if contact in scores:
            demo.at(clock.now + timedelta(hours=2))
            assert demo.Browser("en-US").tap(urlsplit(link.score_page).path, scores[contact]) == 200
    demo.score_stream(platform)


def recount(platform: LocalStack) -> dict[str, Counter[str]]:
    """Per account: categories of its counted responses and its decision makers' (``dm_*``)."""
    out: dict[str, Counter[str]] = {}
    for item in aws.client("dynamodb").scan(TableName=platform.tables["responses"])["Items"]:
        if "score" not in item or "account_id" not in item or not item.get("counted", {}).get("BOOL", True):
            continue
        score = int(item["score"]["N"])
        category = "promoters" if score >= 9 else "passives" if score >= 7 else "detractors"
        counts = out.setdefault(item["account_id"]["S"], Counter())
        counts[category] += 1
        if item.get("role", {}).get("S") == "decision_maker":
            counts[f"dm_{category}"] += 1
    return out


def report(platform: LocalStack) -> Any:
    return accounts_report(
        DynamoAggregateReader(platform.tables["aggregates"]),
        DynamoAccountProfiles(platform.tables["accounts"]),
        ds.SURVEY_ID,
        SPAN,
    )


def test_accounts_are_reported_by_health_and_equal_a_recount(platform: LocalStack, clock: ds.Clock) -> None:
    # Given contacts of three accounts (and one without) who answered a wave, a decision maker of acme a detractor
    run_wave(platform, clock, SCORES)
    # When the account report is read from the aggregates
    got = report(platform)
    by_id = {account.account_id: account for account in got.accounts}
    # Then every account invited is listed, the one in need first, with its reason
    assert [a.account_id for a in got.accounts] == ["acme", "beta", "gamma"]
    assert by_id["acme"].health is Health.AT_RISK
    assert by_id["acme"].reasons == (Reason.DECISION_MAKER_DETRACTOR,)
    assert by_id["beta"].health is Health.HEALTHY
    assert by_id["gamma"].health is Health.NO_ANSWERS
    # And each account's counts equal a recount of the responses table
    counted = recount(platform)
    for account_id, account in by_id.items():
        quarter = account.periods[-1]
        expected = counted.get(account_id, Counter())
        assert (quarter.counts.promoters, quarter.counts.passives, quarter.counts.detractors) == (
            expected["promoters"],
            expected["passives"],
            expected["detractors"],
        )
        assert quarter.decision_makers.detractors == expected["dm_detractors"]
    assert by_id["acme"].periods[-1].invites_sent == 3
    assert by_id["gamma"].periods[-1].invites_sent == 1
    # And revenue comes from the import: acme 120000 (given once), beta 30000 (given twice, the same)
    assert by_id["acme"].revenue == Decimal(120000)
    assert by_id["beta"].revenue == Decimal(30000)
    # And revenue-weighted NPS weighs acme (+33.3) and beta (+100): (120000·1/3 + 30000·1) / 150000
    assert got.weighted.nps == pytest.approx(100 * (120000 / 3 + 30000) / 150000)
    # And the contact without an account is in no account
    assert "c7" not in {a.account_id for a in got.accounts}


def test_a_changed_score_moves_the_account_and_its_decision_maker(platform: LocalStack, clock: ds.Clock) -> None:
    run_wave(platform, clock, SCORES)
    # When acme's decision maker changes their mind (3 → 9)
    links = ds.sent_links(platform)
    contact_of = {item["invite_id"]["S"]: item["contact_id"]["S"] for item in ds.invite_items(platform)}
    c1 = next(link for link in links if contact_of[link.invite_id] == "c1")
    demo.at(clock.now + timedelta(hours=3))
    assert demo.Browser("en-US").tap(urlsplit(c1.score_page).path, 9) == 200
    demo.score_stream(platform)
    # Then the account is no longer at risk, and its counts still equal a recount
    acme = next(a for a in report(platform).accounts if a.account_id == "acme")
    assert acme.health is Health.HEALTHY
    assert acme.periods[-1].decision_makers.detractors == 0
    assert acme.periods[-1].decision_makers.promoters == 1
    assert acme.periods[-1].counts.promoters == recount(platform)["acme"]["promoters"] == 3


def test_waves_answered_the_morning_after_they_were_sent_are_not_silent(platform: LocalStack, clock: ds.Clock) -> None:
    # Given an account's contact sent a wave on the evening of 30 September and another on 30 November, and
    # answering each the next morning: the invites count in September and November, the answers in October
    # and December (invites by when they were sent, answers by when they were given)
    survey = {**ds.DEMO_SURVEY, "reminder_days": None, "channels": ["email"], "fatigue_days": 0}
    ds.create_survey(platform, survey | {"quiet_hours": {"start": "03:00", "end": "03:00:01"}})
    ds.import_csv(platform, "contact_id,email,account_id,role\nd1,d1@example.com,delta,Decision Maker\n")
    answered: set[str] = set()
    for sent in (datetime(2026, 9, 30, 21, 0, tzinfo=UTC), datetime(2026, 11, 30, 21, 0, tzinfo=UTC)):
        clock.now = sent
        ds.fire_wave(ds.SURVEY_ID, sent)
        ds.drain_send_queue(platform, clock)
        (link,) = [link for link in ds.sent_links(platform) if link.invite_id not in answered]
        demo.at(sent + timedelta(hours=11))
        assert demo.Browser("en-US").tap(urlsplit(link.score_page).path, 9) == 200
        answered.add(link.invite_id)
    demo.score_stream(platform)
    # When the account report is read by month
    got = accounts_report(
        DynamoAggregateReader(platform.tables["aggregates"]),
        DynamoAccountProfiles(platform.tables["accounts"]),
        ds.SURVEY_ID,
        DateRange(date(2026, 9, 1), date(2026, 12, 31)),
        Granularity.MONTH,
    )
    (delta,) = got.accounts
    assert [(p.period, p.invites_sent, p.counts.n) for p in delta.periods] == [
        ("2026-09", 1, 0),
        ("2026-10", 0, 1),
        ("2026-11", 1, 0),
        ("2026-12", 0, 1),
    ]
    # Then both waves count as answered: the account is healthy, not "no answer in 2 waves"
    assert delta.reasons == ()
    assert delta.health is Health.HEALTHY


def test_the_report_api_lists_accounts_through_both_doors(platform: LocalStack, clock: ds.Clock) -> None:
    from functions.report import handler

    run_wave(platform, clock, SCORES)
    query = {"from": SPAN.first.isoformat(), "to": SPAN.last.isoformat()}
    path = f"/reports/{ds.SURVEY_ID}/accounts"
    request = handler.canonical_request(http_event("GET", path, query))
    assert request is not None
    direct = handler.answer_directly(*request)
    validated = handler.validating_resolver().resolve(http_event("GET", path, query), LambdaContext())
    assert direct == validated
    assert direct["statusCode"] == 200
    refused = handler.lambda_handler(http_event("GET", path, {**query, "granularity": "week"}), LambdaContext())
    assert refused["statusCode"] == 422
    assert "granularity" in refused["body"]


def test_the_html_report_leaves_the_accounts_out_above_the_cap_and_still_writes_the_rest(
    platform: LocalStack, clock: ds.Clock, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from nps.cli.main import main as cli
    from nps.reporting import accounts as accounts_module

    # Given a survey whose accounts are more than a report lists (the cap lowered to 2 for the test)
    run_wave(platform, clock, SCORES)
    monkeypatch.setattr(accounts_module, "MAX_ACCOUNTS", 2)
    capsys.readouterr()
    # When the HTML report is written
    out = tmp_path / "report.html"
    argv = ["html", ds.SURVEY_ID, "--from", SPAN.first.isoformat(), "--to", SPAN.last.isoformat(), "--out", str(out)]
    status = cli(["--local", "--prefix", "test", *argv], in_process=True)
    # Then the report is written without the Accounts section, and stderr says why in one line
    assert status == 0
    html = out.read_text("utf-8")
    assert "<h1" in html
    assert 'id="accounts"' not in html
    err = capsys.readouterr().err
    assert "Accounts section left out" in err
    assert "at most 2" in err
