"""Surveys table, read side of the respond function: a survey's comment themes, compiled per locale.

The respond function tags each saved comment with the themes of its survey's taxonomy
(:mod:`nps.reasons.themes`). It reads the survey's stored definition (one ``GetItem`` of the
``definition`` attribute, the JSON that ``nps survey put`` validated) and compiles the phrases of one
locale with :func:`nps.reasons.themes.compile_tagger`, without pydantic. Compiled taggers are kept per
process, by survey and locale, for :data:`CACHE_SECONDS` (a taxonomy change reaches a warm function
within that time; the batch re-tag command puts past comments right) and at most :data:`CACHE_SIZE`
entries (least recently used dropped first).

Tagging never loses a comment: a survey that is gone, a definition that cannot be read, a locale
without a stemmer, a comment over the tagger's limit or a failed read all give no themes (``()``).
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from nps.kernel import aws
from nps.reasons.themes import CommentTooLong, EmptyPhrase, Tagger, UnstemmedLocale, compile_tagger

#: How long a compiled taxonomy is used before the definition is read again (seconds; at most 5 min).
CACHE_SECONDS = 120.0
#: Survey × locale taggers a process keeps (a few KB each for a typical taxonomy).
CACHE_SIZE = 64
_DEFINITION = "definition"

logger = logging.getLogger(__name__)


def taxonomy_phrases(definition: Mapping[str, Any], locale: str) -> dict[str, list[str]]:
    """Each theme's phrases in ``locale`` from a stored survey definition (JSON as ``nps survey put``
    wrote it): ``{theme_id: [phrase, ...]}``, themes without phrases there left out. Raises ``ValueError``
    for a ``reasons.themes`` of another shape."""
    reasons = definition.get("reasons") or {}
    themes = reasons.get("themes") if isinstance(reasons, dict) else None
    if not themes:
        return {}
    if not isinstance(themes, list):
        raise ValueError("reasons.themes is not a list")
    found: dict[str, list[str]] = {}
    for theme in themes:
        phrases = theme.get("phrases", {}).get(locale) if isinstance(theme, dict) else None
        if phrases is None:
            continue
        theme_id = theme.get("id")
        if not isinstance(theme_id, str) or not isinstance(phrases, list):
            raise ValueError("a theme has no id or its phrases are not a list")
        found[theme_id] = [phrase for phrase in phrases if isinstance(phrase, str)]
    return found


class DynamoThemeTagger:
    """:class:`nps.responding.service.ThemeTagger` over the surveys table, cached per process."""

    def __init__(self, surveys_table: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.table_name = surveys_table
        self._clock = clock
        self._cache: OrderedDict[tuple[str, str], tuple[float, Tagger | None]] = OrderedDict()
        #: Definitions read (for tests and the cost measurement).
        self.reads = 0

    def tag(self, survey_id: str, locale: str, comment: str) -> tuple[str, ...]:
        """The theme ids of ``comment`` (see :class:`nps.responding.service.ThemeTagger`)."""
        tagger = self._tagger(survey_id, locale)
        if tagger is None:
            return ()
        try:
            return tagger.tag(comment)
        except CommentTooLong:
            return ()

    def _tagger(self, survey_id: str, locale: str) -> Tagger | None:
        key = (survey_id, locale)
        now = self._clock()
        cached = self._cache.get(key)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            self._cache.move_to_end(key)
            return cached[1]
        try:
            tagger = self._compile(survey_id, locale)
        except Exception:
            # A failed read must not lose the comment: it is saved without themes (the re-tag command
            # can add them later), and the next comment reads again. Logged without the comment.
            logger.exception("survey taxonomy unreadable (survey %s): comment saved without themes", survey_id)
            return None
        self._cache[key] = (now, tagger)
        self._cache.move_to_end(key)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return tagger

    def _compile(self, survey_id: str, locale: str) -> Tagger | None:
        self.reads += 1
        item = aws.client("dynamodb").get_item(
            TableName=self.table_name,
            Key={"survey_id": {"S": survey_id}, "sk": {"S": _DEFINITION}},
            ProjectionExpression="#definition",
            ExpressionAttributeNames={"#definition": _DEFINITION},
        )
        text = item.get("Item", {}).get(_DEFINITION, {}).get("S")
        if not text:
            return None
        try:
            phrases = taxonomy_phrases(json.loads(text), locale)
            return compile_tagger(phrases, locale) if phrases else None
        except (UnstemmedLocale, EmptyPhrase, ValueError, AttributeError, TypeError):
            return None  # nothing to tag with in this locale (or a definition we cannot read)
