"""Follow-up settings on a survey, the follow-up emails, ids, and event parsing (pure, no AWS)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from nps.events.models import ResponseScoredDetail
from nps.events.patterns import is_resurvey_wave
from nps.follow_ups.steps import (
    FollowUpNotFound,
    InvalidFollowUpEvent,
    follow_up_id_of,
    follow_up_of_wave,
    invite_id_of,
    parse_detail,
    resurvey_wave_id,
)
from nps.sending.contacts import Contact
from nps.sending.messages import render_follow_up_email
from nps.sending.planning import plan_contacts
from nps.sending.surveys import Survey
from tests.support.event_samples import scored
from tests.support.fakes import ID_KEY

BASE: dict[str, Any] = {
    "survey_id": "srv_1",
    "name": "Relationship NPS",
    "brand_name": "Acme & Co",
    "sender": "surveys@example.com",
    "channels": ["email"],
    "locales": ["en", "de", "es"],
}
UNSUBSCRIBE = "https://nps.example.test/u/token"


def survey(**follow_ups: Any) -> Survey:
    return Survey.model_validate({**BASE, "follow_ups": follow_ups})


def test_every_category_follows_up_by_default_with_sensible_timings() -> None:
    settings = Survey.model_validate(BASE).follow_ups
    assert settings.detractor.enabled
    assert settings.detractor.alert
    assert settings.detractor.resurvey
    assert settings.detractor.email_delay_minutes == 0  # apologise quickly
    assert settings.promoter.email_delay_minutes == 60
    assert (settings.detractor.resolve_within_days, settings.detractor.resurvey_after_days) == (7, 14)
    assert settings.promoter.referral_url is None


@pytest.mark.parametrize(
    "follow_ups",
    [
        {"promoter": {"referral_url": "http://acme.example/refer"}},  # not https
        {"promoter": {"review_url": "javascript:alert(1)"}},
        {"detractor": {"resolve_within_days": 0}},
        {"detractor": {"resurvey_after_days": 365}},
        {"passive": {"email_delay_minutes": -1}},
        {"passive": {"referral_url": "https://acme.example"}},  # only promoters ask for referrals
        {"detractor": {"subject": {"fr": "Désolé"}}},  # a locale without a catalog
        {"detractor": {"body": {"en": ""}}},
        {"surprise": {}},
    ],
)
def test_invalid_follow_up_settings_are_rejected_when_the_survey_is_saved(follow_ups: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        survey(**follow_ups)


def test_stored_surveys_without_follow_up_settings_still_load() -> None:
    stored = Survey.model_validate(BASE).model_dump_json(exclude={"follow_ups"})
    assert Survey.model_validate_json(stored).follow_ups.passive.enabled


@pytest.mark.parametrize(
    ("category", "locale", "subject"),
    [
        ("detractor", "en", "Acme & Co: we are sorry, and we will be in touch"),
        ("passive", "es", "Acme & Co: ¿qué haría falta para un 10?"),
        ("promoter", "de", "Vielen Dank von Acme & Co"),
    ],
)
def test_each_category_has_its_own_email_in_each_locale(category: str, locale: str, subject: str) -> None:
    email = render_follow_up_email(survey(), category, locale, UNSUBSCRIBE)
    assert email.subject == subject
    assert f'lang="{locale}"' in email.html
    assert "Acme &amp; Co" in email.html  # escaped in HTML
    assert UNSUBSCRIBE in email.html
    assert UNSUBSCRIBE in email.text


def test_a_surveys_own_text_replaces_the_catalog_and_is_escaped() -> None:
    custom = survey(
        detractor={
            "subject": {"en": "Sorry from the <team>"},
            "body": {"en": "We <script>alert(1)</script> messed up.\n\nOur CEO will call you."},
        }
    )
    email = render_follow_up_email(custom, "detractor", "en", UNSUBSCRIBE)
    assert email.subject == "Sorry from the <team>"
    assert "<script>" not in email.html
    assert "&lt;script&gt;" in email.html
    assert email.html.count("font-size:16px;line-height:23px") == 2  # two paragraphs
    assert "Our CEO will call you." in email.text
    # Another locale of the same survey keeps the catalog's text.
    assert "Es tut uns leid" in render_follow_up_email(custom, "detractor", "de", UNSUBSCRIBE).subject


def test_promoters_get_the_referral_and_review_buttons_others_do_not() -> None:
    links = survey(promoter={"referral_url": "https://acme.example/refer?a=1&b=2", "review_url": "https://g.example/r"})
    promoter = render_follow_up_email(links, "promoter", "en", UNSUBSCRIBE)
    assert 'href="https://acme.example/refer?a=1&amp;b=2"' in promoter.html
    assert "Refer a friend: https://acme.example/refer?a=1&b=2" in promoter.text
    assert "Write a review: https://g.example/r" in promoter.text
    without = render_follow_up_email(survey(), "promoter", "en", UNSUBSCRIBE)
    assert "Refer a friend" not in without.text
    assert "Refer a friend" not in render_follow_up_email(links, "passive", "en", UNSUBSCRIBE).text


def test_follow_up_ids_name_the_answer_and_re_survey_waves_name_the_follow_up() -> None:
    follow_up_id = follow_up_id_of("inv-0123abc", 3)
    assert follow_up_id == "inv-0123abc-3"
    assert invite_id_of(follow_up_id) == "inv-0123abc"
    wave = resurvey_wave_id(follow_up_id)
    assert is_resurvey_wave(wave)
    assert follow_up_of_wave(wave) == follow_up_id
    assert follow_up_of_wave("onboarding-20261101T0900") is None
    assert len(wave) <= 64  # an Id: the longest invite id (36 characters) plus a version still fits
    with pytest.raises(FollowUpNotFound):
        invite_id_of("no-version-here")


def test_a_re_survey_ignores_the_fatigue_window_but_not_suppression() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 11, 24, 12, tzinfo=UTC)
    answered = Contact(contact_id="c1", email="a@example.com", last_surveyed_at="2026-11-10T12:00:00Z")
    normal = plan_contacts(survey(), "wave-1", [answered], lambda c, ch: False, now, ID_KEY)
    resurvey = plan_contacts(survey(), "fu-x-1", [answered], lambda c, ch: False, now, ID_KEY, respect_fatigue=False)
    suppressed = plan_contacts(survey(), "fu-x-1", [answered], lambda c, ch: True, now, ID_KEY, respect_fatigue=False)
    assert (len(normal.invites), normal.skipped["fatigue"]) == (0, 1)
    assert len(resurvey.invites) == 1
    assert (len(suppressed.invites), suppressed.skipped["suppressed"]) == (0, 1)


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        ({}, "no detail"),
        ({"detail": "{not json"}, "not JSON"),
        ({"detail": {**scored(3, "detractor"), "score": 11}}, "score"),
        ({"detail": {**scored(3, "detractor"), "email": "a@example.com"}}, "email"),
        ({"detail": {k: v for k, v in scored(3, "detractor").items() if k != "invite_id"}}, "invite_id"),
    ],
)
def test_events_that_break_the_contract_are_rejected_with_a_clear_reason(event: dict[str, Any], problem: str) -> None:
    with pytest.raises(InvalidFollowUpEvent, match=problem):
        parse_detail(ResponseScoredDetail, event)


def test_a_detail_delivered_as_json_text_is_parsed() -> None:
    import json

    detail = parse_detail(ResponseScoredDetail, {"detail": json.dumps(scored(2, "detractor"))})
    assert (detail.score, detail.category) == (2, "detractor")


def test_the_signed_redirect_links_stand_for_the_surveys_addresses_it_has() -> None:
    only_referral = survey(promoter={"referral_url": "https://acme.example/refer"})
    links = {"referral": "https://nps.example.test/g/t1", "review": "https://nps.example.test/g/t2"}
    email = render_follow_up_email(only_referral, "promoter", "en", UNSUBSCRIBE, links)
    assert "Refer a friend: https://nps.example.test/g/t1" in email.text
    assert "acme.example" not in email.text
    assert "acme.example" not in email.html
    assert "/g/t2" not in email.text  # no review address: no review link
    assert "/g/t1" not in render_follow_up_email(only_referral, "passive", "en", UNSUBSCRIBE, links).text
