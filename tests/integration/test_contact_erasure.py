"""A contact's timeline and erasure on moto, through the real handlers (docs/privacy.md).

A wave is planned and delivered (planner, deliver), contacts tap (respond), the responses stream is scored
(score), then the contact_timeline and erase_contact functions answer through their API events. Every call
those functions make is judged against their synthesized roles by the permission recorder.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.contact_timeline import handler as timeline_handler
from functions.deliver import handler as deliver
from functions.erase_contact import handler as erase_handler
from local import demo_sending as ds
from local.demo import recount, score_stream
from local.environment import LocalStack
from local.lambda_events import LambdaContext, http_event
from nps.contacts.adapters.records import JOURNAL_AUDIENCE
from nps.contacts.erasure import ErasureService
from nps.kernel import aws
from nps.kernel.tables import CONTACTS_BY_ID
from nps.sending.delivery import Outcome, SendMessage
from nps.sending.suppression import address_hash
from tests.support.taps import BROWSER, FORM, PAGE_SCRIPT, call

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CSV = (
    "contact_id,email,phone,time_zone,locale,plan,region\n"
    "c-1,ana@example.com,,Europe/Berlin,en,pro,emea\n"
    "c-2,ben@example.com,,Europe/Berlin,en,free,emea\n"
    "c-3,cai@example.com,,Europe/Berlin,en,pro,emea\n"
    "c-1-bad,not-an-address,,Europe/Berlin,en,pro,emea\n"
)


@pytest.fixture
def stack(platform: LocalStack) -> Iterator[LocalStack]:
    clock = ds.Clock(START)
    timeline_handler.store.cache_clear()
    timeline_handler.key.cache_clear()
    timeline_handler.app.cache_clear()
    erase_handler.service.cache_clear()
    with ds.handlers(clock):
        # The respond fence and the wait for sends are real seconds in AWS; here they cost nothing.
        erasure = erase_handler.service()
        erasure.sleep = lambda seconds: None
        platform.clock = clock  # type: ignore[attr-defined]
        yield platform
    timeline_handler.store.cache_clear()
    timeline_handler.key.cache_clear()
    erase_handler.service.cache_clear()


def erasure(stack: LocalStack) -> ErasureService:
    return erase_handler.service()


def campaign(stack: LocalStack, csv_text: str = CSV) -> dict[str, str]:
    """Import, plan and send a wave; the contact id → score-page link of each contact."""
    ds.create_survey(stack, {**ds.DEMO_SURVEY, "reminder_days": None})
    ds.import_csv(stack, csv_text)
    ds.fire_wave(ds.SURVEY_ID, stack.clock.now)  # type: ignore[attr-defined]
    ds.drain_send_queue(stack, stack.clock)  # type: ignore[attr-defined]
    links = {}
    for link in ds.sent_links(stack):
        item = aws.client("dynamodb").get_item(
            TableName=stack.tables["invites"], Key={"invite_id": {"S": link.invite_id}}
        )["Item"]
        links[item["contact_id"]["S"]] = link.score_page
    return links


def tap(page: str, score: int) -> int:
    path = urlsplit(page).path
    opened = call(http_event("GET", path, {"score": str(score)}, headers=BROWSER))
    if opened["statusCode"] != 200:
        return int(opened["statusCode"])
    body = urlencode({"score": str(score)})
    return int(call(http_event("POST", path, body=body, headers={**PAGE_SCRIPT, **FORM}))["statusCode"])


def comment(page: str, text: str, score: int) -> int:
    body = urlencode({"comment": text, "score": str(score)})
    path = urlsplit(page).path + "/comment"
    return int(call(http_event("POST", path, body=body, headers={**BROWSER, **FORM}))["statusCode"])


def get_timeline(contact_id: str, **query: str) -> dict[str, Any]:
    event = http_event("GET", f"/contacts/{contact_id}", query or None)
    event["routeKey"] = "GET /contacts/{contact_id}"
    event["pathParameters"] = {"contact_id": contact_id}
    result: dict[str, Any] = timeline_handler.lambda_handler(event, LambdaContext("contact_timeline"))
    return result


def post_erasure(contact_id: str, **query: str) -> dict[str, Any]:
    event = http_event("POST", f"/contacts/{contact_id}/erasure", query or None)
    event["pathParameters"] = {"contact_id": contact_id}
    result: dict[str, Any] = erase_handler.lambda_handler(event, LambdaContext("erase_contact"))
    return result


def body(result: dict[str, Any]) -> Any:
    return json.loads(result["body"])


def items_mentioning(stack: LocalStack, contact_id: str) -> dict[str, int]:
    """Items of every table holding ``contact_id`` anywhere (a scan: the test's check, not the product's)."""
    found: Counter[str] = Counter()
    for logical, table in stack.tables.items():
        for page in aws.client("dynamodb").get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                if contact_id in json.dumps(item) and f"{contact_id}-" not in json.dumps(item):
                    found[logical] += 1
    return dict(found)


def aggregate_counts(stack: LocalStack) -> dict[str, Counter[str]]:
    """Category counts of the all-time-ish slices the recount covers: survey × quarter × segment label."""
    from nps.kernel.periods import Granularity, period_keys
    from nps.scoring.aggregation import AggregateKey

    quarter = period_keys(START)
    out: dict[str, Counter[str]] = {}
    for label in ("*", "plan=pro", "plan=free", "channel=email"):
        segment, channel = (label, "*") if not label.startswith("channel=") else ("*", label.split("=")[1])

        key = AggregateKey(ds.SURVEY_ID, Granularity.QUARTER, quarter[Granularity.QUARTER], segment, channel)
        item = (
            aws.client("dynamodb")
            .get_item(TableName=stack.tables["aggregates"], Key={"pk": {"S": key.pk}, "period": {"S": key.period}})
            .get("Item", {})
        )
        counts = Counter(
            {name: int(item.get(name, {}).get("N", "0")) for name in ("promoters", "passives", "detractors")}
        )
        out[label] = +counts
    return out


def recounted(stack: LocalStack) -> dict[str, Counter[str]]:
    counts = recount(stack)
    return {label: +counts.get(label, Counter()) for label in ("*", "plan=pro", "plan=free", "channel=email")}


# ------------------------------------------------------------------------------------------------------


def test_the_timeline_shows_invites_answers_changes_comments_suppression_and_next_eligible_date(
    stack: LocalStack,
) -> None:
    # Given a sent wave, an answer changed once and a comment with a terminal escape sequence
    links = campaign(stack)
    assert tap(links["c-1"], 3) == 200
    stack.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    assert tap(links["c-1"], 4) == 200
    assert comment(links["c-1"], "slow \x1b]0;owned\x07support", 4) in (200, 303)
    score_stream(stack)
    # When the timeline is asked for
    result = get_timeline("c-1")
    # Then it lists the invite with its channel, status, answer and change, and the comment
    assert result["statusCode"] == 200, result
    data = body(result)
    (invite,) = data["invites"]
    assert invite["channel"] == "email"
    assert invite["status"] == "sent"
    assert invite["response"]["score"] == 4
    assert invite["response"]["category"] == "detractor"
    assert invite["response"]["score_changed"] is True
    assert "support" in invite["response"]["comment"]
    # And the suppression state per channel, and the next eligible date (last send + 60 days of fatigue)
    assert data["suppressions"] == [
        {"channel": "email", "suppressed": False, "reason": None, "since": None, "audience": "default"}
    ]
    (eligible,) = data["eligibility"]
    assert eligible["fatigue_days"] == 60
    assert eligible["next_eligible_at"].startswith("2027-01-2")
    assert data["contacts"][0]["channels"] == ["email"]
    assert "ana@example.com" not in result["body"]


def conforms(result: dict[str, Any], path: str, method: str) -> None:
    """The answer's body validates against the committed OpenAPI document's schema for its status."""
    import jsonschema  # type: ignore[import-untyped]  # no stubs are published for it

    from functions.contact_timeline.openapi import DOCUMENT

    document = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    declared = document["paths"][path][method]["responses"][str(result["statusCode"])]
    schema = {**declared["content"]["application/json"]["schema"], "components": document["components"]}
    jsonschema.validate(body(result), schema)


def test_unknown_and_malformed_ids_get_404_and_422(stack: LocalStack) -> None:
    assert get_timeline("nobody")["statusCode"] == 404
    assert body(get_timeline("nobody"))["error"]["code"] == "not_found"
    conforms(get_timeline("nobody"), "/contacts/{contact_id}", "get")
    for bad in ("bad%20id", "x" * 65, "c-1%0A", "%2E%2E%2Fc-1", "%C3%A9", "c-1%2Fx"):
        assert get_timeline(bad)["statusCode"] == 422, bad
        conforms(get_timeline(bad), "/contacts/{contact_id}", "get")
        assert post_erasure(bad)["statusCode"] == 422, bad
        conforms(post_erasure(bad), "/contacts/{contact_id}/erasure", "post")
    for bad_limit in ("0", "-1", "1001", "many"):
        assert get_timeline("nobody", limit=bad_limit)["statusCode"] == 422, bad_limit
    assert get_timeline("x" * 64)["statusCode"] == 404  # the longest id is an id


def test_erasure_removes_the_contact_from_every_store_and_the_aggregates_equal_a_recount(stack: LocalStack) -> None:
    # Given three contacts who answered (one of them twice, with a comment), scored into the aggregates
    links = campaign(stack)
    assert tap(links["c-1"], 2) == 200
    assert tap(links["c-2"], 10) == 200
    assert tap(links["c-3"], 8) == 200
    assert comment(links["c-1"], "too slow", 2) in (200, 303)
    score_stream(stack)
    assert aggregate_counts(stack) == recounted(stack)
    assert aggregate_counts(stack)["*"] == Counter({"promoters": 1, "passives": 1, "detractors": 1})
    # ... and churn records of c-1 (matched to the survey, and one unmatched) and of c-2
    for pk, contact_id in (("churn#onboarding-q4", "c-1"), ("churn#*", "c-1"), ("churn#onboarding-q4", "c-2")):
        aws.client("dynamodb").put_item(
            TableName=stack.tables["accounts"],
            Item={
                "pk": {"S": pk},
                "sk": {"S": f"2026-11-24T00:00:00Z#contact#{contact_id}"},
                "kind": {"S": "contact"},
                "contact_id": {"S": contact_id},
            },
        )
    # When c-1 is erased through the API and the stream's removals are scored
    result = post_erasure("c-1")
    assert result["statusCode"] == 200, result
    erased = body(result)
    score_stream(stack)
    # Then it says what it erased
    assert erased["erased"] is True
    assert erased["counts"]["contacts"] == 1
    assert erased["counts"]["invites"] == 1
    assert erased["counts"]["responses"] == 1
    assert erased["counts"]["import_report_rows"] == 0  # c-1-bad is another contact
    assert erased["counts"]["account_records"] == 2  # the churn records (no referral ask in this wave)
    # And no table holds anything of c-1 any more
    assert items_mentioning(stack, "c-1") == {}
    # And the aggregates equal a recount of the remaining responses
    assert aggregate_counts(stack) == recounted(stack)
    assert aggregate_counts(stack)["*"] == Counter({"promoters": 1, "passives": 1})
    # And the others are untouched
    assert get_timeline("c-2")["statusCode"] == 200
    assert items_mentioning(stack, "c-2").get("accounts") == 1
    # And the timeline of c-1 is gone, and a tap on its old link records nothing
    assert get_timeline("c-1")["statusCode"] == 404
    assert tap(links["c-1"], 9) != 200
    # And erasing again is a documented no-op
    again = post_erasure("c-1")
    assert again["statusCode"] == 200
    assert body(again)["nothing_left"] is True
    assert body(again)["counts"] == dict.fromkeys(erased["counts"], 0)


def test_erasure_removes_the_contacts_rows_from_import_reports(stack: LocalStack) -> None:
    # Given an import whose report lists a rejected row of contact c-9
    campaign(stack, CSV + "c-9,still-not-an-address,,UTC,en,pro,emea\n")
    # ... and c-9 is also a stored contact of another import (fixed later)
    ds.import_csv(stack, "contact_id,email\nc-9,cy@example.com\n", name="fixed.csv")
    # When c-9 is erased
    result = post_erasure("c-9")
    # Then its row is gone from the report and the others stay
    assert body(result)["counts"]["import_report_rows"] == 1
    rows = ds.import_report(stack, "reports/default/contacts.errors.csv")
    assert [row["contact_id"] for row in rows] == ["c-1-bad"]


def test_keep_suppression_leaves_a_hash_only_suppression_that_stops_a_reimported_address(stack: LocalStack) -> None:
    # Given a contact who was sent a wave
    campaign(stack)
    # When it is erased keeping the suppression
    result = post_erasure("c-2", keep_suppression="true")
    assert body(result)["suppression_kept"] is True
    # Then the suppressions table holds the address's keyed hash, without any contact id
    digest = address_hash("email", "ben@example.com", stack.id_key)
    item = aws.client("dynamodb").get_item(TableName=stack.tables["suppressions"], Key={"address_hash": {"S": digest}})[
        "Item"
    ]
    assert item["reason"]["S"] == "erased"
    assert "contact_id" not in item
    assert items_mentioning(stack, "c-2") == {}


def test_a_crash_half_way_is_finished_by_a_rerun(stack: LocalStack) -> None:
    # Given an answered contact whose erasure dies right after the contact items were deleted
    links = campaign(stack)
    assert tap(links["c-1"], 9) == 200
    score_stream(stack)
    service = erasure(stack)
    original = service.store.mark_erasing

    def crash(invite_id: str, now_iso: str) -> bool:
        raise RuntimeError("the function was stopped")

    service.store.mark_erasing = crash  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        service.erase("c-1")
    service.store.mark_erasing = original  # type: ignore[method-assign]
    # Then the contact can no longer be sent to, the timeline says the erasure is pending
    assert body(get_timeline("c-1"))["erasure_pending"] is True
    # When the erasure is run again
    result = post_erasure("c-1")
    score_stream(stack)
    # Then it finishes: nothing of c-1 anywhere, aggregates equal the recount
    assert body(result)["counts"]["responses"] == 1
    assert items_mentioning(stack, "c-1") == {}
    assert aggregate_counts(stack) == recounted(stack)


def test_a_tap_racing_the_erasure_leaves_no_response_behind(stack: LocalStack) -> None:
    # Given a sent invite
    links = campaign(stack)
    service = erasure(stack)
    # When the person taps while the erasure waits out its respond fence (invites marked, answers not yet deleted)
    outcomes = []
    service.sleep = lambda seconds: outcomes.append(tap(links["c-3"], 10))
    service.erase("c-3")
    score_stream(stack)
    # Then the tap recorded nothing (the invite was marked) and nothing of c-3 is left
    assert outcomes
    assert outcomes[0] != 200
    assert items_mentioning(stack, "c-3") == {}
    assert aggregate_counts(stack) == recounted(stack)


def test_an_invite_planned_after_the_erasure_is_not_sent_and_does_not_linger(stack: LocalStack) -> None:
    # Given a wave planned (invites queued) and not delivered yet
    ds.create_survey(stack, {**ds.DEMO_SURVEY, "reminder_days": None})
    ds.import_csv(stack, CSV)
    ds.fire_wave(ds.SURVEY_ID, stack.clock.now)  # type: ignore[attr-defined]
    # When c-1 is erased before deliver runs (its queued invite is not in the by_contact index yet)
    erasure(stack).erase("c-1")
    ds.drain_send_queue(stack, stack.clock)  # type: ignore[attr-defined]
    # Then nothing was sent to c-1, and its queued invite was deleted by deliver
    assert "ana@example.com" not in [email.to for email in ds.captured_emails()]
    assert len(ds.captured_emails()) == 2
    assert "invites" not in items_mentioning(stack, "c-1")


def test_a_send_racing_the_erasure_is_never_started_once_the_contact_is_gone(stack: LocalStack) -> None:
    # Given a queued invite whose deliver read the contact, then the erasure deleted it before the claim
    ds.create_survey(stack, {**ds.DEMO_SURVEY, "reminder_days": None})
    ds.import_csv(stack, CSV)
    ds.fire_wave(ds.SURVEY_ID, stack.clock.now)  # type: ignore[attr-defined]
    invite = next(i for i in ds.invite_items(stack) if i["contact_id"]["S"] == "c-2")
    service = deliver.service()
    contacts = service.contacts
    real_get = contacts.get

    def read_then_erased(audience: str, contact_id: str) -> Any:
        found = real_get(audience, contact_id)
        aws.client("dynamodb").delete_item(
            TableName=stack.tables["contacts"], Key={"audience": {"S": audience}, "contact_id": {"S": contact_id}}
        )
        return found

    contacts.get = read_then_erased  # type: ignore[method-assign]
    try:
        outcome = service.deliver(SendMessage(invite["invite_id"]["S"]))
    finally:
        contacts.get = real_get  # type: ignore[method-assign]
    # Then nothing left and the invite is gone
    assert outcome is Outcome.SKIPPED
    assert ds.captured_emails() == []
    assert "Item" not in aws.client("dynamodb").get_item(
        TableName=stack.tables["invites"], Key={"invite_id": invite["invite_id"]}
    )


def test_an_erasure_waits_for_a_send_in_flight_and_answers_409_if_it_stays(stack: LocalStack) -> None:
    # Given a sent invite whose send is (still) claimed
    campaign(stack)
    invite = next(i for i in ds.invite_items(stack) if i.get("contact_id", {}).get("S") == "c-3")
    aws.client("dynamodb").update_item(
        TableName=stack.tables["invites"],
        Key={"invite_id": invite["invite_id"]},
        UpdateExpression="SET #s = :sending",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":sending": {"S": "sending"}},
    )
    # When the contact is erased
    result = post_erasure("c-3")
    # Then 409: retry later; the contact item is gone so nothing new can start, the invite stays
    assert result["statusCode"] == 409
    assert body(result)["error"]["code"] == "send_in_flight"
    conforms(result, "/contacts/{contact_id}/erasure", "post")
    journal = aws.client("dynamodb").query(
        TableName=stack.tables["contacts"],
        IndexName=CONTACTS_BY_ID.name,
        KeyConditionExpression="contact_id = :c",
        ExpressionAttributeValues={":c": {"S": "c-3"}},
    )["Items"]
    assert [i["audience"]["S"] for i in journal] == [JOURNAL_AUDIENCE]
    # When the send is recorded and the erasure is retried, it finishes
    aws.client("dynamodb").update_item(
        TableName=stack.tables["invites"],
        Key={"invite_id": invite["invite_id"]},
        UpdateExpression="SET #s = :sent",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":sent": {"S": "sent"}},
    )
    assert post_erasure("c-3")["statusCode"] == 200
    assert items_mentioning(stack, "c-3") == {}


def test_the_erasure_publishes_contact_erased_without_an_address(stack: LocalStack) -> None:
    from nps.events.schemas import validate_detail

    published: list[Any] = []
    campaign(stack)
    service = erasure(stack)
    real = service.publisher

    class Capture:
        def publish(self, events: Any) -> int:
            published.extend(events)
            return real.publish(events)

    service.publisher = Capture()
    service.erase("c-2")
    (event,) = published
    assert event.detail_type == "NPS Contact Erased"
    detail = json.loads(event.detail.model_dump_json())
    validate_detail("NPS Contact Erased", detail)
    assert detail["contact_id"] == "c-2"
    assert "@" not in event.detail.model_dump_json()


def test_the_committed_openapi_document_matches_the_code() -> None:
    from functions.contact_timeline import openapi

    current = openapi.document()
    assert openapi.DOCUMENT.read_text("utf-8") == current
    assert set(json.loads(current)["paths"]) == {"/contacts/{contact_id}", "/contacts/{contact_id}/erasure"}


def run_cli(*argv: str) -> tuple[int, str, str]:
    import contextlib
    import io

    from nps.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["--local", "--prefix", "test", *argv], in_process=True)
    return status, out.getvalue(), err.getvalue()


def test_the_cli_shows_escaped_timelines_erases_and_answers_bad_ids_in_one_line(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an answered contact whose stored attribute holds a terminal escape sequence
    links = campaign(stack)
    assert tap(links["c-2"], 9) == 200
    aws.client("dynamodb").update_item(
        TableName=stack.tables["contacts"],
        Key={"audience": {"S": "default"}, "contact_id": {"S": "c-2"}},
        UpdateExpression="SET attributes.#plan = :evil",
        ExpressionAttributeNames={"#plan": "plan"},
        ExpressionAttributeValues={":evil": {"S": "pro\x1b]0;owned\x07\nforged line"}},
    )
    # When the timeline is shown (text and JSON)
    status, out, err = run_cli("contact", "show", "c-2")
    assert status == 0, err
    assert "\x1b" not in out
    assert "forged line" in out
    assert "\nforged line" not in out  # the line break of a stored value cannot forge a line
    assert "answered 9 (promoter)" in out
    status, out, _ = run_cli("contacts", "show", "c-2", "--json")
    assert json.loads(out)["contact_id"] == "c-2"
    # Then unknown and malformed ids get one line on stderr and an exit status, no traceback
    status, out, err = run_cli("contacts", "show", "nobody")
    assert (status, out) == (1, "")
    assert err.count("\n") == 1
    status, _, err = run_cli("contacts", "erase", "bad id", "--yes")
    assert status == 2
    assert "Traceback" not in err
    # And without --yes (no terminal) nothing is erased
    status, _, err = run_cli("contacts", "erase", "c-2")
    assert status == 2
    assert "--yes" in err
    # When it is erased, then erased again
    from nps.cli import contacts as cli_contacts
    from nps.contacts.wiring import erasure_service

    def no_waiting() -> ErasureService:
        service = erasure_service()
        service.sleep = lambda seconds: None
        return service

    monkeypatch.setattr(cli_contacts, "erasure_service", no_waiting)
    status, out, err = run_cli("contacts", "erase", "c-2", "--yes")
    assert status == 0, err
    assert "responses: 1" in out
    status, out, _ = run_cli("contacts", "erase", "c-2", "--yes")
    assert status == 0
    assert "nothing left to erase" in out


_EXAMPLES = itertools.count()


@settings(max_examples=6, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    answers=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 10)), min_size=1, max_size=10),
    victim=st.integers(0, 3),
)
def test_any_answers_then_erasing_any_contact_leaves_aggregates_equal_to_a_recount(
    stack: LocalStack, answers: list[tuple[int, int]], victim: int
) -> None:
    from nps.kernel.categories import categorize
    from nps.kernel.periods import Granularity, iso_timestamp, period_key
    from nps.responding.adapters.invites import DynamoInviteRepository, Invite
    from nps.responding.adapters.responses import DynamoResponseRepository
    from nps.scoring.aggregation import ALL, AggregateKey

    # Given answers of up to four contacts (each answer its own invite) recorded and scored
    n = next(_EXAMPLES)
    survey_id = f"prop-{n}"
    now = datetime.now(UTC)
    invites = DynamoInviteRepository(stack.tables["invites"])
    responses = DynamoResponseRepository(stack.tables["responses"])
    for i, (who, score) in enumerate(answers):
        invite = Invite(
            invite_id=f"inv-p{n}-{i}",
            survey_id=survey_id,
            wave_id="wave-1",
            contact_id=f"p{n}-{who}",
            channel="email",
            locale="en",
            expires_at=int(now.timestamp()) + 3600,
            sent_at=iso_timestamp(now),
            segments={"plan": "pro"},
        )
        invites.put(invite)
        responses.record_score(invite, score, categorize(score), iso_timestamp(now))
    score_stream(stack)
    key = AggregateKey(survey_id, Granularity.QUARTER, period_key(Granularity.QUARTER, now), ALL, ALL)

    def aggregated() -> Counter[str]:
        item = (
            aws.client("dynamodb")
            .get_item(TableName=stack.tables["aggregates"], Key={"pk": {"S": key.pk}, "period": {"S": key.period}})
            .get("Item", {})
        )
        return +Counter({c: int(item.get(c, {}).get("N", "0")) for c in ("promoters", "passives", "detractors")})

    def recounted_survey() -> Counter[str]:
        counts: Counter[str] = Counter()
        for page in aws.client("dynamodb").get_paginator("scan").paginate(TableName=stack.tables["responses"]):
            for item in page["Items"]:
                if item.get("survey_id", {}).get("S") == survey_id and "score" in item:
                    counts[f"{categorize(int(item['score']['N'])).value}s"] += 1
        return counts

    assert aggregated() == recounted_survey()
    # When any of the contacts (or one who never answered) is erased and the removals are scored
    erasure(stack).erase(f"p{n}-{victim}")
    score_stream(stack)
    # Then the aggregates equal a recount of the remaining answers
    assert aggregated() == recounted_survey()
    assert sum(aggregated().values()) == sum(1 for who, _ in answers if who != victim)


def test_a_reminder_racing_the_erasure_is_never_sent_once_the_contact_is_gone(stack: LocalStack) -> None:
    # Given a sent invite whose reminder is due
    ds.create_survey(stack, {**ds.DEMO_SURVEY, "reminder_days": 3})
    ds.import_csv(stack, CSV)
    ds.fire_wave(ds.SURVEY_ID, stack.clock.now)  # type: ignore[attr-defined]
    ds.drain_send_queue(stack, stack.clock)  # type: ignore[attr-defined]
    sent = len(ds.captured_emails())
    invite = next(i for i in ds.invite_items(stack) if i.get("contact_id", {}).get("S") == "c-1")
    stack.clock.advance(timedelta(days=3, hours=1))  # type: ignore[attr-defined]
    # When the deliver function reads the contact, then the erasure deletes it before the reminder's claim
    service = deliver.service()
    contacts = service.contacts
    real_get = contacts.get

    def read_then_erased(audience: str, contact_id: str) -> Any:
        found = real_get(audience, contact_id)
        aws.client("dynamodb").delete_item(
            TableName=stack.tables["contacts"], Key={"audience": {"S": audience}, "contact_id": {"S": contact_id}}
        )
        return found

    contacts.get = read_then_erased  # type: ignore[method-assign]
    try:
        outcome = service.deliver(SendMessage(invite["invite_id"]["S"], kind="reminder"))
    finally:
        contacts.get = real_get  # type: ignore[method-assign]
    # Then the reminder is skipped: no message left, nothing claimed
    assert outcome is Outcome.SKIPPED
    assert len(ds.captured_emails()) == sent
    item = aws.client("dynamodb").get_item(TableName=stack.tables["invites"], Key={"invite_id": invite["invite_id"]})
    assert "reminder_status" not in item["Item"]


def test_an_invite_skipped_in_an_earlier_wave_is_erased_though_no_index_holds_it(stack: LocalStack) -> None:
    # Given a wave whose invite to c-1 was skipped at send time (its address suppressed then: never sent,
    # so in no index) ...
    clock = stack.clock  # type: ignore[attr-defined]
    ds.create_survey(stack, {**ds.DEMO_SURVEY, "reminder_days": None})
    ds.import_csv(stack, CSV)
    ds.fire_wave(ds.SURVEY_ID, clock.now)
    digest = address_hash("email", "ana@example.com", stack.id_key)
    suppressions = stack.tables["suppressions"]
    item = {"address_hash": {"S": digest}, "reason": {"S": "unsubscribed"}, "suppressed_at": {"S": "2026-11-23"}}
    aws.client("dynamodb").put_item(TableName=suppressions, Item=item)
    ds.drain_send_queue(stack, clock)
    aws.client("dynamodb").delete_item(TableName=suppressions, Key={"address_hash": {"S": digest}})
    skipped = [i for i in _invites_of(stack, "c-1") if i["status"]["S"] == "skipped"]
    assert len(skipped) == 1
    # ... and a later wave that reached c-1
    clock.advance(timedelta(days=2))
    ds.fire_wave(ds.SURVEY_ID, clock.now)
    ds.drain_send_queue(stack, clock)
    assert sorted(i["status"]["S"] for i in _invites_of(stack, "c-1")) == ["sent", "skipped"]
    # ... which the timeline shows, the sent one first
    shown = body(get_timeline("c-1"))
    assert [i["status"] for i in shown["invites"]] == ["sent", "skipped"]
    assert shown["invites"][1]["sent_at"] is None
    assert [i["status"] for i in body(get_timeline("c-1", limit="1"))["invites"]] == ["sent"]
    assert body(get_timeline("c-1", limit="1"))["more_invites"] == 1
    # When c-1 is erased
    result = post_erasure("c-1")
    # Then both invites are gone (the skipped one found by its id computed for the recorded wave)
    assert body(result)["counts"]["invites"] == 2
    assert items_mentioning(stack, "c-1") == {}
    # And c-2's invites are untouched
    assert len(_invites_of(stack, "c-2")) == 1


def _invites_of(stack: LocalStack, contact_id: str) -> list[dict[str, Any]]:
    """The invites of ``contact_id`` (a scan: the test's check)."""
    pages = aws.client("dynamodb").get_paginator("scan").paginate(TableName=stack.tables["invites"])
    return [
        item
        for page in pages
        for item in page["Items"]
        if item.get("contact_id", {}).get("S") == contact_id and item["invite_id"]["S"].startswith("inv-")
    ]


# -- the two doors: a documented request is answered without the resolver, exactly as the resolver would ----
def _both_doors(handler: Any, event: dict[str, Any], name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    request = handler.canonical_request(event)
    assert request is not None, event
    direct: dict[str, Any] = handler.answer_directly(*request)
    validated: dict[str, Any] = handler.app().resolve(event, LambdaContext(name))
    return direct, validated


def _same_answer(direct: dict[str, Any], validated: dict[str, Any]) -> None:
    assert direct["statusCode"] == validated["statusCode"]
    assert json.loads(direct["body"]) == json.loads(validated["body"])
    assert direct["headers"]["Content-Type"] == validated["headers"]["Content-Type"]


def test_a_documented_timeline_request_gets_the_resolvers_answer_without_the_resolver(stack: LocalStack) -> None:
    links = campaign(stack)
    assert tap(links["c-1"], 4) == 200
    score_stream(stack)
    for contact_id, query in (("c-1", None), ("c-1", {"limit": "1"}), ("c-2", {"limit": "1000"}), ("nobody", None)):
        event = http_event("GET", f"/contacts/{contact_id}", query)
        event["pathParameters"] = {"contact_id": contact_id}
        _same_answer(*_both_doors(timeline_handler, event, "contact_timeline"))


def test_a_documented_erasure_request_gets_the_resolvers_answer_without_the_resolver(stack: LocalStack) -> None:
    campaign(stack)
    assert body(post_erasure("c-2"))["erased"] is True
    for query in (None, {"keep_suppression": "false"}, {"keep_suppression": "true"}):
        event = http_event("POST", "/contacts/c-2/erasure", query)
        event["pathParameters"] = {"contact_id": "c-2"}
        _same_answer(*_both_doors(erase_handler, event, "erase_contact"))


@pytest.mark.parametrize(
    ("method", "path", "query"),
    [
        ("GET", "/contacts/c-1", {"limit": "01"}),
        ("GET", "/contacts/c-1", {"limit": "0"}),
        ("GET", "/contacts/c-1", {"limit": "1001"}),
        ("GET", "/contacts/c-1", {"limit": "+5"}),
        ("GET", "/contacts/c-1", {"other": "1"}),
        ("GET", "/contacts/c%2F1", None),
        ("GET", "/contacts/" + "c" * 65, None),
        ("GET", "/contacts/c-1/", None),
        ("POST", "/contacts/c-1", None),
        ("POST", "/contacts/c-1/erasure", {"keep_suppression": "1"}),
        ("POST", "/contacts/c-1/erasure", {"keep_suppression": "TRUE"}),
        ("GET", "/contacts/c-1/erasure", None),
    ],
)
def test_anything_else_goes_to_the_validating_resolver(method: str, path: str, query: dict[str, str] | None) -> None:
    event = http_event(method, path, query)
    assert timeline_handler.canonical_request(event) is None
    assert erase_handler.canonical_request(event) is None
