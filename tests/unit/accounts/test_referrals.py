"""The referral rules: which addresses may be targets, which aggregates a step counts in, and the KPIs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nps.accounts.referrals import (
    ReferralCounts,
    counter_keys,
    referral_kpis,
    safe_target,
    target_origin,
    target_url_problem,
    target_urls,
)
from nps.kernel.periods import Granularity
from nps.kernel.statistics import wilson
from nps.scoring.aggregation import ALL, AggregateKey


@pytest.mark.parametrize(
    "address",
    ["https://acme.example/refer", "https://acme.example:8443/r?from=nps&x=1", "https://xn--bcher-kva.example/#a"],
)
def test_https_addresses_with_a_plain_host_are_targets(address: str) -> None:
    assert target_url_problem(address) is None


@pytest.mark.parametrize(
    "address",
    [
        "//evil.com", "\\\\evil", "javascript:alert(1)", "http://acme.example", "https:///evil.com",
        "https://evil.com\r\nSet-Cookie: a=b", "https://evil.com\n", "https://a@evil.com", "https://a:b@evil.com",
        "https://evil.com\\@acme.example", "https:evil.com", "https://evil .com", "https://évil.com",
        "https://.evil.com", "https://evil..com", "data:text/html,hi", "HTTPS://EVIL.COM", "", None, 42,
        "https://acme.example/" + "a" * 3000, "https://[::1]/", "https://acme.example:0/",
    ],
)  # fmt: skip
def test_anything_else_is_never_a_target(address: object) -> None:
    assert target_url_problem(address) is not None
    assert safe_target(address) is None


@given(st.text(max_size=200))
def test_a_target_never_holds_a_line_break_or_leaves_https(text: str) -> None:
    url = safe_target(text)
    if url is not None:
        assert url.startswith("https://")
        assert "\r" not in url
        assert "\n" not in url
        assert target_origin(url).startswith("https://")


def test_the_targets_come_from_the_promoter_settings_of_the_definition() -> None:
    definition = {"follow_ups": {"promoter": {"referral_url": "https://a.example/r", "review_url": "//evil"}}}
    assert target_urls(definition) == {"referral": "https://a.example/r", "review": None}
    assert target_urls({}) == {"referral": None, "review": None}
    assert target_urls({"follow_ups": "x"}) == {"referral": None, "review": None}


def test_a_step_counts_in_the_answers_cohort_and_its_accounts_slices_like_the_aggregates() -> None:
    at = datetime(2026, 11, 23, 10, tzinfo=UTC)
    keys = counter_keys("s-1", at, "acme")
    expected = [AggregateKey("s-1", g, p) for g, p in (
        (Granularity.DAY, "2026-11-23"), (Granularity.WEEK, "2026-W48"), (Granularity.MONTH, "2026-11"),
        (Granularity.QUARTER, "2026-Q4"))] + [
        AggregateKey("s-1", Granularity.MONTH, "2026-11", "account_id=acme", ALL),
        AggregateKey("s-1", Granularity.QUARTER, "2026-Q4", "account_id=acme", ALL),
    ]  # fmt: skip
    assert [(k.pk, k.period) for k in keys] == [(k.pk, k.period) for k in expected]
    assert len(counter_keys("s-1", at)) == 4


def test_the_kpis_are_wilson_proportions_per_cohort_and_over_the_range() -> None:
    kpis = referral_kpis(
        [("2026-10", ReferralCounts(10, 4, 2)), ("2026-11", ReferralCounts(5, 5, 1)), ("2026-10", ReferralCounts(2))],
        joined_unasked=3,
    )
    assert [p.period for p in kpis.periods] == ["2026-10", "2026-11"]
    assert kpis.periods[0].counts == ReferralCounts(12, 4, 2)
    assert kpis.periods[0].participation == wilson(2, 12)
    assert kpis.total.participation == wilson(3, 17)
    assert kpis.total.click_through == wilson(9, 17)
    assert kpis.joined_unasked == 3
    assert not kpis.total.capped


def test_more_joins_than_asks_are_capped_and_said_so() -> None:
    rates = referral_kpis([("2026-11", ReferralCounts(asked=1, clicked=0, joined=2))]).total
    assert rates.participation == wilson(1, 1)
    assert rates.capped


def test_counts_read_from_an_aggregate_item() -> None:
    from decimal import Decimal

    counts = ReferralCounts.of({"referral_asked": Decimal(4), "referral_joined": 1, "promoters": 9})
    assert counts == ReferralCounts(4, 0, 1)
