"""The web widget's transfer size: ``templates/web/widget.js`` raw and gzipped (level 9, as a CDN or
API Gateway would at best), against the 12 KB budget of issue 15 (12 × 1024 bytes gzipped)."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

from benchmarks.report import Figure

WIDGET = Path(__file__).resolve().parents[1] / "templates" / "web" / "widget.js"
#: The budget for the gzipped script, in bytes.
GZIP_BUDGET_BYTES = 12 * 1024


@dataclass(frozen=True, slots=True)
class WidgetSize:
    """``raw``: the file's bytes; ``gzipped``: ``gzip -9`` of them (header included, mtime 0)."""

    raw: int
    gzipped: int


def measure(path: Path = WIDGET) -> WidgetSize:
    """Sizes of the script at ``path``. Raises ``OSError`` when it cannot be read."""
    data = path.read_bytes()
    return WidgetSize(raw=len(data), gzipped=len(gzip.compress(data, compresslevel=9, mtime=0)))


def run(path: Path = WIDGET) -> Figure:
    """The gzipped size as a figure, its baseline the raw size, its target the 12 KB budget."""
    size = measure(path)
    return Figure(
        name="widget.js gzipped (level 9)",
        unit="bytes",
        measured=float(size.gzipped),
        baseline_name="raw",
        baseline=float(size.raw),
        target=float(GZIP_BUDGET_BYTES),
        detail={"raw_bytes": size.raw, "gzipped_bytes": size.gzipped, "budget_bytes": GZIP_BUDGET_BYTES},
    )
