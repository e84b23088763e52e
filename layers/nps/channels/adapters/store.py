"""The web channel's DynamoDB access: survey definitions (cached), the eligibility reads, and the writes
that show, answer and dismiss a prompt.

Items the web channel keeps in the invites table, beside the sent invites (every id is a keyed hash,
so none gives away a contact or an address):

* the **web invite** of a contact in a period (``web-`` + 32 hex; ``channel = web``, ``status`` shown →
  answered or dismissed): the invite the response is recorded against, created when the prompt is first
  shown in the period, in one transaction with ``invites_sent`` +1 on the aggregate keys (so the web
  response rate is answered / shown), the daily cap's counter and the contact's ``last_surveyed_at``;
* the **web state** of a contact for a survey (``wst-`` + 32 hex): first seen, last dismissed, last shown;
* the **daily cap** counter of a survey for a UTC day (``wcap-`` + 32 hex), and the **rate-limit**
  counter of a client for a minute (``wrl-`` + 32 hex, a keyed hash of the source address: no address
  is stored). Both expire through the table's TTL.

Contacts the contacts table does not hold are never written there: web state lives in the invites
table, so a wave (which reads its audience from the contacts table) never finds an address-less contact.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from nps.accounts.membership import Membership
from nps.channels.eligibility import PeriodInvite, StoredContact, WebState, WebSurvey
from nps.kernel import aws
from nps.kernel.periods import iso_timestamp

DEFINITION = "definition"
_CACHE_SECONDS = 60.0
#: Survey definitions a warm instance keeps at most (the oldest read is dropped first).
_CACHE_SURVEYS = 256
#: How long web state and web invites are kept after their last write (a year and a month: the longest
#: fatigue window and dismissal delay are a year).
RETENTION_SECONDS = 400 * 86400
_BATCH_RETRIES = 5


@dataclass(frozen=True, slots=True)
class EligibilityReads:
    """What the first read round trip found (None: no such item)."""

    contact: StoredContact | None
    state: WebState | None
    period_invite: PeriodInvite | None


@dataclass(frozen=True, slots=True)
class ShowRequest:
    """A prompt about to be shown for the first time in its period."""

    invite_id: str
    state_id: str
    cap_id: str | None
    survey: WebSurvey
    wave_id: str
    contact_id: str
    contact_stored: bool
    locale: str
    segments: dict[str, str]
    now: datetime
    expires_at: int
    #: The contact's account, copied onto the invite as a wave's invite copies it (docs/accounts.md).
    account: Membership | None = None


class ShowOutcome(StrEnum):
    """What :meth:`WebStore.show` did. Only ``shown`` and ``already_shown`` show the prompt."""

    #: The period's invite was created now and counted (invites sent, daily cap, last surveyed).
    SHOWN = "shown"
    #: Another request created the period's invite first: show it again, nothing counted twice.
    ALREADY_SHOWN = "already_shown"
    #: The survey showed its ``daily_cap`` prompts today: not shown, nothing written.
    DAILY_CAP = "daily_cap"
    #: The stored contact was deleted (e.g. erased) between the read and the show: not shown, nothing written.
    CONTACT_GONE = "contact_gone"
    #: Write contention or throttling outlasted the retries, or DynamoDB cancelled the transaction for a
    #: reason no item explains: not shown, nothing written (the next call decides again).
    BUSY = "busy"


class ShowItem(StrEnum):
    """What each item of the show transaction is, in the order they are sent."""

    INVITE = "invite"  # Put, condition: the period's invite does not exist
    STATE = "state"  # Update, no condition
    CAP = "cap"  # Update, condition: the day's counter is below the cap
    CONTACT = "contact"  # Update, condition: the stored contact still exists
    AGGREGATE = "aggregate"  # Update (invites_sent), no condition


#: Cancellation codes a retry of the same transaction may clear (RETRY: None from :func:`show_outcome`).
RETRYABLE_CODES = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
_THROTTLE_ERRORS = frozenset({"ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded"})
#: Attempts of the show transaction when DynamoDB cancels it for contention or throttling.
SHOW_ATTEMPTS = 3


def show_outcome(items: Sequence[ShowItem], codes: Sequence[str]) -> ShowOutcome | None:
    """The outcome of a cancelled show transaction from its cancellation reasons (``codes[i]`` is item
    ``items[i]``'s code, ``"None"`` when that item did not cancel it), or None when a retry may succeed.

    A failed condition decides, whatever else failed beside it: the contact gone first (an erased contact
    is never shown), then the invite already there, then the daily cap. Otherwise contention or
    throttling (:data:`RETRYABLE_CODES`) is worth a retry; any other code (or a list that does not match the
    items) is :attr:`ShowOutcome.BUSY`. Never raises."""
    failed = {item for item, code in zip(items, codes, strict=False) if code == "ConditionalCheckFailed"}
    if ShowItem.CONTACT in failed:
        return ShowOutcome.CONTACT_GONE
    if ShowItem.INVITE in failed:
        return ShowOutcome.ALREADY_SHOWN
    if ShowItem.CAP in failed:
        return ShowOutcome.DAILY_CAP
    active = [code for code in codes if code not in ("None", "")]
    if len(codes) == len(items) and active and all(code in RETRYABLE_CODES for code in active):
        return None
    return ShowOutcome.BUSY


class CounterUnavailable(Exception):
    """The rate-limit counter could not be written; ``code`` is the AWS error code (or the error's type)."""

    def __init__(self, code: str) -> None:
        super().__init__(f"the rate-limit counter could not be written ({code})")
        self.code = code


def web_state_update(
    invites_table: str, state_id: str, survey_id: str, contact_id: str, now: datetime, *, surveyed: bool = False
) -> dict[str, Any]:
    """The ``UpdateItem`` request that records a contact's web state for a survey: first seen (kept if already
    there), its retention, and with ``surveyed`` the moment they were surveyed (``last_surveyed_at``)."""
    return {
        "TableName": invites_table,
        "Key": {"invite_id": {"S": state_id}},
        "UpdateExpression": (
            ("SET last_surveyed_at = :now, " if surveyed else "SET ")
            + "first_seen_at = if_not_exists(first_seen_at, :now), survey_id = :survey, "
            "contact_id = :contact, kind = :kind, expires_at_ttl = :ttl"
        ),
        "ExpressionAttributeValues": {
            ":now": {"S": iso_timestamp(now)},
            ":survey": {"S": survey_id},
            ":contact": {"S": contact_id},
            ":kind": {"S": "web_state"},
            ":ttl": {"N": str(int(now.timestamp()) + RETENTION_SECONDS)},
        },
    }


class WebStore:
    """DynamoDB reads and writes of the web channel; counts its read round trips (``reads``)."""

    def __init__(
        self,
        surveys_table: str,
        contacts_table: str,
        invites_table: str,
        suppressions_table: str,
        aggregates_table: str,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.surveys_table = surveys_table
        self._sleep = sleep
        self.contacts_table = contacts_table
        self.invites_table = invites_table
        self.suppressions_table = suppressions_table
        self.aggregates_table = aggregates_table
        self._surveys: dict[str, tuple[float, WebSurvey | None]] = {}
        #: Read round trips made (survey reads excluded: they are cached), for tests and benchmarks.
        self.reads = 0

    # -- reads --------------------------------------------------------------------------------------
    def survey(self, survey_id: str) -> WebSurvey | None:
        """The survey's definition, read at most once a minute per warm instance."""
        cached = self._surveys.get(survey_id)
        if cached and time.monotonic() - cached[0] < _CACHE_SECONDS:
            return cached[1]
        item = (
            aws.client("dynamodb")
            .get_item(TableName=self.surveys_table, Key={"survey_id": {"S": survey_id}, "sk": {"S": DEFINITION}})
            .get("Item")
        )
        survey = WebSurvey.from_definition(item["definition"]["S"]) if item else None
        self._surveys.pop(survey_id, None)
        if len(self._surveys) >= _CACHE_SURVEYS:
            del self._surveys[next(iter(self._surveys))]
        self._surveys[survey_id] = (time.monotonic(), survey)
        return survey

    def forget_surveys(self) -> None:
        self._surveys.clear()

    def eligibility_reads(self, audience: str, contact_id: str, state_id: str, invite_id: str) -> EligibilityReads:
        """The contact (contacts table), its web state and its web invite of the period (invites table): one
        BatchGetItem, eventually consistent (half a read unit per item)."""
        request = {
            self.contacts_table: {"Keys": [{"audience": {"S": audience}, "contact_id": {"S": contact_id}}]},
            self.invites_table: {"Keys": [{"invite_id": {"S": state_id}}, {"invite_id": {"S": invite_id}}]},
        }
        found = self._batch_get(request)
        contact_item = next(iter(found.get(self.contacts_table, [])), None)
        by_id = {item["invite_id"]["S"]: item for item in found.get(self.invites_table, [])}
        state_item, invite_item = by_id.get(state_id), by_id.get(invite_id)
        return EligibilityReads(
            contact=_contact(contact_item) if contact_item else None,
            state=WebState(
                first_seen_at=_text(state_item, "first_seen_at"),
                dismissed_at=_text(state_item, "dismissed_at"),
                last_surveyed_at=_text(state_item, "last_surveyed_at"),
            )
            if state_item
            else None,
            period_invite=PeriodInvite(
                invite_id, _text(invite_item, "status") or "shown", _text(invite_item, "sent_at")
            )
            if invite_item
            else None,
        )

    def first_seen_recorded(self, state_id: str) -> bool:
        """Whether the contact's web state records when it was first seen (one GetItem of one attribute,
        eventually consistent: half a read unit)."""
        self.reads += 1
        item = (
            aws.client("dynamodb")
            .get_item(
                TableName=self.invites_table,
                Key={"invite_id": {"S": state_id}},
                ProjectionExpression="first_seen_at",
            )
            .get("Item")
        )
        return bool(_text(item, "first_seen_at"))

    def any_suppressed(self, hashes: Sequence[str]) -> bool:
        """Whether any of the suppression keys is in the suppressions table (one BatchGetItem; a number
        suppressed only because SNS had it opted out counts too: the web prompt asks no SNS)."""
        if not hashes:
            return False
        keys = [{"address_hash": {"S": h}} for h in dict.fromkeys(hashes)]
        found = self._batch_get({self.suppressions_table: {"Keys": keys, "ProjectionExpression": "address_hash"}})
        return bool(found.get(self.suppressions_table))

    def _batch_get(self, request: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        client = aws.client("dynamodb")
        found: dict[str, list[dict[str, Any]]] = {}
        for attempt in range(_BATCH_RETRIES):
            self.reads += 1
            result = client.batch_get_item(RequestItems=request)
            for table, items in result.get("Responses", {}).items():
                found.setdefault(table, []).extend(items)
            request = result.get("UnprocessedKeys") or {}
            if not request:
                return found
            time.sleep(0.02 * 2**attempt)
        raise RuntimeError("DynamoDB left keys unprocessed after retries")

    # -- writes -------------------------------------------------------------------------------------
    def record_first_seen(self, state_id: str, survey_id: str, contact_id: str, now: datetime) -> None:
        """The first time a contact is identified for a survey (kept if already there)."""
        aws.client("dynamodb").update_item(**web_state_update(self.invites_table, state_id, survey_id, contact_id, now))

    def show(self, request: ShowRequest) -> ShowOutcome:
        """Create the period's web invite and count it as sent, in one transaction with the daily cap's
        counter, the web state's ``last_surveyed_at`` (and first seen) and, for a stored contact, the
        contact's ``last_surveyed_at``. Every cancellation of the transaction maps to a
        :class:`ShowOutcome` (:func:`show_outcome`); contention and throttling are retried up to
        :data:`SHOW_ATTEMPTS` times. Raises only for errors that are not the data's (access, missing table).
        One transaction of 2 + (cap) + (stored contact) + aggregate keys items, each a write."""
        items, actions = self._show_actions(request)
        for attempt in range(SHOW_ATTEMPTS):
            try:
                aws.client("dynamodb").transact_write_items(TransactItems=actions)
            except Exception as error:
                codes = _cancellation_codes(error)
                if not codes:
                    if _error_code(error) in _THROTTLE_ERRORS:
                        return ShowOutcome.BUSY  # botocore's own retries are spent
                    raise
                outcome = show_outcome(items, codes)
                if outcome is not None:
                    return outcome
                if attempt + 1 < SHOW_ATTEMPTS:
                    self._sleep(0.02 * 2**attempt * random.uniform(0.5, 1.0))  # noqa: S311 - jitter
                continue
            return ShowOutcome.SHOWN
        return ShowOutcome.BUSY

    def _show_actions(self, request: ShowRequest) -> tuple[list[ShowItem], list[dict[str, Any]]]:
        """The show transaction's items (what each is) and actions, in the same order."""
        # Only a shown prompt creates an invite: its aggregate keys (and the wave planner and aggregation
        # behind them) are not loaded for the cold start of every other request.
        from nps.sending.adapters.invites import invites_sent_keys

        now_iso = iso_timestamp(request.now)
        ttl = {"N": str(request.expires_at + RETENTION_SECONDS)}
        survey = request.survey
        items = [ShowItem.INVITE, ShowItem.STATE]
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.invites_table,
                    "Item": {
                        "invite_id": {"S": request.invite_id},
                        "survey_id": {"S": survey.survey_id},
                        "wave_id": {"S": request.wave_id},
                        "contact_id": {"S": request.contact_id},
                        "audience": {"S": survey.audience},
                        "channel": {"S": "web"},
                        "locale": {"S": request.locale},
                        "status": {"S": "shown"},
                        "sent_at": {"S": now_iso},
                        "expires_at": {"N": str(request.expires_at)},
                        "expires_at_ttl": ttl,
                        "segments": {"M": {k: {"S": v} for k, v in request.segments.items()}},
                        **({"account": request.account.to_attribute()} if request.account is not None else {}),
                    },
                    "ConditionExpression": "attribute_not_exists(invite_id)",
                }
            },
            {
                "Update": {
                    "TableName": self.invites_table,
                    "Key": {"invite_id": {"S": request.state_id}},
                    "UpdateExpression": (
                        "SET last_surveyed_at = :now, first_seen_at = if_not_exists(first_seen_at, :now), "
                        "survey_id = :survey, contact_id = :contact, kind = :kind, expires_at_ttl = :ttl"
                    ),
                    "ExpressionAttributeValues": {
                        ":now": {"S": now_iso},
                        ":survey": {"S": survey.survey_id},
                        ":contact": {"S": request.contact_id},
                        ":kind": {"S": "web_state"},
                        ":ttl": {"N": str(int(request.now.timestamp()) + RETENTION_SECONDS)},
                    },
                }
            },
        ]
        if request.cap_id is not None and survey.daily_cap is not None:
            items.append(ShowItem.CAP)
            actions.append(
                {
                    "Update": {
                        "TableName": self.invites_table,
                        "Key": {"invite_id": {"S": request.cap_id}},
                        "UpdateExpression": "ADD shown :one SET survey_id = :survey, expires_at_ttl = :ttl",
                        "ConditionExpression": "attribute_not_exists(shown) OR shown < :cap",
                        "ExpressionAttributeValues": {
                            ":one": {"N": "1"},
                            ":cap": {"N": str(survey.daily_cap)},
                            ":survey": {"S": survey.survey_id},
                            ":ttl": {"N": str(int(request.now.timestamp()) + 3 * 86400)},
                        },
                    }
                }
            )
        if request.contact_stored:
            items.append(ShowItem.CONTACT)
            actions.append(
                {
                    "Update": {
                        "TableName": self.contacts_table,
                        "Key": {"audience": {"S": survey.audience}, "contact_id": {"S": request.contact_id}},
                        "UpdateExpression": "SET last_surveyed_at = :now",
                        "ConditionExpression": "attribute_exists(contact_id)",
                        "ExpressionAttributeValues": {":now": {"S": now_iso}},
                    }
                }
            )
        account_id = request.account.account_id if request.account is not None else None
        for key in invites_sent_keys(survey.survey_id, request.now, request.segments, "web", account_id):
            items.append(ShowItem.AGGREGATE)
            actions.append(
                {
                    "Update": {
                        "TableName": self.aggregates_table,
                        "Key": {"pk": {"S": key.pk}, "period": {"S": key.period}},
                        "UpdateExpression": (
                            "ADD invites_sent :one SET survey_id = :survey, granularity = :granularity, "
                            "#segment = :segment, #channel = :channel, updated_at = :at"
                        ),
                        "ExpressionAttributeNames": {"#segment": "segment", "#channel": "channel"},
                        "ExpressionAttributeValues": {
                            ":one": {"N": "1"},
                            ":survey": {"S": key.survey_id},
                            ":granularity": {"S": key.granularity.value},
                            ":segment": {"S": key.segment},
                            ":channel": {"S": key.channel},
                            ":at": {"S": now_iso},
                        },
                    }
                }
            )
        return items, actions

    def mark_answered(self, invite_id: str, now: datetime) -> None:
        """The web invite's answer is on record: the prompt does not show again this period."""
        aws.client("dynamodb").update_item(
            TableName=self.invites_table,
            Key={"invite_id": {"S": invite_id}},
            UpdateExpression="SET #status = :answered, answered_at = if_not_exists(answered_at, :now)",
            ConditionExpression="attribute_exists(invite_id)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":answered": {"S": "answered"}, ":now": {"S": iso_timestamp(now)}},
        )

    def dismiss(self, invite_id: str, state_id: str, now: datetime) -> None:
        """The person closed the prompt: the invite is ``dismissed`` (unless answered) and the web state
        remembers when, in one transaction (a repeat writes the same again)."""
        now_iso = iso_timestamp(now)
        client = aws.client("dynamodb")
        try:
            client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self.invites_table,
                            "Key": {"invite_id": {"S": invite_id}},
                            "UpdateExpression": "SET #status = :dismissed, dismissed_at = :now",
                            "ConditionExpression": "attribute_exists(invite_id) AND #status <> :answered",
                            "ExpressionAttributeNames": {"#status": "status"},
                            "ExpressionAttributeValues": {
                                ":dismissed": {"S": "dismissed"},
                                ":answered": {"S": "answered"},
                                ":now": {"S": now_iso},
                            },
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.invites_table,
                            "Key": {"invite_id": {"S": state_id}},
                            "UpdateExpression": "SET dismissed_at = :now, expires_at_ttl = :ttl",
                            "ExpressionAttributeValues": {
                                ":now": {"S": now_iso},
                                ":ttl": {"N": str(int(now.timestamp()) + RETENTION_SECONDS)},
                            },
                        }
                    },
                ]
            )
        except Exception as error:
            if _cancellation_codes(error)[:1] == ["ConditionalCheckFailed"]:
                return  # answered already: a late close changes nothing
            raise

    def count_request(self, counter_id: str, expires_at: int) -> int:
        """Add one to a rate-limit counter and return its new value (one write). Raises
        :class:`CounterUnavailable` when the write fails for any reason (throttled past botocore's retries,
        a network error, a missing grant): the caller refuses the request rather than answer a 500."""
        try:
            result = aws.client("dynamodb").update_item(
                TableName=self.invites_table,
                Key={"invite_id": {"S": counter_id}},
                UpdateExpression="ADD requests :one SET expires_at_ttl = if_not_exists(expires_at_ttl, :ttl)",
                ExpressionAttributeValues={":one": {"N": "1"}, ":ttl": {"N": str(expires_at)}},
                ReturnValues="UPDATED_NEW",
            )
            return int(result["Attributes"]["requests"]["N"])
        except Exception as error:
            raise CounterUnavailable(_error_code(error) or type(error).__name__) from error

    def cached_survey(self, survey_id: str) -> WebSurvey | None:
        """The survey's definition if this warm instance holds it (fresh or not); never reads."""
        cached = self._surveys.get(survey_id)
        return cached[1] if cached else None


def _error_code(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _cancellation_codes(error: Exception) -> list[str]:
    """The per-item codes of a cancelled transaction (empty for any other error; ``["?"]`` for a
    cancellation without reasons, so it is never mistaken for another error)."""
    if _error_code(error) != "TransactionCanceledException":
        return []
    response = getattr(error, "response", None) or {}
    codes = [str((reason or {}).get("Code", "None")) for reason in response.get("CancellationReasons") or []]
    return codes or ["?"]


def _text(item: dict[str, Any] | None, name: str) -> str | None:
    if not item:
        return None
    value = item.get(name, {}).get("S")
    return str(value) if value else None


def _contact(item: dict[str, Any]) -> StoredContact:
    return StoredContact(
        last_surveyed_at=_text(item, "last_surveyed_at"),
        locale=_text(item, "locale"),
        attributes={k: v["S"] for k, v in item.get("attributes", {}).get("M", {}).items() if "S" in v},
        email=_text(item, "email"),
        phone=_text(item, "phone"),
        account=Membership.from_attribute(item.get("account")),
    )
