"""``nps churn SURVEY``: churn rate by last NPS category, churn over time, optionally as CSV (docs/churn.md)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from nps.accounts.adapters.churn import DynamoChurnReader
from nps.cli.common import EXIT_OK, CliError, file_path, output_file
from nps.cli.reports import _served, _span, _survey_and_range, check_range
from nps.kernel.periods import Granularity
from nps.reporting.adapters.reads import DynamoAggregateReader
from nps.reporting.churn import churn_report, text_lines, write_csv

if TYPE_CHECKING:
    from nps.cli.target import Target


def register(commands: Any) -> None:
    """Add ``churn`` to the ``nps`` parser."""
    churn = commands.add_parser(
        "churn",
        help="churn rate by the last NPS category before churning, with 95%% intervals",
        description="Churn rate by the last NPS category before churning (contacts churned whose last answer"
        " was in the category ÷ responses in it), per cohort period and over the range, with 95% Wilson"
        " intervals, and whether detractors churn significantly more than promoters.",
    )
    _survey_and_range(churn)
    churn.add_argument(
        "--granularity",
        "-g",
        choices=[Granularity.MONTH.value, Granularity.QUARTER.value],
        default=Granularity.MONTH.value,
        help="cohort periods: the month or quarter of each churned contact's last answer (default month)",
    )
    churn.add_argument(
        "--csv", type=file_path, default=None, help="also write the rates as CSV to this file, in an existing folder"
    )
    churn.set_defaults(handler=run_churn, check=check_churn)


def check_churn(args: argparse.Namespace) -> None:
    """A valid range, and ``--csv`` (when given) a file in an existing folder; raises :class:`CliError`."""
    check_range(args)
    if args.csv is not None:
        output_file(args.csv, "--csv")


def run_churn(args: argparse.Namespace, target: Target) -> int:
    with _served():
        report = churn_report(
            DynamoAggregateReader(target.table("aggregates")),
            DynamoChurnReader(target.table("accounts")),
            args.survey_id,
            _span(args),
            Granularity(args.granularity),
        )
    print("\n".join(text_lines(report)))
    if args.csv is not None:
        try:
            with args.csv.open("w", encoding="utf-8", newline="") as handle:
                count = write_csv(handle, report)
        except OSError as error:
            raise CliError(f"{args.csv}: cannot write ({error.strerror})") from None
        print(f"{count} rows written to {args.csv}", file=sys.stderr)
    return EXIT_OK
