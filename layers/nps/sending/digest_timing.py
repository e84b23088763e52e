"""When a survey's team digest goes out, read from a stored definition without pydantic.

The digest function runs every hour and, most hours, finds no digest due: it decides that from each
stored definition's ``active`` flag and its digest's ``enabled``, ``frequency``, ``weekday``, ``hour``
and ``time_zone`` (:class:`DigestTiming`), and validates a definition in full with
:class:`nps.sending.surveys.Survey` (pydantic, about a third of a cold start) only when its digest is
due (:meth:`StoredSurvey.survey`). Definitions were validated when they were put; the full model reads
them again as every stored survey is read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nps.sending.surveys import Survey


class DigestFrequency(StrEnum):
    """How often the team's digest of a survey is sent."""

    DAILY = "daily"
    WEEKLY = "weekly"


class Weekday(StrEnum):
    """A weekly digest's day (the local day it is sent on)."""

    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"

    @property
    def number(self) -> int:
        """Monday 0 … Sunday 6 (``date.weekday()``)."""
        return list(Weekday).index(self)


@dataclass(frozen=True, slots=True)
class DigestTiming:
    """When a digest is sent: the fields of :class:`nps.sending.surveys.DigestSettings` the schedule reads
    (``hour``: local hour 0–23 in the IANA ``time_zone``), with the model's defaults."""

    enabled: bool = True
    frequency: DigestFrequency = DigestFrequency.WEEKLY
    weekday: Weekday = Weekday.MONDAY
    hour: int = 8
    time_zone: str = "UTC"


@dataclass(frozen=True, slots=True)
class StoredSurvey:
    """A stored definition as the hourly digest run first reads it: the survey's id, whether it is active,
    its digest's timing (None: no digest), and the definition's JSON text, validated on demand."""

    survey_id: str
    active: bool
    digest: DigestTiming | None
    definition: str

    @classmethod
    def read(cls, definition: str) -> StoredSurvey:
        """The survey ``definition`` (JSON text, as stored) holds. Raises ``ValueError`` (``json``'s
        ``JSONDecodeError`` among them) for text that is not a definition's JSON object or a digest
        whose timing fields are not of the model's kinds."""
        data = json.loads(definition)
        if not isinstance(data, dict) or not isinstance(data.get("survey_id"), str):
            raise ValueError("a stored survey definition is a JSON object with a survey_id")
        digest = data.get("digest")
        return cls(data["survey_id"], bool(data.get("active", True)), _timing(digest), definition)

    def survey(self) -> Survey:
        """The definition validated in full (pydantic loads with the first call), as stored surveys are
        read (:data:`nps.sending.surveys.STORED`). Raises ``pydantic.ValidationError``."""
        from nps.sending.surveys import STORED, Survey

        return Survey.model_validate_json(self.definition, context=STORED)


def _timing(digest: Any) -> DigestTiming | None:
    if digest is None:
        return None
    if not isinstance(digest, dict):
        raise ValueError("a stored digest is a JSON object")
    defaults = DigestTiming()
    enabled, hour, zone = (digest.get(k, getattr(defaults, k)) for k in ("enabled", "hour", "time_zone"))
    if not isinstance(enabled, bool) or type(hour) is not int or not isinstance(zone, str):
        raise ValueError("a stored digest's enabled, hour and time_zone are a boolean, a whole number and text")
    return DigestTiming(
        enabled=enabled,
        frequency=DigestFrequency(digest.get("frequency", defaults.frequency)),
        weekday=Weekday(digest.get("weekday", defaults.weekday)),
        hour=hour,
        time_zone=zone,
    )
