"""Where the Jinja2 templates live: beside the package in the Lambda layer, or in the repository."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def templates_dir() -> Path:
    override = os.environ.get("NPS_TEMPLATES_DIR")
    if override:
        return Path(override)
    packaged = Path(__file__).resolve().parent / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "templates"
