"""The referral redirect and joins through the real handlers on moto: clicks recorded once, scanners and
bad links recording nothing, joins matched to the latest ask, KPIs from the counters."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from functions.referral import handler as referral
from functions.referral_joins import handler as referral_joins
from local import referrals as people
from local.environment import LocalStack
from nps.accounts.adapters.referrals import Answer, DynamoReferralLedger
from nps.accounts.referrals import ReferralCounts, counter_keys, referral_kpis
from nps.events.names import EVENT_SOURCE, REFERRAL_CLICKED
from nps.kernel import aws
from nps.links.tokens import Keyring, Purpose, sign
from nps.sending.adapters.surveys import DynamoSurveyRepository
from nps.sending.surveys import Survey
from tests.support.taps import issue_invite

REFERRAL_URL = "https://acme.example/refer?from=nps"
REVIEW_URL = "https://reviews.example/acme"
SURVEY: dict[str, Any] = {
    "survey_id": "survey-1",
    "name": "Relationship",
    "brand_name": "Acme",
    "sender": "surveys@example.com",
    "channels": ["email"],
    "website_url": "https://acme.example",
    "follow_ups": {"promoter": {"referral_url": REFERRAL_URL, "review_url": REVIEW_URL}},
}


@pytest.fixture
def stack(platform: LocalStack) -> Iterator[LocalStack]:
    referral.service.cache_clear()
    referral_joins.ledger.cache_clear()
    DynamoSurveyRepository(platform.tables["surveys"]).put(Survey.model_validate(SURVEY))
    yield platform
    referral.service.cache_clear()
    referral_joins.ledger.cache_clear()


def promoter(stack: LocalStack, invite_id: str, *, asked_seconds_ago: float = 600, ask: bool = True) -> Answer:
    """A promoter who answered 10 through the respond function and (``ask``) was asked for a referral."""
    invite = issue_invite(stack, invite_id)
    assert invite.tap(10)["statusCode"] == 200
    item = aws.client("dynamodb").get_item(
        TableName=stack.tables["responses"], Key={"invite_id": {"S": invite_id}}, ConsistentRead=True
    )["Item"]
    answer = Answer(
        survey_id="survey-1",
        invite_id=invite_id,
        contact_id=invite.invite.contact_id,
        first_answered_at=datetime.fromisoformat(item["first_answered_at"]["S"].replace("Z", "+00:00")),
    )
    if ask:
        ledger(stack).record_ask(answer, datetime.now(UTC) - timedelta(seconds=asked_seconds_ago))
    return answer


def ledger(stack: LocalStack) -> DynamoReferralLedger:
    return DynamoReferralLedger(stack.tables["accounts"], stack.tables["aggregates"])


def counters(stack: LocalStack, answer: Answer) -> dict[str, int]:
    """The referral counters on the answer's survey-wide month aggregate."""
    key = next(k for k in counter_keys(answer.survey_id, answer.first_answered_at) if k.granularity == "month")
    item = (
        aws.client("dynamodb")
        .get_item(TableName=stack.tables["aggregates"], Key={"pk": {"S": key.pk}, "period": {"S": key.period}})
        .get("Item", {})
    )
    return {name: int(value["N"]) for name, value in item.items() if name.startswith("referral_")}


def every_aggregate_counts(stack: LocalStack, answer: Answer, counter: str, expected: int) -> bool:
    for key in answer.keys:
        item = (
            aws.client("dynamodb")
            .get_item(TableName=stack.tables["aggregates"], Key={"pk": {"S": key.pk}, "period": {"S": key.period}})
            .get("Item", {})
        )
        if int(item.get(counter, {}).get("N", "0")) != expected:
            return False
        if item.get("segment", {}).get("S") != key.segment or item.get("survey_id", {}).get("S") != key.survey_id:
            return False
    return True


def published(stack: LocalStack) -> list[dict[str, Any]]:
    sqs = aws.client("sqs")
    url = stack.__dict__.setdefault("_clicked_queue", "")
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []) if url else []
    return [json.loads(m["Body"]) for m in messages]


