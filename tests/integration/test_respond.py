"""The respond function on moto: one tap records, bad input records nothing and gets a clear page."""

from __future__ import annotations

from typing import Any

import pytest

from functions.respond import handler as respond
from local.environment import LocalStack
from local.lambda_events import LambdaContext, http_event
from nps.kernel import aws
from nps.links.tokens import Keyring, Purpose, sign
from tests.support.taps import IssuedInvite, issue_invite


def responses(stack: LocalStack) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = aws.client("dynamodb").scan(TableName=stack.tables["responses"])["Items"]
    return items


def test_one_tap_records_the_score_with_the_invite_ids_and_segments(platform: LocalStack) -> None:
    # Given an invite with a signed link
    invite = issue_invite(platform, "inv-a", segments={"plan": "pro", "region": "emea"})
    # When the person taps 9
    result = invite.tap(9)
    # Then a thank-you page asks why, and one response item holds the score and the copied segment values
    assert result["statusCode"] == 200
    assert "What is the main reason for your score?" in result["body"]
    (item,) = responses(platform)
    assert item["score"] == {"N": "9"}
    assert item["category"] == {"S": "promoter"}
    assert item["version"] == {"N": "1"}
    assert item["survey_id"] == {"S": "survey-1"}
    assert item["segments"] == {"M": {"plan": {"S": "pro"}, "region": {"S": "emea"}}}


def test_a_second_tap_updates_the_same_item_and_bumps_its_version(platform: LocalStack) -> None:
    invite = issue_invite(platform, "inv-b")
    invite.tap(6)
    invite.tap(9)
    (item,) = responses(platform)
    assert item["score"] == {"N": "9"}
    assert item["version"] == {"N": "2"}


def test_repeating_the_same_score_writes_nothing_new(platform: LocalStack) -> None:
    invite = issue_invite(platform, "inv-c")
    invite.tap(7)
    result = invite.tap(7)
    assert result["statusCode"] == 200
    (item,) = responses(platform)
    assert item["version"] == {"N": "1"}


def test_the_comment_is_saved_on_the_response(platform: LocalStack) -> None:
    invite = issue_invite(platform, "inv-d")
    invite.tap(3)
    result = invite.comment("Support took <b>three</b> days\r\nto answer")
    assert result["statusCode"] == 200
    assert "Your comment has been saved" in result["body"]
    (item,) = responses(platform)
    assert item["comment"] == {"S": "Support took <b>three</b> days\nto answer"}
    assert item["score"] == {"N": "3"}


def test_a_comment_before_any_score_is_refused(platform: LocalStack) -> None:
    invite = issue_invite(platform, "inv-e")
    result = invite.comment("hello")
    assert result["statusCode"] == 409
    assert responses(platform) == []


@pytest.mark.parametrize("score", ["11", "-1", "", "abc", "9.5", "1e1", " 9"])
def test_out_of_range_scores_record_nothing(platform: LocalStack, score: str) -> None:
    invite = issue_invite(platform, "inv-f")
    for result in (invite.open(score), invite.confirm(score)):
        assert result["statusCode"] == 400
        assert "Please choose a score from 0 to 10" in result["body"]
    assert responses(platform) == []


def test_a_confirmation_without_a_score_records_nothing(platform: LocalStack) -> None:
    invite = issue_invite(platform, "inv-f2")
    assert invite.confirm(None)["statusCode"] == 400
    assert responses(platform) == []


def test_a_link_without_a_score_shows_the_score_picker(platform: LocalStack) -> None:
    # Given an SMS link, which carries no score
    invite = issue_invite(platform, "inv-sms", channel="sms", locale="es")
    # When it is opened
    result = invite.open(None)
    # Then the 0-10 picker is shown in the contact's language, linking each score, and nothing is recorded
    assert result["statusCode"] == 200
    assert '<html lang="es">' in result["body"]
    for score in range(11):
        assert f'href="/r/{invite.token}?score={score}"' in result["body"]
    assert responses(platform) == []


def _tamper(token: str) -> str:
    kid, payload, signature = token.split(".")
    flipped = "A" if payload[3] != "A" else "B"
    return f"{kid}.{payload[:3]}{flipped}{payload[4:]}.{signature}"


