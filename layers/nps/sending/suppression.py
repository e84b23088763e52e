"""Suppression keys: a hash of the normalised address, so the table never stores an address or number."""

from __future__ import annotations

import hashlib
from enum import StrEnum


class SuppressionReason(StrEnum):
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    SMS_OPTED_OUT = "sms_opted_out"


def normalise_address(channel: str, address: str) -> str:
    """Email addresses compare case-insensitively in practice; phone numbers are already E.164."""
    text = address.strip()
    return text.lower() if channel == "email" else text


def address_hash(channel: str, address: str) -> str:
    """The suppression key of an address on a channel (``email`` or ``sms``)."""
    normalised = normalise_address(channel, address)
    return hashlib.sha256(f"{channel}:{normalised}".encode()).hexdigest()
