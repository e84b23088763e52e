"""The web prompt through the real web function on moto: identify → shown → answered → scored; the
eligibility rules; CORS; rate limits; nothing recorded on bad input."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from functions.score import handler as score
from functions.web import handler as web_function
from local.environment import LocalStack, StreamReader
from local.lambda_events import LambdaContext, http_event
from local.principals import as_outside_world
from nps.channels.service import WebError
from nps.channels.site_tokens import ask_keyring, mint
from nps.kernel import aws
from nps.links.tokens import Purpose, TokenStatus, sign, verify
from nps.sending.adapters.contacts import DynamoContactRepository
from nps.sending.adapters.suppressions import DynamoSuppressionRepository
from nps.sending.adapters.surveys import DynamoSurveyRepository
from nps.sending.contacts import Contact
from nps.sending.suppression import SuppressionReason, address_hash
from nps.sending.surveys import Survey
from tests.permissions.session import RECORDER
from tests.support.web import (
    ORIGIN,
    SURVEY_ID,
    WebReply,
    call,
    contact_token,
    put_web_survey,
    throttle_rate_counters,
)


@pytest.fixture
def web(platform: LocalStack) -> Iterator[LocalStack]:
    web_function.service.cache_clear()
    put_web_survey(platform)
    yield platform
    web_function.service.cache_clear()


def scan(stack: LocalStack, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = aws.client("dynamodb").scan(TableName=stack.tables[table])["Items"]
    return items


def eligibility(
    stack: LocalStack, contact_id: str, url: str | None = "https://app.example.com/app", **claims: Any
) -> WebReply:
    return call(SURVEY_ID, "eligibility", {"contact_token": contact_token(stack, contact_id, **claims), "url": url})


def shown(stack: LocalStack, contact_id: str, **claims: Any) -> str:
    reply = eligibility(stack, contact_id, **claims)
    assert reply.status == 200, reply
    assert reply.body["show"] is True, reply
    token: str = reply.body["ask_token"]
    return token


def aggregates(stack: LocalStack) -> dict[tuple[str, str], dict[str, int]]:
    return {
        (i["pk"]["S"], i["period"]["S"]): {k: int(v["N"]) for k, v in i.items() if "N" in v}
        for i in scan(stack, "aggregates")
        if not i["pk"]["S"].startswith(("ledger#", "commit#"))
    }


def score_stream(stack: LocalStack) -> None:
    for event in StreamReader(stack.stream_arns["responses"]).read_batches():
        assert score.lambda_handler(event, LambdaContext())["batchItemFailures"] == []


def test_identify_show_answer_and_score_counts_in_the_web_channel(web: LocalStack) -> None:
    # Given a contact of the survey's audience with a plan, identified on the site
    DynamoContactRepository(web.tables["contacts"]).upsert(
        Contact(contact_id="c-1", email="c1@example.com", attributes={"plan": "pro"})
    )
    # When the prompt is shown, answered 9 and then commented on
    reply = eligibility(web, "c-1", locale="de")
    assert reply.body["prompt"]["locale"] == "de"
    assert reply.body["prompt"]["brand"] == {"name": "Acme", "colour": "#1d4ed8", "logo_url": None}
    assert reply.body["prompt"]["labels"]["score_label"] == "{score} von 10"
    answer = call(SURVEY_ID, "responses", {"ask_token": reply.body["ask_token"], "score": 9})
    comment = call(SURVEY_ID, "comments", {"ask_token": reply.body["ask_token"], "comment": "Fast", "score": 9})
    assert (answer.status, answer.body) == (200, {"recorded": True, "category": "promoter"})
    assert (comment.status, comment.body) == (200, {"recorded": True})
    # Then one response with channel web is scored by the same stream into the web channel's aggregates
    (response,) = scan(web, "responses")
    assert response["channel"] == {"S": "web"}
    assert response["comment"] == {"S": "Fast"}
    assert response["segments"] == {"M": {"plan": {"S": "pro"}}}
    score_stream(web)
    counters = aggregates(web)
    quarter = next(key for key in counters if key[0] == f"{SURVEY_ID}#quarter#*#web")
    assert counters[quarter]["promoters"] == 1
    assert counters[quarter]["invites_sent"] == 1  # shown once: response rate = answered / shown
    assert counters[(f"{SURVEY_ID}#quarter#plan=pro#web", quarter[1])]["invites_sent"] == 1
    # And the contact's last_surveyed_at is set, so email waves inside the fatigue window skip them
    contact = DynamoContactRepository(web.tables["contacts"]).get("default", "c-1")
    assert contact is not None
    assert contact.last_surveyed_at is not None
    # And the prompt is not shown again this period
    assert eligibility(web, "c-1").body == {"show": False, "reason": "answered"}


def test_showing_again_before_an_answer_counts_the_prompt_once(web: LocalStack) -> None:
    first = shown(web, "c-2")
    second = shown(web, "c-2")
    assert first
    assert second
    invites = [i for i in scan(web, "invites") if i.get("channel") == {"S": "web"}]
    assert len(invites) == 1
    quarter = next(v for k, v in aggregates(web).items() if k[0] == f"{SURVEY_ID}#quarter#*#web")
    assert quarter["invites_sent"] == 1


def test_a_second_answer_inside_the_edit_window_changes_the_same_response(web: LocalStack) -> None:
    token = shown(web, "c-3")
    call(SURVEY_ID, "responses", {"ask_token": token, "score": 3})
    again = call(SURVEY_ID, "responses", {"ask_token": token, "score": 8})
    same = call(SURVEY_ID, "responses", {"ask_token": token, "score": 8})
    assert again.body["category"] == "passive"
    assert same.status == 200
    (response,) = scan(web, "responses")
    assert response["score"] == {"N": "8"}
    assert response["version"] == {"N": "2"}


def test_a_dismissed_prompt_is_not_shown_again_within_the_delay(web: LocalStack) -> None:
    token = shown(web, "c-4")
    reply = call(SURVEY_ID, "dismissals", {"ask_token": token})
    assert (reply.status, reply.body) == (200, {"recorded": True})
    assert eligibility(web, "c-4").body == {"show": False, "reason": "dismissed"}
    assert scan(web, "responses") == []


def test_contacts_the_table_does_not_hold_are_asked_but_never_added_to_it(web: LocalStack) -> None:
    reply = eligibility(web, "site-user-1", attributes={"plan": "free"})
    assert reply.body["show"] is True
    assert scan(web, "contacts") == []
    web_invite = next(i for i in scan(web, "invites") if i.get("channel") == {"S": "web"})
    assert web_invite["segments"] == {"M": {"plan": {"S": "free"}}}  # from the token's signed claims


def test_a_suppressed_contact_is_never_shown(web: LocalStack) -> None:
    DynamoContactRepository(web.tables["contacts"]).upsert(Contact(contact_id="c-5", email="Gone@example.com"))
    DynamoSuppressionRepository(web.tables["suppressions"]).suppress(
        address_hash("email", "gone@example.com", web.id_key), SuppressionReason.UNSUBSCRIBED, "2026-01-01T00:00:00Z"
    )
    assert eligibility(web, "c-5").body == {"show": False, "reason": "suppressed"}
    assert [i for i in scan(web, "invites") if i.get("channel") == {"S": "web"}] == []


def test_a_contact_surveyed_by_email_inside_the_fatigue_window_is_not_asked(web: LocalStack) -> None:
    DynamoContactRepository(web.tables["contacts"]).upsert(Contact(contact_id="c-6", email="c6@example.com"))
    aws.client("dynamodb").update_item(
        TableName=web.tables["contacts"],
        Key={"audience": {"S": "default"}, "contact_id": {"S": "c-6"}},
        UpdateExpression="SET last_surveyed_at = :at",
        ExpressionAttributeValues={":at": {"S": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())}},
    )
    assert eligibility(web, "c-6").body == {"show": False, "reason": "fatigue"}


@pytest.mark.parametrize(
    ("settings", "url", "reason"),
    [
        ({"enabled": False}, "https://app.example.com/app", "disabled"),
        ({"url_include": ["/app/"]}, "https://app.example.com/pricing", "url"),
        ({"sample_percent": 0}, "https://app.example.com/app", "sampled_out"),
        ({"min_days_since_first_seen": 3}, "https://app.example.com/app", "too_new"),
    ],
)
def test_ineligible_reasons(web: LocalStack, settings: dict[str, Any], url: str, reason: str) -> None:
    put_web_survey(web, **settings)
    assert eligibility(web, "c-7", url=url).body == {"show": False, "reason": reason}
    assert [i for i in scan(web, "invites") if i.get("channel") == {"S": "web"}] == []


def test_first_seen_is_recorded_on_an_excluded_page_once(web: LocalStack) -> None:
    # Given a survey asking after 3 days, only under /app
    put_web_survey(web, url_include=["/app"], min_days_since_first_seen=3)
    # When the contact is first identified on an excluded page
    assert eligibility(web, "fs-1", url="https://app.example.com/pricing").body == {"show": False, "reason": "url"}
    # Then first seen is recorded (the 3 days start now)
    (state,) = [i for i in scan(web, "invites") if i.get("kind") == {"S": "web_state"}]
    assert "first_seen_at" in state
    # And later calls, excluded or not, read it and write nothing more for it
    written: list[str] = []

    def record_write(params: dict[str, Any], **_: Any) -> None:
        written.append(params.get("Key", {}).get("invite_id", {}).get("S", "?"))

    events = aws.client("dynamodb").meta.events
    for operation in ("UpdateItem", "PutItem", "TransactWriteItems"):
        events.register(f"provide-client-params.dynamodb.{operation}", record_write, unique_id=f"w-{operation}")
    try:
        eligibility(web, "fs-1", url="https://app.example.com/pricing")
        assert eligibility(web, "fs-1").body == {"show": False, "reason": "too_new"}
    finally:
        for operation in ("UpdateItem", "PutItem", "TransactWriteItems"):
            events.unregister(f"provide-client-params.dynamodb.{operation}", unique_id=f"w-{operation}")
    assert written
    assert all(key.startswith("wrl-") for key in written)  # the rate limiter's counters only
    (again,) = [i for i in scan(web, "invites") if i.get("kind") == {"S": "web_state"}]
    assert again == state


def test_the_daily_cap_stops_prompts_for_the_day(web: LocalStack) -> None:
    put_web_survey(web, daily_cap=2)
    shown(web, "d-1")
    shown(web, "d-2")
    assert eligibility(web, "d-3").body == {"show": False, "reason": "daily_cap"}
    shown(web, "d-1")  # already shown today: shows again, not counted again


def web_invites(stack: LocalStack) -> list[dict[str, Any]]:
    return [i for i in scan(stack, "invites") if i.get("channel") == {"S": "web"}]


def test_a_contact_deleted_between_read_and_show_is_not_shown(web: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a stored contact who is deleted (say, erased) right after eligibility read it
    contacts = DynamoContactRepository(web.tables["contacts"])
    contacts.upsert(Contact(contact_id="gone-1", email="gone1@example.com"))
    store = web_function.service().store
    read = store.eligibility_reads

    def read_then_delete(*args: Any) -> Any:
        found = read(*args)
        with as_outside_world():  # the erasure, not the web function
            aws.client("dynamodb").delete_item(
                TableName=web.tables["contacts"], Key={"audience": {"S": "default"}, "contact_id": {"S": "gone-1"}}
            )
        return found

    monkeypatch.setattr(store, "eligibility_reads", read_then_delete)
    # When the prompt would be shown, the transaction's contact condition fails (moto's CancellationReasons)
    reply = eligibility(web, "gone-1")
    # Then it is a 200 "not shown", and nothing of the show is written: no invite, no count, no contact
    assert (reply.status, reply.body) == (200, {"show": False, "reason": "changed"})
    assert web_invites(web) == []
    assert not [k for k in aggregates(web) if k[0].endswith("#web")]
    assert scan(web, "contacts") == []


def test_an_invite_created_between_read_and_show_shows_again_counted_once(
    web: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a prompt shown once, and a second request that read before the first wrote
    shown(web, "race-1")
    store = web_function.service().store
    read = store.eligibility_reads
    monkeypatch.setattr(
        store, "eligibility_reads", lambda *a: dataclasses.replace(read(*a), period_invite=None, state=None)
    )
    # When the second request writes (the invite's condition fails)
    reply = eligibility(web, "race-1")
    # Then it shows with an ask token, and the prompt is counted once
    assert reply.body["show"] is True
    assert len(web_invites(web)) == 1
    quarter = next(v for k, v in aggregates(web).items() if k[0] == f"{SURVEY_ID}#quarter#*#web")
    assert quarter["invites_sent"] == 1


def test_a_full_daily_cap_between_read_and_show_is_daily_cap(web: LocalStack) -> None:
    # Given a cap of 1 taken by another contact (the cap counter is the transaction's third item)
    put_web_survey(web, daily_cap=1)
    shown(web, "cap-1")
    # When another contact is decided eligible, the cap's condition cancels the show
    reply = eligibility(web, "cap-2")
    assert (reply.status, reply.body) == (200, {"show": False, "reason": "daily_cap"})
    assert len(web_invites(web)) == 1


def _cancel(item: int, code: str, times: int) -> tuple[Any, list[int]]:
    """A botocore handler that cancels the next ``times`` show transactions with ``code`` on item ``item``
    (the cancellation DynamoDB sends for contention, which moto never does)."""
    calls: list[int] = []

    def handler(params: dict[str, Any], **_: Any) -> Any:
        count = len(json.loads(params["body"])["TransactItems"])
        calls.append(count)
        if len(calls) > times:
            return None
        reasons = [{"Code": "None"}] * count
        reasons[item] = {"Code": code, "Message": code}
        error = {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"}
        return (
            type("Reply", (), {"status_code": 400, "headers": {}})(),
            {"Error": error, "CancellationReasons": reasons},
        )

    return handler, calls


@pytest.mark.parametrize(("item", "name"), [(0, "invite"), (1, "state"), (2, "contact"), (3, "aggregate")])
def test_contention_on_any_item_is_retried_then_busy_never_a_500(web: LocalStack, item: int, name: str) -> None:
    DynamoContactRepository(web.tables["contacts"]).upsert(Contact(contact_id="busy-1", email="b1@example.com"))
    web_function.service().store._sleep = lambda _: None
    events = aws.client("dynamodb").meta.events
    # Given contention on one item twice: the third attempt writes
    handler, calls = _cancel(item, "TransactionConflict", times=2)
    events.register_first("before-call.dynamodb.TransactWriteItems", handler, unique_id="cancel")
    try:
        assert eligibility(web, "busy-1").body["show"] is True, name
        assert len(calls) == 3
    finally:
        events.unregister("before-call.dynamodb.TransactWriteItems", unique_id="cancel")
    # And contention that outlasts the retries, or a reason no item explains, is "busy" with nothing written
    for code in ("TransactionConflict", "ValidationError"):
        handler, calls = _cancel(item, code, times=99)
        events.register_first("before-call.dynamodb.TransactWriteItems", handler, unique_id="cancel")
        try:
            reply = eligibility(web, "busy-2")
        finally:
            events.unregister("before-call.dynamodb.TransactWriteItems", unique_id="cancel")
        assert (reply.status, reply.body) == (200, {"show": False, "reason": "busy"}), (name, code)
    assert len(web_invites(web)) == 1


def test_eligibility_reads_at_most_two_round_trips(web: LocalStack) -> None:
    DynamoContactRepository(web.tables["contacts"]).upsert(
        Contact(contact_id="c-8", email="c8@example.com", phone="+14155550100")
    )
    store = web_function.service().store
    eligibility(web, "c-8")  # warms the survey cache
    before = store.reads
    eligibility(web, "c-8")
    assert store.reads - before == 2  # contact + state + invite, then the suppression keys
    before = store.reads
    eligibility(web, "nobody-in-the-table")
    assert store.reads - before == 1


def test_cors_answers_only_allowed_origins(web: LocalStack) -> None:
    preflight = call(SURVEY_ID, "eligibility", None, method="OPTIONS")
    assert preflight.status == 204
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert preflight.headers["vary"] == "Origin"
    assert preflight.headers["access-control-allow-headers"] == "Content-Type"
    assert "access-control-allow-credentials" not in preflight.headers
    denied = call(SURVEY_ID, "eligibility", None, method="OPTIONS", origin="https://evil.example")
    assert denied.status == 403
    assert "access-control-allow-origin" not in denied.headers
    post = call(
        SURVEY_ID,
        "eligibility",
        {"contact_token": contact_token(web, "c-9"), "url": None},
        origin="https://evil.example",
    )
    assert (post.status, post.body["error"]["code"]) == (403, "origin_not_allowed")
    assert "access-control-allow-origin" not in post.headers
    no_origin = call(SURVEY_ID, "eligibility", {"contact_token": contact_token(web, "c-9"), "url": None}, origin=None)
    assert no_origin.status == 403
    assert [i for i in scan(web, "invites") if i.get("channel") == {"S": "web"}] == []


def mid_minute() -> Callable[[], datetime]:
    """A clock stopped inside the current minute: the rate limiter counts per calendar minute, so a burst
    that straddled a minute's end would be split over two budgets."""
    now = datetime.now(UTC).replace(second=1, microsecond=0)
    return lambda: now


