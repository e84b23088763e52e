"""nps.responding.scanners: telling a person's tap from a mail scanner's fetch (pure functions, no clock)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from nps.responding.scanners import (
    BURST_DISTINCT_SCORES,
    BURST_WINDOW_SECONDS,
    CLICK_LOG_SIZE,
    HONEYPOT_WINDOW_SECONDS,
    MIN_SECONDS_AFTER_SEND,
    RETRACT_WINDOW_SECONDS,
    Assessment,
    Click,
    ClickKind,
    assess,
    automated_evidence,
    burst,
    header_reasons,
    honeypot_nearby,
    is_prefetch,
)

T = 1_795_423_815.0  # "now" for the click logs below (epoch seconds)
SENT_LONG_AGO = T - 86_400.0

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.0 Mobile/15E148 Safari/604.1"
)
ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36"
)
EDGE = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36 "
    "Edg/131.0"
)
PERSON = {"user-agent": FIREFOX, "sec-fetch-site": "same-origin"}


def opens(*scores_at: tuple[int, float]) -> list[Click]:
    return [Click(at, ClickKind.OPEN, score) for score, at in scores_at]


def person_6_then_9() -> list[Click]:
    """A person taps 6, reads the thank-you page, and eight seconds later taps 9 instead."""
    return [
        Click(T - 8.5, ClickKind.OPEN, 6),
        Click(T - 8.0, ClickKind.CONFIRM, 6),
        Click(T - 0.5, ClickKind.OPEN, 9),
        Click(T, ClickKind.CONFIRM, 9),
    ]


# --------------------------------------------------------------------------------------------------
# Thresholds
# --------------------------------------------------------------------------------------------------


def test_thresholds_are_the_documented_ones() -> None:
    # A change here changes who is counted: it must be deliberate (and the docs updated with it)
    assert (BURST_WINDOW_SECONDS, BURST_DISTINCT_SCORES) == (20.0, 3)
    assert HONEYPOT_WINDOW_SECONDS == 90.0
    assert MIN_SECONDS_AFTER_SEND == 5.0
    assert RETRACT_WINDOW_SECONDS == 60.0
    assert CLICK_LOG_SIZE == 24


# --------------------------------------------------------------------------------------------------
# Request headers
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0 "
        "Safari/537.36",
        "Proofpoint URL Defense/2.0",
        "curl/8.5.0",
        "Wget/1.21.4",
        "python-requests/2.32.3",
        "Python-urllib/3.12",
        "Go-http-client/1.1",
        "Mozilla/5.0 (compatible; Barracuda Sentinel)",
        "Mimecast URL Protect",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Java/17.0.2",
        "okhttp/4.12.0",
    ],
    ids=[
        "headless-chrome",
        "proofpoint",
        "curl",
        "wget",
        "python-requests",
        "python-urllib",
        "go",
        "barracuda",
        "mimecast",
        "googlebot",
        "java",
        "okhttp",
    ],
)
def test_scanner_user_agents_are_a_reason(agent: str) -> None:
    assert header_reasons({"user-agent": agent}) == ("scanner user agent",)


@pytest.mark.parametrize("agent", [FIREFOX, IPHONE_SAFARI, ANDROID_CHROME, EDGE])
def test_ordinary_browsers_give_no_reason(agent: str) -> None:
    assert header_reasons({"user-agent": agent}) == ()


@pytest.mark.parametrize("headers", [{}, {"user-agent": ""}, {"user-agent": "   "}, {"user-agent": "\t"}])
def test_a_missing_or_empty_user_agent_is_a_reason(headers: dict[str, str]) -> None:
    assert header_reasons(headers) == ("no user agent",)


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-purpose": "prefetch"},
        {"sec-purpose": "prefetch;prerender"},
        {"sec-purpose": "Prefetch"},
        {"purpose": "prefetch"},
        {"x-purpose": "preview"},
        {"x-purpose": "PREVIEW"},
        {"x-moz": "prefetch"},
        {"x-moz": "Prefetch"},
    ],
)
def test_prefetch_headers_are_recognised(headers: dict[str, str]) -> None:
    # Given a request announcing itself as a prefetch, whatever its user agent
    # Then it is a prefetch, and that is a reason to distrust it
    assert is_prefetch(headers)
    assert header_reasons({"user-agent": FIREFOX} | headers) == ("prefetch",)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"sec-purpose": ""},
        {"purpose": "navigate"},
        {"x-moz": "something-else"},
        {"sec-fetch-mode": "navigate", "sec-fetch-dest": "document"},
    ],
)
def test_ordinary_requests_are_not_prefetches(headers: dict[str, str]) -> None:
    assert not is_prefetch(headers)


def test_header_reasons_combine_in_a_stable_order() -> None:
    assert header_reasons({"x-moz": "prefetch"}) == ("no user agent", "prefetch")
    assert header_reasons({"user-agent": "curl/8.5.0", "sec-purpose": "prefetch"}) == (
        "scanner user agent",
        "prefetch",
    )


# --------------------------------------------------------------------------------------------------
# Bursts
# --------------------------------------------------------------------------------------------------


def test_three_different_scores_within_the_window_are_a_burst() -> None:
    # Given opens of 0, 1 and 2 within a second
    clicks = opens((0, T - 1.0), (1, T - 0.5), (2, T))
    # Then that is a scanner's burst
    assert burst(clicks, T)


def test_two_different_scores_are_not_a_burst() -> None:
    assert not burst(opens((0, T - 1.0), (10, T)), T)


def test_a_person_who_taps_6_then_9_is_not_a_burst() -> None:
    assert not burst(person_6_then_9(), T)


def test_the_same_score_many_times_is_not_a_burst() -> None:
    clicks = [Click(T - i * 0.1, kind, 9) for i in range(10) for kind in (ClickKind.OPEN, ClickKind.CONFIRM)]
    assert not burst(clicks, T)


def test_opens_and_confirms_both_count_towards_a_burst() -> None:
    clicks = [Click(T - 2.0, ClickKind.OPEN, 3), Click(T - 1.0, ClickKind.CONFIRM, 5), Click(T, ClickKind.OPEN, 8)]
    assert burst(clicks, T)


def test_a_score_outside_the_window_does_not_complete_a_burst() -> None:
    # Given a third score just over 20 seconds earlier
    clicks = opens((0, T - BURST_WINDOW_SECONDS - 0.01), (1, T - 1.0), (2, T))
    # Then only two scores are recent: no burst
    assert not burst(clicks, T)


def test_a_score_exactly_at_the_window_edge_still_counts() -> None:
    assert burst(opens((0, T - BURST_WINDOW_SECONDS), (1, T - 1.0), (2, T)), T)


def test_the_burst_window_looks_both_ways_from_now() -> None:
    # Clicks logged just after "now" (another instance's concurrent request) count too
    assert burst(opens((0, T), (1, T + 1.0), (2, T + 2.0)), T)


def test_honeypot_fetches_and_clicks_without_a_score_do_not_count_as_scores() -> None:
    clicks = [
        Click(T - 1.0, ClickKind.HONEYPOT),
        Click(T - 0.5, ClickKind.OPEN, None),
        Click(T - 0.2, ClickKind.OPEN, 4),
        Click(T, ClickKind.CONFIRM, 5),
    ]
    assert not burst(clicks, T)


def test_no_clicks_is_no_burst() -> None:
    assert not burst([], T)


# --------------------------------------------------------------------------------------------------
# Honeypot
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "nearby"),
    [
        (-HONEYPOT_WINDOW_SECONDS, True),
        (-30.0, True),
        (0.0, True),
        (30.0, True),
        (HONEYPOT_WINDOW_SECONDS, True),
        (-HONEYPOT_WINDOW_SECONDS - 1.0, False),
        (HONEYPOT_WINDOW_SECONDS + 1.0, False),
    ],
    ids=["90s-before", "30s-before", "same-time", "30s-after", "90s-after", "91s-before", "91s-after"],
)
def test_a_honeypot_fetch_marks_clicks_within_90_seconds_before_or_after(offset: float, nearby: bool) -> None:
    clicks = [Click(T + offset, ClickKind.HONEYPOT), Click(T, ClickKind.CONFIRM, 9)]
    assert honeypot_nearby(clicks, T) is nearby


def test_without_a_honeypot_fetch_nothing_is_nearby() -> None:
    assert not honeypot_nearby(person_6_then_9(), T)


# --------------------------------------------------------------------------------------------------
# assess
# --------------------------------------------------------------------------------------------------


def test_a_person_from_our_own_page_is_counted_with_high_confidence() -> None:
    # Given a single confirm from a browser whose fetch() carries same-origin metadata
    clicks = [Click(T - 2.0, ClickKind.OPEN, 9), Click(T, ClickKind.CONFIRM, 9)]
    # When assessed / Then it is a person's answer with high confidence
    assert assess(clicks, T, SENT_LONG_AGO, PERSON) == Assessment(False, (), "high")


@pytest.mark.parametrize(
    ("fetch_metadata", "confidence"),
    [
        ({"sec-fetch-site": "same-origin"}, "high"),
        ({"sec-fetch-user": "?1"}, "high"),
        ({"sec-fetch-site": "cross-site", "sec-fetch-user": "?1"}, "high"),
        ({}, "medium"),
        ({"sec-fetch-site": "cross-site"}, "medium"),
        ({"sec-fetch-site": "same-site"}, "medium"),
        ({"sec-fetch-user": "?0"}, "medium"),
    ],
    ids=["same-origin", "user-activated", "cross-site-but-user", "none", "cross-site", "same-site", "not-user"],
)
def test_confidence_is_high_only_with_same_origin_or_a_user_activated_request(
    fetch_metadata: Mapping[str, str], confidence: str
) -> None:
    clicks = [Click(T, ClickKind.CONFIRM, 9)]
    assessment = assess(clicks, T, SENT_LONG_AGO, {"user-agent": FIREFOX, **fetch_metadata})
    assert assessment == Assessment(False, (), confidence)


def test_a_person_who_changes_their_answer_once_is_still_a_person() -> None:
    assert assess(person_6_then_9(), T, SENT_LONG_AGO, PERSON) == Assessment(False, (), "high")


def test_a_scanner_user_agent_is_automated_even_with_fetch_metadata() -> None:
    headers = {"user-agent": "Proofpoint URL Defense/2.0", "sec-fetch-site": "same-origin"}
    assessment = assess([Click(T, ClickKind.CONFIRM, 9)], T, SENT_LONG_AGO, headers)
    assert assessment == Assessment(True, ("scanner user agent",), "automated")


def test_a_burst_is_automated() -> None:
    clicks = [*opens((0, T - 1.0), (5, T - 0.5)), Click(T, ClickKind.CONFIRM, 10)]
    assert assess(clicks, T, SENT_LONG_AGO, PERSON) == Assessment(True, ("burst of different scores",), "automated")


def test_a_honeypot_fetch_nearby_is_automated() -> None:
    clicks = [Click(T - 45.0, ClickKind.HONEYPOT), Click(T, ClickKind.CONFIRM, 10)]
    assert assess(clicks, T, SENT_LONG_AGO, PERSON) == Assessment(True, ("honeypot link fetched",), "automated")


@pytest.mark.parametrize(
    ("seconds_after_send", "automated"),
    [(0.0, True), (1.0, True), (4.999, True), (MIN_SECONDS_AFTER_SEND, False), (60.0, False), (-3.0, False)],
    ids=["at-send", "1s", "just-under-5s", "5s", "a-minute", "before-send-clock-skew"],
)
def test_clicks_within_seconds_of_sending_are_automated(seconds_after_send: float, automated: bool) -> None:
    # Given a confirm some seconds after the message was sent (negative: the sender's clock was ahead)
    assessment = assess([Click(T, ClickKind.CONFIRM, 9)], T, T - seconds_after_send, PERSON)
    # Then only the first five seconds after sending are too soon for a person
    assert assessment.automated is automated
    assert assessment.reasons == (("seconds after sending",) if automated else ())


def test_an_unknown_send_time_is_no_evidence() -> None:
    assert assess([Click(T, ClickKind.CONFIRM, 9)], T, None, PERSON).automated is False


def test_all_reasons_are_reported_in_order() -> None:
    # Given everything wrong at once: a curl prefetch, a burst, a honeypot fetch, two seconds after sending
    clicks = [Click(T - 3.0, ClickKind.HONEYPOT), *opens((1, T - 2.0), (2, T - 1.0)), Click(T, ClickKind.CONFIRM, 3)]
    headers = {"user-agent": "curl/8.5.0", "sec-purpose": "prefetch"}
    # When assessed / Then every reason is listed, header reasons first
    assessment = assess(clicks, T, T - 2.0, headers)
    assert assessment == Assessment(
        True,
        (
            "scanner user agent",
            "prefetch",
            "burst of different scores",
            "honeypot link fetched",
            "seconds after sending",
        ),
        "automated",
    )


# --------------------------------------------------------------------------------------------------
# automated_evidence (what may retract an answer already recorded)
# --------------------------------------------------------------------------------------------------


def test_evidence_is_a_burst_or_a_honeypot_fetch() -> None:
    scanner_burst = opens((0, T - 1.0), (1, T - 0.5), (2, T))
    honeypot = [Click(T - 10.0, ClickKind.CONFIRM, 9), Click(T, ClickKind.HONEYPOT)]
    assert automated_evidence(scanner_burst, T) == ("burst of different scores",)
    assert automated_evidence(honeypot, T) == ("honeypot link fetched",)
    assert automated_evidence([*scanner_burst, *honeypot], T) == ("burst of different scores", "honeypot link fetched")


def test_a_persons_clicks_are_no_evidence() -> None:
    assert automated_evidence(person_6_then_9(), T) == ()
    assert automated_evidence([], T) == ()


def test_old_activity_is_no_evidence_now() -> None:
    # Given a burst and a honeypot fetch ten minutes ago / Then they say nothing about a click now
    earlier = T - 600.0
    clicks = [Click(earlier, ClickKind.HONEYPOT), *opens((0, earlier), (1, earlier), (2, earlier))]
    assert automated_evidence(clicks, T) == ()


# --------------------------------------------------------------------------------------------------
# Click items (the invite's stored click log)
# --------------------------------------------------------------------------------------------------


def test_click_to_item_rounds_the_time_to_milliseconds() -> None:
    assert Click(T + 0.123456, ClickKind.OPEN, 9).to_item() == {"at": round(T + 0.123, 3), "kind": "open", "score": 9}
    assert Click(T, ClickKind.HONEYPOT).to_item() == {"at": T, "kind": "honeypot", "score": None}


@pytest.mark.parametrize(
    "click",
    [
        Click(T + 0.125, ClickKind.OPEN, 0),
        Click(T, ClickKind.CONFIRM, 10),
        Click(T - 0.5, ClickKind.HONEYPOT),
    ],
    ids=["open", "confirm", "honeypot"],
)
def test_click_round_trips_through_its_item(click: Click) -> None:
    assert Click.from_item(click.to_item()) == click


def test_click_from_item_reads_dynamodb_number_strings() -> None:
    # DynamoDB numbers arrive as text: "1795423815.125" and "7"
    assert Click.from_item({"at": "1795423815.125", "kind": "confirm", "score": "7"}) == Click(
        1_795_423_815.125, ClickKind.CONFIRM, 7
    )
    assert Click.from_item({"at": "1795423815", "kind": "honeypot"}) == Click(T, ClickKind.HONEYPOT, None)


@pytest.mark.parametrize(
    "raw",
    [
        {},
        {"at": T},
        {"kind": "open", "score": 9},
        {"at": T, "kind": "click"},
        {"at": T, "kind": None},
        {"at": None, "kind": "open"},
        {"at": "soon", "kind": "open"},
        {"at": T, "kind": "open", "score": "nine"},
        {"at": T, "kind": "open", "score": "9.5"},
        {"at": T, "kind": "open", "score": 9.5},
    ],
    ids=[
        "empty",
        "no-kind",
        "no-time",
        "unknown-kind",
        "null-kind",
        "null-time",
        "time-not-a-number",
        "score-not-a-number",
        "fractional-score-text",
        "fractional-score",
    ],
)
def test_a_garbled_click_item_is_none(raw: dict[str, object]) -> None:
    assert Click.from_item(raw) is None
