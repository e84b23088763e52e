"""Printing figures as a table and writing them as JSON."""

from __future__ import annotations

import json
import platform
import statistics
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

RESULTS_DIR = Path(__file__).resolve().parent / "results"
Direction = Literal["max", "min"]


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured figure next to its same-run baseline.

    ``ratio`` is measured / baseline. ``direction`` says whether the target is an upper bound on the
    compared quantity (``max``: at most) or a lower bound (``min``: at least).
    """

    name: str
    unit: str
    measured: float
    baseline_name: str
    baseline: float
    target: float | None = None
    target_of: Literal["measured", "ratio"] = "measured"
    direction: Direction = "max"
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.measured / self.baseline if self.baseline else float("nan")

    @property
    def meets_target(self) -> bool | None:
        if self.target is None:
            return None
        value = self.ratio if self.target_of == "ratio" else self.measured
        return value <= self.target if self.direction == "max" else value >= self.target

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ratio"] = round(self.ratio, 4)
        data["meets_target"] = self.meets_target
        return data


def _number(value: float, unit: str) -> str:
    if unit in ("records/s", "emails/s", "contacts/s"):
        return f"{value:,.0f} {unit}"
    if unit in ("WCU/s", "bytes"):
        return f"{value:,.0f} {unit}"
    if unit == "ms":
        return f"{value:,.1f} ms"
    return f"{value:,.2f} {unit}"


def format_figure(figure: Figure) -> str:
    symbol = "≤" if figure.direction == "max" else "≥"
    target = ""
    if figure.target is not None:
        goal = f"{figure.target:g}x" if figure.target_of == "ratio" else _number(figure.target, figure.unit)
        verdict = "meets" if figure.meets_target else "MISSES"
        target = f"  (target {symbol} {goal}: {verdict})"
    return (
        f"{figure.name:<42} {_number(figure.measured, figure.unit):>22}   vs {figure.baseline_name} "
        f"{_number(figure.baseline, figure.unit)}   ratio {figure.ratio:.2f}x{target}"
    )


def section(title: str) -> None:
    print()
    print(title)
    print("-" * len(title))


def note(text: str) -> None:
    print(f"    {text}")


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def write_results(sections: dict[str, Any], path: Path | None = None) -> Path:
    path = path or RESULTS_DIR / "latest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        **sections,
    }
    path.write_text(json.dumps(document, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")
    return path
