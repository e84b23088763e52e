"""``nps contacts unsuppress``: lift a contact's suppressions, audited, on every channel.

    nps --stack Nps-prod contacts unsuppress <contact_id> --reason "asked to hear from us again, #4711"
        [--audience default] [--channel email|sms|all] [--by alice]

The reason is required (one line, at most 500 characters, no personal data). Who lifted it is ``--by``,
or else the caller's AWS identity (STS ``GetCallerIdentity``), or else the local user name. Each lift is
stored beside the suppressions with who, when, why and what was lifted (docs/inputs.md, "Mail feedback").

For ``sms`` the number is opted back in at SNS first when SNS has it opted out; SNS allows that once per
30 days per number, and when it refuses, our suppression stays and the command says so (exit status 1).
Prints one JSON object: the contact id and, per channel, ``lifted`` (with the lifted reason),
``not_suppressed``, ``no_address`` or ``refused``. Exit status 0 when nothing was refused.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import UTC, datetime

from nps.cli.common import CliError
from nps.cli.programs import _with as with_target
from nps.kernel import aws
from nps.sending.adapters.channels import SendError, SnsTexter
from nps.sending.adapters.contacts import DynamoContactRepository
from nps.sending.adapters.suppressions import DynamoSuppressionRepository
from nps.sending.lifting import CHANNELS, Channel, InvalidLift, unsuppress
from nps.sending.settings import sending_settings

CHANNEL_CHOICES = ("email", "sms", "all")


def caller_identity() -> str:
    """Who runs the command: the AWS caller's ARN, else the local user name."""
    try:
        return str(aws.client("sts").get_caller_identity()["Arn"])
    except Exception:  # no credentials or no STS (a local environment): the operating system's user
        return f"local:{getpass.getuser()}"


def lift_suppressions(contact_id: str, audience: str, channel: str, reason: str, by: str | None) -> int:
    """Lift the contact's suppressions on ``channel`` (``email``, ``sms`` or ``all``); see the module."""
    config = sending_settings().require("contacts_table", "suppressions_table")
    contact = DynamoContactRepository(config.contacts_table).get(audience, contact_id)
    if contact is None:
        raise CliError(f"no contact {contact_id!r} in audience {audience!r}")
    channels: tuple[Channel, ...] = CHANNELS if channel == "all" else (channel,)  # type: ignore[assignment]
    try:
        results = unsuppress(
            contact,
            channels,
            by=by if by is not None else caller_identity(),
            why=reason,
            now=datetime.now(UTC),
            lifts=DynamoSuppressionRepository(config.suppressions_table),
            sms=SnsTexter(),
        )
    except InvalidLift as error:
        raise CliError(str(error)) from None
    except SendError as error:
        raise CliError(f"SNS cannot be asked about the number now ({error.reason}); nothing was lifted") from None
    print(
        json.dumps(
            {
                "contact_id": contact_id,
                "channels": {
                    r.channel: {"outcome": r.outcome}
                    | ({"previous_reason": r.previous_reason} if r.previous_reason else {})
                    for r in results
                },
            }
        )
    )
    refused = [r for r in results if r.outcome == "refused"]
    for result in refused:
        print(f"nps: {result.channel} stays suppressed: {result.detail}", file=sys.stderr)
    return 1 if refused else 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``unsuppress`` to the ``contacts`` group (created by :mod:`nps.cli.programs`)."""
    contacts = _subcommands_of(commands, "contacts")
    lift = contacts.add_parser(
        "unsuppress",
        help="lift a contact's suppressions (audited; for SMS also opts the number in at SNS)",
    )
    lift.add_argument("contact_id")
    lift.add_argument("--audience", default="default")
    lift.add_argument("--channel", choices=CHANNEL_CHOICES, default="all", help="which channel (default: all)")
    lift.add_argument(
        "--reason", required=True, help="why, for the audit (required; one line, no personal data, ≤ 500 characters)"
    )
    lift.add_argument("--by", help="who lifts it (default: your AWS identity, else your user name)")
    lift.set_defaults(
        handler=lambda args, target: with_target(
            target, lambda: lift_suppressions(args.contact_id, args.audience, args.channel, args.reason, args.by)
        )
    )


def _subcommands_of(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    group = commands.choices[name]
    for action in group._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise RuntimeError(f"the {name!r} command has no subcommands")
