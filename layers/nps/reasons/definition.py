"""The ``reasons`` block of a survey definition: drivers, CSAT and CES questions, and the theme taxonomy.

``Survey.reasons`` (:mod:`nps.sending.surveys`) is a :class:`Reasons`; its default asks nothing more, so
every survey stored before it stays valid. Shape (JSON, as ``nps survey put`` reads it)::

    "reasons": {
      "drivers": [{"id": "price", "label": {"en": "Price", "de": "Preis"}}, ...],      ≤ 20
      "driver_question": {"en": "What matters most in your score?"},                 optional, per locale
      "csat": {"enabled": true, "question": {"en": "How satisfied were you with your delivery?"}},
      "ces": {"enabled": true, "statement": {"en": "Acme made it easy for me to return an item."}},
      "themes": [{"id": "price", "label": {"en": "Price"},
                  "phrases": {"en": ["price", "too expensive"], "de": ["Preis", "zu teuer"]}}, ...]
    }

Rules checked when a definition is saved (one ``ValueError`` naming every problem, which pydantic reports
under ``reasons``; a stored definition read back with the ``stored`` context skips the stem comparisons):
ids match :data:`~nps.reasons.scales.REASON_ID_PATTERN` and are unique among drivers and among themes;
labels and questions are one line without control or bidirectional characters, not blank; at most
:data:`MAX_DRIVERS` drivers and :data:`MAX_THEMES` themes, :data:`MAX_PHRASES` phrases per theme and
locale, :data:`MAX_PHRASE_LENGTH` characters per phrase and :data:`MAX_TAXONOMY_PHRASES` phrases in all
(so the survey item stays far below DynamoDB's 400 KB); every phrase has a word, its locale a stemmer,
and no two phrases of one locale have the same stems (:func:`nps.reasons.themes.phrase_stems`), within a
theme or across two. The survey checks what needs its locales (:meth:`Reasons.locale_problems`): a label
for each of the survey's locales on every driver and theme, phrases in each of them on every theme.

Texts left out come from the message catalog (``templates/i18n``): ``reason_driver_question``,
``reason_csat_question`` and ``reason_ces_statement`` (with ``{brand}``), and the scale labels;
:meth:`Reasons.questions` resolves them for one locale into plain data a page (or an invite) can carry.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Iterator
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationInfo,
    model_validator,
)

from nps.kernel.normalising import BIDI_CONTROLS
from nps.reasons.questions import FollowUpQuestions, resolve_questions
from nps.reasons.scales import MAX_THEMES_PER_RESPONSE, REASON_ID_PATTERN
from nps.reasons.themes import EmptyPhrase, Stems, Tagger, UnstemmedLocale, compile_tagger, phrase_stems

MAX_DRIVERS = 20
MAX_THEMES = MAX_THEMES_PER_RESPONSE
#: Phrases per theme and locale.
MAX_PHRASES = 100
MAX_PHRASE_LENGTH = 80
MAX_LABEL_LENGTH = 80
MAX_QUESTION_LENGTH = 300
#: Phrases of the whole taxonomy, every locale: 2,000 × 80 characters stay under 200 KB of the item.
MAX_TAXONOMY_PHRASES = 2_000
_NOT_IN_A_LINE = frozenset({"Cc", "Cs", "Zl", "Zp"})


def _one_line(value: str) -> str:
    """A label or question: not blank, one line, no control or bidirectional characters."""
    if not value.strip():
        raise ValueError("must not be blank")
    for index, character in enumerate(value):
        if unicodedata.category(character) in _NOT_IN_A_LINE or character in BIDI_CONTROLS:
            raise ValueError(
                f"must be one line without control or bidirectional characters (U+{ord(character):04X} at"
                f" position {index + 1})"
            )
    return value


ReasonId = Annotated[str, StringConstraints(pattern=REASON_ID_PATTERN)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=MAX_LABEL_LENGTH), AfterValidator(_one_line)]
QuestionText = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_QUESTION_LENGTH), AfterValidator(_one_line)
]
Phrase = Annotated[str, StringConstraints(min_length=1, max_length=MAX_PHRASE_LENGTH), AfterValidator(_one_line)]
#: Text by locale (``{"en": "Price", "de": "Preis"}``).
Labels = Annotated[dict[str, Label], Field(min_length=1)]


class Driver(BaseModel):
    """One answer of the driver question ("What matters most in your score?"): an id and its label per locale."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    id: ReasonId
    label: Labels


