"""nps.responding.service: score links that a GET opens and the page's POST confirms, held back when automated.

In-memory stores (tests.support.fakes) and a clock the tests move by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from nps.kernel.branding import NEUTRAL_BRAND, PageBrand
from nps.kernel.categories import MAX_COMMENT_LENGTH, Category
from nps.kernel.periods import iso_timestamp
from nps.links.tokens import Keyring, Purpose
from nps.responding.adapters.invites import Invite, InviteNotFound
from nps.responding.adapters.responses import RecordOutcome
from nps.responding.scanners import RETRACT_WINDOW_SECONDS, Assessment, Click, ClickKind
from nps.responding.service import (
    BadComment,
    BadScore,
    CommentBeforeScore,
    ConfirmResult,
    InviteStore,
    LinkExpired,
    LinkInvalid,
    OpenResult,
    ResponseError,
    ResponseService,
    ResponseStore,
    TooManyComments,
    clean_comment,
)
from tests.support.fakes import (
    KEY_2,
    NOW,
    NOW_EPOCH,
    AutomatedCall,
    Clock,
    FakeInviteStore,
    FakeResponseStore,
    RetractCall,
    ScoreCall,
)

MakeToken = Callable[..., str]
MakeInvite = Callable[..., Invite]
NOW_ISO = "2026-11-23T10:30:15.123Z"
WEEK_BEFORE_NOW_ISO = "2026-11-16T10:30:15.123Z"  # start of the default 7-day edit window
MONTH = 30 * 86400

# A person's browser: the page's own fetch() carries same-origin fetch metadata.
PERSON = {
    "user-agent": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.0 Safari/605.1.15"
    ),
    "sec-fetch-site": "same-origin",
}
# An ordinary desktop Chrome user agent without fetch metadata (what Defender Safe Links sends).
PLAIN_BROWSER = {
    "user-agent": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
    )
}
PROOFPOINT = {"user-agent": "Proofpoint URL Defense/2.0", "accept": "*/*"}


@pytest.fixture
def invite(invite_store: FakeInviteStore, make_invite: MakeInvite) -> Invite:
    return invite_store.add(make_invite(invite_id="inv_1", locale="de"))


@pytest.fixture
def service(
    keyring: Keyring, invite_store: FakeInviteStore, response_store: FakeResponseStore, clock: Clock
) -> ResponseService:
    return ResponseService(keyring=lambda: keyring, invites=invite_store, responses=response_store, clock=clock)


def at(seconds_after_now: float) -> float:
    """The epoch time of a click ``seconds_after_now`` after ``NOW``."""
    return NOW.timestamp() + seconds_after_now


def assert_nothing_touched(invite_store: FakeInviteStore, response_store: FakeResponseStore) -> None:
    assert invite_store.lookups == []
    assert_nothing_written(invite_store, response_store)


def assert_nothing_written(invite_store: FakeInviteStore, response_store: FakeResponseStore) -> None:
    assert invite_store.logged == []
    assert response_store.calls == []


def assert_read_only_if_expired(
    invite_store: FakeInviteStore, response_store: FakeResponseStore, error: object
) -> None:
    """An expired link reads its invite (for the page's locale and brand); an invalid one reads nothing.
    Neither writes."""
    assert invite_store.lookups == (["inv_1"] if isinstance(error, LinkExpired) else [])
    assert_nothing_written(invite_store, response_store)


def test_the_fakes_satisfy_the_store_protocols(
    invite_store: FakeInviteStore, response_store: FakeResponseStore
) -> None:
    # Checked by mypy: the fakes can stand in wherever the service expects the real repositories
    invites: InviteStore = invite_store
    responses: ResponseStore = response_store
    assert invites is invite_store
    assert responses is response_store


# --------------------------------------------------------------------------------------------------
# Taps (open + confirm, as a person's browser does)
# --------------------------------------------------------------------------------------------------


def test_valid_tap_records_the_score(
    service: ResponseService,
    invite: Invite,
    invite_store: FakeInviteStore,
    response_store: FakeResponseStore,
    make_token: MakeToken,
) -> None:
    # Given a valid respond link for the invite
    token = make_token("inv_1")

    # When the person taps 9
    result = service.tap(token, "9")

    # Then the score is recorded once, as a promoter with high confidence, at the injected clock's time
    assert isinstance(result, ConfirmResult)
    assert result.invite.invite_id == invite.invite_id
    assert result.score == 9
    assert result.category is Category.PROMOTER
    assert result.assessment == Assessment(automated=False, reasons=(), confidence="high")
    assert result.recorded is not None
    assert result.recorded.outcome is RecordOutcome.RECORDED
    assert result.recorded.score == 9
    assert result.retracted is False
    assert response_store.recorded == [
        ScoreCall("inv_1", 9, Category.PROMOTER, NOW_ISO, "link", "high", WEEK_BEFORE_NOW_ISO)
    ]
    assert response_store.automated == []


def test_tap_logs_an_open_then_a_confirm_click(
    service: ResponseService, invite: Invite, invite_store: FakeInviteStore, make_token: MakeToken
) -> None:
    # When the person taps 7
    result = service.tap(make_token("inv_1"), "7")

    # Then the GET and the page's POST are both on the invite's click log, in that order
    expected = (Click(at(0), ClickKind.OPEN, 7), Click(at(0), ClickKind.CONFIRM, 7))
    assert invite_store.logged == [("inv_1", click) for click in expected]
    assert result.invite.clicks == expected


def test_second_tap_with_another_score_changes_it(
    service: ResponseService, invite: Invite, make_token: MakeToken
) -> None:
    token = make_token("inv_1")
    service.tap(token, "6")
    result = service.tap(token, "10")
    assert result.recorded is not None
    assert result.recorded.outcome is RecordOutcome.CHANGED
    assert result.recorded.version == 2
    assert result.category is Category.PROMOTER


def test_repeating_the_same_score_writes_nothing_new(
    service: ResponseService, invite: Invite, response_store: FakeResponseStore, make_token: MakeToken
) -> None:
    # Given an answer of 9 / When 9 is tapped again / Then the store reports it unchanged at version 1
    token = make_token("inv_1")
    service.tap(token, "9")
    result = service.tap(token, "9")
    assert result.recorded is not None
    assert result.recorded.outcome is RecordOutcome.UNCHANGED
    assert result.recorded.version == 1
    stored = response_store.get("inv_1")
    assert stored is not None
    assert (stored.score, stored.counted, stored.version) == (9, True, 1)


@pytest.mark.parametrize(("raw", "category"), [("0", Category.DETRACTOR), ("7", Category.PASSIVE)])
def test_tap_categorizes_the_score(
    service: ResponseService, invite: Invite, make_token: MakeToken, raw: str, category: Category
) -> None:
    assert service.tap(make_token("inv_1"), raw).category is category


def test_tap_without_headers_behaves_as_a_browser_and_with_headers_uses_them(
    service: ResponseService, invite: Invite, make_token: MakeToken
) -> None:
    # Given the default (a person's phone browser) and a scanner's user agent
    token = make_token("inv_1")
    # When each taps / Then only the scanner is judged automated
    assert service.tap(token, "8").assessment.automated is False
    scanner = service.tap(token, "8", PROOFPOINT)
    assert scanner.assessment.automated is True
    assert scanner.assessment.reasons == ("scanner user agent",)


def test_a_person_who_taps_6_then_9_is_counted_as_9(
    service: ResponseService,
    invite: Invite,
    response_store: FakeResponseStore,
    clock: Clock,
    make_token: MakeToken,
) -> None:
    # Given a person who taps 6 and, eight seconds later, 9 from the thank-you page
    token = make_token("inv_1")
    service.tap(token, "6")
    clock.advance(8)
    result = service.tap(token, "9")

    # Then two different scores are not a burst: the change counts and nothing is retracted
    assert result.assessment.automated is False
    assert result.recorded is not None
    assert result.recorded.outcome is RecordOutcome.CHANGED
    assert response_store.automated == []
    assert response_store.retractions == []
    stored = response_store.get("inv_1")
    assert stored is not None
    assert (stored.score, stored.counted) == (9, True)


def test_expired_link_is_refused_and_nothing_is_recorded(
    service: ResponseService,
    invite: Invite,
    invite_store: FakeInviteStore,
    response_store: FakeResponseStore,
    make_token: MakeToken,
) -> None:
    # Given a link that expired exactly now
    token = make_token("inv_1", expires_at=NOW_EPOCH)
    # When tapped / Then LinkExpired (HTTP 410); the invite is read (for its page) and nothing is written
    with pytest.raises(LinkExpired) as raised:
        service.tap(token, "9")
    assert raised.value.status == 410
    assert raised.value.reason == "link_expired"
    assert invite_store.lookups == ["inv_1"]
    assert invite_store.logged == []
    assert response_store.calls == []


def test_an_expired_link_speaks_the_invites_locale_and_brand(
    keyring: Keyring, response_store: FakeResponseStore, make_token: MakeToken
) -> None:
    # Given a German invite of a branded survey whose link has expired
    brand = PageBrand(name="Acme", colour="#0f766e", website_url="https://acme.example")
    german = Invite("inv_de", "srv_1", "wave_1", "ct_1", "email", "de", NOW_EPOCH, "2025-01-01T00:00:00Z", page=brand)
    invites = FakeInviteStore(invites={"inv_de": german})
    service = ResponseService(keyring=lambda: keyring, invites=invites, responses=response_store, clock=lambda: NOW)
    # When it is opened / Then the expired page is the invite's: its locale and its brand, nothing logged
    with pytest.raises(LinkExpired) as raised:
        service.open_invite(make_token("inv_de", expires_at=NOW_EPOCH - 1))
    assert (raised.value.locale, raised.value.page) == ("de", brand)
    assert invites.logged == []
    # And a HEAD check of it reads nothing at all
    invites.lookups.clear()
    with pytest.raises(LinkExpired):
        service.verify_link(make_token("inv_de", expires_at=NOW_EPOCH - 1), NOW, explain=False)
    assert invites.lookups == []


def test_an_invalid_link_reads_nothing_and_speaks_the_request_locale(
    service: ResponseService,
    invite_store: FakeInviteStore,
    response_store: FakeResponseStore,
    invite: Invite,
    make_token: MakeToken,
) -> None:
    # Given an expired token of a real invite whose signature was altered
    token = make_token("inv_1", expires_at=NOW_EPOCH - 1)
    tampered = token[:-2] + ("B" if token[-2] == "A" else "A") + token[-1]
    with pytest.raises(LinkInvalid) as raised:
        service.tap(tampered, "9")
    # Then its payload is not trusted: no invite is read, the page has no locale or brand of its own
    assert raised.value.locale is None
    assert raised.value.page == NEUTRAL_BRAND
    assert_nothing_touched(invite_store, response_store)


def test_link_is_still_valid_a_second_before_expiry(
    keyring: Keyring,
    invite_store: FakeInviteStore,
    response_store: FakeResponseStore,
    invite: Invite,
    make_token: MakeToken,
) -> None:
    token = make_token("inv_1", expires_at=NOW_EPOCH + 1)
    service = ResponseService(lambda: keyring, invite_store, response_store, clock=lambda: NOW)
    recorded = service.tap(token, "5").recorded
    assert recorded is not None
    assert recorded.score == 5
    later = ResponseService(lambda: keyring, invite_store, response_store, clock=lambda: NOW + timedelta(seconds=1))
    with pytest.raises(LinkExpired):
        later.tap(token, "5")


def test_tampered_link_is_invalid_and_nothing_is_recorded(
    service: ResponseService,
    invite: Invite,
    invite_store: FakeInviteStore,
    response_store: FakeResponseStore,
    make_token: MakeToken,
) -> None:
    # Given a valid link with one character of its signature changed
    token = make_token("inv_1")
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    # When tapped / Then LinkInvalid (HTTP 403), the invite is not even looked up, nothing is written
    with pytest.raises(LinkInvalid) as raised:
        service.tap(tampered, "9")
    assert raised.value.status == 403
    assert_nothing_touched(invite_store, response_store)


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "k1..", "x" * 5000])
def test_garbage_link_is_invalid(
    service: ResponseService,
    invite: Invite,
    invite_store: FakeInviteStore,
    response_store: FakeResponseStore,
    token: str,
) -> None:
    with pytest.raises(LinkInvalid):
        service.tap(token, "9")
    assert_nothing_touched(invite_store, response_store)


def test_unsubscribe_link_cannot_record_a_score(
    service: ResponseService,
    invite: Invite,
    invite_store: FakeInviteStore,
    response_store: FakeResponseStore,
    make_token: MakeToken,
) -> None:
    with pytest.raises(LinkInvalid):
        service.tap(make_token("inv_1", purpose=Purpose.UNSUBSCRIBE), "9")
    assert_nothing_touched(invite_store, response_store)


def test_link_signed_with_an_unknown_key_is_invalid(
    service: ResponseService, invite: Invite, make_token: MakeToken
) -> None:
    foreign = Keyring(keys={"k2": KEY_2}, active_kid="k2")
    with pytest.raises(LinkInvalid):
        service.tap(make_token("inv_1", ring=foreign), "9")


@pytest.mark.parametrize("raw", [None, "", "11", "-1", "abc", " 9", "9.0", "\u0669"])
def test_missing_or_invalid_score_is_refused_and_nothing_is_recorded(
    service: ResponseService,
    invite: Invite,
    invite_store: FakeInviteStore,
    response_store: FakeResponseStore,
    make_token: MakeToken,
    raw: str | None,
) -> None:
    # Given a valid link but no usable score
    # When tapped / Then BadScore (HTTP 400), before any click is logged or anything is recorded
    with pytest.raises(BadScore) as raised:
        service.tap(make_token("inv_1"), raw)
    assert raised.value.status == 400
    assert raised.value.reason == "bad_score"
    assert invite_store.logged == []
    assert response_store.calls == []


def test_link_is_checked_before_the_score(service: ResponseService, invite: Invite, make_token: MakeToken) -> None:
    # Given an expired link and a bad score / Then the link problem is what the person is told about
    with pytest.raises(LinkExpired):
        service.tap(make_token("inv_1", expires_at=NOW_EPOCH - 60), "eleven")


def test_valid_link_to_an_invite_that_is_gone_is_expired(
    service: ResponseService, invite_store: FakeInviteStore, response_store: FakeResponseStore, make_token: MakeToken
) -> None:
    # Given a correctly signed link whose invite aged out of the table
    # When tapped / Then LinkExpired: the click log refused to create the invite, nothing was recorded
    with pytest.raises(LinkExpired) as raised:
        service.tap(make_token("inv_gone"), "9")
    assert isinstance(raised.value.__cause__, InviteNotFound)
    assert invite_store.invites == {}
    assert response_store.calls == []


def test_keyring_is_read_on_every_request_so_rotation_applies_without_restart(
    invite_store: FakeInviteStore,
    response_store: FakeResponseStore,
    invite: Invite,
    keyring: Keyring,
    rotated_keyring: Keyring,
    make_token: MakeToken,
) -> None:
    # Given a service whose keyring provider returns the rotated keyring after the first call
    rings = [keyring, rotated_keyring]
    service = ResponseService(lambda: rings[0], invite_store, response_store, clock=lambda: NOW)
    service.tap(make_token("inv_1"), "9")
    rings.pop(0)
    # Then a link signed with the new key k2 works too
    recorded = service.tap(make_token("inv_1", ring=rotated_keyring), "10").recorded
    assert recorded is not None
    assert recorded.score == 10


def test_errors_are_response_errors_with_status_and_reason() -> None:
    for error, status, reason in [
        (LinkInvalid(), 403, "link_invalid"),
        (LinkExpired(), 410, "link_expired"),
        (BadScore(), 400, "bad_score"),
        (BadComment(), 400, "bad_comment"),
        (CommentBeforeScore(), 409, "comment_before_score"),
        (TooManyComments(), 429, "comment_limit"),
    ]:
        assert isinstance(error, ResponseError)
        assert (error.status, error.reason, str(error)) == (status, reason, reason)


# --------------------------------------------------------------------------------------------------
# verify_link / open_invite
# --------------------------------------------------------------------------------------------------


def test_verify_link_returns_the_invite_id_without_reading_anything(
    service: ResponseService,
    invite_store: FakeInviteStore,
    response_store: FakeResponseStore,
    make_token: MakeToken,
) -> None:
    assert service.verify_link(make_token("inv_42"), NOW) == "inv_42"
    assert_nothing_touched(invite_store, response_store)


def test_open_invite_reads_the_invite_and_refuses_one_that_is_gone(
    service: ResponseService, invite: Invite, make_token: MakeToken
) -> None:
    assert service.open_invite(make_token("inv_1")) == invite
    with pytest.raises(LinkExpired):
        service.open_invite(make_token("inv_gone"))


# --------------------------------------------------------------------------------------------------
# open_link: the GET of a score link
# --------------------------------------------------------------------------------------------------


def test_opening_a_score_link_logs_the_open_and_records_nothing(
    service: ResponseService,
    invite: Invite,
    invite_store: FakeInviteStore,
    response_store: FakeResponseStore,
    make_token: MakeToken,
) -> None:
    # When the score link for 9 is opened
    result = service.open_link(make_token("inv_1"), "9", PERSON)

    # Then the page gets the invite (with the open on its log) and the score, and no answer is written
    assert result == OpenResult(invite=invite_store.invites["inv_1"], score=9)
    assert result.invite.clicks == (Click(at(0), ClickKind.OPEN, 9),)
    assert invite_store.logged == [("inv_1", Click(at(0), ClickKind.OPEN, 9))]
    assert response_store.calls == []


def test_a_scanner_opening_all_eleven_links_records_nothing(
    service: ResponseService,
    invite: Invite,
    response_store: FakeResponseStore,
    clock: Clock,
    make_token: MakeToken,
) -> None:
    # Given a mail scanner that GETs every score link within two seconds
    token = make_token("inv_1")
    for score in range(11):
        service.open_link(token, str(score), PROOFPOINT)
        clock.advance(0.15)

    # Then no answer, counted or automated, is stored (retractions were tried, with nothing to retract)
    assert response_store.recorded == []
    assert response_store.automated == []
    assert response_store.items == {}
    assert set(response_store.calls) == {"retract_recent"}


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-purpose": "prefetch"},
        {"sec-purpose": "prefetch;prerender"},
        {"purpose": "prefetch"},
        {"x-purpose": "preview"},
        {"x-moz": "prefetch"},
    ],
    ids=["sec-purpose", "sec-purpose-prerender", "purpose", "x-purpose-preview", "x-moz"],
)
def test_prefetch_is_not_logged_and_records_nothing(
    service: ResponseService,
    invite: Invite,
    invite_store: FakeInviteStore,
    response_store: FakeResponseStore,
    make_token: MakeToken,
    headers: dict[str, str],
) -> None:
    # Given a browser or proxy prefetching a score link
    # When it is opened
    result = service.open_link(make_token("inv_1"), "10", PERSON | headers)
    # Then the page can still be shown, but the click log and the responses table are untouched
    assert result == OpenResult(invite=invite, score=10)
    assert invite_store.logged == []
    assert invite_store.lookups == ["inv_1"]
    assert response_store.calls == []


def test_prefetch_of_a_link_whose_invite_is_gone_is_expired(service: ResponseService, make_token: MakeToken) -> None:
    with pytest.raises(LinkExpired):
        service.open_link(make_token("inv_gone"), "10", {"sec-purpose": "prefetch"})


@pytest.mark.parametrize("raw", [None, "", "11", "nine"])
def test_open_link_with_a_missing_or_bad_score_is_refused_before_anything_is_logged(
    service: ResponseService,
    invite: Invite,
    invite_store: FakeInviteStore,
    response_store: FakeResponseStore,
    make_token: MakeToken,
    raw: str | None,
) -> None:
    with pytest.raises(BadScore):
        service.open_link(make_token("inv_1"), raw, PERSON)
    assert_nothing_touched(invite_store, response_store)


def test_open_link_of_an_invite_that_is_gone_is_expired(
    service: ResponseService, invite_store: FakeInviteStore, response_store: FakeResponseStore, make_token: MakeToken
) -> None:
    # Given a signed link whose invite aged out / When opened / Then LinkExpired and no invite is created
    with pytest.raises(LinkExpired) as raised:
        service.open_link(make_token("inv_gone"), "9", PERSON)
    assert isinstance(raised.value.__cause__, InviteNotFound)
    assert [invite_id for invite_id, _ in invite_store.logged] == ["inv_gone"]
    assert invite_store.invites == {}
    assert response_store.calls == []


@pytest.mark.parametrize("expires_at", [NOW_EPOCH, NOW_EPOCH - 3600])
def test_open_link_with_an_expired_token_touches_no_store(
    service: ResponseService,
    invite: Invite,
    invite_store: FakeInviteStore,
    response_store: FakeResponseStore,
    make_token: MakeToken,
    expires_at: int,
) -> None:
    with pytest.raises(LinkExpired) as raised:
        service.open_link(make_token("inv_1", expires_at=expires_at), "9", PERSON)
    assert_read_only_if_expired(invite_store, response_store, raised.value)


def test_open_link_with_an_invalid_token_touches_no_store(
    service: ResponseService,
    invite: Invite,
    invite_store: FakeInviteStore,
    response_store: FakeResponseStore,
    make_token: MakeToken,
) -> None:
    with pytest.raises(LinkInvalid):
        service.open_link(make_token("inv_1") + "x", "9", PERSON)
    with pytest.raises(LinkInvalid):
        service.open_link(make_token("inv_1", purpose=Purpose.UNSUBSCRIBE), "9", PERSON)
    assert_nothing_touched(invite_store, response_store)


def test_an_open_that_completes_a_burst_retracts_an_answer_recorded_moments_before(
    service: ResponseService,
    invite: Invite,
    response_store: FakeResponseStore,
    clock: Clock,
    make_token: MakeToken,
) -> None:
    # Given a scanner whose first page confirmed 0 and was counted (it looked like a browser)
    token = make_token("inv_1")
    service.open_link(token, "0", PLAIN_BROWSER)
    first = service.confirm(token, "0", PLAIN_BROWSER)
    assert first.assessment == Assessment(False, (), "medium")
    assert first.recorded is not None

    # When its other fetches arrive a second later (a third different score completes the burst)
    clock.advance(1)
    service.open_link(token, "1", PLAIN_BROWSER)
    assert response_store.retractions == []
    now = clock.advance(0.15)
    service.open_link(token, "2", PLAIN_BROWSER)

    # Then the answer is retracted: everything first answered in the last minute stops counting
    since = now - timedelta(seconds=RETRACT_WINDOW_SECONDS)
    assert response_store.retractions == [
        RetractCall("inv_1", iso_timestamp(since), iso_timestamp(now), ("burst of different scores",))
    ]
    stored = response_store.get("inv_1")
    assert stored is not None
    assert stored.counted is False
    assert stored.automated_score == 0


# --------------------------------------------------------------------------------------------------
# confirm: the page's POST
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "confidence"),
    [
        (PERSON, "high"),
        (PLAIN_BROWSER | {"sec-fetch-user": "?1", "sec-fetch-site": "none"}, "high"),
        (PLAIN_BROWSER, "medium"),
        (PLAIN_BROWSER | {"sec-fetch-site": "cross-site"}, "medium"),
    ],
    ids=["same-origin", "user-activated", "no-fetch-metadata", "cross-site"],
)
def test_confirm_by_a_person_records_the_score_with_its_confidence_and_edit_window(
    service: ResponseService,
    invite: Invite,
    invite_store: FakeInviteStore,
    response_store: FakeResponseStore,
    make_token: MakeToken,
    headers: dict[str, str],
    confidence: str,
) -> None:
    # When the page confirms 3
    result = service.confirm(make_token("inv_1"), "3", headers)

    # Then the confirm is logged and the answer recorded as a link answer with the judged confidence
    assert invite_store.logged == [("inv_1", Click(at(0), ClickKind.CONFIRM, 3))]
    assert result.assessment == Assessment(False, (), confidence)
    assert result.category is Category.DETRACTOR
    assert response_store.calls == ["record_score"]
    assert response_store.recorded == [
        ScoreCall("inv_1", 3, Category.DETRACTOR, NOW_ISO, "link", confidence, WEEK_BEFORE_NOW_ISO)
    ]


@pytest.mark.parametrize("raw", [None, "", "11", "-1", "9.0"])
def test_confirm_with_a_missing_or_bad_score_is_refused_before_anything_is_logged(
    service: ResponseService,
    invite: Invite,
    invite_store: FakeInviteStore,
    response_store: FakeResponseStore,
    make_token: MakeToken,
    raw: str | None,
) -> None:
    # Given a POST without a usable score / Then BadScore (HTTP 400), no click, nothing recorded
    with pytest.raises(BadScore) as raised:
        service.confirm(make_token("inv_1"), raw, PERSON)
    assert raised.value.status == 400
    assert_nothing_touched(invite_store, response_store)


@pytest.mark.parametrize(
    "make_bad_token",
    [
        lambda make: make("inv_1", expires_at=NOW_EPOCH),
        lambda make: make("inv_1") + "x",
        lambda make: make("inv_1", purpose=Purpose.UNSUBSCRIBE),
        lambda make: "garbage",
    ],
    ids=["expired", "tampered", "unsubscribe-purpose", "garbage"],
)
def test_confirm_with_an_invalid_or_expired_token_touches_no_store(
    service: ResponseService,
    invite: Invite,
    invite_store: FakeInviteStore,
    response_store: FakeResponseStore,
    make_token: MakeToken,
    make_bad_token: Callable[[MakeToken], str],
) -> None:
    with pytest.raises((LinkInvalid, LinkExpired)) as raised:
        service.confirm(make_bad_token(make_token), "9", PERSON)
    assert_read_only_if_expired(invite_store, response_store, raised.value)


def test_confirm_of_an_invite_that_is_gone_is_expired(
    service: ResponseService, response_store: FakeResponseStore, make_token: MakeToken
) -> None:
    with pytest.raises(LinkExpired) as raised:
        service.confirm(make_token("inv_gone"), "9", PERSON)
    assert isinstance(raised.value.__cause__, InviteNotFound)
    assert response_store.calls == []


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        (PROOFPOINT, "scanner user agent"),
        ({"user-agent": "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/131.0 Safari/537.36"}, "scanner user agent"),
        ({"user-agent": ""}, "no user agent"),
        ({}, "no user agent"),
    ],
    ids=["proofpoint", "headless-chrome", "empty-user-agent", "no-headers"],
)
def test_confirm_that_looks_automated_is_kept_aside_and_not_counted(
    service: ResponseService,
    invite: Invite,
    response_store: FakeResponseStore,
    make_token: MakeToken,
    headers: dict[str, str],
    reason: str,
) -> None:
    # When a scanner's headless browser (or a bare fetcher) posts 10
    result = service.confirm(make_token("inv_1"), "10", headers)

    # Then it is stored as an automated attempt, never as an answer, and nothing is retracted
    # (the request headers alone are not evidence against an answer recorded earlier)
    assert result.assessment == Assessment(True, (reason,), "automated")
    assert result.recorded is None
    assert result.retracted is False
    assert result.score == 10
    assert result.category is Category.PROMOTER
    assert response_store.automated == [AutomatedCall("inv_1", 10, NOW_ISO, (reason,))]
    assert response_store.recorded == []
    assert response_store.retractions == []
    stored = response_store.get("inv_1")
    assert stored is not None
    assert (stored.score, stored.counted, stored.automated_score) == (None, False, 10)


def test_confirm_seconds_after_sending_is_held_back(
    service: ResponseService,
    invite_store: FakeInviteStore,
    response_store: FakeResponseStore,
    make_invite: MakeInvite,
    make_token: MakeToken,
) -> None:
    # Given an invite sent two seconds ago
    invite_store.add(make_invite(sent_at=iso_timestamp(NOW - timedelta(seconds=2))))
    # When a browser-like tap arrives / Then nobody could have read the message yet: automated
    result = service.tap(make_token("inv_1"), "10")
    assert result.assessment.reasons == ("seconds after sending",)
    assert response_store.recorded == []
    assert [call.score for call in response_store.automated] == [10]


def test_confirm_five_seconds_after_sending_counts(
    service: ResponseService,
    invite_store: FakeInviteStore,
    response_store: FakeResponseStore,
    make_invite: MakeInvite,
    make_token: MakeToken,
) -> None:
    invite_store.add(make_invite(sent_at=iso_timestamp(NOW - timedelta(seconds=5))))
    result = service.tap(make_token("inv_1"), "10")
    assert result.assessment.automated is False
    assert [call.score for call in response_store.recorded] == [10]


def test_confirm_that_completes_a_burst_is_automated_and_retracts_the_answer_before_it(
    service: ResponseService,
    invite: Invite,
    response_store: FakeResponseStore,
    clock: Clock,
    make_token: MakeToken,
) -> None:
    # Given a counted 0 confirmed by a scanner that looks like a browser, and an open of 5 a second later
    token = make_token("inv_1")
    service.confirm(token, "0", PLAIN_BROWSER)
    clock.advance(1)
    service.open_link(token, "5", PLAIN_BROWSER)

    # When it confirms 7 (three different scores within seconds)
    now = clock.advance(0.5)
    result = service.confirm(token, "7", PLAIN_BROWSER)

    # Then 7 is kept aside, and the 0 recorded moments before is retracted
    assert result.assessment == Assessment(True, ("burst of different scores",), "automated")
    assert result.recorded is None
    assert result.retracted is True
    assert response_store.calls == ["record_score", "record_automated", "retract_recent"]
    since = iso_timestamp(now - timedelta(seconds=RETRACT_WINDOW_SECONDS))
    assert response_store.retractions == [
        RetractCall("inv_1", since, iso_timestamp(now), ("burst of different scores",))
    ]
    stored = response_store.get("inv_1")
    assert stored is not None
    assert stored.counted is False
    assert stored.first_answered_at is None


def test_a_person_answering_twenty_minutes_after_a_scanner_burst_is_counted(
    service: ResponseService,
    invite: Invite,
    response_store: FakeResponseStore,
    clock: Clock,
    make_token: MakeToken,
) -> None:
    # Given a headless scanner that opened and confirmed every score within seconds
    token = make_token("inv_1")
    for score in range(11):
        service.open_link(token, str(score), PLAIN_BROWSER)
        clock.advance(0.15)
    for score in range(11):
        service.confirm(token, str(score), PLAIN_BROWSER)
        clock.advance(0.05)
    assert response_store.recorded == []
    assert len(response_store.automated) == 11

    # When the person taps 8 twenty minutes later
    clock.advance(1200)
    result = service.tap(token, "8")

    # Then exactly their answer counts
    assert result.assessment.automated is False
    assert result.recorded is not None
    assert result.recorded.outcome is RecordOutcome.RECORDED
    stored = response_store.get("inv_1")
    assert stored is not None
    assert (stored.score, stored.counted) == (8, True)


def test_edit_window_of_the_service_is_passed_to_the_store(
    keyring: Keyring,
    invite_store: FakeInviteStore,
    response_store: FakeResponseStore,
    invite: Invite,
    make_token: MakeToken,
) -> None:
    # Given a service configured with a two-day edit window
    service = ResponseService(
        lambda: keyring, invite_store, response_store, clock=lambda: NOW, edit_window=timedelta(days=2)
    )
    # When a person answers / Then the store is told the window started two days before now
    service.tap(make_token("inv_1"), "9")
    assert [call.edit_window_start_iso for call in response_store.recorded] == ["2026-11-21T10:30:15.123Z"]


@pytest.mark.parametrize(
    ("days_later", "outcome", "score_on_record"),
    [(6, RecordOutcome.CHANGED, 10), (8, RecordOutcome.LOCKED, 3)],
    ids=["within-window", "after-window"],
)
def test_the_latest_answer_stands_only_within_the_edit_window(
    service: ResponseService,
    invite: Invite,
    response_store: FakeResponseStore,
    clock: Clock,
    make_token: MakeToken,
    days_later: int,
    outcome: RecordOutcome,
    score_on_record: int,
) -> None:
    # Given an answer of 3 on a link valid for a month
    token = make_token("inv_1", expires_at=NOW_EPOCH + MONTH)
    service.tap(token, "3")
    # When the person taps 10 some days later
    clock.advance(days_later * 86400)
    result = service.tap(token, "10")
    # Then it replaces the 3 within the 7-day window, and is refused after it
    assert result.recorded is not None
    assert result.recorded.outcome is outcome
    assert result.recorded.score == score_on_record
    stored = response_store.get("inv_1")
    assert stored is not None
    assert stored.score == score_on_record


# --------------------------------------------------------------------------------------------------
# honeypot: the hidden link only machines follow
# --------------------------------------------------------------------------------------------------


def test_honeypot_fetch_is_logged_and_retracts_an_answer_recorded_moments_before(
    service: ResponseService,
    invite: Invite,
    invite_store: FakeInviteStore,
    response_store: FakeResponseStore,
    clock: Clock,
    make_token: MakeToken,
) -> None:
    # Given an answer counted half a minute ago
    token = make_token("inv_1")
    service.tap(token, "9")
    now = clock.advance(30)

    # When the hidden preview link is fetched
    result = service.honeypot(token)

    # Then the fetch is on the click log and the answer is retracted with the honeypot as the reason
    assert result.clicks[-1] == Click(at(30), ClickKind.HONEYPOT)
    since = iso_timestamp(now - timedelta(seconds=RETRACT_WINDOW_SECONDS))
    assert response_store.retractions == [RetractCall("inv_1", since, iso_timestamp(now), ("honeypot link fetched",))]
    stored = response_store.get("inv_1")
    assert stored is not None
    assert stored.counted is False


def test_late_evidence_leaves_an_answer_older_than_the_retract_window(
    service: ResponseService,
    invite: Invite,
    response_store: FakeResponseStore,
    clock: Clock,
    make_token: MakeToken,
) -> None:
    # Given an answer counted 61 seconds ago
    token = make_token("inv_1")
    service.tap(token, "9")
    clock.advance(RETRACT_WINDOW_SECONDS + 1)
    # When the honeypot is fetched / Then a retraction is attempted but the answer is too old to retract
    service.honeypot(token)
    assert len(response_store.retractions) == 1
    stored = response_store.get("inv_1")
    assert stored is not None
    assert (stored.score, stored.counted) == (9, True)


def test_an_answer_shortly_after_a_honeypot_fetch_is_kept_aside(
    service: ResponseService,
    invite: Invite,
    response_store: FakeResponseStore,
    clock: Clock,
    make_token: MakeToken,
) -> None:
    # Given the preview link fetched a minute ago
    token = make_token("inv_1")
    service.honeypot(token)
    clock.advance(60)
    # When a browser-like tap arrives / Then it is automated (and there is nothing to retract)
    result = service.tap(token, "9")
    assert result.assessment.reasons == ("honeypot link fetched",)
    assert result.recorded is None
    assert result.retracted is False
    assert response_store.recorded == []


def test_an_answer_long_after_a_honeypot_fetch_counts(
    service: ResponseService,
    invite: Invite,
    response_store: FakeResponseStore,
    clock: Clock,
    make_token: MakeToken,
) -> None:
    token = make_token("inv_1")
    service.honeypot(token)
    clock.advance(91)
    result = service.tap(token, "9")
    assert result.assessment.automated is False
    assert [call.score for call in response_store.recorded] == [9]


def test_honeypot_with_an_invalid_or_expired_token_touches_no_store(
    service: ResponseService,
    invite: Invite,
    invite_store: FakeInviteStore,
    response_store: FakeResponseStore,
    make_token: MakeToken,
) -> None:
    with pytest.raises(LinkInvalid):
        service.honeypot(make_token("inv_1") + "x")
    with pytest.raises(LinkExpired) as raised:
        service.honeypot(make_token("inv_1", expires_at=NOW_EPOCH - 1))
    assert_read_only_if_expired(invite_store, response_store, raised.value)


def test_honeypot_of_an_invite_that_is_gone_is_expired(
    service: ResponseService, response_store: FakeResponseStore, make_token: MakeToken
) -> None:
    with pytest.raises(LinkExpired):
        service.honeypot(make_token("inv_gone"))
    assert response_store.calls == []


# --------------------------------------------------------------------------------------------------
# Comments
# --------------------------------------------------------------------------------------------------


def test_comment_after_a_score_is_saved_clean(
    service: ResponseService, invite: Invite, response_store: FakeResponseStore, make_token: MakeToken
) -> None:
    # Given an answered invite
    token = make_token("inv_1")
    service.tap(token, "4")
    # When a comment with surrounding whitespace is posted
    result = service.comment(token, "  \n Delivery was late. \r\n ")
    # Then the trimmed text is saved at the clock's time, without touching the answer
    assert result.invite_id == invite.invite_id
    assert response_store.comments == [("inv_1", "Delivery was late.", NOW_ISO)]
    assert response_store.calls == ["record_score", "save_comment"]


def test_comment_before_a_score_is_refused(
    service: ResponseService, invite: Invite, response_store: FakeResponseStore, make_token: MakeToken
) -> None:
    # Given an invite without any answer, not even an automated one
    # When a comment is posted / Then CommentBeforeScore (HTTP 409) in the invite's locale
    with pytest.raises(CommentBeforeScore) as raised:
        service.comment(make_token("inv_1"), "Why do you ask?")
    assert raised.value.status == 409
    assert raised.value.locale == "de"
    assert response_store.comments == []
    assert response_store.recorded == []


def test_comment_counts_an_answer_that_was_held_back_as_automated(
    service: ResponseService,
    invite_store: FakeInviteStore,
    response_store: FakeResponseStore,
    make_invite: MakeInvite,
    clock: Clock,
    make_token: MakeToken,
) -> None:
    # Given an answer of 4 held back because it came two seconds after sending
    invite_store.add(make_invite(sent_at=iso_timestamp(NOW - timedelta(seconds=2))))
    token = make_token("inv_1")
    assert service.tap(token, "4").recorded is None
    later = clock.advance(30)

    # When the person types a comment (a person's act)
    service.comment(token, "Too slow to reply to tickets")

    # Then the held-back score is recorded as the person's answer, and the comment is saved with it
    later_iso = iso_timestamp(later)
    assert response_store.calls[1:] == ["save_comment", "get", "record_score", "save_comment"]
    assert response_store.recorded == [ScoreCall("inv_1", 4, Category.DETRACTOR, later_iso, "comment", "high", "")]
    assert response_store.comments == [("inv_1", "Too slow to reply to tickets", later_iso)]
    stored = response_store.get("inv_1")
    assert stored is not None
    assert (stored.score, stored.counted) == (4, True)


def test_comment_counts_again_an_answer_that_was_retracted(
    service: ResponseService,
    invite: Invite,
    response_store: FakeResponseStore,
    clock: Clock,
    make_token: MakeToken,
) -> None:
    # Given an answer of 9 retracted by a honeypot fetch seconds later
    token = make_token("inv_1")
    service.tap(token, "9")
    clock.advance(5)
    service.honeypot(token)
    assert response_store.items["inv_1"].counted is False

    # When a comment arrives / Then the 9 counts again, from now
    clock.advance(60)
    service.comment(token, "Great support")
    assert [(call.score, call.source) for call in response_store.recorded] == [(9, "link"), (9, "comment")]
    stored = response_store.get("inv_1")
    assert stored is not None
    assert (stored.score, stored.counted) == (9, True)
    assert response_store.comments == [("inv_1", "Great support", iso_timestamp(clock.now))]


@pytest.mark.parametrize("raw", [None, "", "   ", "\n\t\n", "\x00\x01\x1b", "\u200b"])
def test_empty_comment_is_refused(
    service: ResponseService,
    invite: Invite,
    response_store: FakeResponseStore,
    make_token: MakeToken,
    raw: str | None,
) -> None:
    token = make_token("inv_1")
    service.tap(token, "8")
    with pytest.raises(BadComment) as raised:
        service.comment(token, raw)
    assert raised.value.locale == "de"
    assert response_store.comments == []


def test_too_long_comment_is_refused(
    service: ResponseService, invite: Invite, response_store: FakeResponseStore, make_token: MakeToken
) -> None:
    token = make_token("inv_1")
    service.tap(token, "8")
    with pytest.raises(BadComment, match="2000"):
        service.comment(token, "x" * (MAX_COMMENT_LENGTH + 1))
    assert response_store.comments == []


def test_comment_with_an_expired_or_tampered_link_is_refused(
    service: ResponseService, invite: Invite, response_store: FakeResponseStore, make_token: MakeToken
) -> None:
    service.tap(make_token("inv_1"), "8")
    with pytest.raises(LinkExpired):
        service.comment(make_token("inv_1", expires_at=NOW_EPOCH - 1), "late")
    with pytest.raises(LinkInvalid):
        service.comment(make_token("inv_1") + "x", "tampered")
    assert response_store.comments == []
    assert response_store.calls == ["record_score"]


def test_comment_of_an_invite_that_is_gone_is_expired(
    service: ResponseService, response_store: FakeResponseStore, make_token: MakeToken
) -> None:
    with pytest.raises(LinkExpired):
        service.comment(make_token("inv_gone"), "hello")
    assert response_store.calls == []


# --------------------------------------------------------------------------------------------------
# clean_comment
# --------------------------------------------------------------------------------------------------


def test_clean_comment_strips_and_normalises_line_endings() -> None:
    assert clean_comment("  first line\r\nsecond line\n\n  ") == "first line\nsecond line"


def test_clean_comment_keeps_tabs_newlines_and_unicode_text() -> None:
    text = "Größe:\tgut\nService: très bien 👍 — 很好"
    assert clean_comment(text) == text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a\x00b", "ab"),  # NUL
        ("a\x07b", "ab"),  # BEL
        ("a\x1b[31mb", "a[31mb"),  # ESC of an ANSI colour sequence
        ("a\x7fb", "ab"),  # DEL
        ("a\x85b", "ab"),  # NEL (C1 control)
        ("a\rb", "ab"),  # lone carriage return
        ("a\u202eb", "ab"),  # RIGHT-TO-LEFT OVERRIDE (bidi spoofing)
    ],
)
def test_clean_comment_removes_control_characters(raw: str, expected: str) -> None:
    assert clean_comment(raw) == expected


def test_clean_comment_limit_is_measured_after_cleaning() -> None:
    # Exactly 2000 characters pass; whitespace around them does not count; 2001 fail
    assert len(clean_comment("x" * MAX_COMMENT_LENGTH)) == MAX_COMMENT_LENGTH
    assert clean_comment("  " + "x" * MAX_COMMENT_LENGTH + "  \n") == "x" * MAX_COMMENT_LENGTH
    with pytest.raises(BadComment):
        clean_comment("x" * (MAX_COMMENT_LENGTH + 1))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Prix\u00a0: trop élevé\u00a0!", "Prix\u00a0: trop élevé\u00a0!"),  # French typography
        ("はい\u3000とても良い", "はい\u3000とても良い"),  # Japanese full-width space
        ("10\u2009000 km", "10\u2009000 km"),
    ],
    ids=["no-break-space", "ideographic-space", "thin-space"],
)
def test_clean_comment_keeps_space_separators_that_are_not_control_characters(raw: str, expected: str) -> None:
    assert clean_comment(raw) == expected


def test_a_comment_sent_before_the_confirmation_records_the_score_it_carries_and_the_comment(
    service: ResponseService, invite: Invite, response_store: FakeResponseStore, make_token: MakeToken
) -> None:
    # Given an invite whose page was opened with 3, and a comment sent before the page confirmed the answer
    # When the comment arrives with the score the page showed
    service.comment(make_token("inv_1"), "Support never called back.", "3")
    # Then both are recorded: the score first, then the comment (nothing is lost)
    assert [(r.invite_id, r.score, r.source) for r in response_store.recorded] == [("inv_1", 3, "comment")]
    assert response_store.comments == [("inv_1", "Support never called back.", NOW_ISO)]


@pytest.mark.parametrize("score", [None, "", "11", "-1", "3.0", "x"])
def test_a_comment_before_any_answer_with_no_score_or_not_a_score_is_refused(
    service: ResponseService,
    invite: Invite,
    response_store: FakeResponseStore,
    make_token: MakeToken,
    score: str | None,
) -> None:
    with pytest.raises(CommentBeforeScore):
        service.comment(make_token("inv_1"), "Why do you ask?", score)
    assert response_store.recorded == []
    assert response_store.comments == []
