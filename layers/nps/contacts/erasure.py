"""Erasing a contact everywhere its data lives, idempotently and resumably (docs/privacy.md).

Order (each step safe to repeat; a crash anywhere, then a rerun, finishes the job):

1. Read what needs the contact's addresses while they exist: the suppression keys (keyed hashes) and the
   keys of the mailbox claims of its invites' waves, into a journal item (no address: keyed hashes and
   ids only). With ``keep_suppression`` every address gets a hash-only ``erased`` suppression now.
2. Delete the contact's items (every audience): from here no send can start (the deliver claim checks
   the contact item in its transaction) and no wave can plan the contact again.
3. Mark every invite ``erasing``: the respond path treats a marked invite as gone, so no tap or comment
   writes a response from then on. Wait until every tap that read an invite before the mark is over
   (``respond_grace_seconds``, above the respond function's timeout).
4. A send in flight (an invite ``sending``: claimed before step 2) is waited for briefly; if it is still
   in flight, :class:`SendInFlight` (HTTP 409): never report success while a message may still leave.
5. Delete responses (the responses stream subtracts them from the aggregates and publishes
   ``NPS Response Retracted``), follow-ups and their comments, the accounts table's records, the
   suppressions (unless kept: then only the contact id leaves them), the mailbox claims and the rows of
   the contact-import error reports; invites last (they are how a rerun finds the rest).
6. Publish ``NPS Contact Erased`` (counts, no address), then drop the journal.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from nps.channels.web_ids import web_state_id
from nps.events.details import PlainDetail
from nps.events.names import CONTACT_ERASED, ID_PATTERN
from nps.events.publisher import Event, Publisher
from nps.kernel.periods import iso_timestamp, parse_timestamp
from nps.sending.invite_ids import invite_id_for, mailbox_key_for
from nps.sending.suppression import lookup_hashes, normalise_address

if TYPE_CHECKING:
    from nps.links.pseudonyms import IdKey

_ID = re.compile(ID_PATTERN)
#: Seconds an erasure waits after marking invites before it deletes responses: above the respond
#: function's 10 s timeout, so a tap that read an invite before the mark has ended (infra/constructs).
RESPOND_GRACE_SECONDS = 12.0
#: Seconds an erasure waits for a send claimed before the contact was deleted to be recorded.
SEND_WAIT_SECONDS = 10.0
COUNTED = (
    "contacts",
    "invites",
    "responses",
    "follow_ups",
    "account_records",
    "suppressions",
    "mailbox_claims",
    "web_states",
    "import_report_rows",
)


class InvalidContactId(ValueError):
    """Not a contact id (1-64 of ``A-Z a-z 0-9 _ -``): HTTP 422, CLI usage error."""


class SendInFlight(RuntimeError):
    """A send to the contact was claimed before its erasure began and is not recorded yet: retry the
    erasure in a minute (HTTP 409). Nothing can be sent to the contact any more; the rest is done
    by the rerun."""


def check_contact_id(contact_id: str) -> str:
    """``contact_id`` if it is a contact id; raises :class:`InvalidContactId`."""
    if not isinstance(contact_id, str) or not _ID.fullmatch(contact_id):
        raise InvalidContactId("a contact id is 1-64 of A-Z a-z 0-9 _ -")
    return contact_id


@dataclass(frozen=True, slots=True)
class Addresses:
    email: str | None
    phone: str | None

    def of(self, channel: str) -> str | None:
        return self.email if channel == "email" else self.phone if channel == "sms" else None


@dataclass(frozen=True, slots=True)
class InviteState:
    invite_id: str
    wave_id: str
    status: str
    erasing_at: str | None = None
    reminder_status: str | None = None
    survey_id: str = ""

    @property
    def in_flight(self) -> bool:
        """A send of the invite or of its reminder is claimed and not recorded yet."""
        return "sending" in (self.status, self.reminder_status)


@dataclass(frozen=True, slots=True)
class Journal:
    """An erasure in progress (the contacts table, audience ``~erasure``): keyed hashes and ids only."""

    contact_id: str
    started_at: str
    keep_suppression: bool
    suppression_hashes: tuple[str, ...] = ()
    mailbox_keys: tuple[str, ...] = ()
    audiences: tuple[str, ...] = ()
    #: Every wave that may hold an invite of the contact: the recorded waves of its audiences' surveys and
    #: the re-survey waves of its follow-ups (ids only; kept so a rerun still finds unsent invites after
    #: the follow-ups are gone).
    waves: tuple[str, ...] = ()


class ErasureStore(Protocol):
    """Every store a contact's data lives in (:class:`nps.contacts.adapters.records.DynamoContactRecords`)."""

    def contact_audiences(self, contact_id: str) -> list[str]: ...
    def addresses(self, audience: str, contact_id: str) -> Addresses | None: ...
    def journal(self, contact_id: str) -> Journal | None: ...
    def save_journal(self, journal: Journal) -> None: ...
    def delete_journal(self, contact_id: str) -> None: ...
    def invite_ids(self, contact_id: str) -> list[str]: ...
    def invite_states(self, invite_ids: Sequence[str]) -> list[InviteState]: ...
    def recorded_waves(self, audiences: Sequence[str]) -> list[str]: ...
    def resurvey_waves(self, invite_ids: Sequence[str]) -> list[str]: ...
    def delete_contact(self, audience: str, contact_id: str) -> bool: ...
    def mark_erasing(self, invite_id: str, now_iso: str) -> bool: ...
    def delete_response(self, invite_id: str) -> bool: ...
    def delete_follow_ups(self, invite_id: str) -> int: ...
    def delete_account_records(self, contact_id: str, invite_ids: Sequence[str]) -> int: ...
    def keep_suppressions(self, hashes: Sequence[str], keyed: Sequence[str], now_iso: str) -> int: ...
    def delete_suppressions(self, hashes: Sequence[str]) -> int: ...
    def delete_mailbox_claims(self, keys: Sequence[str], contact_id: str) -> int: ...
    def erase_import_rows(self, contact_id: str, audiences: Sequence[str]) -> int: ...
    def delete_invite(self, invite_id: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class ErasureResult:
    contact_id: str
    #: What was erased, per store (see :data:`COUNTED`).
    counts: dict[str, int]
    suppression_kept: bool
    erased_at: str | None
    #: Nothing of the contact was left anywhere (an unknown id, or one erased before): a no-op.
    nothing_left: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "contact_id": self.contact_id,
            "erased": not self.nothing_left,
            "nothing_left": self.nothing_left,
            "counts": dict(self.counts),
            "suppression_kept": self.suppression_kept,
            "erased_at": self.erased_at,
        }


