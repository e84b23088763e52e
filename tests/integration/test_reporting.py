"""Reports on moto from aggregates built by the real score function: API, correctness and the CLI."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from functions.report import handler as report
from local.lambda_events import LambdaContext, http_event
from nps.cli.main import main as cli
from nps.kernel import aws
from nps.kernel.formatting import rounded
from nps.kernel.periods import Granularity, parse_timestamp, period_key
from nps.kernel.statistics import CategoryCounts, estimate
from nps.reporting.adapters.reads import DynamoAggregateReader
from nps.reporting.figures import ReportService
from nps.reporting.ranges import DateRange
from nps.scoring.aggregation import ALL, AggregateKey
from tests.support.reporting_data import ANSWER_DAYS, SURVEY_ID, SeededSurvey, seeded_platform

RANGE = {"from": "2026-03-01", "to": "2026-07-31"}


@pytest.fixture(scope="module")
def seeded() -> Iterator[SeededSurvey]:
    with seeded_platform() as survey:
        yield survey


def get(path: str, **query: str) -> tuple[int, Any, dict[str, str]]:
    result = report.lambda_handler(http_event("GET", path, query), LambdaContext())
    body = result["body"]
    content_type = result["headers"].get("Content-Type", "")
    return result["statusCode"], json.loads(body) if "json" in content_type else body, result["headers"]


def recount(seeded: SeededSurvey) -> dict[tuple[str, str, str, str], Counter[str]]:
    """(granularity, period, segment, channel) → category counts and CSAT/CES answer counts (``csat_4``,
    ``ces_7``...), straight from the responses table."""
    counts: dict[tuple[str, str, str, str], Counter[str]] = {}
    paginator = aws.client("dynamodb").get_paginator("scan")
    for page in paginator.paginate(TableName=seeded.stack.tables["responses"]):
        for item in page["Items"]:
            if "score" not in item or item.get("counted", {}).get("BOOL") is False:
                continue
            score = int(item["score"]["N"])
            category = "promoters" if score >= 9 else "passives" if score >= 7 else "detractors"
            at = parse_timestamp(item["first_answered_at"]["S"])
            labels = [ALL, *(f"{d}={v['S']}" for d, v in item["segments"]["M"].items())]
            for granularity in Granularity:
                for label in labels:
                    for channel in (ALL, item["channel"]["S"]):
                        key = (granularity.value, period_key(granularity, at), label, channel)
                        counted = counts.setdefault(key, Counter())
                        counted[category] += 1
                        for rating in ("csat", "ces"):
                            if rating in item:
                                counted[f"{rating}_{item[rating]['N']}"] += 1
    return counts


# -- correctness ----------------------------------------------------------------------------------
def test_every_period_segment_and_channel_equals_a_recount_of_the_responses(seeded: SeededSurvey) -> None:
    # Given answers on days that straddle week, month and quarter edges, scored by the real function
    expected = recount(seeded)
    service = ReportService(DynamoAggregateReader(seeded.stack.tables["aggregates"]))
    span = DateRange(date(2026, 3, 1), date(2026, 7, 31))
    catalog = service.catalog(SURVEY_ID, span)
    segments = [ALL, *(f"{d}={v}" for d, values in catalog.dimensions.items() for v in values)]
    checked = 0
    # When the trend is read for every granularity, segment and channel
    for granularity in Granularity:
        for segment in segments:
            for channel in (ALL, *catalog.channels):
                for point in service.trend(SURVEY_ID, span, granularity, segment, channel):
                    want = expected.get((granularity.value, point.period.key, segment, channel), Counter())
                    got = point.figures.counts
                    # Then each period's counts equal the recount
                    assert (got.promoters, got.passives, got.detractors) == (
                        want["promoters"], want["passives"], want["detractors"],
                    ), (granularity, point.period.key, segment, channel)  # fmt: skip
                    # And so do its CSAT and CES (satisfied 4–5, agree 5–7, each with its n)
                    csat, ces = point.figures.csat, point.figures.ces
                    assert csat.n == sum(want[f"csat_{v}"] for v in range(1, 6))
                    assert csat.satisfied.count == want["csat_4"] + want["csat_5"]
                    assert ces.n == sum(want[f"ces_{v}"] for v in range(1, 8))
                    assert ces.agree.count == sum(want[f"ces_{v}"] for v in range(5, 8))
                    checked += 1
    assert checked > 200
    assert sum(1 for k in expected if k[0] == "day" and k[2:] == (ALL, ALL)) >= len(ANSWER_DAYS)


def test_range_totals_equal_the_recount_for_ranges_that_cut_periods(seeded: SeededSurvey) -> None:
    # Given ranges that start and end inside weeks, months and quarters
    expected = recount(seeded)
    service = ReportService(DynamoAggregateReader(seeded.stack.tables["aggregates"]))
    for first, last in ((date(2026, 3, 31), date(2026, 4, 6)), (date(2026, 1, 1), date(2026, 12, 31))):
        # When the total is read (from an aligned cover of the range)
        figures = service.total(SURVEY_ID, DateRange(first, last))
        # Then it equals the sum of the recounted days inside the range
        want: Counter[str] = Counter()
        for (granularity, period, segment, channel), counts in expected.items():
            whole_survey_day = granularity == "day" and segment == ALL and channel == ALL
            if whole_survey_day and first <= date.fromisoformat(period) <= last:
                want.update(counts)
        assert figures.counts.n == want["promoters"] + want["passives"] + want["detractors"]
        assert figures.counts.detractors == want["detractors"]
        assert figures.csat.n == sum(want[f"csat_{v}"] for v in range(1, 6))


def test_response_rate_divides_responses_by_the_invites_counted_on_the_same_keys(
    seeded: SeededSurvey,
) -> None:
    # When the summary is read for the whole seeded range
    status, body, _ = get(f"/reports/{SURVEY_ID}/summary", **RANGE)
    figures = body["figures"]
    # Then invites sent are every seeded invite, and the rate is n / invites
    assert status == 200
    assert figures["invites_sent"] == len(seeded.history.invites)
    assert figures["response_rate"] == pytest.approx(100 * figures["n"] / figures["invites_sent"], abs=0.01)


def test_the_driver_report_equals_a_recount_of_the_responses(seeded: SeededSurvey) -> None:
    # Given the seeded answers with drivers, themes, CSAT and CES, straight from the responses table
    items = [
        item
        for page in aws.client("dynamodb").get_paginator("scan").paginate(TableName=seeded.stack.tables["responses"])
        for item in page["Items"]
        if "score" in item and item.get("counted", {}).get("BOOL") is not False
    ]

    def counts(chosen: list[dict[str, Any]]) -> CategoryCounts:
        scores = [int(item["score"]["N"]) for item in chosen]
        return CategoryCounts(
            promoters=sum(s >= 9 for s in scores),
            passives=sum(7 <= s <= 8 for s in scores),
            detractors=sum(s <= 6 for s in scores),
        )

    # When the drivers route is read for the whole seeded range
    status, body, _ = get(f"/reports/{SURVEY_ID}/drivers", **RANGE)
    assert status == 200
    # Then CSAT and CES count every answer
    assert body["n"] == len(items)
    assert body["csat"]["n"] == sum("csat" in item for item in items)
    assert body["csat"]["satisfied"]["count"] == sum(int(item["csat"]["N"]) >= 4 for item in items if "csat" in item)
    assert body["ces"]["n"] == sum("ces" in item for item in items)
    # And each driver and theme is its mentioners against every other response
    mentioned = {
        "driver": lambda item, reason: item.get("driver", {}).get("S") == reason,
        "theme": lambda item, reason: {"S": reason} in item.get("themes", {}).get("L", []),
    }
    assert {row["id"] for row in body["drivers"]} == {"price", "support", "features"}
    assert {row["id"] for row in body["themes"]} == {"bugs", "speed", "onboarding"}
    for row in [*body["drivers"], *body["themes"]]:
        mentioning = [item for item in items if mentioned[row["dimension"]](item, row["id"])]
        others = [item for item in items if not mentioned[row["dimension"]](item, row["id"])]
        assert row["n"] == len(mentioning)
        assert row["mentioning"]["nps"] == rounded(estimate(counts(mentioning)).nps, 2)
        assert row["not_mentioning"]["nps"] == rounded(estimate(counts(others)).nps, 2)
        assert row["detractors"]["count"] == counts(mentioning).detractors
        assert row["detractors"]["n"] == counts(items).detractors
        assert sum(point["n"] for point in row["trend"]) == len(mentioning)
        difference = row["difference"]
        assert difference["low"] <= difference["difference"] <= difference["high"]
    # And the seeded detractors' favourite driver has a lower NPS than the rest
    price = next(row for row in body["drivers"] if row["id"] == "price")
    assert price["difference"]["difference"] < 0


# -- API ------------------------------------------------------------------------------------------
def test_the_trend_marks_periods_and_significance_for_each_step(seeded: SeededSurvey) -> None:
    status, body, _ = get(f"/reports/{SURVEY_ID}/trend", granularity="month", **RANGE)
    assert status == 200
    assert [p["period"] for p in body["points"]] == ["2026-03", "2026-04", "2026-05", "2026-06", "2026-07"]
    assert body["points"][0]["change"] is None
    assert all(
        set(p["change"]) == {"difference", "low", "high", "z", "p_value", "significant"} for p in body["points"][1:3]
    )
    changes = [p["change"] for p in body["points"][1:] if p["change"]["difference"] is not None]
    assert changes
    assert all(c["low"] <= c["difference"] <= c["high"] for c in changes)


def test_segments_are_sorted_by_nps_and_filtered_by_channel(seeded: SeededSurvey) -> None:
    status, body, _ = get(f"/reports/{SURVEY_ID}/segments", dimension="plan", channel="email", **RANGE)
    assert status == 200
    scores = [row["nps"] for row in body["rows"]]
    assert {row["value"] for row in body["rows"]} == {"starter", "enterprise"}
    assert scores == sorted(scores, reverse=True)


def test_comments_are_newest_first_filtered_and_paginated(seeded: SeededSurvey) -> None:
    # Given the detractor comments of one plan, two per page
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {"category": "detractor", "segment": "plan=starter", "limit": "2", **RANGE}
        if cursor:
            query["cursor"] = cursor
        status, body, _ = get(f"/reports/{SURVEY_ID}/comments", **query)
        assert status == 200
        seen += body["comments"]
        cursor = body["next_cursor"]
        if not cursor:
            break
    # Then every page held matching comments, newest first, without repeats
    expected = [
        r
        for r in seeded.history.responses
        if "comment" in r and r["category"]["S"] == "detractor" and r["segments"]["M"]["plan"]["S"] == "starter"
    ]
    assert len(seen) == len(expected) > 0
    assert len({c["invite_id"] for c in seen}) == len(seen)
    times = [c["first_answered_at"] for c in seen]
    assert times == sorted(times, reverse=True)


@pytest.mark.parametrize(
    ("segment", "mentions"),
    [
        ("driver=price", lambda item: item.get("driver", {}).get("S") == "price"),
        ("theme=bugs", lambda item: {"S": "bugs"} in item.get("themes", {}).get("L", [])),
        ("theme=no-such-theme", lambda item: False),
    ],
)
def test_the_comments_behind_a_driver_or_theme_are_those_of_the_responses_that_mention_it(
    seeded: SeededSurvey, segment: str, mentions: Callable[[dict[str, Any]], bool]
) -> None:
    # Given the counted, commented responses of the seeded range, straight from the responses table
    items = [
        item
        for page in aws.client("dynamodb").get_paginator("scan").paginate(TableName=seeded.stack.tables["responses"])
        for item in page["Items"]
        if "score" in item and item.get("comment", {}).get("S") and item.get("counted", {}).get("BOOL") is not False
    ]
    # When the comments of one driver or theme are read, page by page
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {"segment": segment, "limit": "3", **RANGE} | ({"cursor": cursor} if cursor else {})
        status, body, _ = get(f"/reports/{SURVEY_ID}/comments", **query)
        if segment == "theme=no-such-theme":
            # A theme the survey never tagged in the range is unknown, like any other slice
            assert (status, body["error"]["code"]) == (404, "unknown_segment")
            return
        assert status == 200, body
        seen += body["comments"]
        cursor = body["next_cursor"]
        if not cursor:
            break
    # Then they are exactly the comments of the responses mentioning it, with their answers
    expected = {item["invite_id"]["S"]: item for item in items if mentions(item)}
    assert {c["invite_id"] for c in seen} == set(expected) != set()
    for comment in seen:
        item = expected[comment["invite_id"]]
        assert comment["driver"] == item.get("driver", {}).get("S")
        assert comment["themes"] == sorted(theme["S"] for theme in item.get("themes", {}).get("L", []))
        assert comment["csat"] == (int(item["csat"]["N"]) if "csat" in item else None)


def test_responses_marked_not_counted_are_left_out_of_comments_and_exports(seeded: SeededSurvey) -> None:
    # Given a detractor comment whose response was stored as an automated fetch (counted = false)
    table = seeded.stack.tables["responses"]
    item = next(r for r in seeded.history.responses if "comment" in r and r["category"]["S"] == "detractor")
    aws.client("dynamodb").update_item(
        TableName=table,
        Key={"invite_id": item["invite_id"]},
        UpdateExpression="SET #counted = :false",
        ExpressionAttributeNames={"#counted": "counted"},
        ExpressionAttributeValues={":false": {"BOOL": False}},
    )
    try:
        # When comments and the export are read
        _, comments, _ = get(f"/reports/{SURVEY_ID}/comments", category="detractor", limit="100", **RANGE)
        _, exported, _ = get(f"/reports/{SURVEY_ID}/export", **RANGE)
        # Then that response is in neither
        invite_id = item["invite_id"]["S"]
        assert invite_id not in {c["invite_id"] for c in comments["comments"]}
        assert invite_id not in exported
    finally:
        aws.client("dynamodb").update_item(
            TableName=table, Key={"invite_id": item["invite_id"]}, UpdateExpression="REMOVE #counted",
            ExpressionAttributeNames={"#counted": "counted"},
        )  # fmt: skip


def test_the_csv_export_pages_with_a_cursor_and_defuses_formulas(seeded: SeededSurvey) -> None:
    rows: list[dict[str, str]] = []
    cursor = None
    while True:
        query = {"limit": "25", **RANGE, **({"cursor": cursor} if cursor else {})}
        status, body, headers = get(f"/reports/{SURVEY_ID}/export", **query)
        assert status == 200
        assert headers["Content-Type"].startswith("text/csv")
        assert body.startswith("\ufeff")  # a UTF-8 byte order mark, for Excel
        rows += list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff"))))
        cursor = headers.get("X-Next-Cursor")
        if not cursor:
            break
    assert len(rows) == len(seeded.history.responses)
    assert {"segment.plan", "segment.region"} <= set(rows[0])
    formulas = [r["comment"] for r in rows if "HYPERLINK" in r["comment"]]
    assert formulas
    assert all(f.startswith("'=") for f in formulas)


@pytest.mark.parametrize(
    ("path", "query", "status", "code"),
    [
        ("/reports/no-such-survey/summary", RANGE, 404, "unknown_survey"),
        (f"/reports/{SURVEY_ID}/summary", {"from": "2026-07-01", "to": "2026-03-01"}, 400, "bad_range"),
        (f"/reports/{SURVEY_ID}/summary", {"from": "2016-01-01", "to": "2026-03-01"}, 400, "bad_range"),
        (
            f"/reports/{SURVEY_ID}/trend",
            {**RANGE, "from": "2025-01-01", "granularity": "day"},
            400,
            "bad_range",
        ),
        (f"/reports/{SURVEY_ID}/summary", {**RANGE, "segment": "plan=platinum"}, 404, "unknown_segment"),
        (f"/reports/{SURVEY_ID}/summary", {**RANGE, "segment": "plan=a=b"}, 404, "unknown_segment"),
        (f"/reports/{SURVEY_ID}/summary", {**RANGE, "segment": "plan"}, 422, "invalid_request"),
        (f"/reports/{SURVEY_ID}/summary", {**RANGE, "segment": "plan=\x1b[2J"}, 422, "invalid_request"),
        (f"/reports/{SURVEY_ID}/segments", {**RANGE, "dimension": "industry"}, 404, "unknown_segment"),
        (f"/reports/{SURVEY_ID}/summary", {"from": "2026-02-30", "to": "2026-03-01"}, 422, "invalid_request"),
        (f"/reports/{SURVEY_ID}/summary", {"to": "2026-03-01"}, 422, "invalid_request"),
        (f"/reports/{SURVEY_ID}/trend", {**RANGE, "granularity": "decade"}, 422, "invalid_request"),
        (f"/reports/{SURVEY_ID}/comments", {**RANGE, "cursor": "not-a-cursor"}, 400, "bad_cursor"),
        (f"/reports/{SURVEY_ID}/comments", {**RANGE, "limit": "1000"}, 422, "invalid_request"),
        ("/reports/bad%20id!/summary", RANGE, 422, "invalid_request"),
        (f"/reports/{SURVEY_ID}/nothing-here", RANGE, 404, "not_found"),
        (f"/reports/{SURVEY_ID}/segments", {**RANGE, "dimension": "driver"}, 404, "unknown_segment"),
        (f"/reports/{SURVEY_ID}/segments", {**RANGE, "dimension": "theme"}, 404, "unknown_segment"),
        (f"/reports/{SURVEY_ID}/drivers", {**RANGE, "granularity": "decade"}, 422, "invalid_request"),
        (f"/reports/{SURVEY_ID}/drivers", {"from": "2016-01-01", "to": "2026-03-01"}, 400, "bad_range"),
        ("/reports/no-such-survey/drivers", RANGE, 404, "unknown_survey"),
    ],
)
def test_bad_requests_get_a_json_4xx_with_a_clear_message(
    seeded: SeededSurvey, path: str, query: dict[str, str], status: int, code: str
) -> None:
    got, body, headers = get(path, **query)
    assert got == status
    assert headers["Content-Type"] == "application/json"
    assert body["error"]["code"] == code
    assert body["error"]["message"]


# -- the two doors: direct (canonical queries, no pydantic) and the validating resolver -------------
DOOR_CASES = [
    (f"/reports/{SURVEY_ID}/summary", RANGE),
    (f"/reports/{SURVEY_ID}/summary", {**RANGE, "segment": "plan=starter", "channel": "email"}),
    (f"/reports/{SURVEY_ID}/trend", {**RANGE, "granularity": "week", "segment": "region=emea"}),
    (f"/reports/{SURVEY_ID}/trend", {**RANGE, "granularity": "quarter", "channel": "sms"}),
    (f"/reports/{SURVEY_ID}/segments", {**RANGE, "dimension": "plan", "channel": "email"}),
    (f"/reports/{SURVEY_ID}/channels", {**RANGE, "segment": "plan=enterprise"}),
    (f"/reports/{SURVEY_ID}/comments", {**RANGE, "category": "detractor", "limit": "3"}),
    (f"/reports/{SURVEY_ID}/comments", {**RANGE, "segment": "plan=starter"}),
    (f"/reports/{SURVEY_ID}/export", {**RANGE, "limit": "7"}),
    (f"/reports/{SURVEY_ID}/export", RANGE),
    # typed errors the routes raise: the same JSON through both doors
    ("/reports/no-such-survey/summary", RANGE),
    (f"/reports/{SURVEY_ID}/summary", {"from": "2026-07-01", "to": "2026-03-01"}),
    (f"/reports/{SURVEY_ID}/summary", {"from": "2016-01-01", "to": "2026-03-01"}),
    (f"/reports/{SURVEY_ID}/summary", {**RANGE, "segment": "plan=a=b"}),
    (f"/reports/{SURVEY_ID}/segments", {**RANGE, "dimension": "industry"}),
    (f"/reports/{SURVEY_ID}/comments", {**RANGE, "cursor": "not-a-cursor"}),
    (f"/reports/{SURVEY_ID}/drivers", RANGE),
    (f"/reports/{SURVEY_ID}/drivers", {**RANGE, "channel": "sms", "granularity": "week"}),
    ("/reports/no-such-survey/drivers", RANGE),
]


@pytest.mark.parametrize(("path", "query"), DOOR_CASES)
def test_a_canonical_request_gets_the_validating_resolvers_exact_answer(
    seeded: SeededSurvey, path: str, query: dict[str, str]
) -> None:
    # Given a request spelled as the API documents it
    event = http_event("GET", path, query)
    request = report.canonical_request(event)
    assert request is not None
    # When it is answered directly and by the resolver that validates with the pydantic models
    direct = report.answer_directly(*request)
    validated = report.validating_resolver().resolve(http_event("GET", path, query), LambdaContext())
    # Then both answers are the same, byte for byte (status, headers, body)
    assert direct == validated


def test_the_next_comment_page_is_the_same_through_both_doors(seeded: SeededSurvey) -> None:
    query = {**RANGE, "limit": "2"}
    _, first, _ = get(f"/reports/{SURVEY_ID}/comments", **query)
    event = http_event("GET", f"/reports/{SURVEY_ID}/comments", {**query, "cursor": first["next_cursor"]})
    request = report.canonical_request(event)
    assert request is not None
    assert report.answer_directly(*request) == report.validating_resolver().resolve(event, LambdaContext())


@pytest.mark.parametrize(
    ("query", "spelled_otherwise"),
    [
        ({"limit": "5"}, {"limit": "005"}),
        ({}, {"start": RANGE["from"], "end": RANGE["to"]}),  # the models' field names are accepted too
        ({"category": "detractor"}, {"category": "detractor", "limit": "20.0"}),
        ({}, {"from": f"{RANGE['from']}T00:00:00", "to": RANGE["to"]}),
    ],
)
def test_other_spellings_the_models_accept_are_still_served(
    seeded: SeededSurvey, query: dict[str, str], spelled_otherwise: dict[str, str]
) -> None:
    # Given the same comments page asked for canonically and in a spelling the direct door leaves alone
    canonical = {**RANGE, **query}
    other = {**({} if "start" in spelled_otherwise else RANGE), **spelled_otherwise}
    assert report.canonical_request(http_event("GET", f"/reports/{SURVEY_ID}/comments", other)) is None
    # When both are sent to the function
    status, body, _ = get(f"/reports/{SURVEY_ID}/comments", **canonical)
    other_status, other_body, _ = get(f"/reports/{SURVEY_ID}/comments", **other)
    # Then both are served, with the same page
    assert status == other_status == 200
    assert other_body == body


def test_a_repeated_parameter_is_read_as_the_resolver_reads_it(seeded: SeededSurvey) -> None:
    # Given ?channel=sms&channel=email (API Gateway joins the values with a comma)
    event = http_event("GET", f"/reports/{SURVEY_ID}/summary", {**RANGE, "channel": "sms,email"})
    event["rawQueryString"] = event["rawQueryString"].replace("channel=sms%2Cemail", "channel=sms&channel=email")
    assert report.canonical_request(event) is None
    # When the function answers it, Then the resolver reads the first value, as it always has
    result = report.lambda_handler(event, LambdaContext())
    assert result["statusCode"] == 200
    assert json.loads(result["body"])["channel"] == "sms"


# -- CLI ------------------------------------------------------------------------------------------
def run_cli(*argv: str) -> int:
    return cli(["--local", "--prefix", "report", *argv], in_process=True)


def test_cli_report_prints_segments_response_rate_and_trend(
    seeded: SeededSurvey, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli("report", SURVEY_ID, "--from", "2026-03-01", "--to", "2026-07-31", "-g", "month") == 0
    out = capsys.readouterr().out
    for text in (
        "all responses",
        "plan=starter",
        "region=emea",
        "channel=sms",
        "resp.rate",
        "2026-04",
        "Trend",
    ):
        assert text in out
    # And the range's CSAT and CES, as the API gives them
    _, body, _ = get(f"/reports/{SURVEY_ID}/summary", **{"from": "2026-03-01", "to": "2026-07-31"})
    csat = body["figures"]["csat"]
    assert f"from {csat['n']} answers" in out
    assert f"CSAT {csat['satisfied']['percent']:.1f}% satisfied" in out
    assert f"CES mean {body['figures']['ces']['mean']:.2f} of 7" in out


def test_cli_drivers_prints_the_table_and_writes_the_apis_rows_as_csv(
    seeded: SeededSurvey, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given the seeded survey with drivers and themes
    csv_path = tmp_path / "drivers.csv"
    # When the driver report is asked for with a CSV copy
    assert run_cli("drivers", SURVEY_ID, "--from", RANGE["from"], "--to", RANGE["to"], "--csv", str(csv_path)) == 0
    out = capsys.readouterr().out
    # Then the table names every reason, CSAT and CES
    for text in ("drivers:", "themes (in comments):", "  price", "  bugs", "CSAT", "CES mean"):
        assert text in out
    # And the CSV holds the API's rows: drivers, then themes, same ids and counts
    _, body, _ = get(f"/reports/{SURVEY_ID}/drivers", **RANGE)
    data = csv_path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    expected = [(r["dimension"], r["id"], str(r["n"])) for r in (*body["drivers"], *body["themes"])]
    assert [(r["kind"], r["id"], r["n"]) for r in rows] == expected


def test_cli_drivers_prints_the_latest_comments_behind_each_reason_on_one_line_each(
    seeded: SeededSurvey, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the seeded survey's comments, some mentioning the driver "price"
    argv = ("drivers", SURVEY_ID, "--from", RANGE["from"], "--to", RANGE["to"], "--comments", "2")
    # When the driver report is asked for with two comments per reason
    assert run_cli(*argv) == 0
    out = capsys.readouterr().out
    # Then a "What they say" part lists, under the driver, at most two of its comments, newest first
    part = out.split("What they say", 1)[1]
    price = part.split("driver price:\n", 1)[1].split("\ndriver ", 1)[0].split("\ntheme ", 1)[0]
    shown = [line for line in price.splitlines() if line.startswith("  [")]
    expected = sorted(
        (r for r in seeded.history.responses if r.get("driver", {}).get("S") == "price" and r.get("comment")),
        key=lambda r: (r["first_answered_at"]["S"], r["invite_id"]["S"]),
        reverse=True,
    )
    assert 1 <= len(shown) <= 2
    assert len(shown) == min(2, len(expected))
    for line, response in zip(shown, expected, strict=False):
        assert " ".join(response["comment"]["S"].split()) in line


@pytest.mark.parametrize("count", ["0", "11", "two", "٣"])
def test_cli_drivers_refuses_a_comment_count_outside_1_to_10(
    seeded: SeededSurvey, capsys: pytest.CaptureFixture[str], count: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        run_cli("drivers", SURVEY_ID, "--comments", count)
    assert exited.value.code == 2
    assert "expected a whole number from 1 to 10" in capsys.readouterr().err


def test_cli_drivers_prints_and_writes_each_reasons_trend_as_the_api_gives_it(
    seeded: SeededSurvey, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given the seeded survey's drivers and themes over months
    trend_path = tmp_path / "trend.csv"
    # When the driver report is asked for with its trend as CSV
    argv = ("drivers", SURVEY_ID, "--from", RANGE["from"], "--to", RANGE["to"], "--trend-csv", str(trend_path))
    assert run_cli(*argv) == 0
    out = capsys.readouterr().out
    _, body, _ = get(f"/reports/{SURVEY_ID}/drivers", **RANGE)
    reasons = [*body["drivers"], *body["themes"]]
    # Then the terminal shows one trend line per reason, with the latest periods as columns
    trend = out.split("NPS of those mentioning it, by month (n):", 1)[1].splitlines()
    periods = [point["period"] for point in reasons[0]["trend"]][-6:]
    assert trend[1].split() == ["reason", *periods]
    price = next(line for line in trend if line.startswith("  d:price"))
    points = next(r for r in body["drivers"] if r["id"] == "price")["trend"][-6:]
    cells = [f"{round(p['nps']):+d} ({p['n']})" if p["n"] else "—" for p in points]
    assert price.split()[1:] == " ".join(cells).split()
    # And the CSV has one row per reason and period with the API's figures
    rows = list(csv.DictReader(io.StringIO(trend_path.read_bytes().decode("utf-8-sig"))))
    expected = [
        (r["dimension"], r["id"], p["period"], str(p["n"]), "" if p["nps"] is None else str(p["nps"]))
        for r in reasons
        for p in r["trend"]
    ]
    assert [(r["kind"], r["id"], r["period"], r["n"], r["nps"]) for r in rows] == expected


def test_cli_report_lists_no_driver_or_theme_among_segments(
    seeded: SeededSurvey, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli("report", SURVEY_ID, "--from", RANGE["from"], "--to", RANGE["to"], "-g", "month") == 0
    out = capsys.readouterr().out
    assert "driver=" not in out
    assert "theme=" not in out
    assert "by driver" not in out


def test_cli_export_and_html_write_their_files(seeded: SeededSurvey, tmp_path: Path) -> None:
    csv_path, html_path = tmp_path / "out.csv", tmp_path / "report.html"
    assert run_cli("export", SURVEY_ID, "--from", "2026-03-01", "--to", "2026-07-31", "-o", str(csv_path)) == 0
    assert run_cli("html", SURVEY_ID, "--from", "2026-03-01", "--to", "2026-07-31", "-o", str(html_path)) == 0
    assert csv_path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert len(csv_path.read_text("utf-8-sig").splitlines()) == len(seeded.history.responses) + 1
    page = html_path.read_text()
    assert "<svg" in page
    # The seeded drivers and themes get their section: the chart of differences and its table
    assert 'id="drivers-chart"' in page
    assert "<td>price" in page
    assert "<td>bugs" in page
    assert "http" not in page.replace("http://example.invalid", "")  # no external asset
    # And under the table, the latest comments behind each reason: those of responses that mention it
    from html import escape

    behind = page.split('id="reason-comments-title"', 1)[1]
    price_part = behind.split("<strong>price</strong>", 1)[1].split("</details>", 1)[0]
    price_comments = [
        r["comment"]["S"]
        for r in seeded.history.responses
        if r.get("driver", {}).get("S") == "price" and r.get("comment", {}).get("S")
    ]
    shown = price_part.count("<blockquote")
    assert 1 <= shown <= 3
    assert sum(escape(text, quote=False) in price_part for text in set(price_comments)) >= 1
    # And the export carries each response's answers
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text("utf-8-sig"))))
    by_id = {r["invite_id"]["S"]: r for r in seeded.history.responses}
    for row in rows:
        stored = by_id[row["invite_id"]]
        assert row["driver"] == stored.get("driver", {}).get("S", "")
        assert row["themes"].split() == sorted(t["S"] for t in stored.get("themes", {}).get("L", []))


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        (("report", "no-such-survey"), 1, "no survey"),
        (("report", SURVEY_ID, "--from", "2026-05-01", "--to", "2026-03-01"), 1, "inverted"),
        (("report", SURVEY_ID, "--segment", "plan=platinum", "--from", "2026-03-01"), 1, "no segment"),
        (("report", SURVEY_ID, "--segment", "plan=a=b", "--from", "2026-03-01"), 1, "no segment 'plan=a=b'"),
    ],
)
def test_cli_bad_input_prints_one_line_and_exits_non_zero(
    seeded: SeededSurvey, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], status: int, message: str
) -> None:
    assert run_cli(*argv) == status
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_cli_report_prints_stored_segment_values_without_their_escape_sequences(
    seeded: SeededSurvey, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given aggregates of another survey whose segment value holds a window-title and a clear-screen sequence
    hostile = "plan=\x1b]0;owned\x07pro\x1b[2J"
    for granularity, period in ((Granularity.DAY, "2026-03-02"), (Granularity.QUARTER, "2026-Q1")):
        for segment in (ALL, hostile):
            key = AggregateKey("escapes", granularity, period, segment)
            aws.client("dynamodb").put_item(
                TableName=seeded.stack.tables["aggregates"],
                Item={
                    "pk": {"S": key.pk}, "period": {"S": period}, "survey_id": {"S": "escapes"},
                    "granularity": {"S": granularity.value}, "segment": {"S": segment}, "channel": {"S": ALL},
                    "promoters": {"N": "3"}, "invites_sent": {"N": "3"},
                },
            )  # fmt: skip
    # When the terminal report is printed
    assert run_cli("report", "escapes", "--from", "2026-03-02", "--to", "2026-03-02", "-g", "day") == 0
    out = capsys.readouterr().out
    # Then the value is shown, but no escape or control character reaches the terminal
    assert "plan=pro" in out
    assert "\x1b" not in out
    assert "\x07" not in out
