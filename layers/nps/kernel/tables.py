"""Key schemas of the platform's DynamoDB tables: one definition for the CDK app and the local/moto setup."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field, replace


@dataclass(frozen=True, slots=True)
class IndexSpec:
    """A global secondary index (string keys). ``projection``: ``ALL``, ``KEYS_ONLY`` or ``INCLUDE``."""

    name: str
    partition_key: str
    sort_key: str | None = None
    projection: str = "ALL"
    #: Non-key attributes copied into an ``INCLUDE`` index.
    include: tuple[str, ...] = ()
    #: The previous release's index, which a fresh deployment no longer creates. An existing stack keeps it
    #: for one upgrade deploy (``-c keepRetiringIndexes=true``: CloudFormation adds or removes one index
    #: per table update) and drops it with the next deploy (docs/operations.md, "Upgrading the responses'
    #: index").
    retiring: bool = False


@dataclass(frozen=True, slots=True)
class TableSpec:
    logical_name: str
    partition_key: str
    sort_key: str | None = None
    stream: bool = False
    ttl_attribute: str | None = None
    indexes: tuple[IndexSpec, ...] = field(default=())

    def deployed(self, keep_retiring: bool = False) -> TableSpec:
        """This table as a deployment creates it: without its retiring indexes unless ``keep_retiring`` (the
        upgrade deploy of a stack from the previous release)."""
        if keep_retiring:
            return self
        return replace(self, indexes=tuple(index for index in self.indexes if not index.retiring))

    def index(self, name: str) -> IndexSpec:
        """The index called ``name`` (``KeyError`` when the table has none by that name)."""
        for index in self.indexes:
            if index.name == name:
                return index
        raise KeyError(name)


#: Partitions of a survey's answered responses in :data:`RESPONSES_BY_SURVEY_SHARD`. Every first answer
#: (and every later score or comment) of a survey is written to one of them, chosen by a hash of the invite
#: id, so a survey answered at 10,000 taps/s puts about 10,000 / 32 ≈ 310 index writes a second on each,
#: under DynamoDB's 1,000 write units per partition key (``benchmarks/viral_survey.py``, docs/capacity.md).
#: Readers query every shard. Raising it is safe at any time (items keep the shard they were written to,
#: and readers query every shard below the new count); lowering it would hide the items of the dropped shards.
RESPONSE_SURVEY_SHARDS = 32


def survey_shard(survey_id: str, invite_id: str) -> str:
    """The ``survey_shard`` of a response: ``<survey_id>#<nn>``, ``nn`` the invite id's CRC-32 modulo
    :data:`RESPONSE_SURVEY_SHARDS` (stable across processes and releases, unlike ``hash()``)."""
    return shard_key(survey_id, zlib.crc32(invite_id.encode()) % RESPONSE_SURVEY_SHARDS)


def shard_key(survey_id: str, shard: int) -> str:
    """The ``survey_shard`` value of shard number ``shard`` of a survey."""
    return f"{survey_id}#{shard:02d}"


def survey_shards(survey_id: str) -> tuple[str, ...]:
    """Every ``survey_shard`` value of a survey, in shard order (what a reader queries)."""
    return tuple(shard_key(survey_id, n) for n in range(RESPONSE_SURVEY_SHARDS))


#: Answered responses of a survey in time order, written over :data:`RESPONSE_SURVEY_SHARDS` partitions
#: (``survey_shard``; sparse: an item without ``first_answered_at`` is absent). It projects what reports,
#: exports and comments read, not the comment history (``comments``, up to 160 KB) nor what automated
#: fetches tried, so a scanner's fetch of an answered invite writes nothing to it and a comment costs
#: write units by its own size, not by the history's.
RESPONSES_BY_SURVEY_SHARD = IndexSpec(
    "by_survey_shard",
    partition_key="survey_shard",
    sort_key="first_answered_at",
    projection="INCLUDE",
    include=(
        "survey_id",
        "wave_id",
        "contact_id",
        "channel",
        "locale",
        "segments",
        "score",
        "category",
        "counted",
        "answered_at",
        "source",
        "comment",
        "comment_at",
    ),
)
#: The aggregates item ``nps responses backfill-shards`` writes once every response has a ``survey_shard``:
#: from then on readers query the shards only (no survey id, so it is in none of the aggregates' indexes).
SHARDED_RESPONSES_MARKER = {"pk": "migration#responses-survey-shard", "period": "done"}
#: The previous responses index (one partition per survey: every answer of a survey writes to the same
#: index partition, which throttles the table's writes above ~1,000 a second). A fresh deployment does not
#: create it; a stack upgrading from the previous release keeps it for one deploy (``keepRetiringIndexes``),
#: because CloudFormation adds or removes one index per table update. While it exists, readers also query
#: it for the responses written before ``survey_shard`` existed; ``nps responses backfill-shards`` gives
#: those a shard, and the next deploy without the flag deletes it (docs/operations.md, "Upgrading the
#: responses' index"). Readers treat a missing index as "no previous index".
RESPONSES_BY_SURVEY = IndexSpec("by_survey", partition_key="survey_id", sort_key="first_answered_at", retiring=True)
#: Aggregate items of a survey by period key: the segment and channel slices a survey has in a range are
#: the items of that range's quarter keys (``2026-Q1``…``2026-Q4`` sort between a year's day and week keys,
#: so one ``BETWEEN`` per year reads only quarters). Ledger and commit items have no ``survey_id``, so they
#: stay out of it.
AGGREGATES_BY_PERIOD = IndexSpec(
    "by_survey_period",
    partition_key="survey_id",
    sort_key="period",
    projection="INCLUDE",
    include=("segment", "channel"),
)
#: The previous slice index (survey × granularity), which could only list every quarter a survey ever
#: had. Nothing reads it; a fresh deployment does not create it, and a stack upgrading from the previous
#: release keeps it for one deploy (``keepRetiringIndexes``) because CloudFormation adds or removes one
#: index per table update, not both: the upgrade deploy adds the new index, the next one drops this one
#: (docs/operations.md, "Upgrading the responses' index").
AGGREGATES_BY_SURVEY = IndexSpec(
    "by_survey",
    partition_key="survey_id",
    sort_key="granularity",
    projection="INCLUDE",
    include=("segment", "channel"),
    retiring=True,
)

#: Invites whose send is in flight (``delivery_state = sending``: claimed, not yet recorded) or whose fate
#: is unknown (``unknown``), oldest first. Sparse: the attribute exists only in those two states, so the
#: sweep and ``nps invites unknown`` read a handful of items, never the whole table. Every claim and
#: every recorded send writes to this index's ``sending`` partition: about 500 sends a second at most
#: (1,000 writes per partition key), far above any SES sending rate the platform is configured for.
INVITES_IN_FLIGHT = IndexSpec(
    "in_flight",
    partition_key="delivery_state",
    sort_key="delivery_state_at",
    projection="INCLUDE",
    include=("survey_id", "wave_id", "channel", "status", "reminder_status", "delivery_kind", "unknown_reason"),
)

#: A contact's invites in the order they were sent: how a churn finds the contact's answers (their invite ids,
#: then one ``BatchGetItem`` of the responses per 100). ``sent_at`` is the attribute every invite that can
#: carry a response has: an email or SMS invite gets it when it is sent (before that it has no link, so no
#: answer), a web prompt's invite when it is shown, a share-link answer's invite when it is answered. Sparse:
#: queued invites, mailbox claims and the web prompt's state and counter items have no ``sent_at``, so they
#: are not in it. Invites live ``INVITE_RETENTION_DAYS`` (400) after their link expires, so a contact's last
#: answer is found within that window (docs/churn.md). Not on the responses table: it already changes an index
#: in this release (tests/infra/test_index_changes.py).
INVITES_BY_CONTACT = IndexSpec(
    "by_contact",
    partition_key="contact_id",
    sort_key="sent_at",
    projection="INCLUDE",
    include=("survey_id",),
)

INVITES = TableSpec(
    "invites",
    partition_key="invite_id",
    ttl_attribute="expires_at_ttl",
    indexes=(INVITES_IN_FLIGHT, INVITES_BY_CONTACT),
)
RESPONSES = TableSpec(
    "responses", partition_key="invite_id", stream=True, indexes=(RESPONSES_BY_SURVEY, RESPONSES_BY_SURVEY_SHARD)
)
AGGREGATES = TableSpec(
    "aggregates",
    partition_key="pk",
    sort_key="period",
    ttl_attribute="expires_at_ttl",
    indexes=(AGGREGATES_BY_PERIOD, AGGREGATES_BY_SURVEY),
)
# Survey definitions (sort key ``definition``) and the reminders due for their invites
# (sort key ``reminder#<due>#<invite_id>``), so a reminder run is one query per survey.
SURVEYS = TableSpec("surveys", partition_key="survey_id", sort_key="sk")
#: A contact's items in every audience (and an unfinished erasure's journal, audience ``~erasure``): how a
#: contact's timeline and erasure find it with one query, never a scan. Keys only: the reader gets each
#: item by key (a contact is in a handful of audiences at most).
CONTACTS_BY_ID = IndexSpec("by_contact_id", partition_key="contact_id", sort_key="audience", projection="KEYS_ONLY")
# Contacts by audience: a wave queries its survey's audience; fatigue is tracked per contact there.
CONTACTS = TableSpec("contacts", partition_key="audience", sort_key="contact_id", indexes=(CONTACTS_BY_ID,))
# Unsubscribed, bounced and complained addresses, keyed by a hash of the normalised address (no PII).
# Its stream publishes ``NPS Contact Unsubscribed`` from the suppression an unsubscribe writes.
SUPPRESSIONS = TableSpec("suppressions", partition_key="address_hash", stream=True)

# Follow-ups of answers, by the answered invite (sort key ``follow_up_id`` = ``<invite_id>-<version>``):
# a retraction or comment finds every follow-up of its invite with one query.
FOLLOW_UPS = TableSpec("followups", partition_key="invite_id", sort_key="follow_up_id", ttl_attribute="expires_at_ttl")

# Accounts and what business events say about them (docs/accounts.md): an account's profile
# (``account#<id>`` / ``profile``: its revenue, written by the contacts import), churn records and referral
# records. Partition and sort keys are plain strings whose prefix names the item's kind.
ACCOUNTS = TableSpec("accounts", partition_key="pk", sort_key="sk")

ALL_TABLES: tuple[TableSpec, ...] = (
    INVITES,
    RESPONSES,
    AGGREGATES,
    SURVEYS,
    CONTACTS,
    SUPPRESSIONS,
    FOLLOW_UPS,
    ACCOUNTS,
)
