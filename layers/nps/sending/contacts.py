"""Contacts and their bulk import from CSV, with a per-row error report.

A CSV has a header row; ``contact_id`` is required, ``email``, ``phone`` (E.164), ``time_zone`` (IANA)
and ``locale`` are recognised, and every other column becomes a segment attribute (``plan``, ``region``,
...). Every row ends up either imported or in the report with its line number and reasons: nothing is
dropped silently. Error messages name the column, never echo the address or number (PII).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from nps.events.models import Id
from nps.kernel.locales import supported_locales
from nps.sending.surveys import is_email

E164_RE = re.compile(r"^\+[1-9][0-9]{7,14}$")
KNOWN_COLUMNS = ("contact_id", "email", "phone", "time_zone", "locale")
MAX_ATTRIBUTES = 20
MAX_ROWS = 500_000
AttributeName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
AttributeValue = Annotated[str, StringConstraints(min_length=1, max_length=64)]


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def valid_time_zone(name: str) -> bool:
    if name not in _zones():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


class Contact(BaseModel):
    """A person a survey may be sent to. ``email`` and ``phone`` are PII: never logged or published."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    contact_id: Id
    audience: Id = "default"
    email: str | None = None
    phone: str | None = None
    time_zone: str = "UTC"
    locale: str | None = None
    attributes: Annotated[dict[AttributeName, AttributeValue], Field(max_length=MAX_ATTRIBUTES)] = Field(
        default_factory=dict
    )
    last_surveyed_at: str | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not is_email(value):
            raise ValueError("email is not a valid address")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        compact = re.sub(r"[\s().-]", "", value)
        if not E164_RE.fullmatch(compact):
            raise ValueError("phone must be an E.164 number such as +14155550123")
        return compact

    @field_validator("time_zone")
    @classmethod
    def _time_zone(cls, value: str) -> str:
        if not valid_time_zone(value):
            raise ValueError("time_zone is not a known IANA time zone (e.g. Europe/Berlin)")
        return value

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str | None) -> str | None:
        if value is None:
            return None
        tag = value.strip().replace("_", "-").lower()
        if tag not in supported_locales() and tag.split("-")[0] not in supported_locales():
            raise ValueError(f"locale is not supported (supported: {', '.join(sorted(supported_locales()))})")
        return tag

    def address(self, channel: str) -> str | None:
        return self.email if channel == "email" else self.phone if channel == "sms" else None


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    contact_id: str | None
    errors: tuple[str, ...]


@dataclass(slots=True)
class ImportReport:
    """The outcome of parsing a CSV: valid contacts and one error entry per rejected row."""

    contacts: list[Contact] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    file_error: str | None = None

    @property
    def rows(self) -> int:
        return len(self.contacts) + len(self.errors)

    def as_csv(self) -> str:
        """The error report as CSV (``line,contact_id,errors``) for people to fix and re-upload."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["line", "contact_id", "errors"])
        if self.file_error:
            writer.writerow([0, "", self.file_error])
        for error in self.errors:
            writer.writerow([error.line, error.contact_id or "", "; ".join(error.errors)])
        return out.getvalue()


def _messages(error: ValidationError) -> tuple[str, ...]:
    out = []
    for issue in error.errors():
        location = ".".join(str(part) for part in issue["loc"]) or "row"
        message = str(issue["msg"]).removeprefix("Value error, ")
        if issue["type"] == "string_pattern_mismatch":
            message = "only letters, digits, '-' and '_' are allowed (max 64)"
        out.append(f"{location}: {message}")
    return tuple(out)


def parse_contacts_csv(text: str, audience: str = "default") -> ImportReport:
    """Parse a contacts CSV; valid rows become contacts, every other row is reported with reasons."""
    report = ImportReport()
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        header = next(reader)
    except StopIteration:
        report.file_error = "the file is empty (a header row with contact_id is required)"
        return report
    except csv.Error as error:
        report.file_error = f"the header row is not valid CSV: {error}"
        return report
    columns = [name.strip().lower() for name in header]
    if "contact_id" not in columns:
        report.file_error = "the header row has no contact_id column"
        return report
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        report.file_error = f"the header row repeats column(s): {', '.join(duplicated)}"
        return report
    seen: set[str] = set()
    line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            line = reader.line_num
            report.errors.append(RowError(line, None, (f"malformed CSV: {error}",)))
            continue
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue  # blank lines are not rows
        if report.rows >= MAX_ROWS:
            report.errors.append(RowError(line, None, (f"more than {MAX_ROWS} rows in one file",)))
            break
        if len(row) != len(columns):
            report.errors.append(RowError(line, None, (f"expected {len(columns)} columns, found {len(row)}",)))
            continue
        _parse_row(dict(zip(columns, row, strict=True)), line, audience, seen, report)
    return report


def _parse_row(values: dict[str, str], line: int, audience: str, seen: set[str], report: ImportReport) -> None:
    cells = {k: v.strip() for k, v in values.items()}
    contact_id = cells.get("contact_id") or None
    problems: list[str] = []
    if not cells.get("email") and not cells.get("phone"):
        problems.append("row: an email or a phone number is required")
    if contact_id and contact_id in seen:
        problems.append("contact_id: appears more than once in this file")
    attributes = {k: v for k, v in cells.items() if k not in KNOWN_COLUMNS and v}
    try:
        contact = Contact(
            contact_id=contact_id or "",
            audience=audience,
            email=cells.get("email") or None,
            phone=cells.get("phone") or None,
            time_zone=cells.get("time_zone") or "UTC",
            locale=cells.get("locale") or None,
            attributes=attributes,
        )
    except ValidationError as error:
        problems.extend(_messages(error))
        contact = None
    if problems or contact is None:
        report.errors.append(RowError(line, contact_id, tuple(problems)))
        return
    seen.add(contact.contact_id)
    report.contacts.append(contact)


def chunks(items: Iterable[Contact], size: int) -> Iterable[list[Contact]]:
    batch: list[Contact] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
