"""Figures as people and APIs read them: rounded, signed where a sign means something, never ``-0.0``.

An NPS of 700 promoters, 600 passives and 701 detractors is −0.04998…; rounded to one decimal that is
zero, and zero has no sign. Python's rounding and formatting keep the sign of a negative value that
rounds to zero (``round(-0.04, 1) == -0.0``, ``f"{-0.04:+.1f}" == "-0.0"``), so every figure a report
shows or an API returns goes through these functions. Missing values (``None``) show as an em dash.

Pure: used by the text, HTML and API renderings of reports.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

#: How a missing figure (no responses, no invites) is shown.
MISSING = "—"


def rounded(value: float | None, digits: int = 2) -> float | None:
    """``value`` rounded half-to-even to ``digits`` decimals, with ``-0.0`` turned into ``0.0``."""
    if value is None:
        return None
    # Adding 0.0 turns -0.0 into 0.0 (IEEE 754 round-to-nearest) and leaves every other value as is.
    return round(value, digits) + 0.0


def signed(value: float | None, digits: int = 1) -> str:
    """``+12.3`` / ``-4.0`` / ``0.0`` (zero, also a negative value that rounds to zero, has no sign)."""
    if value is None:
        return MISSING
    text = f"{value:z.{digits}f}"
    return text if text.startswith("-") or float(text) == 0 else "+" + text


def fixed(value: float | None, digits: int = 1) -> str:
    """``12.3`` (no ``+``; never ``-0.0``)."""
    return MISSING if value is None else f"{value:z.{digits}f}"


def percent(value: float | None, digits: int = 1) -> str:
    """``54.2%`` for a percentage already scaled 0…100 (never ``-0.0%``)."""
    return MISSING if value is None else f"{value:z.{digits}f}%"


def bounds(low: float | None, high: float | None, digits: int = 1) -> str:
    """An interval as its two ends, ``-48.5 to +98.5``: never ``±``, which hides an asymmetric interval.

    The adjusted-Wald interval is centred on the adjusted estimate, not on the observed NPS, so
    "NPS ± margin" would print a range that is not the interval (one promoter: +100.0 ±73.5 reads as
    +26.5…+173.5, while the interval is −48.5…+98.5).
    """
    if low is None or high is None:
        return MISSING
    return f"{signed(low, digits)} to {signed(high, digits)}"


def likely_between(low: float | None, high: float | None) -> str:
    """The interval in plain words, each end to the nearest whole point: ``likely between +1 and +15``.

    Each end is rounded from the one-decimal figure :func:`bounds` prints (halves away from zero), so
    the sentence never contradicts the interval printed beside it: ``+12.9 to +33.0`` reads
    ``likely between +13 and +33``, each whole number within half a point of the printed end.
    """
    if low is None or high is None:
        return "no responses yet"
    first, last = _whole(low), _whole(high)
    if first == last:
        return f"likely close to {signed(float(first), 0)}"
    return f"likely between {signed(float(first), 0)} and {signed(float(last), 0)}"


def _whole(value: float) -> int:
    """``value`` as printed to one decimal, then to the nearest whole number (halves away from zero)."""
    return int(Decimal(f"{value:.1f}").quantize(Decimal(1), rounding=ROUND_HALF_UP))
