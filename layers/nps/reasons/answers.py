"""Follow-up answers from untrusted input: the driver chosen, the CSAT and the CES values.

Form fields and JSON bodies arrive as strings (or ``None`` when absent). Each parser returns the value to
record or raises a typed error, a subclass of :class:`InvalidAnswer` (a ``ValueError``) with a stable
``code`` and the ``field`` it concerns, which the pages and APIs map to their bad-input responses
(HTTP 400 with ``{"error": code, "field": field}``, or the page that says what to fix). Nothing is recorded
from a value that raised. Messages never repeat the input: it is untrusted and may be anything.

Strict like :func:`nps.kernel.categories.parse_score`: a scale value is one ASCII digit (``"٣"``, ``"+4"``,
``" 4"``, ``"04"`` and ``"4.0"`` are refused), and a driver is one of the survey's ids exactly (case
matters, no trimming). Pure and free of pydantic: the respond path imports it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from nps.reasons.scales import CES_MAX, CES_MIN, CSAT_MAX, CSAT_MIN

if TYPE_CHECKING:
    from nps.reasons.questions import FollowUpQuestions


class InvalidAnswer(ValueError):
    """A follow-up answer that cannot be recorded; ``code`` and ``field`` name it for an error response."""

    code = "invalid_answer"
    field = ""


class UnknownDriver(InvalidAnswer):
    """The driver is not one of the survey's (or the survey asks for none)."""

    code = "unknown_driver"
    field = "driver"


class CsatOutOfRange(InvalidAnswer):
    """A CSAT value that is not one digit from 1 to 5."""

    code = "csat_out_of_range"
    field = "csat"


class CesOutOfRange(InvalidAnswer):
    """A CES value that is not one digit from 1 to 7."""

    code = "ces_out_of_range"
    field = "ces"


class QuestionNotAsked(InvalidAnswer):
    """An answer to a question the survey does not ask (CSAT or CES switched off): never recorded."""

    code = "question_not_asked"

    def __init__(self, field: str) -> None:
        self.field = field
        super().__init__(f"this survey does not ask for {field}")


class OffersDrivers(Protocol):
    """What :func:`parse_driver` needs of a survey's follow-up questions: the ids a driver may take.

    :class:`nps.reasons.definition.Reasons` (``survey.reasons``) has it; so can a plain copy of the
    drivers made for a page (the respond path reads no survey and loads no pydantic)."""

    @property
    def driver_ids(self) -> Collection[str]: ...


def parse_driver(reasons: OffersDrivers, raw: str | None) -> str:
    """The driver id ``raw`` names, exactly one of ``reasons.driver_ids``.

    Raises :class:`UnknownDriver` for anything else: None, empty, an id of another survey, another case."""
    ids = reasons.driver_ids
    if raw is None or not ids or raw not in ids:
        raise UnknownDriver("the driver is not one of this survey's choices")
    return raw


def _digit(raw: str | None, low: int, high: int) -> int | None:
    if raw is None or len(raw) != 1 or not ("0" <= raw <= "9"):
        return None
    value = int(raw)
    return value if low <= value <= high else None


def parse_csat(raw: str | None, *, asked: bool = True) -> int:
    """A CSAT answer, 1 (very dissatisfied) … 5 (very satisfied), from one ASCII digit.

    ``asked``: whether the survey asks it (``survey.reasons.asks_csat``); raises :class:`QuestionNotAsked`
    when not, :class:`CsatOutOfRange` for anything but a digit from 1 to 5."""
    if not asked:
        raise QuestionNotAsked("csat")
    value = _digit(raw, CSAT_MIN, CSAT_MAX)
    if value is None:
        raise CsatOutOfRange(f"CSAT must be a whole number from {CSAT_MIN} to {CSAT_MAX}")
    return value


def parse_ces(raw: str | None, *, asked: bool = True) -> int:
    """A CES answer, 1 (strongly disagree) … 7 (strongly agree), from one ASCII digit.

    ``asked``: whether the survey asks it (``survey.reasons.asks_ces``); raises :class:`QuestionNotAsked`
    when not, :class:`CesOutOfRange` for anything but a digit from 1 to 7."""
    if not asked:
        raise QuestionNotAsked("ces")
    value = _digit(raw, CES_MIN, CES_MAX)
    if value is None:
        raise CesOutOfRange(f"CES must be a whole number from {CES_MIN} to {CES_MAX}")
    return value


@dataclass(frozen=True, slots=True)
class FollowUpAnswers:
    """The follow-up answers one form carried, each None when not given (every question is optional)."""

    driver: str | None = None
    csat: int | None = None
    ces: int | None = None

    @property
    def any(self) -> bool:
        """Whether at least one question was answered."""
        return self.driver is not None or self.csat is not None or self.ces is not None


def parse_answers(
    questions: FollowUpQuestions | None, driver: str | None, csat: str | None, ces: str | None
) -> FollowUpAnswers:
    """The answers of a form asking ``questions`` (None: the page asked none, as for older invites).

    An absent field (None) is no answer. Raises :class:`InvalidAnswer` (one of its subclasses) for a
    field that is present but not a valid answer to a question asked: an unknown driver, a CSAT or CES
    that is not one ASCII digit in range, or an answer to a question not asked."""
    return FollowUpAnswers(
        driver=None if driver is None else parse_driver(questions or _NO_DRIVERS, driver),
        csat=None if csat is None else parse_csat(csat, asked=questions is not None and questions.asks_csat),
        ces=None if ces is None else parse_ces(ces, asked=questions is not None and questions.asks_ces),
    )


class _NoDrivers:
    driver_ids: frozenset[str] = frozenset()


_NO_DRIVERS = _NoDrivers()