class CsatQuestion(BaseModel):
    """The CSAT question (1–5, "How satisfied were you with …"), asked when ``enabled``."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    enabled: bool = True
    #: By locale; a locale without one uses the catalog's ``reason_csat_question``.
    question: dict[str, QuestionText] = Field(default_factory=dict)


class CesQuestion(BaseModel):
    """The CES statement (1–7 agreement, "The company made it easy for me to …"), asked when ``enabled``."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    enabled: bool = True
    #: By locale; a locale without one uses the catalog's ``reason_ces_statement``.
    statement: dict[str, QuestionText] = Field(default_factory=dict)


class Theme(BaseModel):
    """One theme of the taxonomy: its id, its label and the phrases that tag a comment with it, per locale."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    id: ReasonId
    label: Labels
    phrases: Annotated[
        dict[str, Annotated[list[Phrase], Field(min_length=1, max_length=MAX_PHRASES)]], Field(min_length=1)
    ]


class Reasons(BaseModel):
    """What a survey asks after the score, and how its comments are tagged (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    drivers: Annotated[list[Driver], Field(max_length=MAX_DRIVERS)] = Field(default_factory=list)
    driver_question: dict[str, QuestionText] = Field(default_factory=dict)
    csat: CsatQuestion | None = None
    ces: CesQuestion | None = None
    themes: Annotated[list[Theme], Field(max_length=MAX_THEMES)] = Field(default_factory=list)

    #: Compiled taggers by locale: a cache, not part of the definition (see ``__eq__``).
    _taggers: dict[str, Tagger | None] = PrivateAttr(default_factory=dict)

    def __eq__(self, other: object) -> bool:
        # pydantic compares private attributes too: a definition that has tagged a comment must still
        # equal the same definition read again.
        if not isinstance(other, Reasons):
            return NotImplemented
        return self.__dict__ == other.__dict__

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Reasons:
        problems = [*_duplicates("driver", [d.id for d in self.drivers])]
        problems += _duplicates("theme", [t.id for t in self.themes])
        # Stems are compared when a definition is saved, not when a stored one is read back: a newer
        # stemmer that made two saved phrases alike must not make the survey unreadable (its waves would
        # stop); such a phrase then tags both themes.
        if not (info.context and info.context.get("stored")):
            problems += _taxonomy_problems(self.themes)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def driver_ids(self) -> frozenset[str]:
        """The ids a driver answer may take (empty: the survey asks no driver question)."""
        return frozenset(driver.id for driver in self.drivers)

    @property
    def asks_driver(self) -> bool:
        return bool(self.drivers)

    @property
    def asks_csat(self) -> bool:
        return self.csat is not None and self.csat.enabled

    @property
    def asks_ces(self) -> bool:
        return self.ces is not None and self.ces.enabled

    def text_locales(self) -> set[str]:
        """Every locale this block writes text in (the survey refuses those it does not support)."""
        found = {*self.driver_question}
        for driver in self.drivers:
            found.update(driver.label)
        for theme in self.themes:
            found.update(theme.label)
            found.update(theme.phrases)
        if self.csat is not None:
            found.update(self.csat.question)
        if self.ces is not None:
            found.update(self.ces.statement)
        return found

    def locale_problems(self, locales: Collection[str]) -> list[str]:
        """What is missing for a survey offered in ``locales``: a label for each locale on every driver
        and theme, and phrases in each locale on every theme (a theme without them would silently never
        be found in that locale's comments, and its counts would not compare across locales)."""
        problems: list[str] = []
        for kind, items in (("driver", self.drivers), ("theme", self.themes)):
            for item in items:
                missing = sorted(set(locales).difference(item.label))
                if missing:
                    problems.append(f"{kind} {item.id!r} has no label in {', '.join(missing)}")
        for theme in self.themes:
            missing = sorted(set(locales).difference(theme.phrases))
            if missing:
                problems.append(f"theme {theme.id!r} has no phrases in {', '.join(missing)}")
        return problems

    def questions(self, locale: str, brand: str) -> FollowUpQuestions:
        """What a page in ``locale`` (one of the survey's locales) asks after the score: the survey's
        texts, else the catalog's (``{brand}`` filled in with ``brand``); labels in ``locale``, else in
        the first locale a label was written in (a survey has one for each of its locales)."""
        return resolve_questions(
            locale,
            brand,
            drivers=[(d.id, d.label) for d in self.drivers],
            driver_question=self.driver_question,
            csat_question=self.csat.question if self.asks_csat and self.csat is not None else None,
            ces_statement=self.ces.statement if self.asks_ces and self.ces is not None else None,
        )

    def phrases_in(self, locale: str) -> dict[str, list[str]]:
        """Each theme's phrases in ``locale`` (themes without any there are left out)."""
        return {theme.id: theme.phrases[locale] for theme in self.themes if locale in theme.phrases}

    def tagger(self, locale: str) -> Tagger | None:
        """The compiled taxonomy for comments in ``locale`` (the survey's locale code, e.g. ``"de"``),
        built on first use and kept on this definition; None when no theme has phrases in it."""
        if locale not in self._taggers:
            phrases = self.phrases_in(locale)
            self._taggers[locale] = compile_tagger(phrases, locale) if phrases else None
        return self._taggers[locale]

    def tag(self, comment: str, locale: str) -> tuple[str, ...]:
        """The theme ids of a comment written in ``locale``, sorted and unique (``()`` without themes).

        Raises :class:`~nps.reasons.themes.CommentTooLong` past the comment limit."""
        tagger = self.tagger(locale)
        return tagger.tag(comment) if tagger is not None else ()


def _duplicates(kind: str, ids: list[str]) -> Iterator[str]:
    seen: set[str] = set()
    for item_id in ids:
        if item_id in seen:
            yield f"{kind} id {item_id!r} is listed twice"
        seen.add(item_id)


def _taxonomy_problems(themes: list[Theme]) -> list[str]:
    """Phrases that cannot be matched or are the same as another phrase of the same locale once stemmed."""
    problems: list[str] = []
    total = sum(len(phrases) for theme in themes for phrases in theme.phrases.values())
    if total > MAX_TAXONOMY_PHRASES:
        problems.append(f"the themes have {total} phrases; at most {MAX_TAXONOMY_PHRASES} in all locales")
        return problems
    owners: dict[tuple[str, Stems], tuple[str, str]] = {}
    for theme in themes:
        for locale, phrases in sorted(theme.phrases.items()):
            for phrase in phrases:
                try:
                    stems = phrase_stems(phrase, locale)
                except UnstemmedLocale as error:
                    problems.append(f"theme {theme.id!r} ({locale}): {error}")
                    break
                except EmptyPhrase:
                    problems.append(f"theme {theme.id!r} ({locale}): the phrase {phrase!r} has no word to match")
                    continue
                owner = owners.get((locale, stems))
                if owner is None:
                    owners[(locale, stems)] = (theme.id, phrase)
                else:
                    where = "already in this theme" if owner[0] == theme.id else f"also in theme {owner[0]!r}"
                    problems.append(
                        f"theme {theme.id!r} ({locale}): the phrase {phrase!r} is the same as {owner[1]!r} once"
                        f" stemmed ({' '.join(stems)}), {where}"
                    )
    return problems
