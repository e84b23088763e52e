"""``nps suppressions migrate``: rewrite unkeyed suppression keys as keyed ones (docs/operations.md).

    nps --stack Nps-prod suppressions migrate                  # write keyed copies (repeatable)
    nps --stack Nps-prod suppressions migrate --remove-legacy  # ... and delete the legacy items

Prints the run's counts as JSON (no addresses). Exit status 0 on success, 3 when the stack lacks the
tables or id key the migration needs or the id key cannot be read.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from nps.cli.common import EXIT_TARGET, CliError
from nps.cli.programs import _with as with_target
from nps.kernel.aws import error_code
from nps.kernel.periods import iso_timestamp
from nps.links.adapters.keyring import load_id_key
from nps.links.pseudonyms import IdKey, IdKeyError
from nps.sending.adapters.contacts import DynamoContactRepository
from nps.sending.adapters.suppressions import DynamoSuppressionRepository
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
        raise CliError(f"cannot read the id key secret ({error_code(error)})", EXIT_TARGET) from None


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