def test_a_burst_from_one_client_is_rate_limited(web: LocalStack) -> None:
    web_function.service().rate_limit_per_minute = 5
    web_function.service().clock = mid_minute()
    replies = [call(SURVEY_ID, "eligibility", {"contact_token": "x", "url": None}) for _ in range(7)]
    statuses = [reply.status for reply in replies]
    assert statuses == [401] * 5 + [429] * 2  # refused tokens count too: a burst is a burst
    limited = next(reply for reply in replies if reply.status == 429)
    assert limited.body["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    # The survey this instance holds allows the origin: the 429 carries CORS, so the widget can read it
    assert limited.headers["access-control-allow-origin"] == ORIGIN
    other_client = call(SURVEY_ID, "eligibility", {"contact_token": "x", "url": None}, source_ip="198.51.100.7")
    assert other_client.status == 401
    stored = json.dumps(scan(web, "invites"))
    assert "203.0.113.10" not in stored  # the counter's key is a keyed hash, never the address


def test_requests_are_counted_before_the_survey_is_read_whatever_the_survey_or_origin(web: LocalStack) -> None:
    # Given a limit of 4 a minute
    web_function.service().rate_limit_per_minute = 4
    web_function.service().clock = mid_minute()
    # When one client sends a preflight, a refused origin's request and unknown survey ids
    replies = [
        call(SURVEY_ID, "eligibility", None, method="OPTIONS"),
        call(SURVEY_ID, "eligibility", {"contact_token": "x"}, origin="https://evil.example"),
        call("no-such-1", "eligibility", {"contact_token": "x"}),
        call("no-such-2", "eligibility", {"contact_token": "x"}),
        call("no-such-3", "eligibility", {"contact_token": "x"}),
        call(SURVEY_ID, "eligibility", None, method="OPTIONS", origin="https://evil.example"),
    ]
    # Then every one counted: the fifth and sixth are refused, and the unknown survey was never looked up
    assert [reply.status for reply in replies] == [204, 403, 404, 404, 429, 429]
    assert "no-such-3" not in web_function.service().store._surveys
    # And the refused origin's 429 carries no CORS headers
    assert "access-control-allow-origin" not in replies[5].headers


def test_a_rate_limit_counter_that_cannot_be_written_is_a_503_not_a_500(
    web: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a warm instance (the survey read) and then DynamoDB throttling the rate-limit counter's write
    assert call(SURVEY_ID, "eligibility", {"contact_token": "x", "url": None}).status == 401
    throttled = throttle_rate_counters(monkeypatch)
    # When a prompt is asked for, and answered
    token = contact_token(web, "c-throttled")
    asked = call(SURVEY_ID, "eligibility", {"contact_token": token, "url": None})
    answered = call(SURVEY_ID, "responses", {"ask_token": "x", "score": 9})
    preflight = call(SURVEY_ID, "responses", None, method="OPTIONS")
    # Then each is a clear 503 JSON error with Retry-After and CORS for the allowed origin, nothing recorded
    for reply in (asked, answered):
        assert (reply.status, reply.body["error"]["code"]) == (503, "unavailable")
        assert int(reply.headers["retry-after"]) >= 1
        assert reply.headers["access-control-allow-origin"] == ORIGIN
    assert preflight.status == 503
    assert sum(client.throttled for client in throttled) == 3
    assert web_invites(web) == []


def test_an_ipv6_client_rotating_inside_its_64_is_rate_limited(web: LocalStack) -> None:
    # Given a limit of 3 a minute
    web_function.service().rate_limit_per_minute = 3
    web_function.service().clock = mid_minute()
    # When one client sends from a new address of its /64 each time, and a client with no usable address
    replies = [
        call(SURVEY_ID, "eligibility", {"contact_token": "x", "url": None}, source_ip=f"2001:db8:aa:bb::{n:x}")
        for n in range(1, 5)
    ]
    # Then the fourth is refused (the /64 is the client), while the next /64 is not
    assert [reply.status for reply in replies] == [401, 401, 401, 429]
    next_prefix = call(SURVEY_ID, "eligibility", {"contact_token": "x", "url": None}, source_ip="2001:db8:aa:bc::1")
    assert next_prefix.status == 401
    assert "2001:db8" not in json.dumps(scan(web, "invites"))


def _bad(web: LocalStack, token: str) -> list[tuple[str, Any, dict[str, Any]]]:
    return [
        ("responses", {"ask_token": token, "score": 11}, {"status": 422, "code": "bad_score"}),
        ("responses", {"ask_token": token, "score": "9"}, {"status": 422, "code": "bad_score"}),
        ("responses", {"ask_token": token, "score": True}, {"status": 422, "code": "bad_score"}),
        ("responses", {"ask_token": token}, {"status": 400, "code": "bad_request"}),
        ("responses", {"ask_token": token, "score": 9, "extra": 1}, {"status": 400, "code": "bad_request"}),
        ("responses", {"ask_token": token[:-2] + "AA", "score": 9}, {"status": 401, "code": "token_invalid"}),
        ("comments", {"ask_token": token, "comment": "x" * 2001, "score": 9}, {"status": 422, "code": "bad_comment"}),
        ("comments", {"ask_token": token, "comment": "  \u200b ", "score": 9}, {"status": 422, "code": "bad_comment"}),
        ("comments", {"ask_token": token, "comment": "Why not", "score": None}, {"status": 409, "code": "no_answer"}),
        ("dismissals", {"ask_token": 7}, {"status": 400, "code": "bad_request"}),
        ("eligibility", {"contact_token": "v1.s1.e30.AAAA", "url": None}, {"status": 401, "code": "token_invalid"}),
    ]


def test_nothing_is_recorded_on_bad_input(web: LocalStack) -> None:
    token = shown(web, "c-10")
    before = scan(web, "invites")
    for action, body, expected in _bad(web, token):
        reply = call(SURVEY_ID, action, body)
        assert {"status": reply.status, "code": reply.body["error"]["code"]} == expected, (action, body)
    assert call(SURVEY_ID, "responses", None, raw="{not json").status == 400
    assert call(SURVEY_ID, "responses", None, raw="[1]").status == 400
    # JSON nested deeper than the parser goes (under the size limit) is malformed, not a server error
    assert call(SURVEY_ID, "responses", None, raw="[" * 30_000).status == 400
    assert call(SURVEY_ID, "responses", None, raw='{"a":' * 5_000 + "1" + "}" * 5_000).status == 400
    assert call(SURVEY_ID, "responses", {"ask_token": token, "score": 9}, content_type="text/plain").status == 415
    # One reading only: a repeated key (the score twice) is malformed, a charset other than UTF-8 unsupported
    twice = call(SURVEY_ID, "responses", None, raw=f'{{"ask_token": "{token}", "score": 1, "score": 10}}')
    assert (twice.status, twice.body["error"]["code"]) == (400, "bad_request")
    for charset in ("latin1", '"ISO-8859-1"', "utf-16", "UTF8"):
        refused = call(
            SURVEY_ID,
            "responses",
            {"ask_token": token, "score": 9},
            content_type=f"application/json; charset={charset}",
        )
        assert (refused.status, refused.body["error"]["code"]) == (415, "unsupported_media_type"), charset
    oversized = call(SURVEY_ID, "comments", {"ask_token": token, "comment": "x" * 40_000, "score": 9})
    assert (oversized.status, oversized.body["error"]["code"]) == (413, "payload_too_large")
    assert scan(web, "responses") == []
    assert [i for i in scan(web, "invites") if "requests" not in i] == [i for i in before if "requests" not in i]


def test_a_utf8_charset_in_any_spelling_is_read(web: LocalStack) -> None:
    token = shown(web, "cs-1")
    for charset in ("utf-8", "UTF-8", '"utf-8"', '"Utf-8"'):
        reply = call(
            SURVEY_ID, "responses", {"ask_token": token, "score": 9}, content_type=f"application/json;charset={charset}"
        )
        assert reply.status == 200, charset


def test_tokens_are_bound_to_their_survey(web: LocalStack) -> None:
    put_web_survey(web, survey_id="other-survey")
    token = shown(web, "c-11")
    foreign_ask = call("other-survey", "responses", {"ask_token": token, "score": 9})
    assert (foreign_ask.status, foreign_ask.body["error"]["code"]) == (403, "wrong_survey")
    foreign_contact = call("other-survey", "eligibility", {"contact_token": contact_token(web, "c-11"), "url": None})
    assert (foreign_contact.status, foreign_contact.body["error"]["code"]) == (403, "wrong_survey")
    unknown = call("no-such-survey", "eligibility", {"contact_token": contact_token(web, "c-11"), "url": None})
    assert (unknown.status, unknown.body["error"]["code"]) == (404, "survey_not_found")
    # An id no survey can have (too long, other characters) is not found without a read or a cache entry
    with RECORDER.capture() as uses:
        for impossible in ("x" * 5_000, "a%20b", "s\u00e9"):
            reply = call(impossible, "eligibility", {"contact_token": "x", "url": None})
            assert (reply.status, reply.body["error"]["code"]) == (404, "survey_not_found")
    assert not [u for u in uses if u.action == "dynamodb:GetItem"]
    assert scan(web, "responses") == []


def test_only_surveys_set_up_for_a_site_are_confirmed_to_exist(web: LocalStack) -> None:
    # Given an email-only survey (no web prompt, no allowed origin) and a web survey
    email_only = Survey.model_validate(
        {
            "survey_id": "email-only",
            "name": "Email",
            "brand_name": "Acme",
            "sender": "s@example.com",
            "channels": ["email"],
        }
    )
    DynamoSurveyRepository(web.tables["surveys"]).put(email_only)
    web_function.service().store.forget_surveys()
    body = {"contact_token": "x", "url": None}
    # Then the email-only survey is not found, from any origin, like an unknown id
    for survey_id in ("email-only", "no-such-survey"):
        for origin in (ORIGIN, "https://evil.example", None):
            reply = call(survey_id, "eligibility", body, origin=origin)
            assert (reply.status, reply.body["error"]["code"]) == (404, "survey_not_found"), (survey_id, origin)
            assert call(survey_id, "eligibility", None, method="OPTIONS", origin=origin).status == 404
    # And a web survey from an origin it does not allow is 403 (its id is public in the site's pages)
    reply = call(SURVEY_ID, "eligibility", body, origin="https://evil.example")
    assert (reply.status, reply.body["error"]["code"]) == (403, "origin_not_allowed")


def test_expired_tokens_are_refused(web: LocalStack) -> None:
    expired_contact = mint(web.site_secret(SURVEY_ID), SURVEY_ID, "c-12", int(time.time()) - 1)
    reply = call(SURVEY_ID, "eligibility", {"contact_token": expired_contact, "url": None})
    assert (reply.status, reply.body["error"]["code"]) == (401, "token_expired")
    token = shown(web, "c-12")
    invite_id = next(i["invite_id"]["S"] for i in scan(web, "invites") if i.get("channel") == {"S": "web"})
    assert token
    assert web.site_keyring is not None
    asks = ask_keyring(web.site_keyring)
    expired_ask = sign(asks, Purpose.WEB, invite_id, int(time.time()) - 1)
    reply = call(SURVEY_ID, "responses", {"ask_token": expired_ask, "score": 9})
    assert (reply.status, reply.body["error"]["code"]) == (401, "token_expired")
    respond_token = sign(asks, Purpose.RESPOND, invite_id, int(time.time()) + 60)
    reply = call(SURVEY_ID, "responses", {"ask_token": respond_token, "score": 9})
    assert (reply.status, reply.body["error"]["code"]) == (401, "token_invalid")
    # A web token signed with the email/SMS link keyring is forged as far as the web function knows
    link_signed = sign(web.keyring, Purpose.WEB, invite_id, int(time.time()) + 60)
    reply = call(SURVEY_ID, "responses", {"ask_token": link_signed, "score": 9})
    assert (reply.status, reply.body["error"]["code"]) == (401, "token_invalid")
    assert scan(web, "responses") == []


def test_ask_tokens_are_signed_with_keys_derived_from_the_site_keys(web: LocalStack) -> None:
    # Given a shown prompt, the web function never reading the email/SMS link keyring
    with RECORDER.capture() as uses:
        token = shown(web, "ask-1")
        assert call(SURVEY_ID, "responses", {"ask_token": token, "score": 9}).status == 200
    read = {u.resource for u in uses if u.action == "secretsmanager:GetSecretValue"}
    assert not [arn for arn in read if "LinkSigningKeys" in arn]
    # Then its ask token verifies under the ask keyring, not under the link keyring
    assert web.site_keyring is not None
    assert verify(ask_keyring(web.site_keyring), token, Purpose.WEB, time.time()).status is TokenStatus.VALID
    assert verify(web.keyring, token, Purpose.WEB, time.time()).status is TokenStatus.INVALID


def test_the_widget_script_is_served_with_a_strong_etag(web: LocalStack, tmp_path: Any, monkeypatch: Any) -> None:
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "widget.js").write_text("window.nps={};\n", "utf-8")
    monkeypatch.setattr(web_function, "templates_dir", lambda: tmp_path)
    web_function.widget.cache_clear()
    try:
        first = web_function.lambda_handler(http_event("GET", "/w/v1/widget.js"), LambdaContext("web"))
        headers = {k.lower(): v for k, v in first["headers"].items()}
        assert first["statusCode"] == 200
        assert first["body"] == "window.nps={};\n"
        assert headers["content-type"] == "text/javascript; charset=utf-8"
        assert headers["cache-control"] == "public, max-age=3600"
        assert headers["x-content-type-options"] == "nosniff"
        etag = headers["etag"]
        again = web_function.lambda_handler(
            http_event("GET", "/w/v1/widget.js", headers={"If-None-Match": etag}), LambdaContext("web")
        )
        assert again["statusCode"] == 304
        assert not again.get("body")
    finally:
        web_function.widget.cache_clear()


def test_the_committed_openapi_document_matches_the_code() -> None:
    from functions.web import openapi

    # Run `make openapi` after changing the web API's models.
    assert openapi.DOCUMENT.read_text("utf-8") == openapi.document()


def test_the_openapi_document_names_every_route_and_error_code() -> None:
    import typing

    from functions.web import openapi
    from nps.channels import service as web_service

    paths = json.loads(openapi.document())["paths"]
    assert "get" in paths["/w/v1/widget.js"]
    assert "options" in paths["/w/v1/surveys/{survey_id}/{action}"]
    for action in web_function.ACTIONS:
        assert "post" in paths[f"/w/v1/surveys/{{survey_id}}/{action}"]
    from nps.reasons import answers

    codes = {
        cls.code
        for cls in vars(web_service).values()
        if isinstance(cls, type) and issubclass(cls, WebError) and cls is not web_service.BadAnswer
    }
    # A bad follow-up answer answers with the answer parser's own code.
    codes |= {
        cls.code
        for cls in vars(answers).values()
        if isinstance(cls, type) and issubclass(cls, answers.InvalidAnswer) and cls is not answers.InvalidAnswer
    }
    assert {"unknown_driver", "csat_out_of_range", "ces_out_of_range", "question_not_asked"} <= codes
    assert codes <= set(typing.get_args(openapi.ErrorCode))


def test_every_answer_has_the_documented_shape(web: LocalStack) -> None:
    from functions.web import openapi

    shown_reply = eligibility(web, "c-20")
    openapi.Show.model_validate(shown_reply.body)
    token = shown_reply.body["ask_token"]
    openapi.Answered.model_validate(call(SURVEY_ID, "responses", {"ask_token": token, "score": 6}).body)
    openapi.Recorded.model_validate(call(SURVEY_ID, "comments", {"ask_token": token, "comment": "ok"}).body)
    openapi.DoNotShow.model_validate(eligibility(web, "c-20").body)
    openapi.Recorded.model_validate(call(SURVEY_ID, "dismissals", {"ask_token": token}).body)
    openapi.Error.model_validate(call(SURVEY_ID, "responses", {"ask_token": token, "score": 99}).body)


def test_a_web_answer_of_an_accounts_contact_counts_for_its_account(web: LocalStack) -> None:
    # Given a decision maker of the account acme in the contacts table (as an import with account_id puts it)
    from nps.accounts.membership import Membership

    DynamoContactRepository(web.tables["contacts"]).upsert(
        Contact(contact_id="c-acct", email="dm@example.com", account=Membership("acme", "decision_maker"))
    )
    # When the prompt is shown and answered 4
    token = shown(web, "c-acct")
    assert call(SURVEY_ID, "responses", {"ask_token": token, "score": 4}).status == 200
    score_stream(web)
    # Then the web invite and the response carry the account, as an email invite's would
    (response,) = scan(web, "responses")
    assert (response["account_id"], response["role"]) == ({"S": "acme"}, {"S": "decision_maker"})
    # And the account's quarter slice counts the prompt and the decision maker's detractor answer
    counters = aggregates(web)
    (slice_key,) = [k for k in counters if k[0] == f"{SURVEY_ID}#quarter#account_id=acme#*"]
    assert counters[slice_key]["invites_sent"] == 1
    assert counters[slice_key]["detractors"] == 1
    assert counters[slice_key]["dm_detractors"] == 1
