"""The reasons behind the score in ``make demo``: the survey's drivers, CSAT, CES and themes, the comments
people write (per theme, in en, es and de, fitting their score), and the driver table checked against a
recount of the stored responses.

Detractors complain (about price, support or the setup), passives are lukewarm (the product, the price),
promoters praise (the product, support, the setup). Each comment is written to match exactly one theme of
:data:`REASONS` in its locale, which a unit test checks with the real tagger, so the driver table has
something true to say: price and support pull the NPS down, the product pushes it up.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import date
from typing import Any

from local.environment import LocalStack
from nps.events.patterns import RESURVEY_WAVE_PREFIX
from nps.kernel import aws

LOCALES = ("en", "es", "de")
DRIVERS = {
    "price": {"en": "Price", "es": "Precio", "de": "Preis"},
    "support": {"en": "Support", "es": "Soporte", "de": "Support"},
    "product": {"en": "Product quality", "es": "Calidad del producto", "de": "Produktqualität"},
    "onboarding": {"en": "Onboarding", "es": "Puesta en marcha", "de": "Einrichtung"},
}
#: Theme id → phrases per locale (matched on Snowball stems, nps.reasons.themes).
THEME_PHRASES: dict[str, dict[str, list[str]]] = {
    "price": {
        "en": ["price", "expensive", "invoice"],
        "es": ["precio", "caro", "factura"],
        "de": ["Preis", "teuer", "Rechnung"],
    },
    "support": {
        "en": ["support", "help desk"],
        "es": ["soporte", "atención al cliente"],
        "de": ["Support", "Kundendienst"],
    },
    "product": {
        "en": ["product", "reports", "export"],
        "es": ["producto", "informes", "exportación"],
        "de": ["Produkt", "Berichte", "Export"],
    },
    "onboarding": {
        "en": ["setup", "onboarding"],
        "es": ["configuración", "puesta en marcha"],
        "de": ["Einrichtung", "Onboarding"],
    },
}
#: The ``reasons`` block of the demo survey: a driver list, CSAT and CES on, and the taxonomy.
REASONS: dict[str, Any] = {
    "drivers": [{"id": driver, "label": labels} for driver, labels in DRIVERS.items()],
    "csat": {"enabled": True},
    "ces": {"enabled": True},
    "themes": [
        {"id": theme, "label": {locale: DRIVERS[theme][locale] for locale in LOCALES}, "phrases": phrases}
        for theme, phrases in THEME_PHRASES.items()
    ],
}
#: What people write: locale → category → (theme the comment is about, the comment).
COMMENTS: dict[str, dict[str, tuple[tuple[str, str], ...]]] = {
    "en": {
        "detractor": (
            ("price", "Far too expensive for what we get"),
            ("price", "Pricing is hard to understand <please> fix & simplify"),
            ("support", "Support took three days to answer"),
            ("support", "The help desk never called back"),
            ("onboarding", "Setup took longer than promised"),
        ),
        "passive": (
            ("product", "Good product, but the export could be simpler"),
            ("price", "Does the job, though the price is high"),
        ),
        "promoter": (
            ("product", "The reports are exactly what our board needs"),
            ("product", "Great product, it just works"),
            ("support", "Great support team, answered within the hour"),
            ("onboarding", "Onboarding was quick and painless"),
        ),
    },
    "es": {
        "detractor": (
            ("price", "Demasiado caro para lo que ofrece"),
            ("support", "El soporte tardó tres días en responder"),
            ("onboarding", "La configuración llevó más tiempo del prometido"),
        ),
        "passive": (
            ("product", "Buen producto, pero la exportación podría ser más sencilla"),
            ("price", "Cumple, aunque el precio es alto"),
        ),
        "promoter": (
            ("product", "Los informes son justo lo que necesita nuestra dirección"),
            ("support", "Un soporte excelente, respondió en una hora"),
            ("onboarding", "La puesta en marcha fue rápida y sencilla"),
        ),
    },
    "de": {
        "detractor": (
            ("price", "Viel zu teuer für das, was wir bekommen"),
            ("support", "Der Support hat drei Tage für eine Antwort gebraucht"),
            ("onboarding", "Die Einrichtung hat länger gedauert als versprochen"),
        ),
        "passive": (
            ("product", "Gutes Produkt, aber der Export könnte einfacher sein"),
            ("price", "Erfüllt seinen Zweck, aber der Preis ist hoch"),
        ),
        "promoter": (
            ("product", "Die Berichte sind genau das, was unser Vorstand braucht"),
            ("support", "Toller Support, Antwort innerhalb einer Stunde"),
            ("onboarding", "Die Einrichtung ging schnell und einfach"),
        ),
    },
}
#: The driver people choose, by category: detractors blame price and support, promoters credit the product.
DRIVER_WEIGHTS = {
    "detractor": {"price": 5, "support": 4, "product": 1, "onboarding": 2},
    "passive": {"price": 3, "support": 2, "product": 3, "onboarding": 1},
    "promoter": {"price": 1, "support": 3, "product": 5, "onboarding": 2},
}


def category_of(score: int) -> str:
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


def comment_for(score: int, rng: random.Random, locale: str = "en") -> str:
    """A comment in ``locale`` (its language; English where there is none) that fits the score's category."""
    by_category = COMMENTS.get(locale.split("-")[0], COMMENTS["en"])
    return rng.choice(by_category[category_of(score)])[1]


