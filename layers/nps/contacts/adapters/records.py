"""A contact's records in every store: read for the timeline, deleted by an erasure.

One query per store: the contacts table's ``by_contact_id`` index, the invites' ``by_contact`` index, then
``BatchGetItem`` of invites and responses per 100 keys, one query of the follow-ups per invite, one
``GetItem`` per suppression key and survey, one query of the accounts table's contact partition (and of
each invite's referral partition). The contact-import error reports are CSV objects in the import
bucket (``reports/<audience>/...``): an erasure rewrites each without the contact's rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from nps.accounts.churn_keys import UNMATCHED_SURVEY
from nps.contacts.erasure import Addresses, InviteState, Journal
from nps.events.patterns import RESURVEY_WAVE_PREFIX
from nps.kernel import aws
from nps.kernel.tables import CONTACTS_BY_ID, INVITES_BY_CONTACT
from nps.kernel.waves import is_resurvey_wave
from nps.sending.suppression import SuppressionReason, address_hash

if TYPE_CHECKING:
    # The timeline's entries load with the first timeline read (the contact_timeline function, the CLI):
    # an erasure never reads one (tests/architecture/test_import_budget.py).
    from nps.contacts.timeline import (
        ContactEntry,
        FollowUpEntry,
        InviteEntry,
        ResponseEntry,
        SuppressionEntry,
        Timeline,
    )
    from nps.links.pseudonyms import IdKey

#: The audience of an erasure's journal item: never an audience id (those are ``A-Z a-z 0-9 _ -``).
JOURNAL_AUDIENCE = "~erasure"
_BATCH = 100


@dataclass(frozen=True, slots=True)
class Tables:
    contacts: str
    invites: str
    responses: str
    followups: str
    suppressions: str
    accounts: str
    surveys: str = ""
    #: The import bucket holding ``reports/<audience>/*.errors.csv`` ("" when the stack has none).
    import_bucket: str = ""


def _s(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name, {}).get("S")
    return str(value) if value is not None else None


def _n(item: dict[str, Any], name: str) -> int | None:
    value = item.get(name, {}).get("N")
    return int(float(value)) if value is not None else None


class DynamoContactRecords:
    """:class:`nps.contacts.erasure.ErasureStore`, and the timeline's reads."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables

    # -- finding the contact ------------------------------------------------------------------------
    def _audience_keys(self, contact_id: str) -> list[str]:
        audiences: list[str] = []
        paginator = aws.client("dynamodb").get_paginator("query")
        for page in paginator.paginate(
            TableName=self.tables.contacts,
            IndexName=CONTACTS_BY_ID.name,
            KeyConditionExpression="contact_id = :id",
            ExpressionAttributeValues={":id": {"S": contact_id}},
        ):
            audiences.extend(item["audience"]["S"] for item in page.get("Items", []))
        return audiences

    def contact_audiences(self, contact_id: str) -> list[str]:
        """The audiences the contact is in (its erasure journal apart)."""
        return [a for a in self._audience_keys(contact_id) if a != JOURNAL_AUDIENCE]

    def _contact_item(self, audience: str, contact_id: str) -> dict[str, Any] | None:
        found = aws.client("dynamodb").get_item(
            TableName=self.tables.contacts,
            Key={"audience": {"S": audience}, "contact_id": {"S": contact_id}},
            ConsistentRead=True,
        )
        item: dict[str, Any] | None = found.get("Item")
        return item

    def addresses(self, audience: str, contact_id: str) -> Addresses | None:
        item = self._contact_item(audience, contact_id)
        return None if item is None else Addresses(_s(item, "email"), _s(item, "phone"))

    # -- the journal --------------------------------------------------------------------------------
    def journal(self, contact_id: str) -> Journal | None:
        item = self._contact_item(JOURNAL_AUDIENCE, contact_id)
        if item is None:
            return None

        def texts(name: str) -> tuple[str, ...]:
            return tuple(v["S"] for v in item.get(name, {}).get("L", []))

        return Journal(
            contact_id=contact_id,
            started_at=_s(item, "started_at") or "",
            keep_suppression=bool(item.get("keep_suppression", {}).get("BOOL", False)),
            suppression_hashes=texts("suppression_hashes"),
            mailbox_keys=texts("mailbox_keys"),
            audiences=texts("audiences"),
            waves=texts("waves"),
        )

    def save_journal(self, journal: Journal) -> None:
        def texts(values: Sequence[str]) -> dict[str, Any]:
            return {"L": [{"S": v} for v in values]}

        aws.client("dynamodb").put_item(
            TableName=self.tables.contacts,
            Item={
                "audience": {"S": JOURNAL_AUDIENCE},
                "contact_id": {"S": journal.contact_id},
                "started_at": {"S": journal.started_at},
                "keep_suppression": {"BOOL": journal.keep_suppression},
                "suppression_hashes": texts(journal.suppression_hashes),
                "mailbox_keys": texts(journal.mailbox_keys),
                "audiences": texts(journal.audiences),
                "waves": texts(journal.waves),
            },
        )

    def delete_journal(self, contact_id: str) -> None:
        self.delete_contact(JOURNAL_AUDIENCE, contact_id)

    # -- invites ------------------------------------------------------------------------------------
    def _invite_keys(self, contact_id: str) -> Iterator[dict[str, Any]]:
        """The contact's sent invites from the ``by_contact`` index, newest first."""
        paginator = aws.client("dynamodb").get_paginator("query")
        for page in paginator.paginate(
            TableName=self.tables.invites,
            IndexName=INVITES_BY_CONTACT.name,
            KeyConditionExpression="contact_id = :id",
            ExpressionAttributeValues={":id": {"S": contact_id}},
            ScanIndexForward=False,
        ):
            yield from page.get("Items", [])

    def invite_ids(self, contact_id: str) -> list[str]:
        return [item["invite_id"]["S"] for item in self._invite_keys(contact_id)]

    def _batch_get(self, table: str, invite_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Items by invite id, ``BatchGetItem`` per 100 keys (unprocessed keys asked again)."""
        found: dict[str, dict[str, Any]] = {}
        unique = list(dict.fromkeys(invite_ids))
        client = aws.client("dynamodb")
        for start in range(0, len(unique), _BATCH):
            keys = [{"invite_id": {"S": i}} for i in unique[start : start + _BATCH]]
            request: dict[str, Any] = {table: {"Keys": keys, "ConsistentRead": True}}
            for _ in range(10):
                result = client.batch_get_item(RequestItems=request)
                for item in result.get("Responses", {}).get(table, []):
                    found[item["invite_id"]["S"]] = item
                request = result.get("UnprocessedKeys") or {}
                if not request:
                    break
        return found

    def invite_states(self, invite_ids: Sequence[str]) -> list[InviteState]:
        items = self._batch_get(self.tables.invites, invite_ids)
        return [
            InviteState(
                invite_id=invite_id,
                wave_id=_s(item, "wave_id") or "",
                status=_s(item, "status") or "",
                erasing_at=_s(item, "erasing_at"),
                reminder_status=_s(item, "reminder_status"),
                survey_id=_s(item, "survey_id") or "",
            )
            for invite_id, item in items.items()
        ]

    def recorded_waves(self, audiences: Sequence[str]) -> list[str]:
        """The ids of every wave recorded (``wave#<id>`` in the surveys table: every scheduled wave, planned by
        the planner function or the CLI) of every survey whose audience is one of ``audiences``: one scan
        of the (small) definitions, then one keys-only query per such survey."""
        if not self.tables.surveys or not audiences:
            return []
        from nps.sending.adapters.surveys import DynamoSurveyRepository
        from nps.sending.adapters.waves import WAVE_PREFIX

        wanted = set(audiences)
        waves: list[str] = []
        paginator = aws.client("dynamodb").get_paginator("query")
        for survey in DynamoSurveyRepository(self.tables.surveys).all():
            if survey.audience not in wanted:
                continue
            for page in paginator.paginate(
                TableName=self.tables.surveys,
                KeyConditionExpression="survey_id = :survey AND begins_with(sk, :wave)",
                ExpressionAttributeValues={":survey": {"S": survey.survey_id}, ":wave": {"S": WAVE_PREFIX}},
                ProjectionExpression="sk",
            ):
                waves.extend(item["sk"]["S"].removeprefix(WAVE_PREFIX) for item in page.get("Items", []))
        return waves

    def resurvey_waves(self, invite_ids: Sequence[str]) -> list[str]:
        """The re-survey wave of every follow-up of ``invite_ids`` (a follow-up's re-survey invite may never
        have been sent, and then is in no index)."""
        return [
            # nps.follow_ups.steps.resurvey_wave_id (not imported: the follow-up steps are a heavy import)
            f"{RESURVEY_WAVE_PREFIX}{item['follow_up_id']['S']}"
            for invite_id in invite_ids
            for item in self._follow_up_items(invite_id)
        ]

    def mark_erasing(self, invite_id: str, now_iso: str) -> bool:
        """Mark an invite as being erased (the respond path then treats it as gone); False when it is gone."""
        return aws.conditional_write(
            "update_item",
            TableName=self.tables.invites,
            Key={"invite_id": {"S": invite_id}},
            UpdateExpression="SET erasing_at = if_not_exists(erasing_at, :now)",
            ConditionExpression="attribute_exists(invite_id)",
            ExpressionAttributeValues={":now": {"S": now_iso}},
        )

    def delete_invite(self, invite_id: str) -> bool:
        """Delete an invite unless a send of it is in flight; True when an item was deleted."""
        try:
            result = aws.client("dynamodb").delete_item(
                TableName=self.tables.invites,
                Key={"invite_id": {"S": invite_id}},
                ConditionExpression=(
                    "(attribute_not_exists(#status) OR #status <> :sending) "
                    "AND (attribute_not_exists(reminder_status) OR reminder_status <> :sending)"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":sending": {"S": "sending"}},
                ReturnValues="ALL_OLD",
            )
        except Exception as error:
            if aws.conditional_check_failed(error):
                return False
            raise
        return "Attributes" in result

    # -- contacts -----------------------------------------------------------------------------------
    def delete_contact(self, audience: str, contact_id: str) -> bool:
        result = aws.client("dynamodb").delete_item(
            TableName=self.tables.contacts,
            Key={"audience": {"S": audience}, "contact_id": {"S": contact_id}},
            ReturnValues="ALL_OLD",
        )
        return "Attributes" in result

    # -- responses, follow-ups, accounts --------------------------------------------------------------
    def delete_response(self, invite_id: str) -> bool:
        """Delete the invite's response (the stream subtracts it from the aggregates); True if one existed."""
        result = aws.client("dynamodb").delete_item(
            TableName=self.tables.responses,
            Key={"invite_id": {"S": invite_id}},
            ReturnValues="ALL_OLD",
        )
        return "Attributes" in result

    def _follow_up_items(self, invite_id: str) -> list[dict[str, Any]]:
        result = aws.client("dynamodb").query(
            TableName=self.tables.followups,
            KeyConditionExpression="invite_id = :invite",
            ExpressionAttributeValues={":invite": {"S": invite_id}},
            ConsistentRead=True,
        )
        items: list[dict[str, Any]] = result.get("Items", [])
        return items

    def delete_follow_ups(self, invite_id: str) -> int:
        """Delete the follow-ups of an invite (their comments live on them), first stopping the workflow of
        each: a workflow left waiting (the team's resolution, a timeout, the re-survey's wait — also after a
        retraction resolved its follow-up) would wake up to a follow-up that is gone and fail into the
        workflow DLQ and its alarm. Stopping an execution that has ended changes nothing."""
        count = 0
        for item in self._follow_up_items(invite_id):
            if _s(item, "execution"):
                stop_workflow(_s(item, "execution") or "")
            aws.client("dynamodb").delete_item(
                TableName=self.tables.followups,
                Key={"invite_id": item["invite_id"], "follow_up_id": item["follow_up_id"]},
            )
            count += 1
        return count

    def _partition(self, pk: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        paginator = aws.client("dynamodb").get_paginator("query")
        for page in paginator.paginate(
            TableName=self.tables.accounts,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}},
            ProjectionExpression="pk, sk",
        ):
            items.extend(page.get("Items", []))
        return items

    def account_items(self, contact_id: str, invite_ids: Sequence[str]) -> list[dict[str, Any]]:
        """The contact's partition (``contact#<id>``) and each invite's referral partition."""
        items = self._partition(f"contact#{contact_id}")
        for invite_id in invite_ids:
            items.extend(self._partition(f"referral#{invite_id}"))
        return items

    def churn_records(self, contact_id: str, invite_ids: Sequence[str]) -> list[dict[str, Any]]:
        """The contact's churn records: in ``churn#<survey>`` of each survey it was invited to, and in the
        unmatched churns' ``churn#*`` (docs/churn.md), one query of each partition filtered on the id."""
        surveys = {_s(item, "survey_id") for item in self._batch_get(self.tables.invites, invite_ids).values()}
        items: list[dict[str, Any]] = []
        paginator = aws.client("dynamodb").get_paginator("query")
        for survey_id in sorted({s for s in surveys if s} | {UNMATCHED_SURVEY}):
            for page in paginator.paginate(
                TableName=self.tables.accounts,
                KeyConditionExpression="pk = :pk",
                FilterExpression="contact_id = :contact",
                ExpressionAttributeValues={":pk": {"S": f"churn#{survey_id}"}, ":contact": {"S": contact_id}},
                ProjectionExpression="pk, sk",
            ):
                items.extend(page.get("Items", []))
        return items

    def delete_account_records(self, contact_id: str, invite_ids: Sequence[str]) -> int:
        """Delete the contact's partition, its invites' referral partitions and its churn records."""
        items = self.account_items(contact_id, invite_ids) + self.churn_records(contact_id, invite_ids)
        for item in items:
            aws.client("dynamodb").delete_item(TableName=self.tables.accounts, Key={"pk": item["pk"], "sk": item["sk"]})
        return len(items)

    # -- suppressions -------------------------------------------------------------------------------
    @staticmethod
    def _split(entry: str) -> tuple[str, str]:
        """``<channel>:<hash>[:legacy]`` → (channel, hash)."""
        channel, digest = entry.split(":")[:2]
        return channel, digest

    def _suppression(self, digest: str) -> dict[str, Any] | None:
        found = aws.client("dynamodb").get_item(
            TableName=self.tables.suppressions, Key={"address_hash": {"S": digest}}, ConsistentRead=True
        )
        item: dict[str, Any] | None = found.get("Item")
        return item

    def keep_suppressions(self, hashes: Sequence[str], keyed: Sequence[str], now_iso: str) -> int:
        """Write an ``erased`` suppression under each of ``keyed`` that has none, and take the contact id
        off every suppression of ``hashes``; how many suppressions of ``hashes`` stand (hash only)."""
        client = aws.client("dynamodb")
        for entry in keyed:
            aws.conditional_write(
                "put_item",
                TableName=self.tables.suppressions,
                Item={
                    "address_hash": {"S": self._split(entry)[1]},
                    "reason": {"S": SuppressionReason.ERASED.value},
                    "suppressed_at": {"S": now_iso},
                },
                ConditionExpression="attribute_not_exists(address_hash)",
            )
        standing = 0
        for entry in hashes:
            digest = self._split(entry)[1]
            if self._suppression(digest) is None:
                continue
            standing += 1
            client.update_item(
                TableName=self.tables.suppressions,
                Key={"address_hash": {"S": digest}},
                UpdateExpression="REMOVE contact_id",
            )
        return standing

    def delete_suppressions(self, hashes: Sequence[str]) -> int:
        count = 0
        for entry in hashes:
            result = aws.client("dynamodb").delete_item(
                TableName=self.tables.suppressions,
                Key={"address_hash": {"S": self._split(entry)[1]}},
                ReturnValues="ALL_OLD",
            )
            count += "Attributes" in result
        return count

    def suppression_states(self, contact: Addresses, id_key: IdKey) -> tuple[SuppressionEntry, ...]:
        """Per channel the contact has an address on: its keyed suppression (one ``GetItem``)."""
        from nps.contacts.timeline import SuppressionEntry

        out = []
        for channel in ("email", "sms"):
            address = contact.of(channel)
            if not address:
                continue
            item = self._suppression(address_hash(channel, address, id_key))
            out.append(
                SuppressionEntry(
                    channel,
                    item is not None,
                    _s(item, "reason") if item else None,
                    _s(item, "suppressed_at") if item else None,
                )
            )
        return tuple(out)

    # -- mailbox claims and import reports -----------------------------------------------------------
    def delete_mailbox_claims(self, keys: Sequence[str], contact_id: str) -> int:
        """Delete items of the invites table keyed by a keyed hash and held for the contact: the waves'
        mailbox claims (``mbx-...``) and the web prompt's state (``wst-...``)."""
        count = 0
        for key in keys:
            try:
                result = aws.client("dynamodb").delete_item(
                    TableName=self.tables.invites,
                    Key={"invite_id": {"S": key}},
                    ConditionExpression="contact_id = :contact",
                    ExpressionAttributeValues={":contact": {"S": contact_id}},
                    ReturnValues="ALL_OLD",
                )
            except Exception as error:
                if aws.conditional_check_failed(error):
                    continue  # gone, or another contact's claim of the mailbox
                raise
            count += "Attributes" in result
        return count

    def erase_import_rows(self, contact_id: str, audiences: Sequence[str]) -> int:
        """Rewrite each import error report of the contact's audiences without the contact's rows; how many
        rows were removed. (Uploaded files themselves expire with the bucket's 30-day lifecycle.)"""
        bucket = self.tables.import_bucket
        if not bucket:
            return 0
        s3 = aws.client("s3")
        removed = 0
        for audience in audiences:
            paginator = s3.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=bucket, Prefix=f"reports/{audience}/"):
                for entry in page.get("Contents", []):
                    key = entry["Key"]
                    if not key.endswith(".errors.csv"):
                        continue
                    text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
                    kept, dropped = without_contact(text, contact_id)
                    if dropped:
                        s3.put_object(Bucket=bucket, Key=key, Body=kept.encode("utf-8"), ContentType="text/csv")
                        removed += dropped
        return removed

    # -- the timeline -------------------------------------------------------------------------------
    def timeline(self, contact_id: str, id_key: IdKey, now: datetime, limit: int | None = None) -> Timeline:
        """The contact's :class:`~nps.contacts.timeline.Timeline` (at most ``limit`` invites, newest first;
        :data:`~nps.contacts.timeline.MAX_INVITES_SHOWN` when None)."""
        from nps.contacts.timeline import MAX_INVITES_SHOWN, Timeline, eligibility

        if limit is None:
            limit = MAX_INVITES_SHOWN
        audiences = self._audience_keys(contact_id)
        pending = JOURNAL_AUDIENCE in audiences
        contacts: list[ContactEntry] = []
        suppressions: list[SuppressionEntry] = []
        for audience in (a for a in audiences if a != JOURNAL_AUDIENCE):
            item = self._contact_item(audience, contact_id)
            if item is None:
                continue
            contacts.append(contact_entry(item))
            addresses = Addresses(_s(item, "email"), _s(item, "phone"))
            suppressions.extend(replace(e, audience=audience) for e in self.suppression_states(addresses, id_key))
        keys = list(self._invite_keys(contact_id))
        shown = keys[:limit]
        ids = [k["invite_id"]["S"] for k in shown]
        invites = self._batch_get(self.tables.invites, ids)
        # Invites never sent (queued, skipped, failed) are in no index: found by their ids, computed for
        # every recorded wave of the contact's audiences' surveys and the re-survey wave of each follow-up.
        unsent = self._unsent_invites(
            contact_id, [c.audience for c in contacts], ids, {k["invite_id"]["S"] for k in keys}, id_key
        )
        room = max(0, limit - len(ids))
        for invite_id in sorted(unsent, key=lambda i: _s(unsent[i], "planned_at") or "", reverse=True)[:room]:
            ids.append(invite_id)
            invites[invite_id] = unsent[invite_id]
        more_unsent = max(0, len(unsent) - room)
        responses = self._batch_get(self.tables.responses, ids)
        entries = []
        for invite_id in ids:
            item = invites.get(invite_id)
            if item is None:
                continue
            follow_ups = tuple(follow_up_entry(f) for f in self._follow_up_items(invite_id))
            response = responses.get(invite_id)
            entries.append(invite_entry(item, response_entry(response) if response else None, follow_ups))
        kinds: dict[str, int] = {}
        for item in self.account_items(contact_id, ids):
            kind = item["sk"]["S"].split("#", 1)[0]
            kinds[kind] = kinds.get(kind, 0) + 1
        fatigue = self._fatigue({e.survey_id for e in entries})
        states = tuple(sorted(suppressions, key=lambda e: (e.channel, e.audience)))
        return Timeline(
            contact_id=contact_id,
            contacts=tuple(contacts),
            invites=tuple(entries),
            suppressions=states,
            eligibility=eligibility(tuple(contacts), fatigue, states, now),
            more_invites=max(0, len(keys) - len(shown)) + more_unsent,
            account_records=kinds,
            erasure_pending=pending,
        )

    def _unsent_invites(
        self, contact_id: str, audiences: Sequence[str], indexed: Sequence[str], known: set[str], id_key: IdKey
    ) -> dict[str, dict[str, Any]]:
        """The contact's invites in no index, by id: computed (:func:`nps.sending.invite_ids.invite_id_for`) for
        every recorded wave of ``audiences``' surveys and the re-survey waves of ``indexed``' follow-ups."""
        from nps.sending.invite_ids import invite_id_for

        waves = set(self.recorded_waves(audiences)) | set(self.resurvey_waves(indexed))
        computed = sorted({invite_id_for(w, contact_id, a, id_key) for w in waves for a in audiences} - known)
        return self._batch_get(self.tables.invites, computed) if computed else {}

    def _fatigue(self, survey_ids: set[str]) -> dict[str, int]:
        """Each survey's fatigue window in days (a survey no longer defined is left out)."""
        if not self.tables.surveys:
            return {}
        from nps.sending.adapters.surveys import DynamoSurveyRepository

        repository = DynamoSurveyRepository(self.tables.surveys)
        out = {}
        for survey_id in sorted(survey_ids):
            survey = repository.get(survey_id)
            if survey is not None:
                out[survey_id] = survey.fatigue_days
        return out


