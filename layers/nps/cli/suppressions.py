"""Suppressions from the command line: moving stored keys to keyed ones, and lifting a contact's.

``nps suppressions migrate`` rewrites unkeyed suppression keys as keyed ones (docs/operations.md)::

    nps --stack Nps-prod suppressions migrate                  # write keyed copies (repeatable)
    nps --stack Nps-prod suppressions migrate --remove-legacy  # ... and delete the legacy items

It prints the run's counts as JSON (no addresses); exit status 3 when the stack lacks the tables or id key
the migration needs or the id key cannot be read.

``nps contacts unsuppress`` lifts a contact's suppressions, audited, on every channel::

    nps --stack Nps-prod contacts unsuppress <contact_id> --reason "asked to hear from us again, #4711"
        [--audience default] [--channel email|sms|all] [--by alice]

The reason is required (one line, at most 500 characters, no personal data). Who lifted it is ``--by``,
or else the caller's AWS identity (STS ``GetCallerIdentity``), or else the local user name. Each lift is
stored beside the suppressions with who, when, why and what was lifted (docs/inputs.md, "Mail feedback").
For ``sms`` the number is opted back in at SNS first when SNS has it opted out; SNS allows that once per
30 days per number, and when it refuses, our suppression stays and the command says so (exit status 1).
It prints one JSON object: the contact id and, per channel, ``lifted`` (with the lifted reason),
``not_suppressed``, ``no_address`` or ``refused``. Exit status 0 when nothing was refused.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import UTC, datetime

from nps.cli.common import EXIT_TARGET, CliError
from nps.cli.programs import _with as with_target
from nps.kernel import aws
from nps.kernel.aws import error_code
from nps.kernel.periods import iso_timestamp
from nps.links.adapters.keyring import load_id_key
from nps.links.pseudonyms import IdKey, IdKeyError
from nps.sending.adapters.channels import SendError, SnsTexter
from nps.sending.adapters.contacts import DynamoContactRepository
from nps.sending.adapters.suppressions import DynamoSuppressionRepository
from nps.sending.lifting import CHANNELS, Channel, InvalidLift, checked_by, checked_reason, unsuppress
from nps.sending.rekeying import rekey_suppressions
from nps.sending.settings import sending_settings


def migrate(remove_legacy: bool) -> int:
    """Rekey every contact address's legacy suppression (and, with ``remove_legacy``, delete it)."""
    config = sending_settings().require("contacts_table", "suppressions_table", "id_key_secret_name")
    report = rekey_suppressions(
        DynamoContactRepository(config.contacts_table).all_pages(),
        DynamoSuppressionRepository(config.suppressions_table),
        _id_key(config.id_key_secret_name),
        iso_timestamp(datetime.now(UTC)),
        remove_legacy=remove_legacy,
    )
    print(json.dumps(report.as_dict(), indent=2))
    return 0


def _id_key(secret_name: str) -> IdKey:
    try:
        return load_id_key(secret_name)
    except IdKeyError as error:
        raise CliError(f"the id key secret is unusable: {error}", EXIT_TARGET) from None
    except Exception as error:  # the secret cannot be read: missing, no access, no credentials
        failure = aws.classify_failure(error)
        if failure is not None and failure.kind == "not_found":
            raise CliError("cannot read the id key secret: it does not exist; redeploy", EXIT_TARGET) from None
        if failure is not None and failure.kind == "access_denied":
            raise CliError(
                "cannot read the id key secret: your credentials need secretsmanager:GetSecretValue on it "
                "and kms:Decrypt on the stack's key",
                EXIT_TARGET,
            ) from None
        if failure is not None:
            raise  # no region or credentials, unreachable: worded, with its fix, by nps.cli.main
        raise CliError(f"cannot read the id key secret ({error_code(error)})", EXIT_TARGET) from None


def _register_migrate(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser("suppressions", help="the suppressions table").add_subparsers(
        dest="action", required=True
    )
    run = group.add_parser(
        "migrate",
        help="write keyed suppression keys for every contact address suppressed under an unkeyed (legacy) key",
    )
    run.add_argument(
        "--remove-legacy",
        action="store_true",
        help="also delete each legacy item once its keyed copy exists (run after a plain migrate)",
    )
    run.set_defaults(
        handler=lambda args, target: with_target(target, lambda: migrate(args.remove_legacy)),
    )


CHANNEL_CHOICES = ("email", "sms", "all")


def caller_identity() -> str:
    """Who runs the command: the AWS caller's ARN, else the local user name."""
    try:
        return str(aws.client("sts").get_caller_identity()["Arn"])
    except Exception:  # no credentials or no STS (a local environment): the operating system's user
        return f"local:{getpass.getuser()}"


def lift_suppressions(contact_id: str, audience: str, channel: str, reason: str, by: str | None) -> int:
    """Lift the contact's suppressions on ``channel`` (``email``, ``sms`` or ``all``); see the module."""
    config = sending_settings().require("contacts_table", "suppressions_table", "id_key_secret_name")
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
            id_key=_id_key(config.id_key_secret_name),
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


def _register_unsuppress(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``unsuppress`` to the ``contacts`` group (created by :mod:`nps.cli.programs`)."""
    contacts = _subcommands_of(commands, "contacts")
    lift = contacts.add_parser(
        "unsuppress",
        help="lift a contact's suppressions (audited; for SMS also opts the number in at SNS)",
    )
    lift.add_argument("contact_id", metavar="CONTACT", help="the contact id, as in the contacts file")
    lift.add_argument("--audience", default="default", help="the contact's audience (default: default)")
    lift.add_argument("--channel", choices=CHANNEL_CHOICES, default="all", help="which channel (default: all)")
    lift.add_argument(
        "--reason", required=True, help="why, for the audit (required; one line, no personal data, ≤ 500 characters)"
    )
    lift.add_argument("--by", help="who lifts it (default: your AWS identity, else your user name)")
    lift.set_defaults(
        handler=lambda args, target: with_target(
            target, lambda: lift_suppressions(args.contact_id, args.audience, args.channel, args.reason, args.by)
        ),
        check=check_lift,
    )


def check_lift(args: argparse.Namespace) -> None:
    """The audit's ``--reason`` and ``--by`` are acceptable, before the target is resolved."""
    try:
        checked_reason(args.reason)
        if args.by is not None:
            checked_by(args.by)
    except InvalidLift as error:
        raise CliError(str(error)) from None


def _subcommands_of(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    group = commands.choices[name]
    for action in group._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise RuntimeError(f"the {name!r} command has no subcommands")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``suppressions migrate``, and ``unsuppress`` in the ``contacts`` group (created by :mod:`nps.cli.programs`)."""
    _register_migrate(commands)
    _register_unsuppress(commands)
