"""Comment themes: a survey's taxonomy (theme → phrases per locale) matched on word stems.

A :class:`Tagger` is compiled once per survey and locale from the theme's phrases in that locale
(:func:`compile_tagger`, or ``Reasons.tagger(locale)`` which caches it on the definition) and then tags
each comment: ``tagger.tag("Support was slow")`` → ``("support",)``, the ids of the themes whose phrases
occur in it, sorted and unique (the ``themes`` field of a response; aggregated as ``theme=<id>``).

How text becomes stems (the same steps for phrases and comments, so a comment that *is* a phrase is
always tagged with it):

1. NFKC (``ﬁ`` → ``fi``, full-width letters → ASCII), case folding (``Straße`` → ``strasse``), NFKC again
   (Unicode Standard Annex #15; Unicode Standard §5.18 "Case Mappings"); typographic apostrophes become ``'``;
   invisible format characters inside words (soft hyphen, zero-width space and joiners, word joiner, byte
   order mark, bidirectional marks) are removed, so ``sup\u00adport`` is ``support``.
2. English only: accents are removed (``café`` → ``cafe``, ``naïve`` → ``naive``): the English Snowball
   stemmer works on ASCII. Spanish and German keep theirs, because their stemmers expect them: the Spanish
   stemmer itself folds ``á é í ó ú`` (``fácil`` and ``facil`` both stem to ``facil``) but keeps ``ñ``
   (``año`` ≠ ``ano``), and the German one folds ``ä ö ü`` and ``ß`` (``Größe``, ``grösse`` and ``groesse``
   all stem to ``gross``). Sources: snowballstem.org, the English, Spanish and German algorithms.
3. Tokens are runs of letters and digits (``str.isalnum``, so any script), joined across an apostrophe
   (``don't``); everything else separates words (``follow-up`` is ``follow`` ``up``).
4. Each token is reduced to its stem with the Snowball stemmer of the locale's language
   (``snowballstemmer``, pure Python; :data:`STEMMER_LANGUAGES`: ``en``/``en-GB`` → english, ``es`` →
   spanish, ``de`` → german). A locale without a stemmer raises :class:`UnstemmedLocale`.

Matching: a phrase matches where its stems occur as *consecutive whole tokens* of the comment, never as a
substring: ``price`` matches "prices" and "pricing" (all stem to ``price``) but not "priceless" (stem
``priceless``); ``slow support`` matches "slow support" but not "support was slow" (a longer phrase's
stems must follow each other in its order). Stemming also conflates some unrelated words
("university" and "universe" are both ``univers``): write phrases of two words where one is ambiguous.
Stop words are not removed, so ``the app`` needs "the" before "app".

Negation is not handled: "not expensive at all" is tagged with the theme of ``expensive``. Themes say what
a comment is *about*, not whether it praises or blames it; the driver report crosses them with the
score's category, and Amazon Comprehend sentiment (optional, a later step) says more.

Cost: ``snowballstemmer`` is imported on the first stem (~20 ms, it loads every language), not with this
module; stems are cached per language (:data:`STEM_CACHE_SIZE` words), so a warm function stems each
distinct word once. A Snowball stemmer object keeps state while it stems: one per language per process,
which suits Lambda (one request at a time); do not share a tagger across threads.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from nps.kernel.categories import MAX_COMMENT_LENGTH

#: Locale language (ISO 639-1) → Snowball algorithm. A survey locale's language part decides
#: (``en-GB`` → ``en`` → english). Adding a language is one line here and its tests.
STEMMER_LANGUAGES: Mapping[str, str] = {"de": "german", "en": "english", "es": "spanish"}
#: Languages whose text loses its accents before stemming (their Snowball stemmer works on ASCII).
_ACCENTLESS = frozenset({"english"})
#: Distinct words whose stems each language keeps (a few MB at most; comments repeat their words).
STEM_CACHE_SIZE = 50_000
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
#: Unicode format characters (general category Cf) that may sit invisibly inside a word.
_FORMAT = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\uff07": "'"})

Stems = tuple[str, ...]


class UnstemmedLocale(ValueError):
    """A locale whose language has no stemmer here (phrases and comments in it cannot be tagged)."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        super().__init__(
            f"no stemmer for locale {locale!r}; themes can be matched in {', '.join(sorted(STEMMER_LANGUAGES))}"
        )


class EmptyPhrase(ValueError):
    """A phrase without a single word (empty, blank or punctuation only)."""


class CommentTooLong(ValueError):
    """A comment longer than :data:`nps.kernel.categories.MAX_COMMENT_LENGTH` characters was given to tag."""


def stemmer_language(locale: str) -> str | None:
    """The Snowball algorithm for ``locale`` (``"en-GB"`` → ``"english"``), or None when there is none."""
    language = locale.strip().replace("_", "-").lower().split("-")[0]
    return STEMMER_LANGUAGES.get(language)


def _language(locale: str) -> str:
    language = stemmer_language(locale)
    if language is None:
        raise UnstemmedLocale(locale)
    return language