def stop_workflow(execution_arn: str) -> bool:
    """Stop a follow-up workflow's execution (it then runs no further step and counts as aborted, not
    failed); False when there is none to stop (ended and aged out, or not an execution's ARN)."""
    try:
        aws.client("stepfunctions").stop_execution(
            executionArn=execution_arn, error="ContactErased", cause="the contact was erased (docs/privacy.md)"
        )
    except Exception as error:
        code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
        if code in ("ExecutionDoesNotExist", "InvalidArn"):
            return False
        raise
    return True


def without_contact(text: str, contact_id: str) -> tuple[str, int]:
    """An import error report (``line,contact_id,errors``) without the rows of ``contact_id``, and how many
    rows it dropped. The report writes ids through :func:`nps.kernel.spreadsheets.safe_cell`, so a cell
    may carry a leading ``'``: both spellings match."""
    rows = list(csv.reader(io.StringIO(text)))
    kept = [row for row in rows if len(row) < 2 or row[1].removeprefix("'") != contact_id]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(kept)
    return out.getvalue(), len(rows) - len(kept)


def contact_entry(item: dict[str, Any]) -> ContactEntry:
    from nps.contacts.timeline import ContactEntry

    account = item.get("account", {}).get("M", {})
    return ContactEntry(
        audience=item["audience"]["S"],
        channels=tuple(c for c, name in (("email", "email"), ("sms", "phone")) if _s(item, name)),
        time_zone=_s(item, "time_zone") or "UTC",
        locale=_s(item, "locale"),
        last_surveyed_at=_s(item, "last_surveyed_at"),
        attributes={k: v.get("S", "") for k, v in item.get("attributes", {}).get("M", {}).items()},
        account_id=account.get("account_id", {}).get("S"),
    )