@pytest.fixture
def clicked_events(stack: LocalStack) -> str:
    sqs, events = aws.client("sqs"), aws.client("events")
    url: str = sqs.create_queue(QueueName="referral-clicked-subscriber")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": [EVENT_SOURCE], "detail-type": [REFERRAL_CLICKED]}
    events.put_rule(Name="clicked", EventBusName=stack.bus_name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule="clicked", EventBusName=stack.bus_name, Targets=[{"Id": "q", "Arn": arn}])
    stack.__dict__["_clicked_queue"] = url
    return url


def test_a_persons_first_click_is_recorded_once_and_redirects_to_the_surveys_address(
    stack: LocalStack, clicked_events: str
) -> None:
    # Given a promoter asked ten minutes ago
    answer = promoter(stack, "inv-ref-1")
    token = people.redirect_link(stack, "inv-ref-1", "referral")
    # When they click the referral link, then click it again
    first = people.click(token)
    second = people.click(token)
    # Then both go to the survey's referral address, and the click counted once on every aggregate
    assert first["statusCode"] == second["statusCode"] == 303
    assert first["headers"]["Location"] == second["headers"]["Location"] == REFERRAL_URL
    assert counters(stack, answer) == {"referral_asked": 1, "referral_clicked": 1}
    assert every_aggregate_counts(stack, answer, "referral_clicked", 1)
    # And one NPS Referral Clicked was published, without the address
    events = published(stack)
    assert [e["detail"]["target"] for e in events] == ["referral"]
    assert events[0]["detail"]["event_id"] == "inv-ref-1:clicked:referral"
    assert "acme.example" not in json.dumps(events[0])


def test_the_review_link_after_the_referral_link_marks_its_target_but_counts_the_promoter_once(
    stack: LocalStack, clicked_events: str
) -> None:
    answer = promoter(stack, "inv-ref-2")
    assert people.click(people.redirect_link(stack, "inv-ref-2", "referral"))["statusCode"] == 303
    # A minute later (two links at once would be a scanner's burst)
    referral.service().clock = lambda: datetime.now(UTC) + timedelta(minutes=1)
    review = people.click(people.redirect_link(stack, "inv-ref-2", "review"))
    assert review["headers"]["Location"] == REVIEW_URL
    assert counters(stack, answer)["referral_clicked"] == 1
    assert ledger(stack).markers("inv-ref-2").clicked == {"referral", "review"}
    assert sorted(e["detail"]["target"] for e in published(stack)) == ["referral", "review"]


