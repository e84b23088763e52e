"""``nps invites unknown`` and ``nps invites resolve``: invites whose send may or may not have happened.

    nps --stack Nps-prod invites unknown <survey_id>
    nps --stack Nps-prod invites resolve <invite_id> --as sent|resend|failed

``unknown`` prints one line per invite (tab-separated: invite id, wave id, channel, ``invite`` or
``reminder``, since when, why), ids only, oldest first; a count goes to stderr. ``resolve`` records the
operator's decision (docs/operations.md says how to decide): exit status 1 when the invite is not unknown.
"""

from __future__ import annotations

import argparse
import json
import sys

from nps.cli.common import identifier
from nps.cli.programs import _with as with_target
from nps.sending.adapters.channels import SqsSendQueue
from nps.sending.adapters.invites import DynamoInviteLifecycle
from nps.sending.adapters.surveys import DynamoSurveyRepository
from nps.sending.settings import sending_settings
from nps.sending.unknown_invites import NotUnknown, Resolution, UnknownInvites, describe


def _unknown_invites(*, for_resolution: bool) -> UnknownInvites:
    names = ("invites_table", "aggregates_table", "contacts_table", "surveys_table", "send_queue_url")
    config = sending_settings().require(*names) if for_resolution else sending_settings().require("invites_table")
    lifecycle = DynamoInviteLifecycle(config.invites_table, config.aggregates_table, config.contacts_table)
    if not for_resolution:
        return UnknownInvites(lifecycle)
    return UnknownInvites(
        lifecycle,
        surveys=DynamoSurveyRepository(config.surveys_table),
        queue=SqsSendQueue(config.send_queue_url),
        retention_days=config.retention_days,
    )


def list_unknown(survey_id: str) -> int:
    """Print the survey's unknown invites, one line each; 0 (also when there are none)."""
    found = _unknown_invites(for_resolution=False).list(survey_id)
    for invite in found:
        print(describe(invite))
    print(f"{len(found)} invite(s) of survey {survey_id} in an unknown state", file=sys.stderr)
    return 0


def resolve(invite_id: str, resolution: Resolution) -> int:
    """Record the operator's decision on one unknown invite; 1 when it is not unknown."""
    try:
        result = _unknown_invites(for_resolution=True).resolve(invite_id, resolution)
    except NotUnknown:
        print(f"invite {invite_id!r} is not in an unknown state (see `nps invites unknown`)", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    invites = commands.add_parser("invites", help="invites whose send may or may not have happened").add_subparsers(
        dest="action", required=True
    )
    unknown = invites.add_parser("unknown", help="list a survey's invites in an unknown state (ids only)")
    unknown.add_argument(
        "survey_id",
        metavar="SURVEY",
        type=identifier("a survey id"),
        help="the survey id (`nps survey list` shows them)",
    )
    unknown.set_defaults(handler=lambda args, target: with_target(target, lambda: list_unknown(args.survey_id)))
    settle = invites.add_parser("resolve", help="record what happened to an unknown invite")
    settle.add_argument("invite_id", metavar="INVITE", help="the invite id, as `nps invites unknown` lists it")
    settle.add_argument(
        "--as",
        dest="resolution",
        required=True,
        type=Resolution,
        choices=list(Resolution),
        help="sent: it reached the person (count it); resend: it did not (queue it again); failed: give it up",
    )
    settle.set_defaults(
        handler=lambda args, target: with_target(target, lambda: resolve(args.invite_id, args.resolution))
    )
