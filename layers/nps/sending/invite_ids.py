"""The keyed ids a wave gives its invites and mailbox claims, apart from the planner: a contact's erasure
computes them without loading it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nps.links.pseudonyms import IdKey


def invite_id_for(wave_id: str, contact_id: str, audience: str, id_key: IdKey) -> str:
    """One id per contact per wave, the same every time (a replayed wave finds the invite it made).

    ``inv-`` and 32 hex characters (128 bits) of HMAC-SHA256 under the stack's ``id_key``: the id is in
    every link, and without the key nobody can tell which contact or wave it belongs to. Ids of invites
    already recorded never change (they are computed once, when their wave is planned).
    """
    return f"inv-{id_key.digest('invite', wave_id, audience, contact_id)[:32]}"


#: The prefix of a mailbox claim's key: claims live beside invites, whose ids start ``inv-``.
MAILBOX_CLAIM_PREFIX = "mbx-"


def mailbox_key_for(wave_id: str, mailbox: str, id_key: IdKey) -> str:
    """The key under which a wave claims one mailbox (``channel:normalised address``): ``mbx-`` and 32 hex
    characters of HMAC-SHA256 under the stack's ``id_key``, so the claim holds no address."""
    return f"{MAILBOX_CLAIM_PREFIX}{id_key.digest('mailbox', wave_id, mailbox)[:32]}"
