"""``nps contacts show`` / ``nps contact show`` and ``nps contacts erase``: one contact's records.

::

    nps --stack Nps-prod contacts show <contact_id> [--json] [--limit 200]
    nps --stack Nps-prod contacts erase <contact_id> [--keep-suppression] [--yes] [--json]

``show`` prints the contact's timeline (every invite with its channel and status, its answer, score
changes and comments, follow-ups and their outcome, the suppression state per channel and when each survey
may ask again); exit status 1 for an id with nothing on record. ``erase`` deletes the contact's data from
every store (docs/privacy.md) and prints what it erased; erasing an id with nothing left is a no-op (exit
0, "nothing left to erase"); a send in flight makes it exit 1 with "erase again in a minute" (nothing can
be sent to the contact any more; the rerun finishes the job). Stored text is escaped for the terminal.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from nps.cli.common import EXIT_REQUEST, EXIT_TARGET, EXIT_USAGE, CliError
from nps.cli.programs import _with as with_target
from nps.cli.suppressions import _subcommands_of
from nps.cli.terminal import cell
from nps.contacts.erasure import InvalidContactId, SendInFlight, check_contact_id
from nps.contacts.timeline import MAX_INVITES_SHOWN, render_text
from nps.contacts.wiring import erasure_service, id_key, records
from nps.kernel.config import ConfigurationError

if TYPE_CHECKING:
    from nps.cli.target import Target

_OUTPUTS = {"EventBusName": "EVENT_BUS_NAME", "ContactImportBucket": "IMPORT_BUCKET"}


def _with(target: Target, command: Callable[[], int]) -> int:
    for output, variable in _OUTPUTS.items():
        if output in target.outputs:
            os.environ[variable] = target.outputs[output]

    def run() -> int:
        try:
            return command()
        except ConfigurationError as error:
            raise CliError(f"{target.description} lacks what this command needs: {error}", EXIT_TARGET) from error

    return with_target(target, run)


def check_id(args: argparse.Namespace) -> None:
    """The contact id is one, before the target is resolved."""
    try:
        check_contact_id(args.contact_id)
    except InvalidContactId as error:
        raise CliError(str(error), EXIT_USAGE) from None
    if getattr(args, "limit", 1) < 1:
        raise CliError("--limit must be at least 1", EXIT_USAGE)


def show(contact_id: str, as_json: bool, limit: int) -> int:
    """Print the contact's timeline; exit 1 when nothing of the contact is on record."""
    timeline = records().timeline(contact_id, id_key(), datetime.now(UTC), limit=limit)
    if timeline.empty:
        raise CliError(f"no contact {contact_id!r} on record (unknown, or erased)", EXIT_REQUEST)
    if as_json:
        print(json.dumps(timeline.as_dict(), indent=2, ensure_ascii=False))
    else:
        print(render_text(timeline, cell))
    return 0


def erase(contact_id: str, keep_suppression: bool, yes: bool, as_json: bool) -> int:
    """Erase the contact everywhere and print the counts (a no-op, exit 0, when nothing is left)."""
    if not yes:
        if not sys.stdin.isatty():
            raise CliError("erasing deletes the contact's data for good: add --yes to confirm", EXIT_USAGE)
        typed = input(f"Erase every record of contact {contact_id}? Type the contact id to confirm: ")
        if typed.strip() != contact_id:
            raise CliError("not confirmed: nothing was erased", EXIT_REQUEST)
    try:
        result = erasure_service().erase(contact_id, keep_suppression=keep_suppression)
    except SendInFlight as error:
        raise CliError(str(error), EXIT_REQUEST) from None
    if as_json:
        print(json.dumps(result.as_dict(), indent=2))
    elif result.nothing_left:
        print(f"nothing left to erase for contact {contact_id} (unknown, or erased before)")
    else:
        print(f"erased contact {contact_id} at {result.erased_at}")
        for name, count in result.counts.items():
            print(f"  {name}: {count}")
        if result.suppression_kept:
            print("  kept: a hash-only suppression of each address (no address, no contact id)")
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``contacts show`` and ``contacts erase`` (in the group :mod:`nps.cli.programs` creates), and the
    ``contact show`` alias."""
    group = _subcommands_of(commands, "contacts")
    alias = commands.add_parser("contact", help="one contact (alias of `contacts show`)").add_subparsers(
        dest="action", required=True
    )
    for subcommands in (group, alias):
        viewer = subcommands.add_parser("show", help="a contact's timeline: invites, answers, follow-ups, suppressions")
        viewer.add_argument("contact_id", metavar="CONTACT", help="the contact id")
        viewer.add_argument("--json", action="store_true", help="JSON instead of text")
        viewer.add_argument(
            "--limit",
            type=int,
            default=MAX_INVITES_SHOWN,
            help=f"invites shown, newest first (default {MAX_INVITES_SHOWN})",
        )
        viewer.set_defaults(
            handler=lambda args, target: _with(target, lambda: show(args.contact_id, args.json, args.limit)),
            check=check_id,
        )
    eraser = group.add_parser("erase", help="delete a contact's data from every store (docs/privacy.md)")
    eraser.add_argument("contact_id", metavar="CONTACT", help="the contact id")
    eraser.add_argument(
        "--keep-suppression",
        action="store_true",
        help="keep a hash-only suppression of each address, so a re-import never mails them",
    )
    eraser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    eraser.add_argument("--json", action="store_true", help="JSON instead of text")
    eraser.set_defaults(
        handler=lambda args, target: _with(
            target, lambda: erase(args.contact_id, args.keep_suppression, args.yes, args.json)
        ),
        check=check_id,
    )
