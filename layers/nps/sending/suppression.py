"""Suppression keys: a keyed hash of the normalised address, so the table never stores an address or number.

A key is HMAC-SHA256 (RFC 2104) under the stack's id key (:class:`nps.links.pseudonyms.IdKey`) of the
channel and the normalised address. Keys written before keyed hashes were plain SHA-256 of
``<channel>:<address>`` (anyone could hash a phone number and find it); :func:`lookup_hashes` still
finds those until ``nps suppressions migrate --remove-legacy`` has rewritten them (docs/operations.md).
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nps.links.pseudonyms import IdKey

_LABEL = "suppression"


class SuppressionReason(StrEnum):
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    SMS_OPTED_OUT = "sms_opted_out"
    #: The contact was erased and asked to keep a hash-only suppression (``nps contacts erase --keep-suppression``).
    ERASED = "erased"


def normalise_address(channel: str, address: str) -> str:
    """Email addresses compare case-insensitively in practice; phone numbers are already E.164."""
    text = address.strip()
    return text.lower() if channel == "email" else text


def address_hash(channel: str, address: str, id_key: IdKey) -> str:
    """The suppression key of an address on a channel (``email`` or ``sms``): 64 hex characters,
    HMAC-SHA256 under ``id_key`` of the channel and :func:`normalise_address`'s form of the address."""
    return id_key.digest(_LABEL, channel, normalise_address(channel, address))


def legacy_address_hash(channel: str, address: str) -> str:
    """The unkeyed key earlier releases wrote (SHA-256 of ``<channel>:<normalised address>``).

    Only read: during the migration to keyed keys (lookups) and by the migration itself. Never written.
    """
    normalised = normalise_address(channel, address)
    return hashlib.sha256(f"{channel}:{normalised}".encode()).hexdigest()


def lookup_hashes(channel: str, address: str, id_key: IdKey) -> tuple[str, str]:
    """Every key an address may be suppressed under: the keyed one, then the legacy unkeyed one.

    An address is suppressed when either exists, so nobody suppressed before the migration is mailed.
    """
    return address_hash(channel, address, id_key), legacy_address_hash(channel, address)
