"""``nps referrals``: the referral KPIs per cohort (participation rate, click-through), the joins without an
ask, the referral-ready account rate and each account's readiness (docs/referrals.md)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from nps.accounts.adapters.profiles import DynamoAccountProfiles
from nps.accounts.adapters.referrals import DynamoReferralLedger
from nps.cli.common import EXIT_OK, CliError, file_path, output_file
from nps.cli.reports import _served, _span, _survey_and_range, check_range
from nps.kernel.periods import Granularity
from nps.reporting.adapters.reads import DynamoAggregateReader
from nps.reporting.referrals import format_referrals, referrals_report, write_referrals_csv

if TYPE_CHECKING:
    from nps.cli.target import Target


def register(commands: Any) -> None:
    """Add ``referrals`` to the ``nps`` parser."""
    referrals = commands.add_parser(
        "referrals",
        help="referral KPIs: participation rate and click-through per cohort, referral-ready accounts",
        description="Promoters asked for a referral or review, who clicked (people, not mail scanners) and "
        "who joined the referral program, per cohort (the period of the promoter's answer), with 95% Wilson "
        "intervals; the joins without an ask; the referral-ready account rate and each account's readiness "
        "(docs/referrals.md).",
    )
    _survey_and_range(referrals)
    referrals.add_argument(
        "--granularity",
        "-g",
        choices=[g.value for g in Granularity],
        default=Granularity.MONTH.value,
        help="the cohorts' periods (default: month)",
    )
    referrals.add_argument(
        "--csv", type=file_path, default=None, help="also write one row per cohort and the total as CSV to this file"
    )
    referrals.set_defaults(handler=run_referrals, check=check_referrals)


def check_referrals(args: argparse.Namespace) -> None:
    """A valid range, and ``--csv`` (when given) a file in an existing folder."""
    check_range(args)
    if args.csv is not None:
        output_file(args.csv, "--csv")


def run_referrals(args: argparse.Namespace, target: Target) -> int:
    """``nps referrals``: the KPIs in the terminal, the cohorts as CSV with ``--csv``."""
    if "accounts" not in target.tables:
        raise CliError(f"{target.description} has no accounts table (deploy this release)")
    with _served():
        report = referrals_report(
            DynamoAggregateReader(target.table("aggregates")),
            DynamoAccountProfiles(target.table("accounts")),
            DynamoReferralLedger(target.table("accounts")),
            args.survey_id,
            _span(args),
            Granularity(args.granularity),
        )
    print(format_referrals(report))
    if args.csv is not None:
        with args.csv.open("w", encoding="utf-8", newline="") as handle:
            count = write_referrals_csv(handle, report)
        print(f"{count} rows written to {args.csv}", file=sys.stderr)
    return EXIT_OK
