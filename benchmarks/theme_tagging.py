"""Comment themes: tagging 1,000 comments with a 50-theme taxonomy, per locale, in one process.

A synthetic taxonomy of 50 themes × 10 phrases (one word and nine two-word phrases each) and 1,000 comments of 5–60
words drawn from the phrases' words, their inflections and filler words (seeded, so every run tags the
same text). Timed: compiling the taxonomy (``compile_tagger``), tagging every comment with an empty stem
cache (a fresh function's first comments) and again warm (the cache filled: a function that has seen
these words); and, for scale, stemming every word of the comments without the cache (what a function
would pay if no word repeated). Baseline, same run: tokenising the same comments (NFKC, case folding, the word regex)
without stemming or matching, the least any tagging must do. CPU time (``time.process_time``), median
of 5.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.report import Figure

THEMES = 50
PHRASES_PER_THEME = 10
COMMENTS = 1_000
_STEMS = {
    "en": "price bill invoice support agent answer delivery parcel refund login password app screen speed "
    "quality product feature report export setup onboarding training contract renewal discount plan "
    "account email message update crash error mobile tablet desk team manager call chat wait queue "
    "package label return warranty repair size colour fabric stock order",
    "es": "precio factura soporte agente respuesta entrega paquete reembolso acceso clave aplicación pantalla "
    "velocidad calidad producto función informe exportación instalación formación contrato renovación "
    "descuento plan cuenta correo mensaje actualización fallo error móvil equipo gerente llamada espera",
    "de": "Preis Rechnung Support Mitarbeiter Antwort Lieferung Paket Erstattung Anmeldung Passwort "
    "Anwendung Bildschirm Geschwindigkeit Qualität Produkt Funktion Bericht Export Einrichtung Schulung "
    "Vertrag Verlängerung Rabatt Tarif Konto Nachricht Aktualisierung Absturz Fehler Größe Farbe Bestellung",
}
_FILLER = {
    "en": "the a was is and but very really too not so it my our with for of to in on quite always never",
    "es": "el la los las fue es y pero muy demasiado no tan mi nuestro con para de en siempre nunca",
    "de": "der die das war ist und aber sehr zu nicht so mein unser mit für von in auf immer nie",
}
_SUFFIXES = {"en": ["", "s", "ing", "ed"], "es": ["", "s"], "de": ["", "e", "en"]}


@dataclass(frozen=True, slots=True)
class TaggingResult:
    """``warm``: 1,000 comments tagged with the stem cache filled (ms), vs tokenising only; ``cold`` and
    ``compile`` in the detail."""

    warm: Figure
    detail: dict[str, dict[str, float]]


def taxonomy(locale: str, seed: int = 16) -> dict[str, list[str]]:
    """50 themes of 10 phrases in ``locale``: one word (the list's words in turn) and nine distinct pairs."""
    rng = random.Random(seed)
    words = _STEMS[locale].split(" ")
    phrases: dict[str, list[str]] = {}
    used: set[str] = set()
    for index in range(THEMES):
        own = [words[index % len(words)]]
        while len(own) < PHRASES_PER_THEME:
            phrase = f"{rng.choice(words)} {rng.choice(words)}"
            if phrase not in used:
                used.add(phrase)
                own.append(phrase)
        phrases[f"t{index:02d}"] = own
    return phrases


def comments(locale: str, count: int = COMMENTS, seed: int = 42) -> list[str]:
    """``count`` comments of 5–60 words: phrase words (inflected) and filler words, with punctuation."""
    rng = random.Random(seed)
    words = _STEMS[locale].split(" ")
    filler = _FILLER[locale].split(" ")
    written: list[str] = []
    for _ in range(count):
        length = rng.randint(5, 60)
        text = [
            rng.choice(words) + rng.choice(_SUFFIXES[locale]) if rng.random() < 0.4 else rng.choice(filler)
            for _ in range(length)
        ]
        written.append(" ".join(text).capitalize() + rng.choice([".", "!", "?", ", thanks."]))
    return written


def _cpu_ms(action: Callable[[], object]) -> float:
    started = time.process_time()
    action()
    return 1000.0 * (time.process_time() - started)


def _locale(locale: str, repeats: int) -> dict[str, float]:
    """The figures of one locale (median of ``repeats``)."""
    from nps.reasons import themes

    phrases, texts = taxonomy(locale), comments(locale)
    language = themes.stemmer_language(locale) or ""
    themes.stems("warm up the import", locale)  # the import of snowballstemmer is not the figure
    stemmer = themes._stemmer(language)  # the stemmer itself, without the cache
    words = [word for text in texts for word in themes.tokens(text, language)]
    timings: dict[str, list[float]] = {"compile": [], "cold": [], "warm": [], "tokenise": [], "uncached": []}
    tagger = themes.compile_tagger(phrases, locale)

    def tag_all() -> list[tuple[str, ...]]:
        return [tagger.tag(text) for text in texts]

    for _ in range(repeats):
        themes._stem_function.cache_clear()  # an empty stem cache, as in a fresh function
        timings["compile"].append(_cpu_ms(lambda: themes.compile_tagger(phrases, locale)))
        themes._stem_function.cache_clear()
        timings["cold"].append(_cpu_ms(tag_all))
        timings["warm"].append(_cpu_ms(tag_all))
        timings["tokenise"].append(_cpu_ms(lambda: [themes.tokens(text, language) for text in texts]))
        timings["uncached"].append(_cpu_ms(lambda: [stemmer.stemWord(word) for word in words]))
    return {
        "compile_ms": statistics.median(timings["compile"]),
        "cold_ms": statistics.median(timings["cold"]),
        "warm_ms": statistics.median(timings["warm"]),
        "tokenise_ms": statistics.median(timings["tokenise"]),
        "stem_every_word_uncached_ms": statistics.median(timings["uncached"]),
        "comments_tagged": float(sum(1 for tags in tag_all() if tags)),
        "words": float(len(words)),
    }


def run(repeats: int = 5) -> TaggingResult:
    """Compile, cold and warm tagging per locale (median of ``repeats``); the figure is English warm."""
    detail = {locale: _locale(locale, repeats) for locale in ("en", "es", "de")}
    english = detail["en"]
    return TaggingResult(
        warm=Figure(
            name=f"tag {COMMENTS:,} comments × {THEMES} themes (en, warm)",
            unit="ms",
            measured=english["warm_ms"],
            baseline_name="tokenise only",
            baseline=english["tokenise_ms"],
            detail={"per_locale": detail},
        ),
        detail=detail,
    )


if __name__ == "__main__":
    result = run()
    for locale, figures in result.detail.items():
        print(locale, {name: round(value, 1) for name, value in figures.items()})
