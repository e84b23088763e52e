"""``make demo`` ends with one terminal report that tells the story first, and the HTML report.

The whole demo runs (a smaller campaign, three history months of about 36 answers each), as
``make demo`` runs it, with its output captured.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pytest

from local import demo, demo_reasons, demo_reporting
from local import demo_sending as ds
from nps.sending.surveys import Survey
from tests.support.demo_runs import run_demo

SURVEY_NAME = str(ds.DEMO_SURVEY["name"])


@pytest.fixture(scope="module")
def demo_output(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("demo")
    patch = pytest.MonkeyPatch()
    patch.setattr(demo, "CONTACTS", 24)
    patch.setattr(demo, "EMAILS_FOLDER", folder / "emails")
    patch.setattr(demo_reporting, "HISTORY_INVITES_PER_DAY", 30)
    status, stdout = run_demo(folder, patch, demo.main)
    html = (folder / "demo-output" / f"{demo.SURVEY_ID}-report.html").read_text(encoding="utf-8")
    digest = {
        suffix: (folder / "demo-output" / f"digest-{demo.SURVEY_ID}.{suffix}").read_text(encoding="utf-8")
        for suffix in ("html", "txt")
    }
    return {"status": status, "stdout": stdout, "html": html, "digest": digest}


def test_the_demo_prints_one_terminal_report_with_one_header_style(demo_output: dict[str, Any]) -> None:
    assert demo_output["status"] == 0, demo_output["stdout"][-2000:]
    text = demo_output["stdout"]
    assert text.count("NPS report —") == 1
    assert len(re.findall(r"^slice\s+NPS\s+95% interval\s+n\s", text, re.MULTILINE)) == 1
    assert "± 95%" not in text
    assert "Check: the aggregates for" in text


def test_the_report_starts_with_the_story(demo_output: dict[str, Any]) -> None:
    text = demo_output["stdout"]
    report = text[text.index("NPS report —") :].splitlines()
    # Given the survey's name, its NPS with bounds, the latest month's change and the response rate
    assert report[0].startswith(f"NPS report — {SURVEY_NAME} ({demo.SURVEY_ID}), ")
    assert re.match(r"NPS [+-]?\d+\.\d, likely between [+-]?\d+ and [+-]?\d+ \(95% interval .+ to .+\)", report[2])
    assert re.match(r"Latest month: \d{4}-\d{2}( \(so far\))? vs \d{4}-\d{2}: ", report[3])
    assert re.search(r"— (not )?significant", report[3])
    assert re.match(r"Response rate \d+\.\d%: \d+ responses to \d+ invites sent", report[4])
    # And the trend's step was chosen (one wave a month: months, not weeks)
    assert "Trend by month (step chosen from the range and the responses per period)" in text


def test_the_html_report_has_the_same_headline(demo_output: dict[str, Any]) -> None:
    page = demo_output["html"]
    assert f"<h1>{SURVEY_NAME}</h1>" in page
    assert 'id="story"' in page
    assert "likely between" in page
    assert "Trend by month" in page
    assert 'dir="auto"' in page


def test_the_demo_prints_the_driver_table_checked_against_a_recount(demo_output: dict[str, Any]) -> None:
    text = demo_output["stdout"]
    # Given the history re-tagged with the survey's themes (its comments predate them)
    assert re.search(
        rf"^survey {demo.SURVEY_ID} retagged: read \d+, changed \d+, unchanged \d+, skipped 0$", text, re.M
    )
    # Then the driver table lists drivers and themes, CSAT and CES, and its check against the recount passed
    table = text[text.index(f"Drivers and themes — {demo.SURVEY_ID}") :]
    assert re.search(r"^CSAT \d+\.\d% satisfied", table, re.M)
    assert re.search(r"^CES mean \d\.\d\d of 7", table, re.M)
    drivers = table[table.index("drivers:") : table.index("themes (in comments):")]
    themes = table[table.index("themes (in comments):") :].split("\n\n")[0]
    # (a row per reason mentioned: this small campaign need not mention every one)
    ids = "|".join(demo_reasons.DRIVERS)
    assert re.search(rf"^  ({ids})\s+\d+ ", drivers, re.MULTILINE), drivers
    assert re.search(rf"^  ({ids})\s+\d+ ", themes, re.MULTILINE), themes
    assert not re.search(r"^  (?!price|support|product|onboarding)\S", drivers + themes, re.MULTILINE)
    assert "Check: every driver and theme row, CSAT and CES equal a direct recount of the stored responses." in text
    assert "MISMATCH" not in text


def test_every_demo_comment_is_tagged_with_the_theme_it_is_about() -> None:
    # Given the demo survey as the demo stores it (drivers, CSAT and CES on, a taxonomy in en, es and de)
    survey = Survey.model_validate(demo.DEMO_DEFINITION)
    assert survey.reasons.asks_driver
    assert survey.reasons.asks_csat
    assert survey.reasons.asks_ces
    # Then each comment, in its locale, is tagged with exactly the theme it was written for
    for locale, by_category in demo_reasons.COMMENTS.items():
        assert set(by_category) == {"detractor", "passive", "promoter"}
        for written in by_category.values():
            for theme, comment in written:
                assert survey.reasons.tag(comment, locale) == (theme,), (locale, comment)


def test_the_driver_check_reports_a_row_that_differs_from_the_recount() -> None:
    def proportion(count: int) -> SimpleNamespace:
        return SimpleNamespace(count=count)

    items: list[dict[str, Any]] = [
        {"score": {"N": "2"}, "driver": {"S": "price"}, "themes": {"L": [{"S": "price"}]}, "csat": {"N": "1"}},
        {"score": {"N": "10"}, "driver": {"S": "product"}, "ces": {"N": "7"}},
    ]

    def row(dimension: str, reason: str, n: int, detractors: int, promoters: int) -> SimpleNamespace:
        mentions = SimpleNamespace(
            detractors=proportion(detractors), passives=proportion(0), promoters=proportion(promoters)
        )
        return SimpleNamespace(dimension=dimension, reason=reason, n=n, mentions=mentions)

    def report(price_detractors: int) -> SimpleNamespace:
        return SimpleNamespace(
            total=SimpleNamespace(counts=SimpleNamespace(n=2)),
            csat=SimpleNamespace(n=1, satisfied=proportion(0)),
            ces=SimpleNamespace(n=1, agree=proportion(1)),
            rows=[
                row("driver", "price", 1, price_detractors, 0),
                row("driver", "product", 1, 0, 1),
                row("theme", "price", 1, 1, 0),
            ],
        )

    assert demo_reasons.recount_mismatches(report(1), items) == []
    assert demo_reasons.recount_mismatches(report(0), items) == [
        "driver=price: report (1, 0, 0, 0) ≠ recount (1, 1, 0, 0) (n, detr., pass., prom.)"
    ]


def test_the_demo_prints_the_account_table_checked_against_a_recount(demo_output: dict[str, Any]) -> None:
    text = demo_output["stdout"]
    assert demo_output["status"] == 0, text[-2000:]
    # The contacts were imported with accounts, roles and revenue: the table lists them, in need first
    assert "Accounts — onboarding-q4" in text
    assert "Referral-ready accounts" in text
    assert "Revenue-weighted NPS" in text
    assert "Check: every account's answers, decision makers' detractors, invites and the revenue-weighted NPS" in text
    # And the HTML report has the account section
    assert 'id="accounts"' in demo_output["html"]


def test_the_demo_prints_referral_kpis_and_churn_checked_against_a_recount(demo_output: dict[str, Any]) -> None:
    text = demo_output["stdout"]
    assert demo_output["status"] == 0, text[-2000:]
    assert "Participation rate" in text
    assert "Click-through" in text
    assert "Churn by last NPS category" in text
    assert "Check: asks, clicks and joins, and churn by last category, equal a direct recount" in text
    # The functions' own logs stay out of the printout
    assert '"level":"INFO"' not in text


def test_the_demo_writes_the_digest_the_digest_function_sent(demo_output: dict[str, Any]) -> None:
    # Given the demo survey's weekly digest, sent by the digest function on moto
    assert "Digest (weekly:" in demo_output["stdout"]
    assert "report attached: onboarding-q4-report-" in demo_output["stdout"]
    # Then its HTML and text parts were written, with the NPS, its change and the accounts section
    html, text = demo_output["digest"]["html"], demo_output["digest"]["txt"]
    assert f"NPS digest: {SURVEY_NAME}" in text
    assert re.search(r"^NPS: [+-]?\d+\.\d$", text, re.MULTILINE)
    assert "Accounts newly at risk" in text
    assert html.startswith("<!doctype html>")
    assert "cx-team@example.com" not in demo_output["stdout"]


def test_the_demo_shows_a_timeline_erases_that_contact_and_proves_every_store_and_the_aggregates(
    demo_output: dict[str, Any],
) -> None:
    text = demo_output["stdout"]
    assert "One contact's timeline (nps contact show " in text
    assert re.search(r"^Erased contact \S+ \(POST /contacts/\S+/erasure\):", text, re.MULTILINE)
    assert re.search(r"^  responses\s+[1-9]", text, re.MULTILINE)
    assert "no table or import report holds" in text
    assert "MISMATCH" not in text
