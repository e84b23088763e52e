"""What a digest says: NPS change and its significance, response rate, accounts newly at risk, notable
comments, and every user string escaped for where it goes (HTML autoescaped, text kept as text)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nps.accounts.health import AccountHealth, AccountPeriod, Health, assess
from nps.digests.content import (
    MAX_COMMENT_CHARS,
    MAX_NOTABLE,
    DigestContent,
    digest_content,
    health_changes,
    notable_comments,
)
from nps.digests.message import mime_digest, render_digest
from nps.digests.schedule import DigestPeriod
from nps.reporting.figures import Figures
from nps.sending.surveys import DigestFrequency, Survey

PERIOD = DigestPeriod(DigestFrequency.WEEKLY, date(2026, 11, 23), date(2026, 11, 29))
SURVEY = Survey.model_validate(
    {
        "survey_id": "rel-nps",
        "name": "Relationship <NPS> & co",
        "brand_name": "Acme",
        "sender": "surveys@example.com",
        "channels": ["email"],
        "digest": {"recipients": ["team@example.com"]},
    }
)
assert SURVEY.digest is not None
SETTINGS = SURVEY.digest


@dataclass(frozen=True)
class Said:
    score: int
    category: str
    comment: str | None
    first_answered_at: str = "2026-11-24T10:00:00Z"


def figures(promoters: int, passives: int, detractors: int, invites: int = 0) -> Figures:
    counters = {"promoters": promoters, "passives": passives, "detractors": detractors, "invites_sent": invites}
    return Figures.from_counters(counters)


def account(account_id: str, *periods: tuple[int, int, int, int]) -> AccountHealth:
    """An account assessed over months of (promoters, detractors, decision-maker detractors, invites)."""
    history = [
        AccountPeriod.from_counters(
            f"2026-{9 + i:02d}",
            {"promoters": p, "detractors": d, "dm_detractors": dm, "invites_sent": inv, "score_10": p, "score_2": d},
        )
        for i, (p, d, dm, inv) in enumerate(periods)
    ]
    return assess(account_id, history)


def content(**changes: object) -> DigestContent:
    values: dict[str, object] = {
        "survey_id": SURVEY.survey_id,
        "title": SURVEY.name,
        "period": PERIOD,
        "current": figures(60, 20, 20, 200),
        "previous": figures(30, 20, 50, 150),
        "comments": [],
        "accounts": None,
        "published": {},
    }
    return digest_content(**(values | changes))  # type: ignore[arg-type]


def test_a_large_rise_is_reported_with_its_size_and_as_significant() -> None:
    digest = content()
    assert digest.difference == pytest.approx(60.0)  # +40 now, -20 before
    assert digest.direction == "up"
    assert digest.change.significant
    rendered = render_digest(digest, SURVEY, SETTINGS)
    assert "Up 60.0 points from the period before." in rendered.text
    assert "This change is significant" in rendered.text


def test_a_small_change_on_few_answers_is_within_the_margin_of_error() -> None:
    digest = content(current=figures(3, 1, 2, 10), previous=figures(2, 1, 2, 10))
    assert not digest.change.significant
    assert "within the margin of error" in render_digest(digest, SURVEY, SETTINGS).text


def test_no_change_is_claimed_when_a_period_has_no_responses() -> None:
    digest = content(previous=figures(0, 0, 0))
    assert digest.difference is None
    text = render_digest(digest, SURVEY, SETTINGS).text
    assert "No change can be measured" in text
    assert "significant" not in text


def test_responses_and_the_response_rate_of_both_periods_are_shown() -> None:
    text = render_digest(content(), SURVEY, SETTINGS).text
    assert "Responses: 100 (Period before: 100)" in text
    assert "Response rate: 50.0% (Period before: 66.7%)" in text
    assert "Invites sent: 200 (Period before: 150)" in text


def test_accounts_newly_at_risk_are_those_not_at_risk_at_the_previous_digest() -> None:
    # Given acme turned at risk (a decision maker is a detractor), beta was at risk already, gamma is fine
    acme = account("acme", (3, 0, 0, 3), (1, 2, 1, 3))
    beta = account("beta", (0, 3, 1, 3), (0, 3, 1, 3))
    gamma = account("gamma", (3, 0, 0, 3), (3, 0, 0, 3))
    assert [a.health for a in (acme, beta, gamma)] == [Health.AT_RISK, Health.AT_RISK, Health.HEALTHY]
    digest = content(accounts=[acme, beta, gamma], published={"beta": "at_risk", "gamma": "at_risk"})
    # Then acme is newly at risk with its reasons; gamma's recovery is a change too, but not listed
    assert [(a.account_id, a.reason_codes[0]) for a in digest.newly_at_risk or ()] == [
        ("acme", "decision_maker_detractor")
    ]
    assert {(c.account.account_id, c.health) for c in digest.health_changes} == {
        ("acme", "at_risk"),
        ("gamma", "healthy"),
    }
    assert digest.accounts_at_risk == 2
    assert "acme: a decision maker is a detractor" in render_digest(digest, SURVEY, SETTINGS).text


def test_an_account_never_published_counts_as_healthy_before() -> None:
    gamma = account("gamma", (3, 0, 0, 3), (3, 0, 0, 3))
    assert health_changes([gamma], {}) == ()


def test_a_survey_without_accounts_has_no_account_section() -> None:
    digest = content(accounts=None)
    assert digest.newly_at_risk is None
    assert "Accounts newly at risk" not in render_digest(digest, SURVEY, SETTINGS).html


def test_notable_comments_put_detractors_first_and_prefer_the_longer_ones() -> None:
    said = [
        Said(10, "promoter", "Great"),
        Said(1, "detractor", "Slow"),
        Said(2, "detractor", "The export broke twice this week and support took days"),
        Said(3, "detractor", "   "),
        Said(8, "passive", "Fine, a bit pricey"),
        Said(9, "promoter", "The new dashboard saves me an hour every Monday"),
        Said(0, "detractor", "Billing charged us twice"),
        Said(4, "detractor", "Meh"),
    ]
    chosen = notable_comments(said)
    assert [(c.category, c.score) for c in chosen] == [
        ("detractor", 2), ("detractor", 0), ("detractor", 1), ("passive", 8), ("promoter", 9),
    ]  # fmt: skip


@given(st.lists(st.builds(Said, st.integers(0, 10), st.sampled_from(["promoter", "passive", "detractor"]), st.text())))
def test_notable_comments_are_few_one_line_and_short(said: list[Said]) -> None:
    chosen = notable_comments(said)
    assert len(chosen) <= MAX_NOTABLE
    for comment in chosen:
        assert comment.text
        assert len(comment.text) <= MAX_COMMENT_CHARS
        assert "\n" not in comment.text
        assert "\r" not in comment.text
        assert all(c.isprintable() for c in comment.text)


HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>&amp;'


def test_hostile_comments_account_ids_and_names_are_escaped_in_html_and_kept_in_text() -> None:
    acme = account("x<b>y", (3, 0, 0, 3), (1, 2, 1, 3))
    digest = content(comments=[Said(1, "detractor", HOSTILE)], accounts=[acme])
    rendered = render_digest(digest, SURVEY, SETTINGS)
    assert "<script>" not in rendered.html
    assert "<img" not in rendered.html
    assert "<b>" not in rendered.html
    assert "&lt;script&gt;" in rendered.html
    assert "x&lt;b&gt;y" in rendered.html
    assert "Relationship &lt;NPS&gt; &amp; co" in rendered.html
    assert HOSTILE in rendered.text
    assert "x<b>y" in rendered.text


def test_the_message_is_multipart_text_html_and_the_attached_report() -> None:
    rendered = render_digest(content(), SURVEY, SETTINGS)
    raw = mime_digest(SURVEY, "team@example.com", rendered, "<html><body>report</body></html>")
    from email import message_from_bytes, policy

    message = message_from_bytes(raw, policy=policy.default)
    assert message.get_content_type() == "multipart/mixed"
    assert message["Subject"] == "Relationship <NPS> & co: NPS digest for 2026-11-23 – 2026-11-29"
    assert message["To"] == "team@example.com"
    body_types = [part.get_content_type() for part in message.walk()]
    assert body_types == ["multipart/mixed", "multipart/alternative", "text/plain", "text/html", "text/html"]
    (attachment,) = message.iter_attachments()
    assert attachment.get_filename() == "rel-nps-report-2026-11-23.html"
    assert "report" in attachment.get_content()


def test_without_a_report_the_digest_links_it_or_names_the_command() -> None:
    rendered = render_digest(content(), SURVEY, SETTINGS, attached=False)
    assert "nps html rel-nps --from 2026-11-23 --to 2026-11-29" in rendered.text
    linked = SETTINGS.model_copy(update={"report_url": "https://reports.example.com/rel-nps"})
    rendered = render_digest(content(), SURVEY, linked, attached=False)
    assert "https://reports.example.com/rel-nps" in rendered.html
    assert "nps html" not in rendered.text


def test_the_digest_speaks_german_when_set() -> None:
    german = SETTINGS.model_copy(update={"locale": "de"})
    assert "NPS-Übersicht" in render_digest(content(), SURVEY, german).subject


@given(st.text(min_size=1, max_size=400), st.text(alphabet="<>&\"'abc ", min_size=1, max_size=40))
def test_any_comment_and_survey_name_reach_the_html_escaped(comment: str, name: str) -> None:
    from markupsafe import escape

    digest = content(comments=[Said(1, "detractor", comment)], title=name)
    rendered = render_digest(digest, SURVEY, SETTINGS)
    for shown in digest.comments:
        assert str(escape(shown.text)) in rendered.html
    assert str(escape(name)) in rendered.html
    assert "<script" not in rendered.html.lower()


def test_a_survey_name_with_a_placeholder_is_shown_as_written() -> None:
    digest = content(title="Q{period} {title}")
    subject = render_digest(digest, SURVEY, SETTINGS).subject
    assert subject == "Q{period} {title}: NPS digest for 2026-11-23 – 2026-11-29"
