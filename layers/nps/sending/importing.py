"""Importing contacts: parse a CSV, upsert the valid rows, report every rejected row (nothing dropped).

The CLI (``nps contacts import``) and the S3-triggered import function both call
:func:`import_contacts_file` with the file's bytes, so one file gets one outcome and one message.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from nps.kernel.periods import iso_timestamp
from nps.sending.contacts import Contact, ImportReport, RowError, parse_contacts_csv, parse_contacts_file

if TYPE_CHECKING:
    from nps.accounts.membership import Membership

MAX_FILE_BYTES = 50 * 1024 * 1024


class ContactWriter(Protocol):
    def upsert_many(self, contacts: Sequence[Contact]) -> list[tuple[Contact, Exception]]: ...


class ProfileWriter(Protocol):
    """Where the accounts of imported contacts are recorded (their revenue): the accounts table."""

    def record(self, memberships: Iterable[Membership], now_iso: str) -> int: ...


#: Where the accounts of imported contacts go, and the time written on them (None: contacts only).
Profiles = tuple[ProfileWriter, datetime] | None


def too_large() -> ImportReport:
    """The report of a file over :data:`MAX_FILE_BYTES` (nothing is read or imported)."""
    return ImportReport(file_error=f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; split it")


def import_contacts_file(data: bytes, audience: str, writer: ContactWriter, profiles: Profiles = None) -> ImportReport:
    """Decode, parse and store a contacts file as uploaded; a file error imports nothing.

    A file that is too large, not UTF-8/UTF-16 text, or without a ``contact_id`` header column gets
    ``file_error`` (one line for people) and no contact is written. With ``profiles``, the accounts of the
    contacts stored are recorded too (their revenue; after the contacts, so a failed row adds no account).
    """
    if len(data) > MAX_FILE_BYTES:
        return too_large()
    return _store(parse_contacts_file(data, audience=audience), writer, profiles)


def import_contacts(text: str, audience: str, writer: ContactWriter, profiles: Profiles = None) -> ImportReport:
    """Parse and store already-decoded text; a row whose write fails is moved into the report's errors."""
    return _store(parse_contacts_csv(text, audience=audience), writer, profiles)


def _store(report: ImportReport, writer: ContactWriter, profiles: Profiles = None) -> ImportReport:
    if report.file_error or not report.contacts:
        return report
    failures = writer.upsert_many(report.contacts)
    if failures:
        failed_ids = {contact.contact_id for contact, _ in failures}
        report.contacts = [c for c in report.contacts if c.contact_id not in failed_ids]
        for contact, error in failures:
            code = getattr(error, "response", {}).get("Error", {}).get("Code") or type(error).__name__
            report.errors.append(RowError(0, contact.contact_id, (f"could not be stored ({code}); retry the file",)))
    if profiles is not None:
        store, now = profiles
        store.record((c.account for c in report.contacts if c.account is not None), iso_timestamp(now))
    return report


def audience_from_key(key: str) -> str:
    """``imports/<audience>/<file>.csv`` → ``<audience>`` (``default`` for files directly under imports/)."""
    parts = key.split("/")
    if len(parts) >= 3 and parts[0] == "imports" and parts[1]:
        return parts[1]
    return "default"


def report_key(key: str) -> str:
    """Where the error report of an import goes: ``reports/...`` beside the imported file's path."""
    stem = key.removeprefix("imports/")
    return f"reports/{stem.removesuffix('.csv')}.errors.csv"