def test_the_landing_page_continues_by_itself_under_a_strict_policy(stack: LocalStack) -> None:
    promoter(stack, "inv-ref-3")
    page = people.request("GET", people.redirect_link(stack, "inv-ref-3", "review"))
    assert page["statusCode"] == 200
    policy = page["headers"]["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'sha256-" in policy
    assert "form-action 'self' https://reviews.example" in policy
    assert 'method="post"' in page["body"]
    assert "<button" in page["body"]
    assert REVIEW_URL not in page["body"]  # the page never names the target


def test_head_and_get_record_nothing(stack: LocalStack) -> None:
    answer = promoter(stack, "inv-ref-4")
    token = people.redirect_link(stack, "inv-ref-4", "referral")
    head = people.request("HEAD", token)
    assert head["statusCode"] == 200
    assert head["body"] == ""
    assert people.request("GET", token)["statusCode"] == 200
    assert counters(stack, answer) == {"referral_asked": 1}


@pytest.mark.parametrize(
    "headers",
    [
        {"user-agent": "Mozilla/5.0 (compatible; Microsoft SafeLinks)"},
        {"user-agent": ""},
        {"sec-purpose": "prefetch"},
        {"sec-fetch-site": "cross-site"},
    ],
)
def test_a_scanners_post_redirects_but_never_counts(stack: LocalStack, headers: dict[str, str]) -> None:
    answer = promoter(stack, "inv-ref-5")
    answer_page = people.click(people.redirect_link(stack, "inv-ref-5", "referral"), headers)
    assert answer_page["statusCode"] == 303
    assert counters(stack, answer).get("referral_clicked", 0) == 0
    assert ledger(stack).markers("inv-ref-5").clicked == frozenset()


def test_a_click_seconds_after_the_ask_is_a_scanners(stack: LocalStack) -> None:
    answer = promoter(stack, "inv-ref-6", asked_seconds_ago=1)
    assert people.click(people.redirect_link(stack, "inv-ref-6", "referral"))["statusCode"] == 303
    assert counters(stack, answer).get("referral_clicked", 0) == 0


def test_both_links_fetched_at_once_is_a_burst(stack: LocalStack) -> None:
    answer = promoter(stack, "inv-ref-7")
    referral_token = people.redirect_link(stack, "inv-ref-7", "referral")
    review_token = people.redirect_link(stack, "inv-ref-7", "review")
    # A scanner fetches every link of the message, then (running the page's script) posts
    assert people.request("GET", referral_token)["statusCode"] == 200
    assert people.request("GET", review_token)["statusCode"] == 200
    assert people.request("POST", referral_token, people.FORM_POST)["statusCode"] == 303
    assert counters(stack, answer).get("referral_clicked", 0) == 0


def other_keyring() -> Keyring:
    return Keyring(keys={"k1": b"x" * 48}, active_kid="k1")


def forged(token: str) -> str:
    """``token`` with one character of its signature changed (a full 6-bit character, not the last one,
    whose low bits may be padding)."""
    return token[:-5] + ("x" if token[-5] != "x" else "y") + token[-4:]


@pytest.mark.parametrize(
    "make_token",
    [
        lambda stack: people.redirect_link(stack, "inv-ref-8", "referral")[:-3],  # truncated
        lambda stack: forged(people.redirect_link(stack, "inv-ref-8", "referral")),
        lambda stack: sign(other_keyring(), Purpose.REDIRECT, "inv-ref-8", 4_000_000_000, "referral"),
        lambda stack: sign(stack.keyring, Purpose.RESPOND, "inv-ref-8", 4_000_000_000),  # another purpose
        lambda stack: "not-a-token",
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST", "HEAD"])
def test_a_bad_token_is_a_400_page_and_records_nothing(stack: LocalStack, make_token: Any, method: str) -> None:
    answer = promoter(stack, "inv-ref-8")
    token = make_token(stack)
    assert token != people.redirect_link(stack, "inv-ref-8", "referral")
    result = people.request(method, token, people.FORM_POST)
    assert result["statusCode"] == 400
    assert "Location" not in result["headers"]
    if method != "HEAD":
        assert "This link is not valid" in result["body"]
    assert counters(stack, answer) == {"referral_asked": 1}
    assert ledger(stack).markers("inv-ref-8").opens == ()


def test_an_expired_link_is_a_410_page_with_the_brands_website_never_the_target(stack: LocalStack) -> None:
    answer = promoter(stack, "inv-ref-9")
    token = people.redirect_link(stack, "inv-ref-9", "referral", lifetime_seconds=-10)
    for method in ("GET", "POST"):
        result = people.request(method, token, people.FORM_POST)
        assert result["statusCode"] == 410
        assert 'href="https://acme.example"' in result["body"]
        assert REFERRAL_URL not in result["body"]
        assert "Location" not in result["headers"]
    assert counters(stack, answer) == {"referral_asked": 1}


def test_an_unknown_invite_or_a_survey_without_the_target_is_a_404_page(stack: LocalStack) -> None:
    assert people.request("GET", people.redirect_link(stack, "inv-nobody", "referral"))["statusCode"] == 404
    promoter(stack, "inv-ref-10")
    definition = SURVEY | {"follow_ups": {"promoter": {"referral_url": REFERRAL_URL}}}
    DynamoSurveyRepository(stack.tables["surveys"]).put(Survey.model_validate(definition))
    referral.service.cache_clear()
    result = people.request("POST", people.redirect_link(stack, "inv-ref-10", "review"), people.FORM_POST)
    assert result["statusCode"] == 404
    assert "Location" not in result["headers"]


@pytest.mark.parametrize(
    "address",
    ["//evil.com", "\\\\evil", "javascript:alert(1)", "https://evil.com\r\nSet-Cookie: a=b", "https:///evil.com",
     "https://a@evil.com", "http://acme.example", "https://evil.com\\@acme.example"],
)  # fmt: skip
def test_a_definition_written_around_validation_never_opens_a_redirect(stack: LocalStack, address: str) -> None:
    # Given a stored definition whose referral address is not a safe https address (written directly)
    promoter(stack, "inv-ref-11")
    definition = SURVEY | {"follow_ups": {"promoter": {"referral_url": address}}}
    aws.client("dynamodb").put_item(
        TableName=stack.tables["surveys"],
        Item={"survey_id": {"S": "survey-1"}, "sk": {"S": "definition"}, "definition": {"S": json.dumps(definition)}},
    )
    referral.service.cache_clear()
    # When the link is followed, there is no redirect at all
    result = people.request("POST", people.redirect_link(stack, "inv-ref-11", "referral"), people.FORM_POST)
    assert result["statusCode"] == 404
    assert "Location" not in result["headers"]
    assert all("\n" not in v and "\r" not in v for v in result["headers"].values())


def test_joins_are_recorded_once_on_the_latest_ask_and_unasked_joins_apart(stack: LocalStack) -> None:
    answer = promoter(stack, "inv-ref-12")
    joined_at = datetime.now(UTC) + timedelta(days=40)  # late: months after the answer, still its cohort
    people.emit_join(stack, answer.contact_id, joined_at, "r-1")
    people.emit_join(stack, answer.contact_id, joined_at, "r-1")  # the sender's duplicate
    people.emit_join(stack, "contact-never-asked", joined_at)
    results = people.drain_joins(stack)
    assert all(r == {"batchItemFailures": []} for r in results)
    assert counters(stack, answer) == {"referral_asked": 1, "referral_joined": 1}
    assert every_aggregate_counts(stack, answer, "referral_joined", 1)
    assert ledger(stack).unasked_joins([joined_at.strftime("%Y-%m")]) == 1
    kpis = referral_kpis([("m", ReferralCounts.of(counters(stack, answer)))])
    assert kpis.total.participation.percent == 100.0


def test_a_join_that_breaks_the_contract_is_a_failed_message(stack: LocalStack) -> None:
    aws.client("events").put_events(
        Entries=[
            {
                "Source": people.REFERRAL_SOURCE,
                "DetailType": "Referral Joined",
                "Detail": json.dumps({"schema_version": "1.0", "contact_id": "a b", "joined_at": "yesterday"}),
                "EventBusName": stack.bus_name,
            }
        ]
    )
    results = people.drain_joins(stack)
    assert len(results[-1]["batchItemFailures"]) == 1


def test_the_referral_report_equals_a_recount_of_the_markers_through_both_doors(
    stack: LocalStack, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from datetime import date

    from functions.report import handler as report
    from local.lambda_events import LambdaContext, http_event

    # Given three promoters asked, two of whom clicked (one of them twice), one joined, and a join never asked
    answers = [promoter(stack, f"inv-rep-{n}") for n in range(3)]
    for n in (0, 1):
        assert people.click(people.redirect_link(stack, f"inv-rep-{n}", "referral"))["statusCode"] == 303
    people.click(people.redirect_link(stack, "inv-rep-0", "referral"))
    people.emit_join(stack, answers[0].contact_id, datetime.now(UTC))
    people.emit_join(stack, "contact-never-asked", datetime.now(UTC))
    people.drain_joins(stack)
    markers = [ledger(stack).markers(a.invite_id) for a in answers]
    recount = (
        sum(m.asked_at is not None for m in markers),
        sum(bool(m.clicked) for m in markers),
        sum(m.joined for m in markers),
    )
    # When the report is asked for the month, directly and through the validating resolver
    today = date.today()
    query = {"from": (today - timedelta(days=3)).isoformat(), "to": today.isoformat(), "granularity": "month"}
    event = http_event("GET", "/reports/survey-1/referrals", query)
    request = report.canonical_request(event)
    assert request is not None
    direct = report.answer_directly(*request)
    assert direct == report.validating_resolver().resolve(event, LambdaContext())
    # Then the range's counts are the recount, with the participation rate and click-through beside them
    body = json.loads(direct["body"])
    total = body["total"]
    assert (total["asked"], total["clicked"], total["joined"]) == recount == (3, 2, 1)
    assert total["participation"]["count"] == 1
    assert total["participation"]["n"] == 3
    assert total["click_through"]["count"] == 2
    assert body["joined_unasked"] == 1
    assert sum(p["asked"] for p in body["periods"]) == 3
    # And the CLI prints the same rates and writes the API's rows as CSV
    from nps.cli.main import main as cli

    out_file = tmp_path / "referrals.csv"
    argv = ["referrals", "survey-1", "--from", query["from"], "--to", query["to"], "--csv", str(out_file)]
    assert cli(["--local", "--prefix", "test", *argv], in_process=True) == 0
    printed = capsys.readouterr().out
    assert "Participation rate 33.3%" in printed
    assert "1 joined of 3 promoters asked" in printed
    assert "Joins without an ask (counted apart): 1" in printed
    rows = list(csv.DictReader(io.StringIO(out_file.read_text("utf-8-sig"))))
    assert rows[-1]["period"] == "total"
    assert (rows[-1]["asked"], rows[-1]["clicked"], rows[-1]["joined"]) == ("3", "2", "1")
    assert float(rows[-1]["participation_low"]) == pytest.approx(total["participation"]["low"], abs=0.01)
    # And the HTML report has the referral section with the same figures
    page = tmp_path / "report.html"
    argv = ["html", "survey-1", "--from", query["from"], "--to", query["to"], "--out", str(page)]
    assert cli(["--local", "--prefix", "test", *argv], in_process=True) == 0
    html = page.read_text("utf-8")
    assert '<h2 id="referrals-title">Referrals</h2>' in html
    assert "1 joined of 3 promoters asked" in html
    assert "1 join without an ask, counted apart." in html


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/g/abc/extra"), ("PUT", "/g/abc"), ("GET", "/g/"), ("GET", "/r/abc"), ("DELETE", "/g/abc")],
)
def test_any_other_request_is_the_404_page(stack: LocalStack, method: str, path: str) -> None:
    from local.lambda_events import LambdaContext, http_event

    answer = referral.lambda_handler(http_event(method, path, headers=people.BROWSER), LambdaContext())
    assert answer["statusCode"] == 404
    assert "Page not found" in answer["body"]
    assert "Location" not in answer["headers"]


@pytest.mark.parametrize("referral_id", ["r-7", None])
def test_a_join_replayed_after_a_newer_ask_is_still_counted_once(stack: LocalStack, referral_id: str | None) -> None:
    # Given a promoter asked, whose join is recorded on that ask
    answer = promoter(stack, "inv-ref-30")
    joined_at = datetime.now(UTC)
    people.emit_join(stack, answer.contact_id, joined_at, referral_id)
    people.drain_joins(stack)
    # When the same contact is asked again after a later answer, and the same join is delivered again
    # (an SQS redelivery, a DLQ redrive or an archive replay of the sender's event)
    later = Answer(answer.survey_id, "inv-ref-31", answer.contact_id, answer.first_answered_at)
    assert ledger(stack).record_ask(later, datetime.now(UTC))
    people.emit_join(stack, answer.contact_id, joined_at, referral_id)
    results = people.drain_joins(stack)
    # Then the one join is counted once, on the ask it was first matched to
    assert results == [{"batchItemFailures": []}]
    assert counters(stack, answer) == {"referral_asked": 2, "referral_joined": 1}
    assert [ledger(stack).markers(i).joined for i in ("inv-ref-30", "inv-ref-31")] == [True, False]


def test_an_unasked_join_replayed_after_an_ask_stays_counted_apart(stack: LocalStack) -> None:
    # Given a join of a contact never asked, counted apart
    joined_at = datetime.now(UTC)
    answer = promoter(stack, "inv-ref-32", ask=False)
    people.emit_join(stack, answer.contact_id, joined_at, "r-8")
    people.drain_joins(stack)
    # When the contact is asked afterwards and the same join arrives again
    assert ledger(stack).record_ask(answer, datetime.now(UTC))
    people.emit_join(stack, answer.contact_id, joined_at, "r-8")
    people.drain_joins(stack)
    # Then it is still one join without an ask, and none on the ask
    assert counters(stack, answer) == {"referral_asked": 1}
    assert ledger(stack).unasked_joins([joined_at.strftime("%Y-%m")]) == 1
    assert not ledger(stack).markers("inv-ref-32").joined
