"""The account report: every account answering a survey in a range, by health, from the aggregates.

The accounts of a range are the ``account_id=<id>`` slices of the survey's quarters in it (the segment
catalog, :meth:`~nps.reporting.adapters.reads.DynamoAggregateReader.slices`); each account's month or
quarter items are read by key (one ``BatchGetItem`` per 100 items) and its profile and churn from the
accounts table. The figures are :mod:`nps.accounts.health`'s: account NPS per period with its interval,
health with its reasons, the account's category, the referral readiness score; over all accounts, the
number per health, the referral-ready account rate (ready ÷ accounts with an answer, Wilson 95%) and
the revenue-weighted NPS of the range and of each period (docs/accounts.md).

Accounts are kept by month and quarter only (:data:`nps.accounts.membership.ACCOUNT_GRANULARITIES`): a
report by day or week is refused with a :class:`~nps.reporting.figures.ReportError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from nps.accounts.health import (
    AccountHealth,
    AccountPeriod,
    Health,
    WeightedNps,
    assess,
    revenue_weighted,
)
from nps.accounts.membership import ACCOUNT_DIMENSION, ACCOUNT_GRANULARITIES, account_label
from nps.kernel.formatting import rounded
from nps.kernel.periods import Granularity
from nps.kernel.statistics import NpsEstimate, Proportion, estimate, wilson
from nps.reporting.figures import ReportError, UnknownSurvey, change_dict, proportion_dict
from nps.reporting.ranges import DateRange, Period, periods
from nps.scoring.aggregation import ALL, AggregateKey

if TYPE_CHECKING:
    from nps.accounts.adapters.profiles import AccountRecord

#: Accounts one report lists at most (about 200 reads of 100 items each at 4 periods).
MAX_ACCOUNTS = 5_000
#: Order of the account table: the accounts that need someone first.
HEALTH_ORDER = (Health.AT_RISK, Health.WATCH, Health.HEALTHY, Health.NO_ANSWERS)
_PREFIX = f"{ACCOUNT_DIMENSION}="


class AggregateItems(Protocol):
    def slices(self, survey_id: str, span: DateRange) -> set[tuple[str, str]]: ...

    def items(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], dict[str, int]]: ...

    def exists(self, pk: str) -> bool: ...


class AccountProfiles(Protocol):
    def read(self, account_ids: Sequence[str]) -> Mapping[str, AccountRecord]: ...


class TooManyAccounts(ReportError):
    code = "too_many_accounts"


class AccountGranularity(ReportError):
    code = "bad_granularity"


@dataclass(frozen=True, slots=True)
class AccountsReport:
    """The accounts of one survey over a range, at ``granularity`` (month or quarter)."""

    survey_id: str
    span: DateRange
    granularity: Granularity
    periods: tuple[Period, ...]
    accounts: tuple[AccountHealth, ...]
    #: Revenue-weighted NPS over the range (each account's answers of the whole range), then per period.
    weighted: WeightedNps
    weighted_by_period: tuple[tuple[str, WeightedNps], ...]

    @property
    def by_health(self) -> dict[Health, int]:
        counts = dict.fromkeys(HEALTH_ORDER, 0)
        for account in self.accounts:
            counts[account.health] += 1
        return counts

    @property
    def referral_ready(self) -> Proportion:
        """Referral-ready accounts ÷ accounts with an answer in the range (Wilson 95%)."""
        answered = [a for a in self.accounts if a.health is not Health.NO_ANSWERS]
        return wilson(sum(1 for a in answered if a.readiness.ready), len(answered))

    def as_dict(self) -> dict[str, Any]:
        """The report as the API returns it (``AccountsOut``)."""
        return {
            "survey_id": self.survey_id,
            "from": self.span.first.isoformat(),
            "to": self.span.last.isoformat(),
            "granularity": self.granularity.value,
            "periods": [period.key for period in self.periods],
            "by_health": {health.value: count for health, count in self.by_health.items()},
            "referral_ready": proportion_dict(self.referral_ready),
            "revenue_weighted": weighted_dict(self.weighted),
            "revenue_weighted_trend": [
                {"period": key, **weighted_dict(value)} for key, value in self.weighted_by_period
            ],
            "accounts": [account_dict(account) for account in self.accounts],
        }


def _round(value: float | None) -> float | None:
    return rounded(value, 2)


def estimate_dict(estimate: NpsEstimate) -> dict[str, Any]:
    return {"n": estimate.n, "nps": _round(estimate.nps), "low": _round(estimate.low), "high": _round(estimate.high)}


def weighted_dict(weighted: WeightedNps) -> dict[str, Any]:
    return {
        "nps": _round(weighted.nps),
        "low": _round(weighted.low),
        "high": _round(weighted.high),
        "accounts": weighted.accounts,
        "accounts_without_revenue": weighted.left_out,
        "revenue": float(weighted.revenue),
    }


def account_dict(account: AccountHealth) -> dict[str, Any]:
    """One account as the API returns it (``AccountOut``)."""
    readiness = account.readiness
    return {
        "account_id": account.account_id,
        "health": account.health.value,
        "reasons": [
            {"code": reason.value, "text": text}
            for reason, text in zip(account.reasons, account.reason_texts, strict=True)
        ],
        "latest_period": account.latest_period,
        "latest": estimate_dict(account.latest),
        "change": change_dict(account.change),
        "category": account.category.value if account.category is not None else None,
        "mean_score": _round(account.mean_score),
        "revenue": float(account.revenue) if account.revenue is not None else None,
        "churned": account.churned,
        "readiness": {
            "score": readiness.score,
            "advocacy": _round(readiness.advocacy),
            "recency": _round(readiness.recency),
            "consistency": _round(readiness.consistency),
            "engagement": _round(readiness.engagement),
            "ready": readiness.ready,
        },
        "trend": [
            {"period": period.period, **estimate_dict(estimate(period.counts)), "invites_sent": period.invites_sent}
            for period in account.periods
        ],
    }


def account_ids(slices: set[tuple[str, str]]) -> list[str]:
    """The accounts among a survey's slices (``account_id=<id>`` over every channel), sorted."""
    return sorted(
        segment.removeprefix(_PREFIX) for segment, channel in slices if channel == ALL and segment.startswith(_PREFIX)
    )


