"""Syntactic checks of email addresses, apart from the survey model so contact imports need only this."""

from __future__ import annotations

import re

EMAIL_RE = re.compile(
    r"^[^@\s<>\"(),;:\x00-\x1f\x7f-\x9f]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?\.[A-Za-z]{2,63}$"
)


def is_email(text: str) -> bool:
    """A pragmatic syntactic check of an email address (SES rejects what it cannot deliver)."""
    # ASCII only: SES needs SMTPUTF8-free addresses, and it keeps header values free of surprises.
    return text.isascii() and bool(EMAIL_RE.fullmatch(text))
