"""The share link's pages on moto through the real share handler: GET never records, POST records once, a
second answer from one browser edits, bursts get 429, bad input gets a clear page and records nothing, and
the scored answers land in their own channel (kept out of the headline unless the survey counts them)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from functions.score import handler as score_function
from functions.share import handler as share
from local.environment import LocalStack, StreamReader
from local.lambda_events import LambdaContext, http_event
from nps.channels.site_tokens import mint
from nps.kernel import aws
from nps.sending.adapters.surveys import DynamoSurveyRepository
from nps.sending.surveys import Survey
from tests.support.web import throttle_rate_counters

SURVEY_ID = "receipt-survey"
BROWSER = "Qx3mT0c1bJd5rA8wZy7u2g"
OTHER_BROWSER = "Zz9yXw8vUt7sRq6pOn5mLk"


def _reset() -> None:
    for cached in (share.settings, share.surveys, share.limiter, share.service, share.browser_script):
        cached.cache_clear()


@pytest.fixture
def stack(platform: LocalStack) -> Iterator[LocalStack]:
    _reset()
    yield platform
    _reset()


def put_survey(stack: LocalStack, survey_id: str = SURVEY_ID, **share_link: Any) -> Survey:
    survey = Survey.model_validate(
        {
            "survey_id": survey_id,
            "name": "Receipts",
            "brand_name": "Acme Café",
            "brand_colour": "#7c2d12",
            "sender": "surveys@example.com",
            "channels": ["email"],
            "locales": ["en", "de"],
            "segment_dimensions": ["plan"],
            "share_link": {"enabled": True} | share_link,
        }
    )
    DynamoSurveyRepository(stack.tables["surveys"]).put(survey)
    share.surveys().forget()
    return survey


def request(
    method: str,
    path: str,
    form: dict[str, str] | None = None,
    *,
    query: dict[str, str] | None = None,
    raw: str | None = None,
    content_type: str = "application/x-www-form-urlencoded",
    source_ip: str = "198.51.100.7",
    accept_language: str | None = None,
) -> dict[str, Any]:
    headers = {"accept-language": accept_language} if accept_language else {}
    body = raw if raw is not None else (urlencode(form) if form is not None else None)
    event = http_event(
        method, path, query=query, body=body, headers={"content-type": content_type, **headers}, source_ip=source_ip
    )
    result: dict[str, Any] = share.lambda_handler(event, LambdaContext("share"))
    return result


def mid_minute() -> Callable[[], datetime]:
    """A clock for the rate limiter stopped inside the current minute: its counters are per calendar minute,
    so a burst that straddled a minute's end would be split over two budgets."""
    now = datetime.now(UTC).replace(second=1, microsecond=0)
    return lambda: now


def answer(score: str | int, browser: str = BROWSER, **extra: str) -> dict[str, Any]:
    return request("POST", f"/s/{SURVEY_ID}", {"score": str(score), "b": browser} | extra)


def responses(stack: LocalStack) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = aws.client("dynamodb").scan(TableName=stack.tables["responses"])["Items"]
    return items


def test_the_question_page_records_nothing_and_works_without_scripts(stack: LocalStack) -> None:
    # Given an anonymous share link
    put_survey(stack)
    # When the page is fetched (a person, a scanner, a link preview) and HEAD-checked
    page = request("GET", f"/s/{SURVEY_ID}", accept_language="de-DE,de;q=0.9")
    head = request("HEAD", f"/s/{SURVEY_ID}")
    # Then the page shows the survey's brand in the person's language, eleven submit buttons in one form,
    # a strict CSP allowing exactly its own script, and nothing is recorded
    assert page["statusCode"] == 200
    body = page["body"]
    assert "Acme Café" in body
    assert 'lang="de"' in body
    assert body.count('type="submit" name="score"') == 11
    assert f'action="/s/{SURVEY_ID}"' in body
    policy = page["headers"]["Content-Security-Policy"]
    assert "script-src 'sha256-" in policy
    assert "unsafe-inline" not in policy.replace("style-src 'unsafe-inline'", "")
    assert "default-src 'none'" in policy
    assert page["headers"]["Cache-Control"] == "no-store"
    assert head["statusCode"] == 200
    assert head["body"] == ""
    assert responses(stack) == []


