"""nps.responding: one-tap scores and comments behind signed links (in-memory stores, fixed clock)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from nps.dal.invites import Invite
from nps.dal.responses import RecordOutcome
from nps.limits import MAX_COMMENT_LENGTH
from nps.responding import (
    BadComment,
    BadScore,
    CommentBeforeScore,
    LinkExpired,
    LinkInvalid,
    ResponseError,
    ResponseService,
    clean_comment,
)
from nps.scoring import Category
from nps.tokens import Keyring, Purpose
from tests.unit.support import KEY_2, NOW, NOW_EPOCH, FakeInviteStore, FakeResponseStore

MakeToken = Callable[..., str]
MakeInvite = Callable[..., Invite]
NOW_ISO = "2026-11-23T10:30:15.123Z"


@pytest.fixture
def invite(invite_store: FakeInviteStore, make_invite: MakeInvite) -> Invite:
    return invite_store.add(make_invite(invite_id="inv_1", locale="de"))


@pytest.fixture
def service(
    keyring: Keyring, invite_store: FakeInviteStore, response_store: FakeResponseStore
) -> ResponseService:
    return ResponseService(
        keyring=lambda: keyring, invites=invite_store, responses=response_store, clock=lambda: NOW
    )


# --------------------------------------------------------------------------------------------------
# Taps
# --------------------------------------------------------------------------------------------------


def test_valid_tap_records_the_score(
    service: ResponseService, invite: Invite, response_store: FakeResponseStore, make_token: MakeToken
) -> None:
    # Given a valid respond link for the invite
    token = make_token("inv_1")

    # When the person taps 9
    result = service.tap(token, "9")

    # Then the score is recorded once, as a promoter, at the injected clock's time
    assert result.invite == invite
    assert result.category is Category.PROMOTER
    assert result.recorded.outcome is RecordOutcome.RECORDED
    assert result.recorded.score == 9
    assert response_store.recorded == [("inv_1", 9, Category.PROMOTER, NOW_ISO, "link")]


def test_second_tap_with_another_score_changes_it(
    service: ResponseService, invite: Invite, response_store: FakeResponseStore, make_token: MakeToken
) -> None:
    token = make_token("inv_1")
    service.tap(token, "6")
    result = service.tap(token, "10")
    assert result.recorded.outcome is RecordOutcome.CHANGED
    assert result.recorded.version == 2
    assert result.category is Category.PROMOTER


@pytest.mark.parametrize(("raw", "category"), [("0", Category.DETRACTOR), ("7", Category.PASSIVE)])
def test_tap_categorizes_the_score(
    service: ResponseService, invite: Invite, make_token: MakeToken, raw: str, category: Category
) -> None:
    assert service.tap(make_token("inv_1"), raw).category is category


def test_expired_link_is_refused_and_nothing_is_recorded(
    service: ResponseService, invite: Invite, response_store: FakeResponseStore, make_token: MakeToken
) -> None:
    # Given a link that expired exactly now
    token = make_token("inv_1", expires_at=NOW_EPOCH)
    # When tapped / Then LinkExpired (HTTP 410) and no write
    with pytest.raises(LinkExpired) as raised:
        service.tap(token, "9")
    assert raised.value.status == 410
    assert raised.value.reason == "link_expired"
    assert response_store.recorded == []


def test_link_is_still_valid_a_second_before_expiry(
    keyring: Keyring,
    invite_store: FakeInviteStore,
    response_store: FakeResponseStore,
    invite: Invite,
    make_token: MakeToken,
) -> None:
    token = make_token("inv_1", expires_at=NOW_EPOCH + 1)
    service = ResponseService(lambda: keyring, invite_store, response_store, clock=lambda: NOW)
    assert service.tap(token, "5").recorded.score == 5
    later = ResponseService(
        lambda: keyring, invite_store, response_store, clock=lambda: NOW + timedelta(seconds=1)
    )
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
    assert invite_store.lookups == []
    assert response_store.recorded == []


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "k1..", "x" * 5000])
def test_garbage_link_is_invalid(
    service: ResponseService, invite: Invite, response_store: FakeResponseStore, token: str
) -> None:
    with pytest.raises(LinkInvalid):
        service.tap(token, "9")
    assert response_store.recorded == []


def test_unsubscribe_link_cannot_record_a_score(
    service: ResponseService, invite: Invite, response_store: FakeResponseStore, make_token: MakeToken
) -> None:
    with pytest.raises(LinkInvalid):
        service.tap(make_token("inv_1", purpose=Purpose.UNSUBSCRIBE), "9")
    assert response_store.recorded == []


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
    response_store: FakeResponseStore,
    make_token: MakeToken,
    raw: str | None,
) -> None:
    # Given a valid link but no usable score
    # When tapped / Then BadScore (HTTP 400) in the invite's locale, and nothing is recorded
    with pytest.raises(BadScore) as raised:
        service.tap(make_token("inv_1"), raw)
    assert raised.value.status == 400
    assert raised.value.locale == "de"
    assert response_store.recorded == []


def test_link_is_checked_before_the_score(
    service: ResponseService, invite: Invite, make_token: MakeToken
) -> None:
    # Given an expired link and a bad score / Then the link problem is what the person is told about
    with pytest.raises(LinkExpired):
        service.tap(make_token("inv_1", expires_at=NOW_EPOCH - 60), "eleven")


def test_valid_link_to_an_invite_that_is_gone_is_expired(
    service: ResponseService, response_store: FakeResponseStore, make_token: MakeToken
) -> None:
    # Given a correctly signed link whose invite aged out of the table
    with pytest.raises(LinkExpired):
        service.tap(make_token("inv_gone"), "9")
    assert response_store.recorded == []


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
    assert service.tap(make_token("inv_1", ring=rotated_keyring), "10").recorded.score == 10


def test_errors_are_response_errors_with_status_and_reason() -> None:
    for error, status, reason in [
        (LinkInvalid(), 403, "link_invalid"),
        (LinkExpired(), 410, "link_expired"),
        (BadScore(), 400, "bad_score"),
        (BadComment(), 400, "bad_comment"),
        (CommentBeforeScore(), 409, "comment_before_score"),
    ]:
        assert isinstance(error, ResponseError)
        assert (error.status, error.reason, str(error)) == (status, reason, reason)


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
    # Then the trimmed text is saved at the clock's time
    assert result == invite
    assert response_store.comments == [("inv_1", "Delivery was late.", NOW_ISO)]


def test_comment_before_a_score_is_refused(
    service: ResponseService, invite: Invite, response_store: FakeResponseStore, make_token: MakeToken
) -> None:
    # Given an invite without a score (the store raises NotAnswered)
    # When a comment is posted / Then CommentBeforeScore (HTTP 409) in the invite's locale
    with pytest.raises(CommentBeforeScore) as raised:
        service.comment(make_token("inv_1"), "Why do you ask?")
    assert raised.value.status == 409
    assert raised.value.locale == "de"
    assert response_store.comments == []


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
def test_clean_comment_keeps_space_separators_that_are_not_control_characters(
    raw: str, expected: str
) -> None:
    assert clean_comment(raw) == expected