def in_need_order(accounts: Sequence[AccountHealth]) -> list[AccountHealth]:
    """``accounts`` most in need first: at risk, watch, healthy, without answers; then the largest revenue
    (unknown last), then by id."""
    return sorted(accounts, key=lambda a: (HEALTH_ORDER.index(a.health), -(a.revenue or 0), a.account_id))


def accounts_report(
    aggregates: AggregateItems,
    profiles: AccountProfiles,
    survey_id: str,
    span: DateRange,
    granularity: Granularity = Granularity.QUARTER,
) -> AccountsReport:
    """Every account of ``survey_id`` answering or invited in ``span``, most in need first (at risk, watch,
    healthy, without answers; then by revenue, largest first, then id).

    Raises :class:`AccountGranularity` for a granularity accounts are not kept at,
    :class:`~nps.reporting.figures.UnknownSurvey` for a survey without aggregates, and
    :class:`TooManyAccounts` above :data:`MAX_ACCOUNTS` (narrow the range).
    """
    granularity = Granularity(granularity)
    if granularity not in ACCOUNT_GRANULARITIES:
        kept = " and ".join(g.value for g in ACCOUNT_GRANULARITIES)
        raise AccountGranularity(f"accounts are reported by {kept}, not by {granularity.value}")
    span_periods = periods(granularity, span)
    slices = aggregates.slices(survey_id, span)
    if not slices and not aggregates.exists(AggregateKey(survey_id, Granularity.QUARTER, "", ALL, ALL).pk):
        raise UnknownSurvey(survey_id)
    ids = account_ids(slices)
    if len(ids) > MAX_ACCOUNTS:
        raise TooManyAccounts(
            f"{len(ids)} accounts answered or were invited in {span.label()}; a report lists at most"
            f" {MAX_ACCOUNTS}: choose a shorter range"
        )
    pks = {
        account_id: AggregateKey(survey_id, granularity, span_periods[0].key, account_label(account_id), ALL).pk
        for account_id in ids
    }
    counters = aggregates.items([(pk, period.key) for pk in pks.values() for period in span_periods])
    records = profiles.read(ids) if ids else {}
    accounts = []
    for account_id in ids:
        history = [
            AccountPeriod.from_counters(period.key, counters.get((pks[account_id], period.key), {}))
            for period in span_periods
        ]
        record = records.get(account_id)
        accounts.append(
            assess(
                account_id,
                history,
                revenue=record.revenue if record is not None else None,
                churned=record is not None and record.churned_at is not None,
            )
        )
    accounts = in_need_order(accounts)
    weighted = revenue_weighted([(account.total, account.revenue) for account in accounts])
    by_period = tuple(
        (period.key, revenue_weighted([(account.periods[i].counts, account.revenue) for account in accounts]))
        for i, period in enumerate(span_periods)
    )
    return AccountsReport(survey_id, span, granularity, tuple(span_periods), tuple(accounts), weighted, by_period)
