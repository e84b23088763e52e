"""Account commands: ``nps accounts`` (the account table: health, reasons, readiness, weighted NPS)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from nps.accounts.adapters.profiles import DynamoAccountProfiles
from nps.cli.common import EXIT_OK, CliError, file_path, output_file
from nps.cli.reports import _served, _span, _survey_and_range, check_range
from nps.kernel.periods import Granularity
from nps.reporting.accounts import accounts_report
from nps.reporting.adapters.reads import DynamoAggregateReader
from nps.reporting.export import write_accounts_csv
from nps.reporting.text import format_accounts

if TYPE_CHECKING:
    from nps.cli.target import Target

#: Accounts printed by default (the CSV has them all).
DEFAULT_LIMIT = 50


def register(commands: Any) -> None:
    """Add ``accounts`` to the ``nps`` parser."""
    accounts = commands.add_parser(
        "accounts",
        help="every account by health (at risk first) with its reasons, NPS, referral readiness",
        description="Accounts of contacts imported with an account_id: health with its reasons (a decision "
        "maker is a detractor, NPS fell significantly, no answer in 2 waves), the latest account NPS with its "
        "95% interval, the referral readiness score; the referral-ready account rate and the "
        "revenue-weighted NPS (docs/accounts.md).",
    )
    _survey_and_range(accounts)
    accounts.add_argument(
        "--granularity",
        "-g",
        choices=[Granularity.MONTH.value, Granularity.QUARTER.value],
        default=Granularity.QUARTER.value,
        help="periods of the account trend (default: quarter)",
    )
    accounts.add_argument(
        "--csv",
        type=file_path,
        default=None,
        help="also write every account as CSV to this file (existing folder)",
    )
    accounts.add_argument(
        "--limit",
        type=_limit,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"accounts printed (default {DEFAULT_LIMIT}; the CSV has them all)",
    )
    accounts.set_defaults(handler=run_accounts, check=check_accounts)


def _limit(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 100_000:
        raise argparse.ArgumentTypeError("expected a whole number from 1 to 100000")
    return int(text)


def check_accounts(args: argparse.Namespace) -> None:
    """A valid range, and ``--csv`` (when given) a file in an existing folder."""
    check_range(args)
    if args.csv is not None:
        output_file(args.csv, "--csv")


def run_accounts(args: argparse.Namespace, target: Target) -> int:
    """``nps accounts``: the account table in the terminal, every account as CSV with ``--csv``."""
    if "accounts" not in target.tables:
        raise CliError(f"{target.description} has no accounts table (deploy this release)")
    with _served():
        report = accounts_report(
            DynamoAggregateReader(target.table("aggregates")),
            DynamoAccountProfiles(target.table("accounts")),
            args.survey_id,
            _span(args),
            Granularity(args.granularity),
        )
    print(format_accounts(report, args.limit))
    if args.csv is not None:
        with args.csv.open("w", encoding="utf-8", newline="") as handle:
            count = write_accounts_csv(handle, report)
        print(f"{count} accounts written to {args.csv}", file=sys.stderr)
    return EXIT_OK