@dataclass(slots=True)
class _Counts:
    values: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTED, 0))

    def add(self, name: str, count: int | bool) -> None:
        self.values[name] += int(count)


class ErasureService:
    """Erase one contact from every store (see the module docstring for the order and its reasons)."""

    def __init__(
        self,
        store: ErasureStore,
        publisher: Publisher,
        id_key: Callable[[], IdKey],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
        respond_grace_seconds: float = RESPOND_GRACE_SECONDS,
        send_wait_seconds: float = SEND_WAIT_SECONDS,
    ) -> None:
        self.store = store
        self.publisher = publisher
        self.id_key = id_key
        self.clock = clock
        self.sleep = sleep
        self.respond_grace_seconds = respond_grace_seconds
        self.send_wait_seconds = send_wait_seconds

    def erase(self, contact_id: str, keep_suppression: bool = False) -> ErasureResult:
        """Erase ``contact_id`` everywhere; its :class:`ErasureResult` (``nothing_left`` for a no-op).

        Raises :class:`InvalidContactId` (before any call) and :class:`SendInFlight` (retry later).
        """
        check_contact_id(contact_id)
        counts = _Counts()
        now = self.clock()
        audiences = self.store.contact_audiences(contact_id)
        journal = self.store.journal(contact_id)
        invite_ids = self.store.invite_ids(contact_id)
        if not audiences and journal is None and not invite_ids:
            # Nothing is kept either: the addresses are gone, so no suppression can be written now (a rerun
            # with --keep-suppression after a plain erasure must not claim one).
            return ErasureResult(contact_id, counts.values, False, None, nothing_left=True)
        stored = journal
        if journal is None:
            journal = Journal(contact_id, iso_timestamp(now), keep_suppression)
        # A rerun may ask to keep the suppression that the first run did not (never the other way round:
        # a kept suppression may already stand in for the addresses).
        journal = replace(
            journal,
            keep_suppression=journal.keep_suppression or keep_suppression,
            audiences=tuple(sorted(set(journal.audiences) | set(audiences))),
        )
        # Invites never sent (queued, skipped, failed) are not in the invites' index: their ids are derived
        # from wave, audience and contact, so they are computed for every wave that may hold one.
        # A rerun reuses the waves its journal holds (no wave plans the contact once its items are gone) rather
        # than reading the surveys table again, which also holds every pending reminder.
        waves = set(journal.waves) or set(self.store.recorded_waves(journal.audiences))
        waves |= set(self.store.resurvey_waves(invite_ids))
        journal = replace(journal, waves=tuple(sorted(waves)))
        unindexed = self._unindexed_invites(journal, invite_ids)
        states = [*self.store.invite_states(invite_ids), *unindexed]
        invite_ids = [*invite_ids, *(state.invite_id for state in unindexed)]
        if audiences:
            journal = self._with_address_keys(journal, audiences)
        if journal != stored:
            self.store.save_journal(journal)
        if audiences:
            if journal.keep_suppression:
                self.store.keep_suppressions(journal.suppression_hashes, _keyed(journal), iso_timestamp(now))
            for audience in audiences:
                counts.add("contacts", self.store.delete_contact(audience, contact_id))
        # 3. the respond fence; then the invites index once more: an invite recorded as sent just before the
        # contact went may reach the (eventually consistent) index only now, so it is fenced too.
        self._fence(states, now)
        late = [i for i in self.store.invite_ids(contact_id) if i not in set(invite_ids)]
        if late:
            invite_ids = [*invite_ids, *late]
            late_states = self.store.invite_states(late)
            self._fence(late_states, self.clock())
            states = [*states, *late_states]
        # 4. sends claimed before the contact went
        states = self._sends_settled(invite_ids, states)
        # 5. everything else, invites last
        for invite_id in invite_ids:
            # Follow-ups (and their workflows) first: the response's removal publishes NPS Response Retracted,
            # which would otherwise resolve the follow-up, end its task and wake its workflow meanwhile.
            counts.add("follow_ups", self.store.delete_follow_ups(invite_id))
            counts.add("responses", self.store.delete_response(invite_id))
        counts.add("account_records", self.store.delete_account_records(contact_id, invite_ids))
        if journal.keep_suppression:
            counts.add("suppressions", self.store.keep_suppressions(journal.suppression_hashes, (), iso_timestamp(now)))
        else:
            counts.add("suppressions", self.store.delete_suppressions(journal.suppression_hashes))
        counts.add("mailbox_claims", self.store.delete_mailbox_claims(journal.mailbox_keys, contact_id))
        # The web prompt's state of the contact per survey (``wst-...``, nps.channels): keyed by survey and id.
        web_states = sorted({web_state_id(self.id_key(), s.survey_id, contact_id) for s in states if s.survey_id})
        counts.add("web_states", self.store.delete_mailbox_claims(web_states, contact_id))
        counts.add("import_report_rows", self.store.erase_import_rows(contact_id, journal.audiences))
        for invite_id in invite_ids:
            # A response written between the grace and here is impossible (the fence); delete again anyway,
            # so a response can never outlive its invite.
            counts.add("responses", self.store.delete_response(invite_id))
            counts.add("invites", self.store.delete_invite(invite_id))
        erased_at = iso_timestamp(self.clock())
        result = ErasureResult(contact_id, counts.values, journal.keep_suppression, erased_at)
        self.publisher.publish([contact_erased_event(journal, result)])
        self.store.delete_journal(contact_id)
        return result

    def _fence(self, states: Sequence[InviteState], now: datetime) -> None:
        """Mark ``states``' invites as being erased, then wait until a tap that read one before its mark is
        over (``respond_grace_seconds`` after the latest mark; no wait when every mark is older)."""
        marked_now = False
        for state in states:
            if state.erasing_at is None:
                marked_now |= self.store.mark_erasing(state.invite_id, iso_timestamp(now))
        marks = [parse_timestamp(s.erasing_at) for s in states if s.erasing_at]
        latest_mark = now if marked_now else max(marks, default=None)
        if latest_mark is not None:
            remaining = (latest_mark + timedelta(seconds=self.respond_grace_seconds) - self.clock()).total_seconds()
            if remaining > 0:
                self.sleep(remaining)

    def _unindexed_invites(self, journal: Journal, indexed: Sequence[str]) -> list[InviteState]:
        """The contact's invites of ``journal.waves`` (in every audience of it) that exist and are not among
        ``indexed``: their ids computed (:func:`invite_id_for`), read by ``BatchGetItem`` per 100 ids."""
        id_key = self.id_key()
        known = set(indexed)
        computed = sorted(
            {
                invite_id_for(wave, journal.contact_id, audience, id_key)
                for wave in journal.waves
                for audience in journal.audiences
            }
            - known
        )
        return self.store.invite_states(computed) if computed else []

    def _with_address_keys(self, journal: Journal, audiences: Sequence[str]) -> Journal:
        """The journal with the keyed hashes of every address the contact's items hold, and the keys of the
        mailbox claims of every wave of ``journal.waves`` on those addresses."""
        id_key = self.id_key()
        hashes = set(journal.suppression_hashes)
        mailboxes = set(journal.mailbox_keys)
        waves = set(journal.waves)
        for audience in audiences:
            addresses = self.store.addresses(audience, journal.contact_id)
            if addresses is None:
                continue
            for channel in ("email", "sms"):
                address = addresses.of(channel)
                if not address:
                    continue
                keyed, legacy = lookup_hashes(channel, address, id_key)
                hashes.update((f"{channel}:{keyed}", f"{channel}:{legacy}:legacy"))
                mailbox = f"{channel}:{normalise_address(channel, address)}"
                mailboxes.update(mailbox_key_for(wave, mailbox, id_key) for wave in waves)
        return replace(journal, suppression_hashes=tuple(sorted(hashes)), mailbox_keys=tuple(sorted(mailboxes)))

    def _sends_settled(self, invite_ids: Sequence[str], states: list[InviteState]) -> list[InviteState]:
        """Wait (up to ``send_wait_seconds``) for claimed sends to be recorded; :class:`SendInFlight` if not."""
        waited = 0.0
        while any(s.in_flight for s in states):
            if waited >= self.send_wait_seconds:
                raise SendInFlight("a message to this contact is being sent right now: erase again in a minute")
            self.sleep(1.0)
            waited += 1.0
            states = self.store.invite_states(invite_ids)
        return states


def _keyed(journal: Journal) -> tuple[str, ...]:
    """The keyed suppression hashes (``<channel>:<hash>``) of the journal, without the legacy ones."""
    return tuple(h for h in journal.suppression_hashes if not h.endswith(":legacy"))


def contact_erased_event(journal: Journal, result: ErasureResult) -> Event:
    """``NPS Contact Erased``: ids, counts and whether a hash-only suppression was kept. No address."""
    detail = PlainDetail.of(
        {
            "schema_version": "1.0",
            "event_id": f"{result.contact_id}:erased:{journal.started_at}",
            "contact_id": result.contact_id,
            "erased_at": result.erased_at,
            "counts": dict(result.counts),
            "suppression_kept": result.suppression_kept,
        }
    )
    return Event(CONTACT_ERASED, detail)
