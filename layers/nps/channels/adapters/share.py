"""The share pages' reads and writes beside the answer: a survey's definition from the surveys table, parsed
without pydantic and kept a minute per warm instance (a burst of answers on one survey reads it once), and
an identified answer's look at the contact's other invites of the survey (:class:`ShareContacts`), and the
answer's invite item (:class:`ShareInvites`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from nps.accounts.membership import Membership
from nps.channels.adapters.store import DEFINITION, RETENTION_SECONDS, web_state_update
from nps.channels.share_links import ContactAnswers, OtherAnswer, ShareSurvey
from nps.kernel import aws
from nps.kernel.aws import conditional_check_failed
from nps.kernel.periods import iso_timestamp
from nps.sending.adapters.contacts import contact_key, last_invite_attribute

if TYPE_CHECKING:
    from nps.responding.adapters.invites import Invite

_CACHE_SECONDS = 60.0
#: Survey definitions a warm instance keeps at most (the oldest read is dropped first).
_CACHE_SURVEYS = 256


class ShareSurveys:
    """``get(survey_id)``: the survey (None when there is none), read at most once a minute."""

    def __init__(self, surveys_table: str) -> None:
        self.surveys_table = surveys_table
        self._cache: dict[str, tuple[float, ShareSurvey | None]] = {}
        #: Survey reads made (GetItem), for tests.
        self.reads = 0

    def get(self, survey_id: str) -> ShareSurvey | None:
        cached = self._cache.get(survey_id)
        if cached and time.monotonic() - cached[0] < _CACHE_SECONDS:
            return cached[1]
        self.reads += 1
        item = (
            aws.client("dynamodb")
            .get_item(TableName=self.surveys_table, Key={"survey_id": {"S": survey_id}, "sk": {"S": DEFINITION}})
            .get("Item")
        )
        survey = ShareSurvey.from_definition(item["definition"]["S"]) if item else None
        self._cache.pop(survey_id, None)
        if len(self._cache) >= _CACHE_SURVEYS:
            del self._cache[next(iter(self._cache))]
        self._cache[survey_id] = (time.monotonic(), survey)
        return survey

    def forget(self) -> None:
        """Drop the cached definitions (tests, after a survey changes)."""
        self._cache.clear()


class ShareContacts:
    """:class:`nps.channels.share_links.ContactAnswersStore` on DynamoDB.

    Reads (both BatchGetItem, eventually consistent; ``reads`` counts the round trips): the contact item's
    ``last_invite#<survey>`` (contacts table) with the web prompt's state (invites table), then the
    responses and invite items of those two invites, projected to a few attributes. Writes: one UpdateItem
    per invite marked out of the headline, one per ``last_surveyed_at``.
    """

    def __init__(self, contacts_table: str, invites_table: str, responses_table: str) -> None:
        self.contacts_table = contacts_table
        self.invites_table = invites_table
        self.responses_table = responses_table
        self.reads = 0

    def find(
        self, audience: str, survey_id: str, contact_id: str, state_id: str, web_invite_of: Callable[[str], str | None]
    ) -> ContactAnswers:
        last_invite = last_invite_attribute(survey_id)
        first = self._batch_get(
            {
                self.contacts_table: {
                    "Keys": [contact_key(audience, contact_id)],
                    "ProjectionExpression": "contact_id, #last_invite, #account",
                    "ExpressionAttributeNames": {"#last_invite": last_invite, "#account": "account"},
                },
                self.invites_table: {
                    "Keys": [{"invite_id": {"S": state_id}}],
                    "ProjectionExpression": "last_surveyed_at",
                },
            }
        )
        contact = next(iter(first.get(self.contacts_table, [])), None)
        state = next(iter(first.get(self.invites_table, [])), None)
        ids = []
        if contact is not None and contact.get(last_invite, {}).get("S"):
            ids.append(contact[last_invite]["S"])
        shown_at = (state or {}).get("last_surveyed_at", {}).get("S")
        web_invite = web_invite_of(shown_at) if shown_at else None
        if web_invite:
            ids.append(web_invite)
        account = Membership.from_attribute(contact.get("account")) if contact is not None else None
        if not ids:
            return ContactAnswers(contact_stored=contact is not None, account=account)
        keys = [{"invite_id": {"S": i}} for i in dict.fromkeys(ids)]
        second = self._batch_get(
            {
                self.responses_table: {
                    "Keys": keys,
                    "ProjectionExpression": "invite_id, #score, #counted, first_answered_at, in_headline",
                    "ExpressionAttributeNames": {"#score": "score", "#counted": "counted"},
                },
                self.invites_table: {"Keys": keys, "ProjectionExpression": "invite_id, in_headline"},
            }
        )
        answers: list[OtherAnswer] = []
        for item in second.get(self.responses_table, []):
            counted = item.get("counted", {}).get("BOOL", "score" in item)
            first_answered = item.get("first_answered_at", {}).get("S")
            if "score" in item and counted and first_answered:
                in_headline = item.get("in_headline", {}).get("BOOL") is not False
                answers.append(OtherAnswer(item["invite_id"]["S"], first_answered, in_headline))
        answered = {a.invite_id for a in answers}
        open_invites = tuple(
            item["invite_id"]["S"]
            for item in second.get(self.invites_table, [])
            if item["invite_id"]["S"] not in answered and item.get("in_headline", {}).get("BOOL") is not False
        )
        return ContactAnswers(contact is not None, tuple(answers), open_invites, account)

    def exclude_from_headline(self, invite_ids: tuple[str, ...]) -> None:
        client = aws.client("dynamodb")
        for invite_id in invite_ids:
            try:
                client.update_item(
                    TableName=self.invites_table,
                    Key={"invite_id": {"S": invite_id}},
                    UpdateExpression="SET in_headline = :false",
                    ConditionExpression="attribute_exists(invite_id)",
                    ExpressionAttributeValues={":false": {"BOOL": False}},
                )
            except Exception as error:
                if not conditional_check_failed(error):
                    raise  # gone since the read (aged out): nothing to mark

    def mark_surveyed(
        self, audience: str, contact_id: str, state_id: str | None, survey_id: str, now: datetime
    ) -> None:
        client = aws.client("dynamodb")
        now_iso = iso_timestamp(now)
        try:
            client.update_item(
                TableName=self.contacts_table,
                Key=contact_key(audience, contact_id),
                UpdateExpression="SET last_surveyed_at = :now",
                ConditionExpression="attribute_exists(contact_id)",
                ExpressionAttributeValues={":now": {"S": now_iso}},
            )
        except Exception as error:
            if not conditional_check_failed(error):
                raise  # a contact only the team's backend knows: the web state below holds the window
        if state_id is not None:
            # The web prompt's state, as its show writes it (nps.channels.adapters.store.WebStore.show).
            state = web_state_update(self.invites_table, state_id, survey_id, contact_id, now, surveyed=True)
            client.update_item(**state)

    def _batch_get(self, request: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        found, rounds = aws.batch_get_items(request)
        self.reads += rounds
        return found


class ShareInvites:
    """:class:`nps.channels.share_links.LinkInviteStore` on DynamoDB: one conditional UpdateItem per answer
    (the function's grant on the invites table is UpdateItem only), kept as long as the web invites."""

    def __init__(self, invites_table: str) -> None:
        self.invites_table = invites_table

    def record_invite(self, invite: Invite, audience: str, now: datetime) -> None:
        now_iso = iso_timestamp(now)
        values: dict[str, Any] = {
            "survey_id": {"S": invite.survey_id},
            "wave_id": {"S": invite.wave_id},
            "contact_id": {"S": invite.contact_id},
            "audience": {"S": audience},
            "channel": {"S": invite.channel},
            "locale": {"S": invite.locale},
            "status": {"S": "answered"},
            "sent_at": {"S": now_iso},
            "answered_at": {"S": now_iso},
            "expires_at": {"N": str(int(now.timestamp()))},
            "segments": {"M": {k: {"S": v} for k, v in invite.segments.items()}},
            "expires_at_ttl": {"N": str(int(now.timestamp()) + RETENTION_SECONDS)},
        }
        if invite.account is not None:
            values["account"] = invite.account.to_attribute()
        try:
            aws.client("dynamodb").update_item(
                TableName=self.invites_table,
                Key={"invite_id": {"S": invite.invite_id}},
                # Every attribute by a placeholder: several (segments, status, …) are DynamoDB reserved words.
                UpdateExpression="SET " + ", ".join(f"#{name} = :{name}" for name in values),
                ConditionExpression="attribute_not_exists(invite_id)",
                ExpressionAttributeNames={f"#{name}": name for name in values},
                ExpressionAttributeValues={f":{name}": value for name, value in values.items()},
            )
        except Exception as error:
            if not conditional_check_failed(error):  # else an earlier answer of this window wrote it
                raise
