"""A survey's brand on its response pages: the logo and website addresses a survey may set, and the small
page brand copied onto each invite when it is planned (so a tap reads no survey)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from nps.kernel.branding import (
    DEFAULT_BRAND_COLOUR,
    MAX_QUESTION,
    MAX_URL,
    NEUTRAL_BRAND,
    PageBrand,
    logo_url_problem,
)
from nps.kernel.rendering import page_policy
from nps.sending.contacts import Contact
from nps.sending.planning import plan_contacts
from nps.sending.surveys import Survey
from tests.support.fakes import ID_KEY

NOON = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
BASE: dict[str, Any] = {
    "survey_id": "onboarding",
    "name": "Onboarding",
    "brand_name": "Acme Cloud",
    "brand_colour": "#0f766e",
    "sender": "surveys@acme.example",
    "channels": ["email"],
    "locales": ["en", "de"],
}
LOGO = "https://cdn.acme.example/brand/logo-2x.png"


def survey(**fields: Any) -> Survey:
    return Survey.model_validate(BASE | fields)


@pytest.mark.parametrize(
    "logo",
    [
        LOGO,
        "https://cdn.acme.example:8443/logo.svg",
        "https://acme.example/a/b/c%20d/logo_(dark)~1.webp",
        "https://xn--bcher-kva.example/logo.png",
    ],
)
def test_a_logo_is_one_https_image_file(logo: str) -> None:
    assert survey(logo_url=logo).logo_url == logo


@pytest.mark.parametrize(
    ("logo", "why"),
    [
        ("http://cdn.acme.example/logo.png", "https://"),
        ("https://cdn.acme.example/logo.png?utm_source=nps", "query"),
        ("https://cdn.acme.example/logo.png#x", "query or fragment"),
        ("https://user:pw@cdn.acme.example/logo.png", "https://host/path"),
        ("https://cdn.acme.example/", "not ending in /"),
        ("https://cdn.acme.example", "https://host/path"),
        ("https://cdn.acme.example/logo.png; script-src 'unsafe-inline'", "https://host/path"),
        ("https://cdn.acme.example/a,b.png", "https://host/path"),
        ("https://*.acme.example/logo.png", "https://host/path"),
        ("https://localhost/logo.png", "https://host/path"),
        ("https://cdn.acme.example/" + "a" * MAX_URL + ".png", f"at most {MAX_URL}"),
        ("javascript:alert(1)", "https://"),
        ("data:image/png;base64,AAAA", "https://"),
    ],
)
def test_a_logo_that_could_track_widen_the_policy_or_run_is_refused(logo: str, why: str) -> None:
    with pytest.raises(ValidationError) as raised:
        survey(logo_url=logo)
    assert "logo_url" in str(raised.value)
    assert why in str(raised.value)


@pytest.mark.parametrize(
    "website", ["https://acme.example", "https://acme.example/contact?topic=nps", "https://acme.example/#help"]
)
def test_a_website_is_an_https_address(website: str) -> None:
    assert survey(website_url=website).website_url == website


@pytest.mark.parametrize(
    "website",
    [
        "http://acme.example",
        "javascript:alert(1)",
        'https://acme.example/"onmouseover="x',
        "https://acme.example/a b",
        "https://acme.example/" + "a" * MAX_URL,
        "https://",
    ],
)
def test_a_website_that_is_not_a_plain_https_address_is_refused(website: str) -> None:
    with pytest.raises(ValidationError, match="website_url"):
        survey(website_url=website)


def test_the_page_policy_allows_exactly_the_logo_and_no_other_image() -> None:
    brand = survey(logo_url=LOGO).page_brand("en")
    policy = page_policy(brand, "connect-src 'self'")
    directives = [part.strip() for part in policy.split(";")]
    assert f"img-src {LOGO}" in directives
    assert directives.count("connect-src 'self'") == 1
    assert "default-src 'none'" in directives
    # Without a logo no image source is allowed at all (default-src 'none' covers img-src)
    assert "img-src" not in page_policy(NEUTRAL_BRAND)


def test_the_page_brand_is_the_surveys_brand_and_wording_in_the_invites_locale() -> None:
    definition = survey(
        logo_url=LOGO,
        website_url="https://acme.example/help",
        question={"de": "Würden Sie Acme Cloud empfehlen?"},
        follow_up_question={"en": "What would make it a 10?"},
    )
    assert definition.page_brand("de") == PageBrand(
        name="Acme Cloud",
        colour="#0f766e",
        logo_url=LOGO,
        website_url="https://acme.example/help",
        question="Würden Sie Acme Cloud empfehlen?",
        follow_up_question=None,
    )
    assert definition.page_brand("en").follow_up_question == "What would make it a 10?"
    assert definition.page_brand("en").question is None


def test_each_planned_invite_carries_the_page_brand_of_its_locale() -> None:
    definition = survey(follow_up_question={"de": "Warum?", "en": "Why?"})
    contacts = [
        Contact(contact_id="c1", email="a@example.com", locale="de-AT"),
        Contact(contact_id="c2", email="b@example.com", locale="es"),
    ]
    plan = plan_contacts(definition, "w1", contacts, lambda c, ch: False, NOON, ID_KEY)
    assert [(i.locale, i.page.follow_up_question, i.page.name) for i in plan.invites] == [
        ("de", "Warum?", "Acme Cloud"),
        ("en", "Why?", "Acme Cloud"),
    ]


def test_the_page_brand_round_trips_through_an_invite_item_and_stays_small() -> None:
    longest = PageBrand(
        name="N" * 80,
        colour="#facc15",
        logo_url="https://cdn.acme.example/" + "l" * (MAX_URL - 30) + ".png",
        website_url="https://acme.example/" + "w" * (MAX_URL - 25),
        question="Q" * MAX_QUESTION,
        follow_up_question="F" * MAX_QUESTION,
    )
    assert PageBrand.from_item(longest.to_item()) == longest
    # A few KB at most on an item that may hold 400 KB (4 bytes per character is the UTF-8 worst case)
    assert len(json.dumps(longest.to_item()).encode()) * 4 < 8_000
    assert PageBrand.from_item(NEUTRAL_BRAND.to_item()) == NEUTRAL_BRAND


def test_an_invite_planned_before_brands_were_copied_gets_the_neutral_brand() -> None:
    assert PageBrand.from_item(None) == NEUTRAL_BRAND
    assert NEUTRAL_BRAND.name is None
    assert NEUTRAL_BRAND.colour == DEFAULT_BRAND_COLOUR


def test_a_stored_brand_that_no_survey_could_hold_is_not_shown() -> None:
    # A stored item edited by hand: an address that would widen the page's policy, a colour that is CSS
    stored = {
        "M": {
            "name": {"S": "Acme"},
            "colour": {"S": "red;}"},
            "logo_url": {"S": "https://x.example/a.png; script-src *"},
            "website_url": {"S": "javascript:alert(1)"},
            "question": {"S": "Q" * (MAX_QUESTION + 1)},
        }
    }
    assert PageBrand.from_item(stored) == PageBrand(name="Acme")
    assert logo_url_problem("https://x.example/a.png; script-src *") is not None


@pytest.mark.parametrize(("colour", "text"), [("#facc15", "#1a1a1a"), ("#1d4ed8", "#ffffff"), ("#ffffff", "#1a1a1a")])
def test_text_on_the_brand_colour_stays_legible(colour: str, text: str) -> None:
    brand = PageBrand(name="Acme", colour=colour)
    assert brand.text_colour == text
    assert brand.heading_colour in (colour, "#1a1a1a")
