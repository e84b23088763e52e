"""Contacts and their bulk import from CSV, with a per-row error report.

A CSV has a header row; ``contact_id`` is required, ``email``, ``phone`` (international format, stored
as E.164), ``time_zone`` (an IANA place name) and ``locale`` are recognised, ``account_id``, ``role`` and
``revenue`` place the contact in an account (:class:`nps.accounts.membership.Membership`; every row of one
account must give it the same revenue, or leave it blank), and every other column becomes a segment
attribute (``plan``, ``region``, ...). The file is UTF-8 (with or without a BOM) or
UTF-16 with a BOM, its columns separated by ``,``, ``;`` or a tab (found from the header row), with CRLF
or LF line ends. Every row ends up either imported or in the report with its line number and reasons:
nothing is dropped silently. Error messages name the column, never echo the address or number (PII).
Text that looks the same counts the same: attribute names and values are NFC-normalised (Unicode
Standard Annex #15), and email addresses compare case-insensitively (one contact per mailbox per file).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from nps.accounts.membership import Membership, MembershipError
from nps.events.fields import Id
from nps.kernel.locales import supported_locales
from nps.kernel.normalising import nfc
from nps.kernel.spreadsheets import safe_cell
from nps.sending.addresses import is_email
from nps.sending.phones import e164
from nps.sending.suppression import normalise_address
from nps.sending.time_zones import check_time_zone

DELIMITERS = (",", ";", "\t")
KNOWN_COLUMNS = ("contact_id", "email", "phone", "time_zone", "locale", "account_id", "role", "revenue")
MAX_ATTRIBUTES = 20
MAX_ROWS = 500_000
AttributeName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
#: Segment values are one line of text: no control character but tab (a quote left open makes rows one cell).
AttributeValue = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00-\x08\x0a-\x1f\x7f-\x9f]*$")
]
_ATTRIBUTE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
ATTRIBUTE_NAME_RULE = "attribute names are 1-32 lower-case letters, digits and '_', starting with a letter"


class Contact(BaseModel):
    """A person a survey may be sent to. ``email`` and ``phone`` are PII: never logged or published."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

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
    #: The account the contact answers for, their role in it and the account's revenue (None: no account).
    account: Membership | None = None

    @field_validator("attributes", mode="before")
    @classmethod
    def _attributes(cls, value: object) -> object:
        if isinstance(value, dict):
            return {nfc(k) if isinstance(k, str) else k: nfc(v) if isinstance(v, str) else v for k, v in value.items()}
        return value

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
        return e164(value)

    @field_validator("time_zone")
    @classmethod
    def _time_zone(cls, value: str) -> str:
        return check_time_zone(value)

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
            writer.writerow(["0", "", safe_cell(self.file_error)])
        for error in self.errors:
            # The id is the rejected cell as written: a spreadsheet must not run it as a formula.
            writer.writerow([str(error.line), safe_cell(error.contact_id or ""), safe_cell("; ".join(error.errors))])
        return out.getvalue()


def _messages(error: ValidationError) -> tuple[str, ...]:
    out = []
    for issue in error.errors():
        location = ".".join(str(part) for part in issue["loc"]) or "row"
        message = str(issue["msg"]).removeprefix("Value error, ")
        if issue["type"] == "string_pattern_mismatch" and issue["loc"][-1:] == ("[key]",):
            message = ATTRIBUTE_NAME_RULE
        elif issue["type"] == "string_pattern_mismatch" and issue["loc"][:1] == ("attributes",):
            message = "holds a control character or a line break (is a quote left open?)"
        out.append(f"{location}: {message}")
    return tuple(out)


class FileRefused(ValueError):
    """A contacts file that cannot be read at all; its message is the one line people see."""


