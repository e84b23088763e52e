"""The prompt's texts and brand, as the eligibility answer carries them to the widget.

Texts come from the survey (its question and follow-up question in the locale) or the message catalog
(``web_*`` keys, in every catalog); ``score_label`` is a template with ``{score}``.
"""

from __future__ import annotations

from typing import Any

from nps.channels.eligibility import WebSurvey
from nps.kernel.locales import catalog, resolve_locale, text_direction

_LABELS = {
    "low": "web_low",
    "high": "web_high",
    "close": "web_close",
    "send": "web_send",
    "skip": "web_skip",
    "thanks": "web_thanks",
    "comment_label": "web_comment_label",
    "score_label": "web_score_label",
    "error": "web_error",
    "retry": "web_retry",
}


def prompt(survey: WebSurvey, locale: str) -> dict[str, Any]:
    """The ``prompt`` object of an eligibility answer (the shape in docs/web-channel.md) in ``locale``."""
    shown = resolve_locale(locale)
    texts = catalog(shown)
    return {
        "locale": shown,
        "dir": text_direction(shown),
        "question": survey.question.get(locale) or texts["picker_question"],
        "follow_up_question": survey.follow_up_question.get(locale) or texts["comment_question"],
        "brand": {"name": survey.brand_name, "colour": survey.brand_colour, "logo_url": survey.logo_url},
        "labels": {name: texts[key] for name, key in _LABELS.items()},
    }
