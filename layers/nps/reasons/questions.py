"""The follow-up questions of one survey in one locale, as a page shows them: plain data, no pydantic.

``survey.reasons.questions(locale, brand=survey.brand_name)`` resolves each text (the survey's own, else
the message catalog's with the brand name) into a :class:`FollowUpQuestions`. It is small (at most 20
drivers × 80 characters and three 300-character texts, under 3 KB), so a later step can copy it onto an
invite beside its page brand (``to_item``), as the planner copies the brand: a tap then reads no survey and
loads no pydantic, and ``from_item`` reads the copy back, checking its shape. It offers the driver ids
:func:`nps.reasons.answers.parse_driver` needs.

:func:`resolve_questions` is the one place the texts are chosen (the survey's, else the catalog's): the
pydantic definition uses it, and :func:`stored_questions` reads the same from a survey's stored JSON for the
functions that load no pydantic (the web prompt and the share link read the definition as JSON).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nps.kernel.locales import catalog
from nps.reasons.scales import REASON_ID_PATTERN

#: Bounds a stored copy must respect (the definition's own limits).
_MAX_DRIVERS = 20
_MAX_LABEL = 80
_MAX_TEXT = 300
_ID = re.compile(REASON_ID_PATTERN)


def _is_id(value: object) -> bool:
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def _text(item: Mapping[str, Any], key: str, limit: int) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise ValueError(f"follow-up questions: {key} must be a non-blank text of at most {limit} characters")
    return value


@dataclass(frozen=True, slots=True)
class FollowUpQuestions:
    """What to ask after the score in one locale. A None text (or no drivers) means "not asked".

    ``drivers``: (id, label) pairs in the survey's order; ``driver_question`` is set exactly when there
    are drivers. Texts are the survey's or the catalog's, unescaped: templates escape them."""

    locale: str
    drivers: tuple[tuple[str, str], ...] = ()
    driver_question: str | None = None
    csat_question: str | None = None
    ces_statement: str | None = None

    @property
    def driver_ids(self) -> frozenset[str]:
        """The ids a driver answer may take (for :func:`nps.reasons.answers.parse_driver`)."""
        return frozenset(driver_id for driver_id, _ in self.drivers)

    @property
    def asks_csat(self) -> bool:
        return self.csat_question is not None

    @property
    def asks_ces(self) -> bool:
        return self.ces_statement is not None

    @property
    def asks_anything(self) -> bool:
        return bool(self.drivers) or self.csat_question is not None or self.ces_statement is not None

    def to_item(self) -> dict[str, Any]:
        """A JSON- and DynamoDB-ready map (strings and lists only; absent texts left out)."""
        item: dict[str, Any] = {"locale": self.locale}
        if self.drivers:
            item["drivers"] = [[driver_id, label] for driver_id, label in self.drivers]
        for key in ("driver_question", "csat_question", "ces_statement"):
            value = getattr(self, key)
            if value is not None:
                item[key] = value
        return item

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> FollowUpQuestions:
        """Read back a :meth:`to_item` map. Raises ``ValueError`` for any other shape (a foreign or damaged
        copy asks nothing rather than something wrong: callers may treat the error as "no questions")."""
        locale = item.get("locale")
        if not isinstance(locale, str) or not 1 <= len(locale) <= 35:
            raise ValueError("follow-up questions: locale must be a locale tag")
        raw_drivers = item.get("drivers", [])
        if not isinstance(raw_drivers, list) or len(raw_drivers) > _MAX_DRIVERS:
            raise ValueError(f"follow-up questions: drivers must be a list of at most {_MAX_DRIVERS}")
        drivers: list[tuple[str, str]] = []
        for entry in raw_drivers:
            if not (isinstance(entry, list | tuple) and len(entry) == 2 and _is_id(entry[0])):
                raise ValueError("follow-up questions: each driver must be [id, label]")
            label = entry[1]
            if not isinstance(label, str) or not label.strip() or len(label) > _MAX_LABEL:
                raise ValueError(f"follow-up questions: a driver label must be a text of at most {_MAX_LABEL}")
            drivers.append((entry[0], label))
        if len({driver_id for driver_id, _ in drivers}) != len(drivers):
            raise ValueError("follow-up questions: a driver id is listed twice")
        driver_question = _text(item, "driver_question", _MAX_TEXT)
        if (driver_question is None) != (not drivers):
            raise ValueError("follow-up questions: a driver question goes with drivers")
        return cls(
            locale=locale,
            drivers=tuple(drivers),
            driver_question=driver_question,
            csat_question=_text(item, "csat_question", _MAX_TEXT),
            ces_statement=_text(item, "ces_statement", _MAX_TEXT),
        )

    def to_attribute(self) -> dict[str, Any]:
        """:meth:`to_item` as a DynamoDB map attribute value (``{"M": ...}``), as an invite stores it."""
        return _typed(self.to_item())

    @classmethod
    def from_attribute(cls, value: Mapping[str, Any] | None) -> FollowUpQuestions | None:
        """The copy stored by :meth:`to_attribute`; None when there is none (an invite planned before
        follow-up questions existed, or a survey that asks none) or when it is not a well-formed copy
        (a damaged copy asks nothing rather than something wrong)."""
        if not value or "M" not in value:
            return None
        try:
            return cls.from_item(_plain(value))
        except (ValueError, TypeError, AttributeError):
            return None


def resolve_questions(
    locale: str,
    brand: str,
    *,
    drivers: Sequence[tuple[str, Mapping[str, str]]] = (),
    driver_question: Mapping[str, str] | None = None,
    csat_question: Mapping[str, str] | None = None,
    ces_statement: Mapping[str, str] | None = None,
) -> FollowUpQuestions:
    """What a page in ``locale`` asks after the score: each text the survey's in ``locale``, else the
    catalog's (``reason_driver_question``, ``reason_csat_question`` and ``reason_ces_statement`` with
    ``{brand}`` filled in); driver labels in ``locale``, else in the first locale one was written in.

    ``drivers``: (id, labels by locale) in the survey's order; ``csat_question`` / ``ces_statement``: the
    survey's texts by locale when the question is asked (an empty map: asked, in the catalog's words),
    None when it is not. Raises ``KeyError`` for a locale without a catalog."""
    messages = catalog(locale)
    resolved = tuple((driver_id, labels.get(locale) or next(iter(labels.values()))) for driver_id, labels in drivers)
    driver_text = csat_text = ces_text = None
    if resolved:
        driver_text = (driver_question or {}).get(locale) or messages["reason_driver_question"]
    if csat_question is not None:
        csat_text = csat_question.get(locale) or messages["reason_csat_question"].format(brand=brand)
    if ces_statement is not None:
        ces_text = ces_statement.get(locale) or messages["reason_ces_statement"].format(brand=brand)
    return FollowUpQuestions(
        locale=locale,
        drivers=resolved,
        driver_question=driver_text,
        csat_question=csat_text,
        ces_statement=ces_text,
    )


def stored_questions(reasons: object, locale: str, brand: str) -> FollowUpQuestions | None:
    """The follow-up questions of a survey's stored ``reasons`` block (the JSON ``nps survey put`` wrote,
    validated then) in ``locale``, as :meth:`nps.reasons.definition.Reasons.questions` resolves them; None
    when the survey asks none (no block, no drivers, CSAT and CES off) or when the block is not of the
    stored shape (a damaged definition asks nothing rather than something wrong)."""
    if not isinstance(reasons, Mapping):
        return None
    try:
        drivers = [(str(d["id"]), _labels(d["label"])) for d in reasons.get("drivers") or ()]
        questions = resolve_questions(
            locale,
            brand,
            drivers=drivers,
            driver_question=_labels(reasons.get("driver_question") or {}, allow_empty=True),
            csat_question=_asked(reasons.get("csat"), "question"),
            ces_statement=_asked(reasons.get("ces"), "statement"),
        )
        # The same checks as a copy read back from an invite: a damaged block asks nothing.
        questions = FollowUpQuestions.from_item(questions.to_item())
    except (KeyError, TypeError, ValueError, AttributeError, StopIteration):
        return None
    return questions if questions.asks_anything else None


def _labels(value: object, *, allow_empty: bool = False) -> dict[str, str]:
    if not isinstance(value, Mapping) or not (value or allow_empty):
        raise ValueError("texts by locale must be a non-empty map")
    return {str(key): text for key, text in value.items() if isinstance(text, str)}


def _asked(block: object, key: str) -> dict[str, str] | None:
    """A stored CSAT or CES block's texts when it is asked (enabled), else None."""
    if not isinstance(block, Mapping) or not block.get("enabled", True):
        return None
    return _labels(block.get(key) or {}, allow_empty=True)


def _typed(value: Any) -> dict[str, Any]:
    """Plain strings, lists and maps as DynamoDB attribute values."""
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, list | tuple):
        return {"L": [_typed(entry) for entry in value]}
    if isinstance(value, dict):
        return {"M": {key: _typed(entry) for key, entry in value.items()}}
    raise TypeError(f"follow-up questions hold texts, lists and maps, not {type(value).__name__}")


def _plain(value: Mapping[str, Any]) -> Any:
    """A DynamoDB attribute value of strings, lists and maps as plain Python (ValueError for other types)."""
    if len(value) != 1:
        raise ValueError("follow-up questions: not an attribute value")
    if "S" in value:
        return value["S"]
    if "L" in value:
        return [_plain(entry) for entry in value["L"]]
    if "M" in value:
        return {key: _plain(entry) for key, entry in value["M"].items()}
    raise ValueError("follow-up questions hold texts, lists and maps only")
