"""CSV export of responses: one row per counted response, segment values as ``segment.<name>`` columns."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import TextIO

from nps.kernel.spreadsheets import safe_cell
from nps.reporting.adapters.reads import StoredResponse

BASE_COLUMNS = (
    "invite_id",
    "survey_id",
    "wave_id",
    "contact_id",
    "channel",
    "locale",
    "score",
    "category",
    "first_answered_at",
    "answered_at",
    "comment",
    "comment_at",
)


def header(dimensions: Sequence[str]) -> list[str]:
    return [*BASE_COLUMNS, *(f"segment.{d}" for d in dimensions)]


def row(response: StoredResponse, dimensions: Sequence[str]) -> list[str]:
    values: list[object] = [
        response.invite_id,
        response.survey_id,
        response.wave_id,
        response.contact_id,
        response.channel,
        response.locale,
        response.score,
        response.category,
        response.first_answered_at,
        response.answered_at,
        response.comment,
        response.comment_at,
        *(response.segments.get(d, "") for d in dimensions),
    ]
    return [safe_cell("" if v is None else str(v)) for v in values]


def write_csv(target: TextIO, responses: Iterable[StoredResponse], dimensions: Sequence[str]) -> int:
    """Write the header and one row per response; returns the number of rows."""
    writer = csv.writer(target, lineterminator="\r\n")
    writer.writerow(header(dimensions))
    count = 0
    for response in responses:
        writer.writerow(row(response, dimensions))
        count += 1
    return count


def to_csv(responses: Iterable[StoredResponse], dimensions: Sequence[str]) -> tuple[str, int]:
    buffer = io.StringIO()
    count = write_csv(buffer, responses, dimensions)
    return buffer.getvalue(), count