def test_an_answer_is_recorded_once_then_the_thank_you_page_asks_why(stack: LocalStack) -> None:
    put_survey(stack)
    result = answer(9)
    assert result["statusCode"] == 200
    assert "What is the main reason for your score?" in result["body"]
    assert f'name="b" value="{BROWSER}"' in result["body"]
    (item,) = responses(stack)
    assert item["score"] == {"N": "9"}
    assert item["channel"] == {"S": "link_anonymous"}
    assert item["contact_id"] == {"S": "_anonymous"}
    assert item["in_headline"] == {"BOOL": False}
    assert item["source"] == {"S": "share_link"}
    # Nothing about the person: no address, no browser id in clear
    assert BROWSER not in str(item)
    assert "198.51.100.7" not in str(item)


def test_a_second_answer_from_the_same_browser_edits_and_another_browser_adds(stack: LocalStack) -> None:
    put_survey(stack)
    answer(4)
    answer(8)
    answer(10, browser=OTHER_BROWSER)
    items = responses(stack)
    assert len(items) == 2
    scores = sorted(int(item["score"]["N"]) for item in items)
    assert scores == [8, 10]
    edited = next(item for item in items if item["score"] == {"N": "8"})
    assert edited["version"] == {"N": "2"}


def test_the_comment_goes_on_the_browsers_answer(stack: LocalStack) -> None:
    put_survey(stack)
    answer(3)
    saved = request("POST", f"/s/{SURVEY_ID}/comment", {"comment": "Queue was long", "score": "3", "b": BROWSER})
    assert saved["statusCode"] == 200
    (item,) = responses(stack)
    assert item["comment"] == {"S": "Queue was long"}