@pytest.mark.parametrize(
    "mangle",
    [
        _tamper,
        lambda t: t[:-5],
        lambda t: t + "x",
        lambda t: "garbage",
        lambda t: t.replace(".", "", 1),
        lambda t: "k9" + t[2:],
    ],
    ids=["tampered", "truncated", "extended", "garbage", "missing-part", "unknown-key"],
)
def test_invalid_links_get_403_and_record_nothing(platform: LocalStack, mangle: Any) -> None:
    invite = issue_invite(platform, "inv-g")
    bad = IssuedInvite(invite.invite, mangle(invite.token))
    result = bad.tap(9)
    assert result["statusCode"] == 403
    assert "This link is not valid" in result["body"]
    assert responses(platform) == []


def test_a_link_signed_with_a_foreign_key_gets_403(platform: LocalStack) -> None:
    invite = issue_invite(platform, "inv-h")
    foreign = Keyring(keys={"k1": b"f" * 48}, active_kid="k1")
    token = sign(foreign, Purpose.RESPOND, "inv-h", invite.invite.expires_at)
    assert IssuedInvite(invite.invite, token).tap(9)["statusCode"] == 403
    assert responses(platform) == []


def test_an_unsubscribe_token_cannot_record_a_score(platform: LocalStack) -> None:
    invite = issue_invite(platform, "inv-i")
    token = sign(platform.keyring, Purpose.UNSUBSCRIBE, "inv-i", invite.invite.expires_at)
    assert IssuedInvite(invite.invite, token).tap(9)["statusCode"] == 403


def test_expired_links_get_410_and_record_nothing(platform: LocalStack) -> None:
    invite = issue_invite(platform, "inv-j", lifetime_seconds=-10)
    result = invite.tap(9)
    assert result["statusCode"] == 410
    assert "This survey has closed" in result["body"]
    assert responses(platform) == []


def test_head_requests_never_record(platform: LocalStack) -> None:
    invite = issue_invite(platform, "inv-k")
    event = http_event("HEAD", f"/r/{invite.token}", {"score": "9"})
    result = respond.lambda_handler(event, LambdaContext())
    assert result["statusCode"] == 200
    assert responses(platform) == []


@pytest.mark.parametrize(
    ("method", "suffix"), [("DELETE", ""), ("PUT", ""), ("PATCH", ""), ("GET", "/comment"), ("POST", "/p")]
)
def test_wrong_methods_get_405_with_allow(platform: LocalStack, method: str, suffix: str) -> None:
    invite = issue_invite(platform, "inv-l")
    result = respond.lambda_handler(http_event(method, f"/r/{invite.token}{suffix}"), LambdaContext())
    assert result["statusCode"] == 405
    assert "Allow" in result["headers"]
    assert responses(platform) == []


def test_unknown_paths_get_404(platform: LocalStack) -> None:
    result = respond.lambda_handler(http_event("GET", "/admin"), LambdaContext())
    assert result["statusCode"] == 404


def test_huge_comments_are_refused_and_not_saved(platform: LocalStack) -> None:
    invite = issue_invite(platform, "inv-m")
    invite.tap(5)
    assert invite.comment("x" * 2001)["statusCode"] == 400
    assert invite.comment("x" * 40_000)["statusCode"] == 413
    (item,) = responses(platform)
    assert "comment" not in item


def test_non_utf8_and_malformed_bodies_get_400(platform: LocalStack) -> None:
    invite = issue_invite(platform, "inv-n")
    invite.tap(5)
    path = f"/r/{invite.token}/comment"
    form = {"content-type": "application/x-www-form-urlencoded"}
    for event in (
        http_event("POST", path, body=b"comment=\xff\xfe", headers=form),
        http_event("POST", path, body="comment=%FF%FE", headers=form),
        {**http_event("POST", path, body="comment=x", headers=form), "body": "***", "isBase64Encoded": True},
    ):
        assert respond.lambda_handler(event, LambdaContext())["statusCode"] == 400
    wrong_type = http_event("POST", path, body='{"comment": "x"}', headers={"content-type": "application/json"})
    assert respond.lambda_handler(wrong_type, LambdaContext())["statusCode"] == 415
    (item,) = responses(platform)
    assert "comment" not in item


def test_a_base64_encoded_form_body_is_accepted(platform: LocalStack) -> None:
    invite = issue_invite(platform, "inv-o")
    invite.tap(8)
    event = http_event(
        "POST",
        f"/r/{invite.token}/comment",
        body="comment=Gr%C3%BC%C3%9Fe",
        headers={"content-type": "application/x-www-form-urlencoded; charset=utf-8"},
        base64_body=True,
    )
    assert respond.lambda_handler(event, LambdaContext())["statusCode"] == 200
    (item,) = responses(platform)
    assert item["comment"] == {"S": "Grüße"}