def decode_contacts_file(data: bytes) -> str:
    """The text of a contacts file: UTF-8 (a BOM is dropped) or UTF-16 with a BOM (Excel's "Unicode Text").

    Anything else is refused, not guessed: a Windows-1252 ``Zürich`` (byte 0xFC) raises
    :class:`FileRefused` naming the byte and its line, with how to save the file as UTF-8.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise FileRefused("the file starts as UTF-16 but is not valid UTF-16 text; save it as CSV UTF-8") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        byte = data[error.start]
        raise FileRefused(
            f"the file is not UTF-8 text (byte 0x{byte:02X} on line {line}); nothing was imported: "
            'save it as "CSV UTF-8" (Excel: File > Save As > CSV UTF-8) and import it again'
        ) from None


def parse_contacts_file(data: bytes, audience: str = "default") -> ImportReport:
    """Decode and parse a contacts file as uploaded (the CLI and the S3-triggered import share this)."""
    try:
        text = decode_contacts_file(data)
    except FileRefused as error:
        return ImportReport(file_error=str(error))
    return parse_contacts_csv(text, audience=audience)


def _header_dialect(text: str) -> tuple[str, list[str]] | str:
    """The separator of the header row and its column names, or the file error when none has contact_id.

    The header row is read with each of ``,`` ``;`` and tab; the separator that yields a ``contact_id``
    column (and the most columns, when several do) is the file's. Spreadsheets write one separator per
    file (Excel uses the locale's list separator, ``;`` in much of Europe).
    """
    first_line = text.split("\n", 1)[0]
    best: tuple[str, list[str]] | None = None
    for delimiter in DELIMITERS:
        try:
            header = next(csv.reader(io.StringIO(first_line, newline=""), delimiter=delimiter), [])
        except csv.Error:
            continue
        columns = [nfc(name.strip()).lower() for name in header]
        if "contact_id" in columns and (best is None or len(columns) > len(best[1])):
            best = (delimiter, columns)
    if best is None:
        return "the header row has no contact_id column (columns may be separated by ',', ';' or a tab)"
    return best


def _suggested_name(column: str) -> str:
    """A column name as an attribute name could be: ``"Customer Segment"`` → ``customer_segment``."""
    ascii_name = unicodedata.normalize("NFKD", column).encode("ascii", "ignore").decode().lower()
    name = re.sub(r"[^a-z0-9]+", "_", ascii_name).strip("_")
    if not name or not name[0].isalpha():
        name = f"attribute_{name}".rstrip("_")
    return name[:32]


def _separator_name(delimiter: str) -> str:
    return "tab" if delimiter == "\t" else f"'{delimiter}'"


def parse_contacts_csv(text: str, audience: str = "default") -> ImportReport:
    """Parse a contacts CSV; valid rows become contacts, every other row is reported with reasons.

    The separator is found from the header row (see :func:`_header_dialect`). Rejected: a row with the
    wrong number of cells (the message names the separator), an invalid cell (the reason per column), a
    repeated contact_id, and a second row for one mailbox or one phone number (compared as SES and
    mail systems do: case-insensitively), which names the line that has it first.
    """
    report = ImportReport()
    text = text.removeprefix("\ufeff")
    if not text.strip():
        report.file_error = "the file is empty (a header row with contact_id is required)"
        return report
    dialect = _header_dialect(text)
    if isinstance(dialect, str):
        report.file_error = dialect
        return report
    delimiter, columns = dialect
    duplicated = sorted({c for c in columns if c and columns.count(c) > 1})
    if duplicated:
        report.file_error = f"the header row repeats column(s): {', '.join(duplicated)}"
        return report
    misnamed = [c for c in columns if c and c not in KNOWN_COLUMNS and not _ATTRIBUTE_NAME.match(c)]
    if misnamed:
        renamed = ", ".join(f"{name!r} (e.g. {_suggested_name(name)!r})" for name in misnamed)
        report.file_error = f"{ATTRIBUTE_NAME_RULE}: rename the column(s) {renamed}; nothing was imported"
        return report
    # strict: a quote left open is an error, not the rest of the file read into one cell
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    next(reader)
    seen = _Seen()
    line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            started = line + 1
            line = reader.line_num
            reason = (
                f"a quote opened on line {started} or after is never closed: lines {started}-{line} were not imported"
                if "unexpected end of data" in str(error)
                else f"malformed CSV: {error}"
            )
            report.errors.append(RowError(started, None, (reason,)))
            continue
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue  # blank lines are not rows
        if report.rows >= MAX_ROWS:
            report.errors.append(RowError(line, None, (f"more than {MAX_ROWS} rows in one file",)))
            break
        if len(row) != len(columns):
            found = f"expected {len(columns)} columns separated by {_separator_name(delimiter)}, found {len(row)}"
            report.errors.append(RowError(line, None, (found,)))
            continue
        _parse_row(dict(zip(columns, row, strict=True)), line, audience, seen, report)
    return report


@dataclass(slots=True)
class _Seen:
    """What earlier rows of the file used: contact ids, and mailboxes/numbers by their normalised form."""

    contact_ids: set[str] = field(default_factory=set)
    addresses: dict[str, tuple[int, str]] = field(default_factory=dict)
    #: Per account id: the first line giving its revenue, and that revenue.
    revenues: dict[str, tuple[int, Decimal]] = field(default_factory=dict)


def _parse_row(values: dict[str, str], line: int, audience: str, seen: _Seen, report: ImportReport) -> None:
    cells = {k: v.strip() for k, v in values.items()}
    contact_id = cells.get("contact_id") or None
    problems: list[str] = []
    if not cells.get("email") and not cells.get("phone"):
        problems.append("row: an email or a phone number is required")
    if contact_id and contact_id in seen.contact_ids:
        problems.append("contact_id: appears more than once in this file")
    if cells.get(""):
        problems.append("row: a value in a column with no name (the header row has an empty cell there)")
    attributes = {k: v for k, v in cells.items() if k and k not in KNOWN_COLUMNS and v}
    account: Membership | None = None
    try:
        account = Membership.parse(cells.get("account_id"), cells.get("role"), cells.get("revenue"))
    except MembershipError as error:
        problems.append(f"account: {error}")
    if account is not None and account.revenue is not None:
        first = seen.revenues.get(account.account_id)
        if first is not None and first[1] != account.revenue:
            problems.append(
                f"revenue: account {account.account_id} has a different revenue on line {first[0]}"
                " (an account has one revenue: give the same figure or leave it blank)"
            )
    try:
        contact = Contact(
            contact_id=contact_id or "",
            audience=audience,
            email=cells.get("email") or None,
            phone=cells.get("phone") or None,
            time_zone=cells.get("time_zone") or "UTC",
            locale=cells.get("locale") or None,
            attributes=attributes,
            account=account,
        )
    except ValidationError as error:
        problems.extend(_messages(error))
        contact = None
    keys: list[tuple[str, str]] = []
    if contact is not None:
        for channel, what in (("email", "mailbox"), ("sms", "phone number")):
            address = contact.address(channel)
            if not address:
                continue
            key = f"{channel}:{normalise_address(channel, address)}"
            if key in seen.addresses:
                first_line, first_id = seen.addresses[key]
                column = "email" if channel == "email" else "phone"
                problems.append(
                    f"{column}: the same {what} as line {first_line} (contact_id {first_id}); "
                    "one contact per mailbox (addresses compare case-insensitively)"
                    if channel == "email"
                    else f"{column}: the same {what} as line {first_line} (contact_id {first_id})"
                )
            keys.append((key, contact.contact_id))
    if problems or contact is None:
        report.errors.append(RowError(line, contact_id, tuple(problems)))
        return
    seen.contact_ids.add(contact.contact_id)
    if account is not None and account.revenue is not None:
        seen.revenues.setdefault(account.account_id, (line, account.revenue))
    for key, first_id in keys:
        seen.addresses[key] = (line, first_id)
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