def answers_for(score: int, rng: random.Random) -> dict[str, str]:
    """The follow-up fields a person sends with the comment: a driver (most people), CSAT 1–5 and CES 1–7
    (many), each in line with the score give or take one."""
    answers: dict[str, str] = {}
    if rng.random() < 0.8:
        weights = DRIVER_WEIGHTS[category_of(score)]
        answers["driver"] = rng.choices(list(weights), weights=list(weights.values()))[0]
    if rng.random() < 0.7:
        answers["csat"] = str(min(5, max(1, round(score / 2.5) + rng.randint(-1, 1))))
    if rng.random() < 0.6:
        answers["ces"] = str(min(7, max(1, round(score * 0.6) + rng.randint(-1, 1))))
    return answers


def _counted_responses(stack: LocalStack, survey_id: str, first: date, last: date) -> list[dict[str, Any]]:
    """The survey's counted responses first answered in ``first``–``last`` (UTC days), from a table scan."""
    found = []
    for page in aws.client("dynamodb").get_paginator("scan").paginate(TableName=stack.tables["responses"]):
        for item in page["Items"]:
            if "score" not in item or item.get("counted", {}).get("BOOL") is False:
                continue
            if item.get("in_headline", {}).get("BOOL") is False:
                continue  # counted in its channel only, not in the survey-wide figures
            if item.get("survey_id", {}).get("S") != survey_id or "first_answered_at" not in item:
                continue
            if item.get("wave_id", {}).get("S", "").startswith(RESURVEY_WAVE_PREFIX):
                continue  # a follow-up's re-survey answer is not in the aggregates
            if first.isoformat() <= item["first_answered_at"]["S"][:10] <= last.isoformat():
                found.append(item)
    return found


def recount_mismatches(report: Any, items: list[dict[str, Any]]) -> list[str]:
    """Where the driver report (``nps.reporting.drivers.DriversReport``) differs from ``items``, the stored
    responses of its range: responses, CSAT and CES answers, and per driver and theme how many mention it
    and how many detractors, passives and promoters do."""
    mentioned: dict[str, Callable[[dict[str, Any], str], bool]] = {
        "driver": lambda item, reason: item.get("driver", {}).get("S") == reason,
        "theme": lambda item, reason: {"S": reason} in item.get("themes", {}).get("L", []),
    }
    problems = []
    if report.total.counts.n != len(items):
        problems.append(f"responses: report {report.total.counts.n} ≠ recount {len(items)}")
    csat = [int(item["csat"]["N"]) for item in items if "csat" in item]
    if (report.csat.n, report.csat.satisfied.count) != (len(csat), sum(v >= 4 for v in csat)):
        problems.append(f"CSAT: report {report.csat.n} answers ≠ recount {len(csat)}")
    ces = [int(item["ces"]["N"]) for item in items if "ces" in item]
    if (report.ces.n, report.ces.agree.count) != (len(ces), sum(v >= 5 for v in ces)):
        problems.append(f"CES: report {report.ces.n} answers ≠ recount {len(ces)}")
    listed = {(row.dimension, row.reason) for row in report.rows}
    stored = {("driver", item["driver"]["S"]) for item in items if "driver" in item}
    stored |= {("theme", theme["S"]) for item in items for theme in item.get("themes", {}).get("L", [])}
    if listed != stored:
        problems.append(f"reasons: report {sorted(listed)} ≠ recount {sorted(stored)}")
    for row in report.rows:
        mentioning = [item for item in items if mentioned[row.dimension](item, row.reason)]
        counts = Counter(category_of(int(item["score"]["N"])) for item in mentioning)
        m = row.mentions
        got = (row.n, m.detractors.count, m.passives.count, m.promoters.count)
        want = (len(mentioning), counts["detractor"], counts["passive"], counts["promoter"])
        if got != want:
            problems.append(f"{row.dimension}={row.reason}: report {got} ≠ recount {want} (n, detr., pass., prom.)")
    return problems


def check_drivers(stack: LocalStack, survey_id: str, first: date, last: date) -> list[str]:
    """The driver report of ``first``–``last`` (as ``nps drivers`` computes it) against a recount."""
    from nps.reporting.adapters.reads import DynamoAggregateReader
    from nps.reporting.drivers import drivers_report
    from nps.reporting.figures import ReportService
    from nps.reporting.ranges import DateRange

    service = ReportService(DynamoAggregateReader(stack.tables["aggregates"]))
    report = drivers_report(service, survey_id, DateRange(first, last))
    return recount_mismatches(report, _counted_responses(stack, survey_id, first, last))
