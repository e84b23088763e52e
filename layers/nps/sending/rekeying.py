"""Moving stored suppressions from unkeyed to keyed keys (``nps suppressions migrate``).

Earlier releases keyed a suppression by plain SHA-256 of the channel and address; a keyed hash cannot be
computed from such a key, only from the address. So the migration walks every contact's addresses (the
contacts table holds them), finds each address's legacy suppression and writes the keyed one beside it:

* idempotent and resumable: a keyed suppression that exists is left as it is (counted ``already_keyed``),
  so a run stopped half-way is simply run again;
* nothing is lost: legacy items stay until a run with ``remove_legacy``, which deletes a legacy item only
  in one transaction with a check that its keyed copy exists; lookups read both keys meanwhile
  (:func:`nps.sending.suppression.lookup_hashes`), so no suppressed person is mailed during the move;
* legacy suppressions of addresses no contact holds any more cannot be rekeyed; they stay, still honoured;
* a phone number is looked up under every spelling it may have been stored under
  (:func:`nps.sending.phones.stored_spellings`: releases before numbers were parsed kept the trunk prefix,
  ``+4402079460958``), and each suppression found — legacy or keyed — is copied to the keyed key of the
  canonical E.164 number, so re-importing a file (which stores the canonical spelling) suppresses nobody
  less. Run the migration after upgrading, before or after re-importing contacts.

The copy keeps reason, time and contact id but not an unsubscribe's ``method``: the suppressions stream
publishes ``NPS Contact Unsubscribed`` for an inserted item with a method, and the person unsubscribed once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Protocol

from nps.sending.phones import stored_spellings
from nps.sending.suppression import address_hash, legacy_address_hash

if TYPE_CHECKING:
    from nps.links.pseudonyms import IdKey
    from nps.sending.contacts import Contact

CHANNELS = ("email", "sms")


class RekeyStore(Protocol):
    def suppressed_among(self, hashes: Iterable[str]) -> set[str]: ...
    def rekey(self, legacy_hash: str, keyed_hash: str, now_iso: str) -> bool: ...
    def remove_legacy(self, legacy_hash: str, keyed_hash: str) -> bool: ...


@dataclass(slots=True)
class RekeyReport:
    """Counts of one migration run (printed as JSON by the CLI; no addresses)."""

    contacts: int = 0
    addresses: int = 0
    legacy_found: int = 0
    rekeyed: int = 0
    already_keyed: int = 0
    legacy_removed: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def rekey_suppressions(
    pages: Iterable[list[Contact]],
    store: RekeyStore,
    id_key: IdKey,
    now_iso: str,
    remove_legacy: bool = False,
) -> RekeyReport:
    """Write the keyed suppression of every contact address that has a legacy one (see the module).

    ``pages``: every contact, a page at a time. With ``remove_legacy`` a legacy item is also deleted once
    its keyed copy exists. Store errors propagate; what was done before them stays done and correct.
    """
    report = RekeyReport()
    for page in pages:
        report.contacts += len(page)
        pairs: dict[str, str] = {}
        for contact in page:
            for channel in CHANNELS:
                address = contact.address(channel)
                if address:
                    report.addresses += 1
                    spellings = stored_spellings(address) if channel == "sms" else (address,)
                    target = address_hash(channel, spellings[0], id_key)
                    for spelling in spellings:
                        pairs[legacy_address_hash(channel, spelling)] = target
                        keyed = address_hash(channel, spelling, id_key)
                        if keyed != target:
                            pairs[keyed] = target
        found = store.suppressed_among(pairs) if pairs else set()
        for legacy in sorted(found):
            report.legacy_found += 1
            keyed = pairs[legacy]
            if store.rekey(legacy, keyed, now_iso):
                report.rekeyed += 1
            else:
                report.already_keyed += 1
            if remove_legacy and store.remove_legacy(legacy, keyed):
                report.legacy_removed += 1
    return report
