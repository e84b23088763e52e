"""The HTML report's accounts, churn and referral sections in a real browser (headless Chromium): drawn,
escaped, inside the page's width and accessible on a phone and a desktop.

Needs Debian's Chromium at /usr/bin/chromium (``apt-get install -y chromium``); skipped without it.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from nps.accounts.churn import ChurnRecord, Kind
from nps.accounts.churn_figures import churn_figures
from nps.accounts.health import AccountPeriod, assess, revenue_weighted
from nps.accounts.referrals import ReferralCounts, referral_kpis
from nps.kernel.categories import SCORES, categorize
from nps.kernel.periods import Granularity
from nps.kernel.statistics import CategoryCounts
from nps.reporting.accounts import AccountsReport, in_need_order
from nps.reporting.churn import ChurnReport
from nps.reporting.figures import ReportService
from nps.reporting.html import render_report
from nps.reporting.ranges import DateRange, periods
from nps.reporting.referrals import ReferralsReport
from nps.scoring.records import Response
from tests.browser.accessibility import assert_accessible
from tests.support.report_source import aggregated

pytestmark = [pytest.mark.browser]

SPAN = DateRange(date(2026, 1, 1), date(2026, 6, 30))
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
#: The longest account id (64 characters, no space to wrap at).
LONG_ID = "enterprise-customer-with-a-very-long-account-identifier-0000001"


def _accounts(rng: random.Random) -> AccountsReport:
    quarters = periods(Granularity.QUARTER, SPAN)
    accounts = []
    for n in range(30):
        history = []
        for quarter in quarters:
            scores = [rng.choice(SCORES) for _ in range(rng.randint(0, 5))]
            counters: dict[str, int] = {"invites_sent": len(scores) + rng.randint(0, 2)}
            for score in scores:
                name = f"{categorize(score).value}s"
                counters[name] = counters.get(name, 0) + 1
                counters[f"score_{score}"] = counters.get(f"score_{score}", 0) + 1
            if scores and rng.random() < 0.3:
                counters["dm_detractors"] = 1 if counters.get("detractors") else 0
            history.append(AccountPeriod.from_counters(quarter.key, counters))
        account_id = LONG_ID if n == 0 else f"acct-{n:03d}"
        revenue = Decimal(rng.choice((5_000, 48_000, 240_000))) if n % 4 else None
        accounts.append(assess(account_id, history, revenue, churned=n == 5))
    weighted = revenue_weighted([(a.total, a.revenue) for a in accounts])
    by_period = tuple(
        (q.key, revenue_weighted([(a.periods[i].counts, a.revenue) for a in accounts])) for i, q in enumerate(quarters)
    )
    ordered = tuple(in_need_order(accounts))
    return AccountsReport("pulse", SPAN, Granularity.QUARTER, tuple(quarters), ordered, weighted, by_period)


def _churn(rng: random.Random) -> ChurnReport:
    keys = [p.key for p in periods(Granularity.MONTH, SPAN)]
    responses = {key: CategoryCounts(40, 30, 20) for key in keys}
    records = []
    for n in range(40):
        at = datetime(2026, 1, 3, tzinfo=UTC) + timedelta(days=rng.randrange(170))
        score = rng.choice([2, 4, 6, 6, 7, 8, 9, 10])
        records.append(
            ChurnRecord(
                survey_id="pulse", kind=Kind.CONTACT, subject_id=f"c{n}", last_category=categorize(score),
                last_score=float(score), last_answered_at=at, cohort_at=at, churned_at=at + timedelta(days=20),
                churn_id=f"b{n}",
            )
        )  # fmt: skip
    figures = churn_figures(
        Granularity.MONTH, keys, responses, records, first_day=SPAN.first, last_day=SPAN.last, unmatched=3
    )
    return ChurnReport("pulse", SPAN, figures)


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = random.Random(11)
    responses = [
        Response(
            invite_id=f"i{i}", survey_id="pulse", wave_id="w", contact_id=f"c{i}", channel="email",
            score=rng.choice(SCORES), first_answered_at=datetime(2026, 1, 2, tzinfo=UTC) + timedelta(days=i % 170),
        )
        for i in range(300)
    ]  # fmt: skip
    report = ReportService(aggregated(responses)).report("pulse", SPAN, Granularity.MONTH, survey_name="Pulse")
    accounts = _accounts(rng)
    kpis = referral_kpis(
        [(p.key, ReferralCounts(asked=20, clicked=9, joined=4)) for p in periods(Granularity.MONTH, SPAN)], 2
    )
    referrals = ReferralsReport("pulse", SPAN, Granularity.MONTH, kpis, accounts)
    html = render_report(
        report, [], datetime(2026, 7, 1, tzinfo=UTC), {}, accounts=accounts, churn=_churn(rng), referrals=referrals
    )
    path = tmp_path_factory.mktemp("accounts") / "report.html"
    path.write_text(html, "utf-8")
    return path


@pytest.mark.parametrize("viewport", [{"width": 320, "height": 700}, {"width": 1280, "height": 900}])
def test_the_account_churn_and_referral_sections_are_drawn_and_accessible(
    browser: Any, report_file: Path, viewport: dict[str, int]
) -> None:
    # Given a report with 30 accounts, 40 churned contacts and referral KPIs / When Chromium opens it
    page = browser.new_page(viewport=viewport)
    page.goto(report_file.as_uri())
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for title in ("accounts-title", "churn-title", "referrals-title"):
        section = page.locator(f"section[aria-labelledby={title}]")
        assert section.count() == 1, title
        section.screenshot(path=str(SCREENSHOTS / f"report-{title.removesuffix('-title')}-{viewport['width']}.png"))
    # Then every account is a row, the ones at risk first, each with its reasons
    rows = page.locator("#accounts tbody tr")
    assert rows.count() == 30
    healths = [cell.inner_text() for cell in page.locator("#accounts td[data-label=Health]").all()]
    order = ["At risk", "Watch", "Healthy", "No answers"]
    assert [order.index(h) for h in healths] == sorted(order.index(h) for h in healths)
    # And nothing, not even a 64-character account id, makes the page scroll sideways
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    # And axe finds nothing to fix
    assert_accessible(page)
    page.close()
