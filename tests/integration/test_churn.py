"""Customer Churned on moto, through the bus, the local rule and the real churn handler.

Every call the handler makes is judged against the churn function's synthesized role by the permission
recorder (the invites' ``by_contact`` index, responses by key, the aggregates table, the surveys scan, the
accounts table's markers and records).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from functions.churn import handler as churn
from local.churn import emit_churn_events, run_churn_queue
from local.environment import LocalStack
from nps.accounts.adapters.churn import DynamoChurnStore, account_slice_pk
from nps.kernel import aws
from nps.kernel.periods import Granularity, iso_timestamp
from nps.scoring.aggregation import AggregateKey
from tests.support.taps import issue_invite

T0 = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def stack(platform: LocalStack) -> Iterator[LocalStack]:
    churn.store.cache_clear()
    yield platform
    churn.store.cache_clear()


def put(stack: LocalStack, table: str, item: dict[str, Any]) -> None:
    aws.client("dynamodb").put_item(TableName=stack.tables[table], Item=item)


def answered(
    stack: LocalStack,
    invite_id: str,
    contact_id: str,
    survey_id: str,
    score: int | None,
    at: datetime,
    *,
    first_at: datetime | None = None,
    counted: bool = True,
    account_id: str | None = None,
) -> None:
    """An invite sent a day before ``at`` and its response (``score`` None: sent, never answered)."""
    put(
        stack,
        "invites",
        {
            "invite_id": {"S": invite_id},
            "contact_id": {"S": contact_id},
            "survey_id": {"S": survey_id},
            "sent_at": {"S": iso_timestamp(at - timedelta(days=1))},
        },
    )
    if score is None:
        return
    item: dict[str, Any] = {
        "invite_id": {"S": invite_id},
        "survey_id": {"S": survey_id},
        "contact_id": {"S": contact_id},
        "score": {"N": str(score)},
        "counted": {"BOOL": counted},
        "first_answered_at": {"S": iso_timestamp(first_at or at)},
        "answered_at": {"S": iso_timestamp(at)},
    }
    if account_id is not None:
        item["account_id"] = {"S": account_id}
    put(stack, "responses", item)


def accounts_items(stack: LocalStack, prefix: str = "") -> list[dict[str, Any]]:
    items = aws.client("dynamodb").scan(TableName=stack.tables["accounts"])["Items"]
    return sorted((i for i in items if i["pk"]["S"].startswith(prefix)), key=lambda i: (i["pk"]["S"], i["sk"]["S"]))


def churned(stack: LocalStack, *details: dict[str, Any]) -> list[str]:
    emit_churn_events(stack, list(details))
    return run_churn_queue(stack)


def test_a_contact_churn_records_the_last_counted_answer_before_it_per_survey_once(stack: LocalStack) -> None:
    # Given a contact who answered survey a twice (9, then 3), once automated (not counted), and survey b once
    answered(stack, "i-a1", "ana", "a", 9, T0)
    answered(stack, "i-a2", "ana", "a", 3, T0 + timedelta(days=40), account_id="acme")
    answered(stack, "i-a3", "ana", "a", 10, T0 + timedelta(days=50), counted=False)
    answered(stack, "i-b1", "ana", "b", 8, T0 + timedelta(days=5))
    answered(stack, "i-c1", "ana", "c", None, T0)  # sent, never answered
    # When billing says she churned, and then says it again with another id
    when = T0 + timedelta(days=60)
    assert churned(stack, {"churn_id": "ch-1", "contact_id": "ana", "churned_at": when.isoformat()}) == []
    assert churned(stack, {"churn_id": "ch-2", "contact_id": "ana", "churned_at": iso_timestamp(when)}) == []
    # Then one record per answered survey, from the last counted answer, and one marker
    records = accounts_items(stack, "churn#")
    assert [(r["pk"]["S"], r["last_category"]["S"], r["last_score"]["N"]) for r in records] == [
        ("churn#a", "detractor", "3"),
        ("churn#b", "passive", "8"),
    ]
    assert records[0]["sk"]["S"] == f"{iso_timestamp(T0 + timedelta(days=40))}#contact#ana"
    assert records[0]["account_id"]["S"] == "acme"
    assert "account_id" not in records[1]
    assert {r["churn_id"]["S"] for r in records} == {"ch-1"}
    (marker,) = accounts_items(stack, "contact#")
    assert (marker["sk"]["S"], marker["state"]["S"], marker["matched"]["BOOL"]) == ("churn", "done", True)


def test_a_late_event_ignores_answers_given_after_the_churn(stack: LocalStack) -> None:
    # Given a contact who answered 9 before churning and 2 after (the event arrives late)
    answered(stack, "i-1", "bo", "a", 9, T0)
    answered(stack, "i-2", "bo", "a", 2, T0 + timedelta(days=30))
    # When the churn, dated between the two, arrives now
    assert churned(stack, {"contact_id": "bo", "churned_at": (T0 + timedelta(days=10)).date().isoformat()}) == []
    # Then the record holds the answer before the churn (and the event id is the dedupe key)
    (record,) = accounts_items(stack, "churn#")
    assert (record["last_category"]["S"], record["churned_at"]["S"]) == ("promoter", "2026-09-11T00:00:00.000Z")
    assert record["churn_id"]["S"]


def test_a_contact_never_surveyed_gets_a_marker_without_a_match(stack: LocalStack) -> None:
    assert churned(stack, {"contact_id": "nobody", "churned_at": "2026-10-01", "reason": "Price"}) == []
    (marker,) = accounts_items(stack, "contact#")
    assert marker["matched"]["BOOL"] is False
    (unmatched,) = accounts_items(stack, "churn#")
    assert unmatched["pk"]["S"] == "churn#*"
    assert unmatched["reason"]["S"] == "price"


def test_a_malformed_future_or_unknown_account_churn_fails_alone(
    stack: LocalStack, caplog: pytest.LogCaptureFixture
) -> None:
    # Given one good churn and four bad ones in the same batch
    future = datetime.now(UTC) + timedelta(days=3)
    failed = churned(
        stack,
        {"contact_id": "ana", "churned_at": "2026-10-01"},
        {"churned_at": "2026-10-01"},  # names nobody
        {"contact_id": "ana", "churned_at": "2026-10-01", "email": "ana@example.com"},  # PII
        {"contact_id": "cy", "churned_at": future.isoformat()},
        {"account_id": "ghost", "churned_at": "2026-10-01"},  # no profile, no answers
    )
    # Then only the four bad ones are reported failed (SQS retries them, then the DLQ), the good one recorded
    assert len(failed) == 4
    assert [m["pk"]["S"] for m in accounts_items(stack, "contact#")] == ["contact#ana"]
    assert accounts_items(stack, "account#") == []
    # And the log says why, naming the fields at fault, never their values
    refused = [vars(r) for r in caplog.records if r.getMessage() == "churn refused"]
    reasons = sorted(str(r.get("reason")) for r in refused)
    assert len(reasons) == 4
    assert "the detail does not match the Customer Churned schema: email" in reasons
    assert "churned_at is more than a day in the future" in reasons
    assert "ana@example.com" not in str([vars(r) for r in caplog.records])


def test_an_account_churn_takes_the_mean_of_its_latest_quarter_before_the_churn(stack: LocalStack) -> None:
    # Given surveys a and b, the account's quarter slices (a: Q2 promoters, Q3 a mean of 7.0; b: Q4 only)
    for survey_id in ("a", "b"):
        put(stack, "surveys", {"survey_id": {"S": survey_id}, "sk": {"S": "definition"}})
    assert account_slice_pk("a", "acme") == AggregateKey("a", Granularity.QUARTER, "2026-Q3", "account_id=acme").pk

    def quarter(survey_id: str, period: str, **scores: int) -> None:
        counters = {name: {"N": str(value)} for name, value in scores.items()}
        put(stack, "aggregates", {"pk": {"S": account_slice_pk(survey_id, "acme")}, "period": {"S": period}} | counters)

    quarter("a", "2026-Q2", score_10=3)
    quarter("a", "2026-Q3", score_10=1, score_4=1, score_7=1)
    quarter("b", "2026-Q4", score_2=2)
    # When the account churns in Q3 (twice)
    detail = {"account_id": "acme", "churned_at": "2026-08-15T12:00:00"}
    assert churned(stack, detail, detail) == []
    # Then survey a records Q3's mean (7.0: passive) dated at the churn; survey b (after the churn) nothing
    (record,) = accounts_items(stack, "churn#")
    assert (record["pk"]["S"], record["kind"]["S"], record["last_category"]["S"]) == ("churn#a", "account", "passive")
    assert record["sk"]["S"] == "2026-08-15T12:00:00.000Z#account#acme"
    assert (record["quarter"]["S"], record["answers"]["N"], record["last_score"]["N"]) == ("2026-Q3", "3", "7")
    (marker,) = accounts_items(stack, "account#")
    assert marker["matched"]["BOOL"] is True


def test_an_account_with_a_profile_and_no_answers_is_unmatched(stack: LocalStack) -> None:
    put(stack, "accounts", {"pk": {"S": "account#quiet"}, "sk": {"S": "profile"}})
    assert churned(stack, {"account_id": "quiet", "contact_id": "q1", "churned_at": "2026-10-01"}) == []
    assert [(i["pk"]["S"], i["matched"]["BOOL"]) for i in accounts_items(stack, "c")] == [
        ("churn#*", False),
        ("churn#*", False),
        ("contact#q1", False),
    ]


def test_a_contact_with_more_surveys_than_one_transaction_holds_is_recorded_in_chunks_once(stack: LocalStack) -> None:
    # Given a contact who answered 250 surveys
    for n in range(250):
        answered(stack, f"i-{n:03d}", "many", f"s{n:03d}", n % 11, T0 + timedelta(minutes=n))
    store = DynamoChurnStore(
        invites_table=stack.tables["invites"],
        responses_table=stack.tables["responses"],
        aggregates_table=stack.tables["aggregates"],
        surveys_table=stack.tables["surveys"],
        accounts_table=stack.tables["accounts"],
    )
    churn.store.cache_clear()
    # When the handler records the churn (the recorder checks each transaction's 100-item limit)
    assert churned(stack, {"contact_id": "many", "churned_at": "2026-12-01"}) == []
    # Then every survey has its record, the marker is done, and the writes took three transactions
    assert len(accounts_items(stack, "churn#")) == 250
    (marker,) = accounts_items(stack, "contact#")
    assert (marker["state"]["S"], marker["surveys"]["N"]) == ("done", "250")
    assert churn.store().transactions == 3  # 99 + 99 + 52 records, the marker in each
    # And a store bounded at 40 items a transaction splits the same plan into 7 (39 records each + marker)
    from nps.accounts.churn import ChurnNotice, Kind, contact_records, plan

    notice = ChurnNotice("x", datetime(2026, 12, 1, tzinfo=UTC), contact_id="many")
    records = contact_records(notice, store.contact_answers("many"))
    assert [len(c) for c in plan(notice, Kind.CONTACT, records).chunks(max_items=40)] == [39] * 6 + [16]


def test_a_tapped_answer_is_found_through_the_invites_index(stack: LocalStack) -> None:
    # Given an answer recorded by the real respond handler
    issued = issue_invite(stack, "tap-1", survey_id="survey-1")
    assert issued.tap(2)["statusCode"] == 200
    # When its contact churns tomorrow
    tomorrow = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    assert churned(stack, {"contact_id": issued.invite.contact_id, "churned_at": tomorrow}) == []
    # Then the churn holds that answer
    (record,) = accounts_items(stack, "churn#")
    assert (record["survey_id"]["S"], record["last_category"]["S"]) == ("survey-1", "detractor")


def test_a_re_survey_answer_after_a_follow_up_is_not_the_answer_a_churn_is_held_against(stack: LocalStack) -> None:
    # Given a detractor's answer to a wave, then, after the follow-up closed the loop, the same contact's
    # answer to the follow-up's re-survey (a wave ``fu-<follow-up>``), both recorded by the real respond
    # handler: the re-survey resolves the follow-up, the NPS aggregates do not count it
    detractor = issue_invite(stack, "tap-det", survey_id="survey-1", contact_id="dee")
    assert detractor.tap(2)["statusCode"] == 200
    resurvey = issue_invite(stack, "tap-fu", survey_id="survey-1", contact_id="dee", wave_id="fu-tap-det-1")
    assert resurvey.tap(10)["statusCode"] == 200
    # When the contact churns
    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    assert churned(stack, {"contact_id": "dee", "churned_at": later}) == []
    # Then the churn is held against the answer the NPS counts: the detractor's 2, not the re-survey's 10
    (record,) = accounts_items(stack, "churn#")
    assert (record["survey_id"]["S"], record["last_category"]["S"], record["last_score"]["N"]) == (
        "survey-1",
        "detractor",
        "2",
    )


# -- where people read it: the report API (both doors), the CLI, CSV and the HTML report ---------------------
def slice_item(
    survey_id: str, granularity: str, period: str, promoters: int, passives: int, detractors: int
) -> dict[str, Any]:
    counters = {
        "promoters": promoters,
        "passives": passives,
        "detractors": detractors,
        "responses": promoters + passives + detractors,
    }
    return {
        "pk": {"S": f"{survey_id}#{granularity}#*#*"},
        "period": {"S": period},
        "survey_id": {"S": survey_id},
        "granularity": {"S": granularity},
        "segment": {"S": "*"},
        "channel": {"S": "*"},
    } | {name: {"N": str(value)} for name, value in counters.items()}


@pytest.fixture
def churned_survey(stack: LocalStack) -> LocalStack:
    """Survey a: 10 detractors, 5 passives, 20 promoters in Sep 2026 (Q3); 4 detractors and 1 promoter churned,
    one contact churned without an answer."""
    put(stack, "aggregates", slice_item("a", "month", "2026-09", 20, 5, 10))
    put(stack, "aggregates", slice_item("a", "quarter", "2026-Q3", 20, 5, 10))
    for n in range(4):
        answered(stack, f"d{n}", f"det-{n}", "a", 2, T0 + timedelta(days=n))
    answered(stack, "p0", "pro-0", "a", 10, T0)
    details = [{"contact_id": f"det-{n}", "churned_at": "2026-10-15"} for n in range(4)]
    details += [
        {"contact_id": "pro-0", "churned_at": "2026-11-02"},
        {"contact_id": "ghost", "churned_at": "2026-10-20"},
    ]
    assert churned(stack, *details) == []
    return stack


CHURN_QUERY = {"from": "2026-07-01", "to": "2026-12-31", "granularity": "month"}


def test_the_churn_report_gives_rates_by_last_category_through_both_doors(churned_survey: LocalStack) -> None:
    from functions.report import handler as report
    from local.lambda_events import LambdaContext, http_event

    event = http_event("GET", "/reports/a/churn", CHURN_QUERY)
    request = report.canonical_request(event)
    assert request is not None
    direct = report.answer_directly(*request)
    assert direct == report.validating_resolver().resolve(
        http_event("GET", "/reports/a/churn", CHURN_QUERY), LambdaContext()
    )
    body = json.loads(direct["body"])
    rates = {r["category"]: r for r in body["by_category"]}
    assert (rates["detractor"]["churned"], rates["detractor"]["responses"]) == (4, 10)
    assert rates["detractor"]["rate"]["percent"] == 40.0
    assert (rates["promoter"]["churned"], rates["promoter"]["responses"]) == (1, 20)
    assert body["churn_events_by_month"] == [{"month": "2026-10", "churned": 4}, {"month": "2026-11", "churned": 1}]
    assert body["churned_without_answer"] == 1
    sep = next(p for p in body["periods"] if p["period"] == "2026-09")
    assert sep["overall"] == {
        "count": 5,
        "n": 35,
        "percent": 14.29,
        "low": sep["overall"]["low"],
        "high": sep["overall"]["high"],
    }
    # a granularity the churn report does not have is the validating door's 422; an unknown survey a 404
    bad = report.lambda_handler(
        http_event("GET", "/reports/a/churn", {**CHURN_QUERY, "granularity": "week"}), LambdaContext()
    )
    assert bad["statusCode"] == 422
    unknown = report.lambda_handler(http_event("GET", "/reports/zz/churn", CHURN_QUERY), LambdaContext())
    assert (unknown["statusCode"], json.loads(unknown["body"])["error"]["code"]) == (404, "unknown_survey")


def test_nps_churn_prints_the_rates_and_writes_csv_and_refuses_bad_input(
    churned_survey: LocalStack, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from nps.cli.main import main as cli

    def run(*argv: str) -> int:
        return cli(["--local", "--prefix", "test", *argv], in_process=True)

    path = tmp_path / "churn.csv"
    assert run("churn", "a", "--from", "2026-07-01", "--to", "2026-12-31", "--csv", str(path)) == 0
    out = capsys.readouterr().out
    assert "detractor" in out
    assert "40.0%" in out
    assert "churned without an answer: 1" in out
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert {(r["period"], r["category"], r["churned"], r["responses"]) for r in rows} >= {
        ("2026-09", "detractor", "4", "10"),
        ("all", "promoter", "1", "20"),
    }
    # Bad input: one line and a non-zero exit status
    assert run("churn", "a", "--from", "2026-12-31", "--to", "2026-01-01") == 1
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    with pytest.raises(SystemExit) as usage:
        run("churn", "a", "--granularity", "week")
    assert usage.value.code == 2


def test_the_html_report_has_the_churn_section_with_an_accessible_table(
    churned_survey: LocalStack, tmp_path: Path
) -> None:
    from nps.cli.main import main as cli

    out = tmp_path / "report.html"
    argv = ["--local", "--prefix", "test", "html", "a", "--from", "2026-07-01", "--to", "2026-12-31", "--out", str(out)]
    assert cli(argv, in_process=True) == 0
    html = out.read_text(encoding="utf-8")
    assert "Churn by last NPS category" in html
    assert '<svg id="churn-chart"' in html
    assert 'role="img"' in html
    assert "<caption>Churn rate by last NPS category</caption>" in html
    assert "40.0" in html


def test_a_churn_counts_in_its_cohort_period_whatever_the_range_s_last_day_or_a_later_changed_score(
    stack: LocalStack,
) -> None:
    from nps.accounts.adapters.churn import DynamoChurnReader
    from nps.reporting.adapters.reads import DynamoAggregateReader
    from nps.reporting.churn import churn_report
    from nps.reporting.ranges import DateRange

    # Given two September detractors, both counted in September (the period of their first answer): eve
    # answered on 29 September and changed her score on 2 October (inside the edit window), fay answered
    # on 20 September; both churned in October
    put(stack, "aggregates", slice_item("a", "month", "2026-09", 0, 0, 2))
    put(stack, "aggregates", slice_item("a", "quarter", "2026-Q3", 0, 0, 2))
    answered(
        stack,
        "eve-1",
        "eve",
        "a",
        3,
        datetime(2026, 10, 2, 9, tzinfo=UTC),
        first_at=datetime(2026, 9, 29, 9, tzinfo=UTC),
    )
    answered(stack, "fay-1", "fay", "a", 2, datetime(2026, 9, 20, 9, tzinfo=UTC))
    assert churned(stack, *({"contact_id": c, "churned_at": "2026-10-20"} for c in ("eve", "fay"))) == []

    def detractors(first: date, last: date, granularity: Granularity) -> tuple[int, int]:
        report = churn_report(
            DynamoAggregateReader(stack.tables["aggregates"]),
            DynamoChurnReader(stack.tables["accounts"]),
            "a",
            DateRange(first, last),
            granularity,
        )
        rate = next(r for r in report.figures.total if r.category.value == "detractor")
        return rate.churned, rate.responses

    # Then September's rate counts both churns against its two responses, whether the range ends with
    # September, inside it (the month counts whole, as its responses do), or is read by quarter
    assert detractors(date(2026, 9, 1), date(2026, 9, 30), Granularity.MONTH) == (2, 2)
    assert detractors(date(2026, 9, 1), date(2026, 9, 15), Granularity.MONTH) == (2, 2)
    assert detractors(date(2026, 7, 1), date(2026, 9, 30), Granularity.QUARTER) == (2, 2)
    assert detractors(date(2026, 7, 1), date(2026, 8, 31), Granularity.QUARTER) == (2, 2)