def test_pages_carry_strict_security_headers(platform: LocalStack) -> None:
    invite = issue_invite(platform, "inv-p")
    for result in (invite.open(9), invite.confirm(9), invite.open(None), IssuedInvite(invite.invite, "bad").open(9)):
        headers = result["headers"]
        policy = headers["Content-Security-Policy"]
        assert policy.startswith("default-src 'none'")
        script_sources = [d for d in policy.split(";") if d.strip().startswith("script-src")]
        assert all("'unsafe-inline'" not in d and "'sha256-" in d for d in script_sources)
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["Cache-Control"] == "no-store"
        assert headers["Content-Type"].startswith("text/html")


def test_the_page_script_is_the_only_script_allowed_and_matches_its_hash(platform: LocalStack) -> None:
    import base64
    import hashlib
    import re

    page = issue_invite(platform, "inv-hash").open(8)
    (script,) = re.findall(r"<script>(.*?)</script>", page["body"], flags=re.S)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in page["headers"]["Content-Security-Policy"]


def test_pages_follow_the_invite_locale_and_accept_language(platform: LocalStack) -> None:
    german = issue_invite(platform, "inv-q", locale="de")
    page = german.tap(10)["body"]
    assert '<html lang="de">' in page
    assert "Vielen Dank!" in page
    invalid = IssuedInvite(german.invite, "nope").tap(3, **{"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})
    assert '<html lang="es">' in invalid["body"]
    assert "Este enlace no es válido" in invalid["body"]


def test_the_thank_you_page_links_every_score_and_the_comment_form(platform: LocalStack) -> None:
    invite = issue_invite(platform, "inv-r")
    body = invite.tap(4)["body"]
    assert f'action="/r/{invite.token}/comment"' in body
    for score in range(11):
        assert f'href="/r/{invite.token}?score={score}"' in body
    assert 'aria-current="true"' in body


def test_a_comment_sent_before_the_page_confirmed_keeps_both_the_score_and_the_comment(platform: LocalStack) -> None:
    # Given a person who opened a score link with 2 and typed the "why?" within the first second,
    # before the page's script confirmed the answer (or with scripts off, pressing only "Send")
    invite = issue_invite(platform, "inv-early")
    assert invite.open(2)["statusCode"] == 200
    # When the comment form is sent with the score the page showed
    result = invite.comment("The invoice was wrong twice.", score=2)
    # Then the comment is saved and the answer recorded: nothing is lost
    assert result["statusCode"] == 200
    (item,) = responses(platform)
    assert (item["score"], item["comment"]) == ({"N": "2"}, {"S": "The invoice was wrong twice."})


def test_the_no_script_confirmation_page_says_the_answer_is_saved(platform: LocalStack) -> None:
    invite = issue_invite(platform, "inv-noscript")
    invite.open(9)
    page = invite.confirm(9)
    assert page["statusCode"] == 200
    assert "data-confirmed" in page["body"]


def test_the_page_brand_planned_with_an_invite_is_what_its_pages_read(platform: Any) -> None:
    from datetime import UTC, datetime

    from nps.kernel.branding import PageBrand
    from nps.responding.adapters.invites import DynamoInviteRepository
    from nps.sending.adapters.invites import DynamoInviteLifecycle
    from nps.sending.planning import PlannedInvite

    # Given an invite planned for a branded survey (one write, when the wave is planned)
    brand = PageBrand(name="Acme", colour="#0f766e", logo_url="https://cdn.acme.example/logo.png", question="Q?")
    now = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
    planned = PlannedInvite("inv-brand", "s1", "w1", "c1", "default", "email", "de", {}, now, page=brand)
    lifecycle = DynamoInviteLifecycle(
        platform.tables["invites"], platform.tables["aggregates"], platform.tables["contacts"]
    )
    lifecycle.record_planned([planned], planned_expiry=2_000_000_000, ttl=2_100_000_000, now=now)
    # When the respond side reads the invite (as every tap does anyway) / Then the brand is on it
    invite = DynamoInviteRepository(platform.tables["invites"]).get("inv-brand")
    assert invite is not None
    assert (invite.locale, invite.page) == ("de", brand)
    assert lifecycle.get("inv-brand").page == brand  # type: ignore[union-attr]