def normalise(text: str, language: str) -> str:
    """``text`` as stems are taken from it: NFKC, case-folded, accents removed for English (see above)."""
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    text = text.translate(_APOSTROPHES)
    if _FORMAT.search(text):
        # Invisible format characters (soft hyphen, zero-width space and joiners, word joiner, BOM)
        # pasted inside a word would split it: the word is the one it shows.
        text = _FORMAT.sub("", text)
    if language in _ACCENTLESS:
        decomposed = unicodedata.normalize("NFD", text)
        text = unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))
    return text


def tokens(text: str, language: str) -> list[str]:
    """The words of ``text`` after :func:`normalise`, in order (``"Follow-up, please!"`` → follow, up, please)."""
    return _TOKEN.findall(normalise(text, language))


@cache
def _stemmer(language: str) -> Any:
    # ~20 ms (it loads every language): imported by the first stem, not with this module.
    import snowballstemmer

    return snowballstemmer.stemmer(language)


@cache
def _stem_function(language: str) -> Any:
    stemmer = _stemmer(language)

    @lru_cache(maxsize=STEM_CACHE_SIZE)
    def stem(word: str) -> str:
        result: str = stemmer.stemWord(word)
        return result

    return stem


def stems(text: str, locale: str) -> Stems:
    """The stems of ``text``'s words in the language of ``locale``, in order.

    Raises :class:`UnstemmedLocale` when the locale's language has no stemmer."""
    language = _language(locale)
    stem = _stem_function(language)
    return tuple(stem(word) for word in tokens(text, language))


def phrase_stems(phrase: str, locale: str) -> Stems:
    """The stems a phrase matches (its identity: two phrases with the same stems are the same phrase).

    Raises :class:`EmptyPhrase` when it has no word, :class:`UnstemmedLocale` without a stemmer."""
    found = stems(phrase, locale)
    if not found:
        raise EmptyPhrase(f"the phrase {phrase!r} has no word to match")
    return found


@dataclass(frozen=True, slots=True)
class Tagger:
    """The compiled phrases of one taxonomy in one locale; :meth:`tag` is what callers use.

    ``single``: a one-word phrase's stem → its themes; ``multi``: a longer phrase's first stem → (the
    following stems, their themes). Build it with :func:`compile_tagger`.
    """

    locale: str
    single: Mapping[str, frozenset[str]] = field(default_factory=dict)
    multi: Mapping[str, tuple[tuple[Stems, frozenset[str]], ...]] = field(default_factory=dict)

    @property
    def theme_ids(self) -> frozenset[str]:
        """Every theme this tagger can tag."""
        found: set[str] = set()
        for ids in self.single.values():
            found |= ids
        for entries in self.multi.values():
            for _, ids in entries:
                found |= ids
        return frozenset(found)

    def tag(self, comment: str) -> tuple[str, ...]:
        """The ids of the themes whose phrases occur in ``comment``, sorted and unique (empty for an
        empty comment or none found).

        Raises :class:`CommentTooLong` past :data:`~nps.kernel.categories.MAX_COMMENT_LENGTH` characters
        (the longest comment an answer may carry), so nothing unbounded is ever stemmed."""
        if len(comment) > MAX_COMMENT_LENGTH:
            raise CommentTooLong(f"a comment has at most {MAX_COMMENT_LENGTH} characters")
        if not self.single and not self.multi:
            return ()
        words = stems(comment, self.locale)
        found: set[str] = set()
        single, multi = self.single, self.multi
        for index, stem in enumerate(words):
            ids = single.get(stem)
            if ids is not None:
                found |= ids
            entries = multi.get(stem)
            if entries is not None:
                for rest, phrase_ids in entries:
                    if words[index + 1 : index + 1 + len(rest)] == rest:
                        found |= phrase_ids
        return tuple(sorted(found))


def compile_tagger(phrases: Mapping[str, Iterable[str]], locale: str) -> Tagger:
    """A :class:`Tagger` for ``locale`` from each theme id's phrases in that locale.

    ``phrases``: ``{theme_id: ["price", "too expensive", ...]}``. A phrase shared by two themes tags
    both (the survey definition refuses such taxonomies; a stemmer upgrade could make one). The result
    does not depend on the order of themes or phrases. Raises :class:`UnstemmedLocale` and
    :class:`EmptyPhrase`."""
    _language(locale)
    single: dict[str, set[str]] = {}
    multi: dict[str, dict[Stems, set[str]]] = {}
    for theme_id, theme_phrases in phrases.items():
        for phrase in theme_phrases:
            found = phrase_stems(phrase, locale)
            if len(found) == 1:
                single.setdefault(found[0], set()).add(theme_id)
            else:
                multi.setdefault(found[0], {}).setdefault(found[1:], set()).add(theme_id)
    return Tagger(
        locale=locale,
        single={stem: frozenset(ids) for stem, ids in single.items()},
        multi={
            stem: tuple((rest, frozenset(ids)) for rest, ids in sorted(entries.items()))
            for stem, entries in multi.items()
        },
    )