def response_entry(item: dict[str, Any]) -> ResponseEntry:
    from nps.contacts.timeline import ResponseEntry

    version = _n(item, "version") or 0
    comments = tuple(
        (c.get("M", {}).get("text", {}).get("S", ""), c.get("M", {}).get("at", {}).get("S", ""))
        for c in item.get("comments", {}).get("L", [])
    )
    return ResponseEntry(
        score=_n(item, "score"),
        category=_s(item, "category"),
        # The NPS's rule: not an automated or retracted fetch, and not a follow-up's re-survey (nps.kernel.waves).
        counted=item.get("counted", {}).get("BOOL", "score" in item)
        and not is_resurvey_wave(_s(item, "wave_id") or ""),
        first_answered_at=_s(item, "first_answered_at"),
        answered_at=_s(item, "answered_at"),
        version=version,
        comment=_s(item, "comment"),
        comment_at=_s(item, "comment_at"),
        comments=comments,
        score_changed=bool(_s(item, "answered_at")) and _s(item, "answered_at") != _s(item, "first_answered_at"),
        automated_score=_n(item, "automated_score"),
    )


def follow_up_entry(item: dict[str, Any]) -> FollowUpEntry:
    from nps.contacts.timeline import FollowUpEntry

    return FollowUpEntry(
        follow_up_id=item["follow_up_id"]["S"],
        category=_s(item, "category") or "",
        status=_s(item, "status") or "",
        opened_at=_s(item, "opened_at") or "",
        outcome=_s(item, "outcome"),
        resolution=_s(item, "resolution"),
        resolved_at=_s(item, "resolved_at"),
        new_score=_n(item, "new_score"),
        comment_count=_n(item, "comment_count") or len(item.get("comments", {}).get("L", [])),
    )


def invite_entry(
    item: dict[str, Any], response: ResponseEntry | None, follow_ups: tuple[FollowUpEntry, ...]
) -> InviteEntry:
    from nps.contacts.timeline import InviteEntry

    return InviteEntry(
        invite_id=item["invite_id"]["S"],
        survey_id=_s(item, "survey_id") or "",
        wave_id=_s(item, "wave_id") or "",
        channel=_s(item, "channel") or "",
        status=_s(item, "status") or "",
        sent_at=_s(item, "sent_at"),
        reminder_status=_s(item, "reminder_status"),
        reminder_sent_at=_s(item, "reminder_sent_at"),
        response=response,
        follow_ups=follow_ups,
    )
