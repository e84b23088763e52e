"""Invites table: one item per contact per wave, holding the ids and segment values copied at send time.

The sending side (:mod:`nps.sending.adapters.invites`) adds ``status`` transitions (queued → sending →
sent / failed / skipped, then bounced), ``send_after``, ``reminder_sent_at`` and the ``expires_at_ttl``
TTL; the fields here keep their meaning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nps.accounts.membership import Membership
from nps.kernel import aws
from nps.kernel.branding import NEUTRAL_BRAND, PageBrand
from nps.kernel.periods import parse_timestamp
from nps.reasons.questions import FollowUpQuestions
from nps.responding.scanners import CLICK_LOG_SIZE, Click


@dataclass(frozen=True, slots=True)
class Invite:
    invite_id: str
    survey_id: str
    wave_id: str
    contact_id: str
    channel: str
    locale: str
    expires_at: int
    sent_at: str
    segments: dict[str, str] = field(default_factory=dict)
    status: str = "sent"
    #: Recent link activity (opens, confirmations, honeypot fetches), newest last.
    clicks: tuple[Click, ...] = ()
    #: What the pages show of the survey, copied when the invite was planned (neutral on older invites).
    page: PageBrand = NEUTRAL_BRAND
    #: False once another answer of the contact took the survey's headline for the period (an identified
    #: share-link answer, :mod:`nps.channels.share_links`): this invite's answer then counts in its
    #: channel only (:meth:`~nps.responding.adapters.responses.DynamoResponseRepository.record_score`).
    in_headline: bool = True
    #: The survey's follow-up questions in the invite's locale, copied when it was planned (None on older
    #: invites and for surveys that ask none: the page then asks only for a comment).
    questions: FollowUpQuestions | None = None
    #: The contact's account, role and the account's revenue, copied when the invite was planned.
    account: Membership | None = None

    @property
    def sent_at_epoch(self) -> float | None:
        try:
            return parse_timestamp(self.sent_at).timestamp() if self.sent_at else None
        except ValueError:
            return None


def _to_item(invite: Invite) -> dict[str, Any]:
    return {
        "invite_id": {"S": invite.invite_id},
        "survey_id": {"S": invite.survey_id},
        "wave_id": {"S": invite.wave_id},
        "contact_id": {"S": invite.contact_id},
        "channel": {"S": invite.channel},
        "locale": {"S": invite.locale},
        "expires_at": {"N": str(invite.expires_at)},
        "sent_at": {"S": invite.sent_at},
        "segments": {"M": {k: {"S": v} for k, v in invite.segments.items()}},
        "status": {"S": invite.status},
        "page": invite.page.to_item(),
        **({"questions": invite.questions.to_attribute()} if invite.questions is not None else {}),
        **({"account": invite.account.to_attribute()} if invite.account is not None else {}),
    } | ({} if invite.in_headline else {"in_headline": {"BOOL": False}})


def _from_item(item: dict[str, Any]) -> Invite:
    return Invite(
        invite_id=item["invite_id"]["S"],
        survey_id=item["survey_id"]["S"],
        wave_id=item["wave_id"]["S"],
        contact_id=item["contact_id"]["S"],
        channel=item["channel"]["S"],
        locale=item.get("locale", {}).get("S", "en"),
        expires_at=int(item["expires_at"]["N"]),
        # Queued invites have no sent_at yet (tokens, and so respond lookups, exist only once sent).
        sent_at=item.get("sent_at", {}).get("S", ""),
        segments={k: v["S"] for k, v in item.get("segments", {}).get("M", {}).items()},
        status=item.get("status", {}).get("S", "sent"),
        clicks=tuple(_clicks(item.get("clicks", {}).get("L", []))),
        page=PageBrand.from_item(item.get("page")),
        in_headline=item.get("in_headline", {}).get("BOOL") is not False,
        questions=FollowUpQuestions.from_attribute(item.get("questions")),
        account=Membership.from_attribute(item.get("account")),
    )


def _clicks(raw: list[dict[str, Any]]) -> list[Click]:
    clicks = []
    for entry in raw:
        fields = entry.get("M", {})
        click = Click.from_item(
            {
                "at": fields.get("at", {}).get("N"),
                "kind": fields.get("kind", {}).get("S"),
                "score": fields.get("score", {}).get("N"),
            }
        )
        if click is not None:
            clicks.append(click)
    return clicks


def _click_value(click: Click) -> dict[str, Any]:
    value: dict[str, Any] = {"at": {"N": f"{click.at:.3f}"}, "kind": {"S": click.kind.value}}
    if click.score is not None:
        value["score"] = {"N": str(click.score)}
    return {"M": value}


#: The attribute an erasure sets on each invite of the contact before it deletes their answers: from then
#: on no tap, confirmation or comment records anything for the invite (docs/privacy.md).
ERASING = "erasing_at"


class InviteNotFound(LookupError):
    """The invite a signed link points at is no longer in the table (aged out after its retention)."""


class DynamoInviteRepository:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def get(self, invite_id: str) -> Invite | None:
        item = aws.client("dynamodb").get_item(TableName=self.table_name, Key={"invite_id": {"S": invite_id}})
        # An invite being erased (``erasing_at``, nps.contacts.erasure) is gone for every page.
        return _from_item(item["Item"]) if "Item" in item and ERASING not in item["Item"] else None

    def put(self, invite: Invite) -> None:
        aws.client("dynamodb").put_item(TableName=self.table_name, Item=_to_item(invite))

    def log_click(self, invite_id: str, click: Click) -> Invite:
        """Append ``click`` to the invite's click log and return the invite as it is now (one write).

        Raises :class:`InviteNotFound` rather than creating an invite that was never sent.
        """
        client = aws.client("dynamodb")
        try:
            result = client.update_item(
                TableName=self.table_name,
                Key={"invite_id": {"S": invite_id}},
                UpdateExpression="SET #clicks = list_append(if_not_exists(#clicks, :empty), :click)",
                ConditionExpression="attribute_exists(invite_id) AND attribute_not_exists(#erasing)",
                ExpressionAttributeNames={"#clicks": "clicks", "#erasing": ERASING},
                ExpressionAttributeValues={":empty": {"L": []}, ":click": {"L": [_click_value(click)]}},
                ReturnValues="ALL_NEW",
            )
        except Exception as error:
            if aws.conditional_check_failed(error):
                raise InviteNotFound(invite_id) from error
            raise
        invite = _from_item(result["Attributes"])
        if len(invite.clicks) > 2 * CLICK_LOG_SIZE:
            self._trim(invite_id, len(invite.clicks) - CLICK_LOG_SIZE)
        return invite

    def _trim(self, invite_id: str, drop: int) -> None:
        """Keep the click log bounded (only heavy scanning ever gets here)."""
        aws.client("dynamodb").update_item(
            TableName=self.table_name,
            Key={"invite_id": {"S": invite_id}},
            UpdateExpression="REMOVE " + ", ".join(f"#clicks[{i}]" for i in range(drop)),
            ExpressionAttributeNames={"#clicks": "clicks"},
        )
