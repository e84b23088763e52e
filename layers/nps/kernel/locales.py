"""Locales of customer-facing text: message catalogs in ``templates/i18n/<locale>.json``, and where the
templates live (beside the package in the Lambda layer, or in the repository)."""

from __future__ import annotations

import json
import os
from collections.abc import Collection
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

DEFAULT_LOCALE = "en"


@lru_cache(maxsize=1)
def templates_dir() -> Path:
    """The templates folder: ``NPS_TEMPLATES_DIR``, else ``nps/templates`` in the layer, else the repository's."""
    override = os.environ.get("NPS_TEMPLATES_DIR")
    if override:
        return Path(override)
    package = Path(__file__).resolve().parents[1]
    packaged = package / "templates"
    if packaged.is_dir():
        return packaged
    return package.parents[1] / "templates"


@cache
def supported_locales() -> frozenset[str]:
    return frozenset(p.stem for p in (templates_dir() / "i18n").glob("*.json"))


@cache
def catalog(locale: str) -> dict[str, Any]:
    """Messages for ``locale``, English filling any key the locale lacks."""
    base: dict[str, Any] = json.loads((templates_dir() / "i18n" / f"{DEFAULT_LOCALE}.json").read_text("utf-8"))
    if locale != DEFAULT_LOCALE and locale in supported_locales():
        base |= json.loads((templates_dir() / "i18n" / f"{locale}.json").read_text("utf-8"))
    return base


def resolve_locale(*candidates: str | None) -> str:
    """The first supported locale among the candidates (``de-AT`` falls back to ``de``), else English."""
    supported = supported_locales()
    for candidate in candidates:
        if not candidate:
            continue
        tag = candidate.strip().replace("_", "-").lower()
        for option in (tag, tag.split("-")[0]):
            if option in supported:
                return option
    return DEFAULT_LOCALE


def offered_locale(locales: Collection[str], default: str, *candidates: str | None) -> str:
    """The first candidate a survey offers among its ``locales`` (``de-AT`` and ``de_AT`` → ``de``), else the
    survey's ``default``: the one rule for every channel (a contact's locale, a token's, the browser's)."""
    for candidate in candidates:
        if candidate:
            tag = candidate.replace("_", "-").lower()
            for option in (tag, tag.split("-")[0]):
                if option in locales:
                    return option
    return default


def accept_language(header: str | None) -> list[str]:
    """Locales from an ``Accept-Language`` header, best first (quality values honoured)."""
    if not header:
        return []
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            weighted.append((-quality, index, tag))
    return [tag for _, _, tag in sorted(weighted)]


#: Languages written right to left (ISO 639-1), for the ``dir`` attribute of rendered HTML.
RTL_LANGUAGES = frozenset({"ar", "dv", "fa", "he", "ps", "ur", "yi"})


def text_direction(locale: str) -> str:
    """``"rtl"`` for a locale whose language is written right to left (``ar``, ``he-IL``), else ``"ltr"``."""
    language = locale.strip().replace("_", "-").lower().split("-")[0]
    return "rtl" if language in RTL_LANGUAGES else "ltr"
