"""docs/statistics.md: the worked examples on that page are what the code computes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nps.kernel.statistics import CategoryCounts, compare, estimate

DOC = (Path(__file__).resolve().parents[3] / "docs" / "statistics.md").read_text(encoding="utf-8")
PERIOD_A = CategoryCounts(60, 25, 15)
PERIOD_B = CategoryCounts(45, 30, 25)


def figure(pattern: str) -> float:
    """The number the page gives at ``pattern`` (one capture group)."""
    match = re.search(pattern, DOC)
    assert match, f"docs/statistics.md no longer contains {pattern!r}"
    return float(match.group(1))


def test_the_interval_example_matches_the_code() -> None:
    e = estimate(PERIOD_A)
    assert e.nps == pytest.approx(figure(r"= \*\*(\d+\.\d)\*\*"), abs=0.05)
    assert e.margin == pytest.approx(figure(r"→ \*\*± (\d+\.\d)\*\*"), abs=0.05)
    assert e.low == pytest.approx(figure(r"\*\*\[(\d+\.\d), \d+\.\d\]\*\*"), abs=0.05)
    assert e.high == pytest.approx(figure(r"\*\*\[\d+\.\d, (\d+\.\d)\]\*\*"), abs=0.05)


def test_the_significance_example_matches_the_code() -> None:
    change = compare(PERIOD_B, PERIOD_A)
    assert change.z == pytest.approx(figure(r"= 0\.242718 / 0\.108311 = (\d\.\d+)"), abs=0.0005)
    assert change.p_value == pytest.approx(figure(r"p = erfc\(2\.241 / √2\) = (0\.\d+)"), abs=0.0005)
    assert change.difference == pytest.approx(figure(r"rose by (\d+\.\d) points"), abs=0.05)
    assert change.significant
    assert change.low == pytest.approx(figure(r"→ \*\*\[(\d+\.\d), \d+\.\d\]\*\* points"), abs=0.05)
    assert change.high == pytest.approx(figure(r"→ \*\*\[\d+\.\d, (\d+\.\d)\]\*\* points"), abs=0.05)


def test_the_small_sample_example_matches_the_code() -> None:
    change = compare(CategoryCounts(18, 12, 10), CategoryCounts(24, 10, 6))
    assert change.z == pytest.approx(figure(r"rise gives z = (\d\.\d+)"), abs=0.005)
    assert change.p_value == pytest.approx(figure(r"rise gives z = \d\.\d+, p = (0\.\d+)"), abs=0.005)
    assert not change.significant
