"""The prompt's texts and brand, as the eligibility answer carries them to the widget.

Texts come from the survey (its question and follow-up question in the locale) or the message catalog
(``web_*`` keys, in every catalog); ``score_label`` is a template with ``{score}``. A survey that asks
follow-up questions (driver, CSAT, CES: :mod:`nps.reasons.questions`) carries them in ``questions``, in the
prompt's locale, so the widget shows them after the score without another request (at most about 3 KB:
20 drivers of 80 characters and three 300-character texts).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from nps.kernel.locales import catalog, resolve_locale, text_direction

if TYPE_CHECKING:
    from nps.channels.eligibility import WebSurvey
    from nps.reasons.questions import FollowUpQuestions

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


def follow_up(questions: FollowUpQuestions | None, texts: Mapping[str, str]) -> dict[str, Any] | None:
    """The ``questions`` object of a prompt: only the questions asked (None when none is), with the scale
    hints of ``texts`` (the prompt locale's catalog)."""
    if questions is None or not questions.asks_anything:
        return None
    found: dict[str, Any] = {}
    if questions.drivers:
        found["driver"] = {
            "question": questions.driver_question,
            "choices": [{"id": driver_id, "label": label} for driver_id, label in questions.drivers],
        }
    if questions.csat_question is not None:
        found["csat"] = {
            "question": questions.csat_question,
            "low": texts["reason_csat_low"],
            "high": texts["reason_csat_high"],
        }
    if questions.ces_statement is not None:
        found["ces"] = {
            "question": questions.ces_statement,
            "low": texts["reason_ces_low"],
            "high": texts["reason_ces_high"],
        }
    return found


def prompt(survey: WebSurvey, locale: str) -> dict[str, Any]:
    """The ``prompt`` object of an eligibility answer (the shape in docs/web-channel.md) in ``locale``;
    ``questions`` only when the survey asks follow-up questions."""
    shown = resolve_locale(locale)
    texts = catalog(shown)
    questions = follow_up(survey.follow_up_questions(locale), texts)
    return {
        "locale": shown,
        "dir": text_direction(shown),
        "question": survey.question.get(locale) or texts["picker_question"],
        "follow_up_question": survey.follow_up_question.get(locale) or texts["comment_question"],
        "brand": {"name": survey.brand_name, "colour": survey.brand_colour, "logo_url": survey.logo_url},
        "labels": {name: texts[key] for name, key in _LABELS.items()},
    } | ({"questions": questions} if questions is not None else {})