def test_a_burst_from_one_client_gets_429_and_records_nothing_more(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a limit of 3 answers a minute per client
    monkeypatch.setenv("SHARE_RATE_LIMIT_PER_MINUTE", "3")
    _reset()
    share.limiter().clock = mid_minute()
    put_survey(stack)
    browsers = [f"burst-browser-id-{n:06d}" for n in range(6)]
    results = [answer(7, browser=b) for b in browsers]
    statuses = [r["statusCode"] for r in results]
    # Then the fourth and later get the 429 page with Retry-After, and only three answers exist
    assert statuses[:3] == [200, 200, 200]
    assert set(statuses[3:]) == {429}
    assert int(results[3]["headers"]["Retry-After"]) >= 1
    assert "Too many answers at once" in results[3]["body"]
    assert len(responses(stack)) == 3
    # And another client is not affected
    assert request("POST", f"/s/{SURVEY_ID}", {"score": "7", "b": "x" * 22}, source_ip="192.0.2.1")["statusCode"] == 200


def test_page_views_have_their_own_budget_counted_before_the_survey_is_read(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a limit of 3 page views and 2 answers a minute per client
    monkeypatch.setenv("SHARE_VIEW_RATE_LIMIT_PER_MINUTE", "3")
    monkeypatch.setenv("SHARE_RATE_LIMIT_PER_MINUTE", "2")
    _reset()
    share.limiter().clock = mid_minute()
    put_survey(stack)
    # When one client fetches pages of unknown surveys and HEAD-checks the link
    views = [request("GET", f"/s/no-such-{n}") for n in range(3)] + [request("HEAD", f"/s/{SURVEY_ID}")]
    # Then the fourth view is refused (429, Retry-After, no body for HEAD) before its survey is read
    assert [view["statusCode"] for view in views] == [404, 404, 404, 429]
    assert views[3]["body"] == ""
    assert int(views[3]["headers"]["Retry-After"]) >= 1
    assert share.surveys().reads == 3
    assert "Too many requests at once" in request("GET", f"/s/{SURVEY_ID}")["body"]
    # And answers keep their own budget, counted before the form is read
    assert answer(7)["statusCode"] == 200
    assert request("POST", f"/s/{SURVEY_ID}", raw="%%%", content_type="text/plain")["statusCode"] == 415
    assert answer(8)["statusCode"] == 429


def test_a_rate_limit_counter_that_cannot_be_written_is_a_503_page_not_a_500(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given DynamoDB throttling the rate-limit counter's write
    put_survey(stack)
    throttled = throttle_rate_counters(monkeypatch)
    # When the page is fetched, HEAD-checked and answered
    page, head, posted = request("GET", f"/s/{SURVEY_ID}"), request("HEAD", f"/s/{SURVEY_ID}"), answer(9)
    # Then each is a 503 with Retry-After (a page saying so, no body for HEAD), and nothing is recorded
    assert [page["statusCode"], head["statusCode"], posted["statusCode"]] == [503, 503, 503]
    assert all(int(r["headers"]["Retry-After"]) >= 1 for r in (page, head, posted))
    assert "Busy right now" in posted["body"]
    assert head["body"] == ""
    assert sum(client.throttled for client in throttled) == 3
    assert responses(stack) == []


def test_an_ipv6_client_rotating_inside_its_64_shares_one_budget(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a limit of 2 answers a minute per client
    monkeypatch.setenv("SHARE_RATE_LIMIT_PER_MINUTE", "2")
    _reset()
    share.limiter().clock = mid_minute()
    put_survey(stack)
    # When one client answers from three addresses of its /64
    statuses = [
        request(
            "POST",
            f"/s/{SURVEY_ID}",
            {"score": "7", "b": f"rotating-browser-{n:06d}"},
            source_ip=f"2001:db8:5:6::{n + 1:x}",
        )["statusCode"]
        for n in range(3)
    ]
    # Then the third is refused: the /64 is the client
    assert statuses == [200, 200, 429]
    assert len(responses(stack)) == 2


@pytest.mark.parametrize(
    ("share_link", "survey_active"),
    [({"enabled": False}, True), ({"enabled": True}, False)],
    ids=["link off", "survey paused"],
)
def test_a_closed_link_shows_the_not_open_page(
    stack: LocalStack, share_link: dict[str, Any], survey_active: bool
) -> None:
    survey = put_survey(stack, **share_link)
    if not survey_active:
        DynamoSurveyRepository(stack.tables["surveys"]).put(survey.model_copy(update={"active": False}))
        share.surveys().forget()
    for result in (request("GET", f"/s/{SURVEY_ID}"), answer(9)):
        assert result["statusCode"] == 404
        assert "This survey is not open" in result["body"]
    assert request("HEAD", f"/s/{SURVEY_ID}")["statusCode"] == 404
    assert responses(stack) == []


def test_an_unknown_or_malformed_survey_id_is_404(stack: LocalStack) -> None:
    assert request("GET", "/s/nope")["statusCode"] == 404
    assert request("GET", "/s/" + "a" * 80)["statusCode"] == 404


@pytest.mark.parametrize("score", ["11", "-1", "7.5", "", "seven", "٧"])
def test_a_bad_score_gets_400_and_records_nothing(stack: LocalStack, score: str) -> None:
    put_survey(stack)
    result = answer(score)
    assert result["statusCode"] == 400
    assert responses(stack) == []


@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({"score": "9"}, 400),  # no browser or page id
        ({"score": "9", "b": "short"}, 400),  # not an id we wrote
        ({"score": "9", "b": BROWSER, "extra": "x"}, 400),  # a field we never send
    ],
)
def test_a_tampered_form_gets_400_and_records_nothing(stack: LocalStack, form: dict[str, str], status: int) -> None:
    put_survey(stack)
    assert request("POST", f"/s/{SURVEY_ID}", form)["statusCode"] == status
    assert responses(stack) == []


def test_oversized_bodies_and_comments_get_their_pages_and_record_nothing(stack: LocalStack) -> None:
    put_survey(stack)
    too_large = request("POST", f"/s/{SURVEY_ID}", raw="score=9&b=" + "a" * 40_000)
    assert too_large["statusCode"] == 413
    not_a_form = request("POST", f"/s/{SURVEY_ID}", raw='{"score": 9}', content_type="application/json")
    assert not_a_form["statusCode"] == 415
    long_comment = request("POST", f"/s/{SURVEY_ID}/comment", {"comment": "x" * 2001, "score": "9", "b": BROWSER})
    assert long_comment["statusCode"] == 422
    assert "up to 2,000 characters" in long_comment["body"]
    assert responses(stack) == []


@pytest.mark.parametrize("charset", ["latin1", '"ISO-8859-1"', "utf-16"])
def test_a_form_in_another_charset_gets_415_and_records_nothing(stack: LocalStack, charset: str) -> None:
    put_survey(stack)
    content_type = f"application/x-www-form-urlencoded; charset={charset}"
    reply = request("POST", f"/s/{SURVEY_ID}", {"score": "7", "b": BROWSER}, content_type=content_type)
    assert reply["statusCode"] == 415
    assert responses(stack) == []
    utf8 = request(
        "POST",
        f"/s/{SURVEY_ID}",
        {"score": "7", "b": BROWSER},
        content_type="application/x-www-form-urlencoded; charset=UTF-8",
    )
    assert utf8["statusCode"] == 200


@pytest.mark.parametrize("score", ["\u00b2", "\u0663", "１"])  # superscript two, Arabic-Indic three, fullwidth one
def test_an_empty_comment_with_a_non_ascii_digit_score_is_refused_not_a_server_error(
    stack: LocalStack, score: str
) -> None:
    put_survey(stack)
    result = request("POST", f"/s/{SURVEY_ID}/comment", {"comment": "   ", "score": score, "b": BROWSER})
    assert result["statusCode"] == 400  # the score the page showed is not one: the bad-score page
    assert responses(stack) == []


def test_a_comment_without_answer_or_score_gets_409(stack: LocalStack) -> None:
    put_survey(stack)
    result = request("POST", f"/s/{SURVEY_ID}/comment", {"comment": "hello", "b": BROWSER})
    assert result["statusCode"] == 409
    assert responses(stack) == []


def _token(stack: LocalStack, contact: str, survey_id: str = SURVEY_ID, days: float = 30, **claims: Any) -> str:
    return mint(stack.site_secret(survey_id), survey_id, contact, int(time.time() + days * 86400), **claims)


def test_an_identified_link_records_one_answer_per_contact_in_channel_link(stack: LocalStack) -> None:
    put_survey(stack, mode="identified", identified_max_days=60)
    token = _token(stack, "contact-7", days=45, attributes={"plan": "pro"})
    page = request("GET", f"/s/{SURVEY_ID}", query={"t": token})
    assert page["statusCode"] == 200
    assert f'name="t" value="{token}"' in page["body"]
    # Two browsers, one contact: one answer, edited
    answer(6, t=token)
    answer(9, browser=OTHER_BROWSER, t=token)
    (item,) = responses(stack)
    assert item["score"] == {"N": "9"}
    assert item["channel"] == {"S": "link"}
    assert item["contact_id"] == {"S": "contact-7"}
    assert item["segments"] == {"M": {"plan": {"S": "pro"}}}
    assert "in_headline" not in item


@pytest.mark.parametrize(
    ("case", "status"),
    [("forged", 403), ("expired", 410), ("other survey", 403), ("too long-lived", 403), ("missing", 403)],
)
def test_a_bad_identified_link_gets_a_clear_page_and_records_nothing(stack: LocalStack, case: str, status: int) -> None:
    put_survey(stack, mode="identified", identified_max_days=30)
    put_survey(stack, "other-survey", mode="identified")
    token = {
        "forged": _token(stack, "contact-7")[:-4] + "AAAA",
        "expired": _token(stack, "contact-7", days=-1),
        "other survey": _token(stack, "contact-7", survey_id="other-survey"),
        "too long-lived": _token(stack, "contact-7", days=40),
        "missing": "",
    }[case]
    page = request("GET", f"/s/{SURVEY_ID}", query={"t": token} if token else None)
    posted = answer(9, **({"t": token} if token else {}))
    assert page["statusCode"] == status
    assert posted["statusCode"] == status
    assert responses(stack) == []


def test_anonymous_answers_score_in_their_own_channel_outside_the_headline(stack: LocalStack) -> None:
    # Given an anonymous link (not counted in NPS) and one that counts
    put_survey(stack)
    answer(10)
    put_survey(stack, count_in_nps=True)
    answer(0, browser=OTHER_BROWSER)
    # When the stream is scored
    for batch in StreamReader(stack.stream_arns["responses"], batch_size=50).read_batches():
        assert score_function.lambda_handler(batch, LambdaContext("score"))["batchItemFailures"] == []
    items = aws.client("dynamodb").scan(TableName=stack.tables["aggregates"])["Items"]
    day = {
        i["pk"]["S"].rsplit("#", 1)[1]: {k: int(v["N"]) for k, v in i.items() if "N" in v}
        for i in items
        if i["pk"]["S"].startswith(f"{SURVEY_ID}#day#*#")
    }
    # Then the channel holds both answers and the survey-wide figures only the counted one
    assert day["link_anonymous"].get("promoters") == 1
    assert day["link_anonymous"].get("detractors") == 1
    assert day["*"].get("promoters", 0) == 0
    assert day["*"].get("detractors") == 1


# -- one headline answer per contact per window, across channels (real handlers, real stream) ------------
HEADLINE_SURVEY = "headline-survey"


def _email_survey(stack: LocalStack, clock: Any) -> None:
    """An email survey with an identified share link, quiet hours far from now; one wave sent to contact a."""
    from local import demo_sending as ds

    quiet_start = (clock.now + timedelta(hours=3)).strftime("%H:00")
    quiet_end = (clock.now + timedelta(hours=5)).strftime("%H:00")
    ds.create_survey(
        stack,
        {
            "survey_id": HEADLINE_SURVEY,
            "name": "Headline",
            "brand_name": "Acme",
            "sender": "surveys@example.com",
            "channels": ["email"],
            "fatigue_days": 60,
            "reminder_days": None,
            "quiet_hours": {"start": quiet_start, "end": quiet_end},
            "share_link": {"enabled": True, "mode": "identified"},
        },
    )
    share.surveys().forget()
    ds.import_csv(stack, "contact_id,email,time_zone\na,a@example.com,UTC\n")
    ds.fire_wave(HEADLINE_SURVEY, clock.now)
    ds.drain_send_queue(stack, clock)


def _emailed(stack: LocalStack) -> Any:
    """The invite emailed to contact a, as a tappable link (the respond function's real path)."""
    from urllib.parse import urlsplit

    from local import demo_sending as ds
    from nps.responding.adapters.invites import DynamoInviteRepository
    from tests.support.taps import IssuedInvite

    (link,) = ds.sent_links(stack)
    invite = DynamoInviteRepository(stack.tables["invites"]).get(link.invite_id)
    assert invite is not None
    return IssuedInvite(invite, urlsplit(link.score_page).path.removeprefix("/r/"))


def _share_answer(stack: LocalStack, score: int) -> dict[str, Any]:
    token = mint(stack.site_secret(HEADLINE_SURVEY), HEADLINE_SURVEY, "a", int(time.time() + 86400))
    return request("POST", f"/s/{HEADLINE_SURVEY}", {"score": str(score), "b": BROWSER, "t": token})


def _headline_and_channels(stack: LocalStack) -> dict[str, int]:
    """Answers counted today by channel (``*``: the survey's headline), after scoring the stream."""
    for batch in StreamReader(stack.stream_arns["responses"], batch_size=50).read_batches():
        assert score_function.lambda_handler(batch, LambdaContext("score"))["batchItemFailures"] == []
    items = aws.client("dynamodb").scan(TableName=stack.tables["aggregates"])["Items"]
    return {
        i["pk"]["S"].rsplit("#", 1)[1]: sum(
            int(i.get(c, {"N": "0"})["N"]) for c in ("promoters", "passives", "detractors")
        )
        for i in items
        if i["pk"]["S"].startswith(f"{HEADLINE_SURVEY}#day#*#")
    }


@pytest.fixture
def clock() -> Iterator[Any]:
    from datetime import UTC, datetime

    from local import demo_sending as ds

    # The wave went out three hours ago: a tap now is a person's, not a scanner's seconds after the send.
    now = ds.Clock(datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3))
    with ds.handlers(now):
        yield now


def test_an_email_answer_then_an_identified_share_answer_count_once_in_the_headline(
    stack: LocalStack, clock: Any
) -> None:
    # Given a contact who got the survey by email and answered it
    _email_survey(stack, clock)
    assert _emailed(stack).tap(9)["statusCode"] == 200
    # When the same contact answers on the survey's identified share link
    assert _share_answer(stack, 3)["statusCode"] == 200
    # Then both answers are kept, each in its channel, and the headline counts one (the first: email)
    counted = _headline_and_channels(stack)
    assert counted == {"*": 1, "email": 1, "link": 1}
    link_item = next(i for i in responses(stack) if i["channel"] == {"S": "link"})
    assert link_item["in_headline"] == {"BOOL": False}


def test_an_identified_share_answer_then_the_email_answer_count_once_in_the_headline(
    stack: LocalStack, clock: Any
) -> None:
    # Given a contact emailed the survey, who answers on the share link before tapping the email
    _email_survey(stack, clock)
    emailed = _emailed(stack)
    assert _share_answer(stack, 10)["statusCode"] == 200
    # When the contact then taps the email's score
    assert emailed.tap(2)["statusCode"] == 200
    # Then the share answer holds the headline, the email answer counts in its channel only
    assert _headline_and_channels(stack) == {"*": 1, "email": 1, "link": 1}
    email_item = next(i for i in responses(stack) if i["channel"] == {"S": "email"})
    assert email_item["in_headline"] == {"BOOL": False}


def test_an_identified_share_answer_holds_the_contact_out_of_the_next_wave_in_the_window(
    stack: LocalStack, clock: Any
) -> None:
    from local import demo_sending as ds
    from nps.sending.adapters.contacts import last_invite_attribute

    # Given a contact who was emailed 70 days ago (outside the 60-day window) and answers on the share link
    _email_survey(stack, clock)
    key = {"audience": {"S": "default"}, "contact_id": {"S": "a"}}
    contact = aws.client("dynamodb").get_item(TableName=stack.tables["contacts"], Key=key)["Item"]
    assert contact[last_invite_attribute(HEADLINE_SURVEY)]["S"].startswith("inv-")  # the send named its invite
    aws.client("dynamodb").update_item(
        TableName=stack.tables["contacts"],
        Key=key,
        UpdateExpression="SET last_surveyed_at = :old",
        ExpressionAttributeValues={":old": {"S": "2000-01-01T00:00:00Z"}},
    )
    assert _share_answer(stack, 8)["statusCode"] == 200
    # When the next wave is planned
    ds.reset_pending()
    report = ds.fire_wave(HEADLINE_SURVEY, clock.now + timedelta(days=1))
    # Then the contact is skipped for fatigue: the share answer surveyed them
    assert report["invites"] == 0
    assert report["skipped"].get("fatigue") == 1


def test_a_suppressed_contact_may_still_answer_a_link_they_hold(stack: LocalStack, clock: Any) -> None:
    from functions.unsubscribe import handler as unsubscribe
    from local import demo_sending as ds

    # Given a contact who unsubscribed through the survey's email
    _email_survey(stack, clock)
    (email,) = ds.captured_emails()
    from urllib.parse import urlsplit

    unsubscribed = unsubscribe.lambda_handler(
        http_event("POST", urlsplit(email.unsubscribe_link).path), LambdaContext()
    )
    assert unsubscribed["statusCode"] == 200
    assert aws.client("dynamodb").scan(TableName=stack.tables["suppressions"])["Count"] == 1
    # When they answer an identified share link they were given
    result = _share_answer(stack, 6)
    # Then the volunteered answer is recorded (nothing is sent to them)
    assert result["statusCode"] == 200
    counted = _headline_and_channels(stack)
    assert (counted["*"], counted["link"]) == (1, 1)


def _web_and_share_survey(stack: LocalStack) -> None:
    """A survey with both the web prompt and an identified share link on (a contact only the site knows)."""
    from functions.web import handler as web_function
    from tests.support.web import put_web_survey

    web_function.service.cache_clear()
    put_web_survey(stack, HEADLINE_SURVEY, share_link={"enabled": True, "mode": "identified"})
    share.surveys().forget()


def _web_prompt(stack: LocalStack) -> str:
    from tests.support.web import call, contact_token

    reply = call(
        HEADLINE_SURVEY, "eligibility", {"contact_token": contact_token(stack, "a", HEADLINE_SURVEY), "url": None}
    )
    assert reply.body["show"] is True, reply
    token: str = reply.body["ask_token"]
    return token


def _web_answer(ask_token: str, score: int) -> int:
    from tests.support.web import call

    return call(HEADLINE_SURVEY, "responses", {"ask_token": ask_token, "score": score}).status


def test_a_web_prompt_answer_then_an_identified_share_answer_count_once_in_the_headline(stack: LocalStack) -> None:
    # Given a contact who answered the survey's web prompt
    _web_and_share_survey(stack)
    assert _web_answer(_web_prompt(stack), 9) == 200
    # When the contact answers on the identified share link
    assert _share_answer(stack, 4)["statusCode"] == 200
    # Then the headline counts the web answer only
    counted = _headline_and_channels(stack)
    assert (counted["*"], counted["web"], counted["link"]) == (1, 1, 1)


def test_a_share_answer_while_the_web_prompt_is_open_keeps_its_later_answer_out_of_the_headline(
    stack: LocalStack,
) -> None:
    # Given a web prompt shown to a contact, not answered yet
    _web_and_share_survey(stack)
    ask_token = _web_prompt(stack)
    # When the contact answers on the share link first, then on the prompt
    assert _share_answer(stack, 10)["statusCode"] == 200
    assert _web_answer(ask_token, 3) == 200
    # Then the share answer holds the headline, the web answer counts in its channel only
    counted = _headline_and_channels(stack)
    assert (counted["*"], counted["web"], counted["link"]) == (1, 1, 1)


def test_an_identified_answer_of_an_accounts_contact_counts_for_its_account(stack: LocalStack) -> None:
    # Given a contact of the account acme in the survey's audience, and an identified link counted in NPS
    from nps.accounts.membership import Membership
    from nps.sending.adapters.contacts import DynamoContactRepository
    from nps.sending.contacts import Contact

    put_survey(stack, mode="identified", identified_max_days=60, count_in_nps=True)
    DynamoContactRepository(stack.tables["contacts"]).upsert(
        Contact(contact_id="contact-9", email="c9@example.com", account=Membership("acme", "influencer"))
    )
    # When the contact answers 10 through the link and the stream is scored
    answer(10, t=_token(stack, "contact-9"))
    for batch in StreamReader(stack.stream_arns["responses"], batch_size=50).read_batches():
        assert score_function.lambda_handler(batch, LambdaContext("score"))["batchItemFailures"] == []
    # Then the response carries the account, and the account's quarter slice counts the promoter
    (item,) = responses(stack)
    assert (item["account_id"], item["role"]) == ({"S": "acme"}, {"S": "influencer"})
    aggregates = aws.client("dynamodb").scan(TableName=stack.tables["aggregates"])["Items"]
    (account,) = [i for i in aggregates if i["pk"]["S"] == f"{SURVEY_ID}#quarter#account_id=acme#*"]
    assert account["promoters"] == {"N": "1"}
