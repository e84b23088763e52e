"""The team's digest email in a real browser (headless Chromium): accessible (axe) at a phone's 320 px and a
desktop's 1280 px, nothing scrolls sideways at 320 px, and hostile text stays text.

Needs Debian's Chromium at /usr/bin/chromium (``apt-get install -y chromium``); skipped without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from nps.accounts.health import AccountPeriod, assess
from nps.digests.content import digest_content
from nps.digests.message import render_digest
from nps.digests.schedule import DigestPeriod
from nps.reporting.figures import Figures
from nps.sending.surveys import DigestFrequency, Survey
from tests.browser.accessibility import assert_accessible

pytestmark = [pytest.mark.browser]

#: The longest account id (64 characters, no space to wrap at), and a comment without spaces.
LONG_ID = "enterprise-customer-with-a-very-long-account-identifier-0000001"
LONG_WORD = "x" * 280
HOSTILE = '<script>document.title="owned"</script><img src=x onerror="document.title=\'owned\'">'


@dataclass(frozen=True)
class Said:
    score: int
    category: str
    comment: str
    first_answered_at: str = "2026-11-24T10:00:00Z"


@pytest.fixture(scope="module", params=["en", "de"])
def digest_file(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    survey = Survey.model_validate(
        {
            "survey_id": "rel-nps",
            "name": "Relationship NPS — a long survey name that wraps on a phone screen",
            "brand_name": "Acme Cloud",
            "sender": "surveys@example.com",
            "channels": ["email"],
            "digest": {"recipients": ["team@example.com"], "locale": request.param},
        }
    )
    assert survey.digest is not None
    at_risk = [
        assess(
            account_id, [AccountPeriod.from_counters("2026-11", {"detractors": 2, "dm_detractors": 1, "score_2": 2})]
        )
        for account_id in (LONG_ID, "acme", "<b>beta</b>")
    ]
    comments = [
        Said(1, "detractor", HOSTILE + " The export broke twice."),
        Said(2, "detractor", LONG_WORD),
        Said(8, "passive", "Fine, a bit pricey."),
        Said(10, "promoter", "The new dashboard saves me an hour every Monday."),
    ]
    content = digest_content(
        survey_id=survey.survey_id,
        title=survey.name,
        period=DigestPeriod(DigestFrequency.WEEKLY, date(2026, 11, 23), date(2026, 11, 29)),
        current=Figures.from_counters({"promoters": 61, "passives": 20, "detractors": 19, "invites_sent": 412}),
        previous=Figures.from_counters({"promoters": 40, "passives": 22, "detractors": 38, "invites_sent": 380}),
        comments=comments,
        accounts=at_risk,
        published={},
    )
    html = render_digest(content, survey, survey.digest).html
    path = tmp_path_factory.mktemp("digest") / f"digest-{request.param}.html"
    path.write_text(html, "utf-8")
    return path


@pytest.mark.parametrize("viewport", [{"width": 320, "height": 700}, {"width": 1280, "height": 900}])
def test_the_digest_is_accessible_and_fits_a_phone(browser: Any, digest_file: Path, viewport: dict[str, int]) -> None:
    # Given a digest with a long survey name, a 64-character account id, a 280-character word and hostile text
    page = browser.new_page(viewport=viewport)
    # When Chromium opens it
    page.goto(digest_file.as_uri())
    # Then nothing makes the page scroll sideways
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    # And the hostile comment and account id are text, never markup
    assert page.locator("script").count() == 0
    assert page.locator("img").count() == 0
    assert page.locator("b").count() == 0
    assert "owned" not in page.title()
    assert "<b>beta</b>" in page.inner_text("body")
    # And axe finds nothing to fix
    assert_accessible(page)
    page.close()
