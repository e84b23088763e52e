"""The plain-text part of invites and follow-ups: short, one score link per line with the number first,
the scale's ends before the links, the unsubscribe link last, in every locale."""

from __future__ import annotations

import re

import pytest

from nps.kernel.locales import catalog
from nps.links.tokens import Keyring
from nps.sending.messages import InviteLinks, invite_links, render_email, render_follow_up_email
from nps.sending.surveys import Survey

LOCALES = ["en", "de", "es"]
SURVEY = Survey.model_validate(
    {
        "survey_id": "srv_1",
        "name": "Relationship NPS",
        "brand_name": "Acme Cloud",
        "sender": "surveys@example.com",
        "channels": ["email"],
        "locales": LOCALES,
        "follow_ups": {"promoter": {"referral_url": "https://acme.example/refer", "review_url": "https://g.example/r"}},
    }
)
SCORE_LINE = re.compile(r"^ ?(\d{1,2})  (https://\S+)$")
URL = re.compile(r"https?://\S+")


def links() -> InviteLinks:
    keyring = Keyring(keys={"k1": b"k" * 32}, active_kid="k1")
    return invite_links(keyring, "https://nps.example", "inv_1", 2_000_000_000, 2_100_000_000)


@pytest.mark.parametrize("reminder", [False, True], ids=["invite", "reminder"])
@pytest.mark.parametrize("locale", LOCALES)
def test_each_score_link_is_on_its_own_line_with_the_number_first(locale: str, reminder: bool) -> None:
    sent = links()
    lines = render_email(SURVEY, locale, sent, reminder=reminder).text.splitlines()
    scores = [(m.group(1), m.group(2)) for m in map(SCORE_LINE.match, lines) if m]
    assert scores == [(str(n), sent.score_links[n]) for n in range(11)]
    # The numbers line up: single digits are padded so the links start in one column
    starts = {line.index("https://") for line in lines if SCORE_LINE.match(line)}
    assert starts == {4}


@pytest.mark.parametrize("reminder", [False, True], ids=["invite", "reminder"])
@pytest.mark.parametrize("locale", LOCALES)
def test_the_invite_text_is_short_and_ends_with_the_unsubscribe_link(locale: str, reminder: bool) -> None:
    sent = links()
    t = catalog(locale)
    text = render_email(SURVEY, locale, sent, reminder=reminder).text
    lines = text.splitlines()
    # The question comes first, the scale's ends before the first link
    assert lines[0] == t["email_question"].replace("{brand}", "Acme Cloud")
    first_link = next(i for i, line in enumerate(lines) if SCORE_LINE.match(line))
    head = "\n".join(lines[:first_link])
    assert t["scale_low"] in head
    assert t["scale_high"] in head
    assert (t["email_reminder_intro"] in head) is reminder
    # The unsubscribe link is the last line, after a "-- " signature separator and the footer
    assert lines[-1] == f"{t['email_unsubscribe']}: {sent.unsubscribe}"
    assert lines[-3] == "-- "
    assert URL.findall(text)[-1] == sent.unsubscribe
    # Short: question, intro, scale, 11 links, footer; no markup, no placeholder, no run of blank lines
    assert len(lines) <= 24
    assert "<" not in text
    assert "{" not in text
    assert "\n\n\n" not in text


@pytest.mark.parametrize("category", ["detractor", "passive", "promoter"])
@pytest.mark.parametrize("locale", LOCALES)
def test_the_follow_up_text_ends_with_the_unsubscribe_link(locale: str, category: str) -> None:
    t = catalog(locale)
    text = render_follow_up_email(SURVEY, category, locale, "https://nps.example/u/token").text
    lines = text.splitlines()
    assert lines[-1] == f"{t['email_unsubscribe']}: https://nps.example/u/token"
    assert lines[-3] == "-- "
    assert "\n\n\n" not in text
    assert "{" not in text
    if category == "promoter":
        # The referral and review links come before the footer, each after its label
        assert f"{t['follow_up_referral_cta']}: https://acme.example/refer" in lines
        assert f"{t['follow_up_review_cta']}: https://g.example/r" in lines
