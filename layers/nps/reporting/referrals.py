"""The referral report: participation rate and click-through per cohort and over the range, the joins
without an ask, the referral-ready account rate and each account's readiness (docs/referrals.md).

Counters are read from the survey-wide aggregates (segment and channel ``*``) of each period of the range:
a period is the **cohort** of promoters who answered in it. The account figures are the account report's
(:func:`nps.reporting.accounts.accounts_report`), at month when the report is by month and at quarter
otherwise (accounts are kept by month and quarter).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from nps.accounts.membership import ACCOUNT_GRANULARITIES
from nps.accounts.referrals import ReferralCounts, ReferralKpis, ReferralRates, referral_kpis
from nps.kernel.formatting import MISSING, percent
from nps.kernel.periods import Granularity
from nps.kernel.spreadsheets import BOM, safe_cell, writer
from nps.reporting.accounts import AccountProfiles, AccountsReport, AggregateItems, accounts_report
from nps.reporting.figures import proportion_dict
from nps.reporting.ranges import DateRange, periods
from nps.scoring.aggregation import ALL, AggregateKey

if TYPE_CHECKING:
    from nps.kernel.statistics import Proportion


class UnaskedJoins(Protocol):
    def unasked_joins(self, months: Sequence[str]) -> int: ...


@dataclass(frozen=True, slots=True)
class ReferralsReport:
    """One survey's referral KPIs over a range at ``granularity``, with its accounts' readiness."""

    survey_id: str
    span: DateRange
    granularity: Granularity
    kpis: ReferralKpis
    accounts: AccountsReport

    @property
    def referral_ready(self) -> Proportion:
        """Referral-ready accounts ÷ accounts with an answer (the account report's, Wilson 95%)."""
        return self.accounts.referral_ready

    def as_dict(self) -> dict[str, Any]:
        """The report as the API returns it (``ReferralsOut``)."""
        return {
            "survey_id": self.survey_id,
            "from": self.span.first.isoformat(),
            "to": self.span.last.isoformat(),
            "granularity": self.granularity.value,
            "periods": [rates_dict(r) for r in self.kpis.periods],
            "total": rates_dict(self.kpis.total),
            "joined_unasked": self.kpis.joined_unasked,
            "referral_ready": proportion_dict(self.referral_ready),
            "accounts_granularity": self.accounts.granularity.value,
            "accounts": [
                {
                    "account_id": a.account_id,
                    "health": a.health.value,
                    "readiness": a.readiness.score,
                    "ready": a.readiness.ready,
                }
                for a in self.accounts.accounts
            ],
        }


def rates_dict(rates: ReferralRates) -> dict[str, Any]:
    """One cohort's KPIs as JSON (``ReferralRatesOut``)."""
    return {
        "period": rates.period,
        "asked": rates.counts.asked,
        "clicked": rates.counts.clicked,
        "joined": rates.counts.joined,
        "participation": proportion_dict(rates.participation),
        "click_through": proportion_dict(rates.click_through),
        "capped": rates.capped,
    }


def _months(span: DateRange) -> list[str]:
    months, day = set(), span.first
    while day <= span.last:
        months.add(day.strftime("%Y-%m"))
        day += timedelta(days=1)
    return sorted(months)


def referrals_report(
    aggregates: AggregateItems,
    profiles: AccountProfiles,
    joins: UnaskedJoins,
    survey_id: str,
    span: DateRange,
    granularity: Granularity = Granularity.MONTH,
) -> ReferralsReport:
    """The referral report of ``survey_id`` over ``span``. Raises what
    :func:`~nps.reporting.accounts.accounts_report` raises (an unknown survey, too many accounts)."""
    granularity = Granularity(granularity)
    accounts = accounts_report(
        aggregates,
        profiles,
        survey_id,
        span,
        granularity if granularity in ACCOUNT_GRANULARITIES else Granularity.QUARTER,
    )
    span_periods = periods(granularity, span)
    pk = AggregateKey(survey_id, granularity, "", ALL, ALL).pk
    counters = aggregates.items([(pk, period.key) for period in span_periods])
    kpis = referral_kpis(
        ((period.key, ReferralCounts.of(counters.get((pk, period.key), {}))) for period in span_periods),
        joined_unasked=joins.unasked_joins(_months(span)),
    )
    return ReferralsReport(survey_id, span, granularity, kpis, accounts)


# -- the terminal and CSV ------------------------------------------------------------------------------
def _rate(proportion: Proportion) -> str:
    """``33.3% (12.1%–64.6%)``, or ``-`` without promoters asked."""
    if proportion.percent is None:
        return MISSING
    return f"{percent(proportion.percent)} ({percent(proportion.low)}–{percent(proportion.high)})"


def format_referrals(report: ReferralsReport, limit: int | None = 20) -> str:
    """The referral report as plain text: the range's KPIs, one line per cohort, the joins without an ask,
    the referral-ready account rate and the readiest accounts (at most ``limit``)."""
    total = report.kpis.total
    ready = report.referral_ready
    lines = [
        f"Referrals for {report.survey_id}, {report.span.label()} (cohorts by {report.granularity.value})",
        f"Participation rate {_rate(total.participation)}: {total.counts.joined} joined of "
        f"{total.counts.asked} promoters asked (95% interval)",
        f"Click-through {_rate(total.click_through)}: {total.counts.clicked} clicked a referral or review link",
        f"Joins without an ask (counted apart): {report.kpis.joined_unasked}",
        f"Referral-ready accounts {percent(ready.percent)} ({ready.count} of {ready.n} with an answer)",
        "",
        f"{'cohort':<12} {'asked':>6} {'clicked':>8} {'joined':>7}  {'participation':<24} click-through",
    ]
    for rates in report.kpis.periods:
        counts = rates.counts
        lines.append(
            f"{rates.period or '':<12} {counts.asked:>6} {counts.clicked:>8} {counts.joined:>7}  "
            f"{_rate(rates.participation):<24} {_rate(rates.click_through)}" + (" *" if rates.capped else "")
        )
    accounts = sorted(report.accounts.accounts, key=lambda a: (-a.readiness.score, a.account_id))
    if accounts:
        lines += ["", f"{'account':<24} {'readiness':>9}  ready"]
        for account in accounts[:limit]:
            ready_text = "yes" if account.readiness.ready else "no"
            lines.append(f"{account.account_id[:24]:<24} {account.readiness.score:>9}  {ready_text}")
    lines += [
        "",
        "A cohort is the promoters who answered in the period; * a count above the promoters asked was capped.",
    ]
    return "\n".join(lines)


REFERRAL_COLUMNS = (
    "period", "asked", "clicked", "joined", "participation_percent", "participation_low", "participation_high",
    "click_through_percent", "click_through_low", "click_through_high", "capped",
)  # fmt: skip


def _cell(value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(round(value, 2) if isinstance(value, float) else value)
    return safe_cell("" if value is None else str(value))


def write_referrals_csv(target: TextIO, report: ReferralsReport, *, bom: bool = True) -> int:
    """Write one row per cohort, then the range's row (period ``total``), as CSV (byte order mark unless
    ``bom`` is false); returns the number of rows. Every cell is quoted and none starts a formula."""
    if bom:
        target.write(BOM)
    out = writer(target)
    out.writerow([_cell(name) for name in REFERRAL_COLUMNS])
    rows = [*report.kpis.periods, report.kpis.total]
    for rates in rows:
        out.writerow(
            [
                _cell(value)
                for value in (
                    rates.period or "total", rates.counts.asked, rates.counts.clicked, rates.counts.joined,
                    rates.participation.percent, rates.participation.low, rates.participation.high,
                    rates.click_through.percent, rates.click_through.low, rates.click_through.high,
                    "yes" if rates.capped else "no",
                )
            ]
        )  # fmt: skip
    return len(rows)
