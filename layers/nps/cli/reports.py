"""Report commands: ``nps report`` (terminal), ``nps export`` (CSV) and ``nps html`` (one-file report)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nps.accounts.adapters.profiles import DynamoAccountProfiles
from nps.cli.common import EXIT_OK, CliError, day, file_path, identifier, output_file
from nps.cli.terminal import cell
from nps.kernel.periods import Granularity
from nps.reporting.accounts import TooManyAccounts, accounts_report
from nps.reporting.adapters.reads import (
    DynamoAggregateReader,
    DynamoResponseReader,
    StoredResponse,
    split_segment,
)
from nps.reporting.churn import ChurnReport, churn_report
from nps.reporting.drivers import drivers_report
from nps.reporting.export import write_csv, write_driver_trend_csv, write_drivers_csv
from nps.reporting.figures import Report, ReportError, ReportService
from nps.reporting.html import CATEGORIES, ReasonComments, comments_by_reason, render_report
from nps.reporting.ranges import DateRange, RangeError
from nps.reporting.referrals import ReferralsReport, referrals_report
from nps.reporting.text import format_drivers, format_full_report
from nps.responding.adapters.responses import backfill_survey_shards
from nps.sending.adapters.surveys import DynamoSurveyRepository

if TYPE_CHECKING:
    from nps.cli.target import Target

#: Latest comments shown per category (the count of all of them is shown too).
COMMENTS_IN_HTML = 12
#: The latest comments of the range the HTML report looks through for the comments behind each driver and theme.
COMMENTS_FOR_REASONS = 300
#: The most comments ``nps drivers --comments`` prints per driver or theme.
MAX_COMMENTS_PER_REASON = 10


def register(commands: Any) -> None:
    """Add ``report``, ``export`` and ``html`` to the ``nps`` parser."""
    report = commands.add_parser(
        "report",
        help="NPS with its 95%% interval, counts and response rate per segment, and the trend, in the terminal",
        description="NPS with its 95% interval, counts and response rate for the survey, each segment "
        "value and channel, then the trend with significant changes marked.",
    )
    _survey_and_range(report)
    _slice(report)
    report.set_defaults(handler=run_report, check=check_range)

    export = commands.add_parser(
        "export", help="CSV of the counted responses first answered in a range", description=export_doc()
    )
    _survey_and_range(export)
    export.add_argument(
        "--out", "-o", type=file_path, help="file to write, in an existing folder (default: standard output)"
    )
    export.set_defaults(handler=run_export, check=check_export)

    html = commands.add_parser(
        "html",
        help="write the self-contained HTML report (trend chart, distributions, segments, comments)",
        description="One HTML file with no external assets: readable offline, printed and on a phone.",
    )
    _survey_and_range(html)
    _slice(html)
    html.add_argument(
        "--out",
        "-o",
        type=file_path,
        default=None,
        help="file to write, in an existing folder (default: SURVEY-report.html here)",
    )
    html.set_defaults(handler=run_html, check=check_html)

    drivers = commands.add_parser(
        "drivers",
        help="each driver and comment theme: who mentions it and how their NPS differs, with CSAT and CES",
        description="Per driver and per theme tagged in comments: responses mentioning it, the share of "
        "detractors, passives and promoters who do, the NPS of those mentioning it against every other "
        "response (with or without a comment) and the difference's 95% interval; CSAT and CES of the range.",
    )
    _survey_and_range(drivers)
    drivers.add_argument(
        "--channel", type=_channel, default="*", metavar="{all,email,sms}", help="only this channel (default: all)"
    )
    drivers.add_argument(
        "--csv", type=file_path, default=None, help="also write the table as CSV to this file, in an existing folder"
    )
    drivers.add_argument(
        "--comments",
        type=_comment_count,
        default=0,
        metavar="N",
        help="also print up to N (1–10) of the latest comments behind each driver and theme",
    )
    drivers.add_argument(
        "--trend-csv",
        type=file_path,
        default=None,
        help="also write each driver's and theme's NPS per period (long format: one row per reason and period)",
    )
    drivers.set_defaults(handler=run_drivers, check=check_drivers)

    responses = commands.add_parser("responses", help="the responses table").add_subparsers(
        dest="action", required=True
    )
    backfill = responses.add_parser(
        "backfill-shards",
        help="give responses written before this release their survey shard (once, after upgrading)",
        description="Sets survey_shard on every response that has none, then records that the table is done, "
        "so reports stop reading the previous by_survey index. Idempotent; prints counts as JSON.",
    )
    backfill.set_defaults(handler=run_backfill_shards)


def run_backfill_shards(args: argparse.Namespace, target: Target) -> int:
    """``nps responses backfill-shards`` (docs/operations.md, "Upgrading the responses' index")."""
    done = backfill_survey_shards(target.table("responses"), target.table("aggregates"))
    print(json.dumps(done.as_dict(), indent=2))
    return EXIT_OK


def export_doc() -> str:
    return "One row per counted response (automated fetches excluded), oldest first, segments as columns."


def _survey_and_range(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "survey_id", metavar="SURVEY", type=identifier("a survey id"), help="the survey id (`nps survey list`)"
    )
    parser.add_argument("--from", dest="start", type=day, help="first day, YYYY-MM-DD (default: 12 months ago)")
    parser.add_argument("--to", dest="end", type=day, help="last day, YYYY-MM-DD (default: today, UTC)")


def _slice(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--granularity",
        "-g",
        choices=[g.value for g in Granularity],
        default=None,
        help="trend step (default: the finest step whose periods mostly have 30 or more responses, see"
        " docs/reporting.md)",
    )
    parser.add_argument(
        "--segment", type=_segment, default="*", help="only this segment value, as dimension=value (e.g. plan=pro)"
    )
    parser.add_argument(
        "--channel",
        type=_channel,
        default="*",
        metavar="{all,email,sms}",
        help="only this channel (default: all)",
    )


def _channel(text: str) -> str:
    """``all`` (or ``*``, which a shell may expand unless quoted), ``email``, ``sms``, ``web``, ``link`` or
    ``link_anonymous``, as the reads name them."""
    if text in ("all", "*"):
        return "*"
    if text in ("email", "sms", "web", "link", "link_anonymous"):
        return text
    raise argparse.ArgumentTypeError(f"invalid channel {text!r}: choose all, email, sms, web, link or link_anonymous")


def _segment(text: str) -> str:
    """``dimension=value`` with both parts, or ``*`` (every response)."""
    dimension, equals, value = text.partition("=")
    if text == "*" or (dimension and equals and value):
        return text
    raise argparse.ArgumentTypeError(f"invalid segment {text!r}: write dimension=value, e.g. plan=pro")


def check_range(args: argparse.Namespace) -> None:
    """``--from``/``--to`` form a valid range (not inverted, not too long); raises :class:`CliError`
    (exit status 1, as the documented "bad range")."""
    try:
        _span(args)
    except RangeError as error:
        raise CliError(str(error)) from None


def check_export(args: argparse.Namespace) -> None:
    """A valid range, and ``--out`` (when given) a file in an existing folder."""
    check_range(args)
    if args.out is not None:
        output_file(args.out, "--out")


def check_html(args: argparse.Namespace) -> None:
    """A valid range, and the report's file in an existing folder (never created)."""
    check_range(args)
    output_file(html_path(args), "--out")


def check_drivers(args: argparse.Namespace) -> None:
    """A valid range, and ``--csv`` and ``--trend-csv`` (when given) two files in an existing folder."""
    check_range(args)
    if args.csv is not None:
        output_file(args.csv, "--csv")
    if args.trend_csv is not None:
        output_file(args.trend_csv, "--trend-csv")
    if args.csv is not None and args.trend_csv is not None and args.csv.resolve() == args.trend_csv.resolve():
        # The trend would silently overwrite the table (or the table the trend, as the order goes).
        raise CliError(f"{args.csv}: --csv and --trend-csv name the same file; give each its own")


def html_path(args: argparse.Namespace) -> Path:
    """``--out``, or ``<survey>-report.html`` in the working folder."""
    return args.out if args.out is not None else Path(f"{args.survey_id}-report.html")


def default_range(start: date | None, end: date | None, today: date) -> DateRange:
    """``--from``/``--to`` with defaults: up to today, from the first day of the month a year before."""
    last = end or today
    first = start or (last.replace(day=1) - timedelta(days=335)).replace(day=1)
    return DateRange(first, last)


@contextmanager
def _served() -> Iterator[None]:
    """Turn the report's refusals into one-line messages (AWS failures are worded by :mod:`nps.cli.main`)."""
    try:
        yield
    except (ReportError, RangeError) as error:
        raise CliError(str(error)) from error


def _span(args: argparse.Namespace) -> DateRange:
    return default_range(args.start, args.end, datetime.now(UTC).date())


def survey_name(target: Target, survey_id: str) -> str | None:
    """The survey's name from its definition, or ``None`` (no surveys table, no definition, unreadable)."""
    if "surveys" not in target.tables:
        return None
    try:
        survey = DynamoSurveyRepository(target.table("surveys")).get(survey_id)
    except Exception:  # the name is a nicety: a report never fails for want of it (e.g. no read access)
        return None
    return survey.name if survey is not None else None


def build_report(args: argparse.Namespace, target: Target) -> Report:
    service = ReportService(DynamoAggregateReader(target.table("aggregates")))
    granularity = None if args.granularity is None else Granularity(args.granularity)
    return service.report(
        args.survey_id,
        _span(args),
        granularity,
        args.segment,
        args.channel,
        survey_name=survey_name(target, args.survey_id),
    )


def run_report(args: argparse.Namespace, target: Target) -> int:
    with _served():
        report = build_report(args, target)
    print(format_full_report(report))
    print(f"\n({report.items_read} aggregate items read from {target.description})")
    return EXIT_OK


def _comment_count(text: str) -> int:
    """``--comments``: 1–10 (argparse prints the error and exits 2 otherwise)."""
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_COMMENTS_PER_REASON:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to {MAX_COMMENTS_PER_REASON}")
    return int(text)


def format_reason_comments(found: list[ReasonComments]) -> str:
    """The latest comments behind each driver and theme, for the terminal: one line per comment (line
    breaks folded), with its score and date; reasons none of the latest comments mention are said so."""
    examined = found[0].examined if found else 0
    lines = ["", f"What they say (the latest comments behind each, among the {examined} latest of the range):"]
    for reason in found:
        lines.append(f"{reason.dimension} {reason.reason}:")
        for comment in reason.comments:
            lines.append(f"  [{comment.score:>2} · {comment.first_answered_at[:10]}] {cell(comment.comment or '')}")
        if not reason.comments:
            lines.append("  (none among them)")
    return "\n".join(lines)


def run_drivers(args: argparse.Namespace, target: Target) -> int:
    """``nps drivers``: the driver table and trend in the terminal, as CSV with ``--csv``, the trend as CSV
    with ``--trend-csv``."""
    with _served():
        service = ReportService(DynamoAggregateReader(target.table("aggregates")))
        report = drivers_report(service, args.survey_id, _span(args), channel=args.channel)
    print(format_drivers(report))
    if args.comments and report.rows:
        with _served():
            reader = DynamoResponseReader(target.table("responses"), target.table("aggregates"))
            latest = reader.page(
                args.survey_id, report.span, limit=COMMENTS_FOR_REASONS, newest_first=True, with_comment=True
            )
        print(format_reason_comments(comments_by_reason(report, latest.responses, args.comments)))
    if args.csv is not None:
        with args.csv.open("w", encoding="utf-8", newline="") as handle:
            count = write_drivers_csv(handle, report)
        print(f"{count} rows written to {args.csv}", file=sys.stderr)
    if args.trend_csv is not None:
        with args.trend_csv.open("w", encoding="utf-8", newline="") as handle:
            count = write_driver_trend_csv(handle, report)
        print(f"{count} trend rows written to {args.trend_csv}", file=sys.stderr)
    return EXIT_OK


def run_export(args: argparse.Namespace, target: Target) -> int:
    with _served():
        span = _span(args)
        catalog = ReportService(DynamoAggregateReader(target.table("aggregates"))).catalog(args.survey_id, span)
        responses = DynamoResponseReader(target.table("responses"), target.table("aggregates")).all(
            args.survey_id, span
        )
        if args.out is None:
            # The byte order mark is for spreadsheets; a person reading the terminal has no use for it.
            count = write_csv(sys.stdout, responses, list(catalog.dimensions), bom=not sys.stdout.isatty())
        else:
            with args.out.open("w", encoding="utf-8", newline="") as handle:
                count = write_csv(handle, responses, list(catalog.dimensions))
    where = "standard output" if args.out is None else str(args.out)
    print(f"{count} responses exported to {where}", file=sys.stderr)
    return EXIT_OK


def latest_comments(
    reader: DynamoResponseReader,
    survey_id: str,
    span: DateRange,
    *,
    limit: int,
    category: str | None = None,
    segment: tuple[str, str] | None = None,
) -> tuple[list[StoredResponse], bool]:
    """The ``limit`` newest comments of ``span`` (of one category and segment), and whether more exist.

    A ``driver=`` or ``theme=`` page stops after examining
    :data:`~nps.reporting.adapters.reads.REASON_SCAN_LIMIT` responses, possibly with fewer (even none)
    than asked and a cursor: the cursor is followed until ``limit`` are found or the range ends, so a
    rare driver or theme still shows its comments (at most one read of every candidate, as ``count``)."""
    found: list[StoredResponse] = []
    cursor: str | None = None
    while True:
        page = reader.page(
            survey_id,
            span,
            limit=limit - len(found),
            cursor=cursor,
            newest_first=True,
            with_comment=True,
            category=category,
            segment=segment,
        )
        found += page.responses
        cursor = page.next_cursor
        if cursor is None or len(found) >= limit:
            return found, cursor is not None


def churn_section(target: Target, args: argparse.Namespace, span: DateRange) -> ChurnReport | None:
    """The churn report of the survey's whole responses (by month), when the target has an accounts table and
    any churn was recorded in the range; otherwise None (the HTML report then has no churn section)."""
    if "accounts" not in target.tables or args.segment != "*":
        return None
    from nps.accounts.adapters.churn import DynamoChurnReader

    churn = churn_report(
        DynamoAggregateReader(target.table("aggregates")),
        DynamoChurnReader(target.table("accounts")),
        args.survey_id,
        span,
        Granularity.MONTH,
    )
    figures = churn.figures
    return churn if figures.overall.count or figures.unmatched or figures.events_by_month else None


def run_html(args: argparse.Namespace, target: Target) -> int:
    with _served():
        report = build_report(args, target)
        reader = DynamoResponseReader(target.table("responses"), target.table("aggregates"))
        segment = split_segment(args.segment)
        comments = []
        counts: dict[str, int] = {}
        for category in CATEGORIES:
            shown, more = latest_comments(
                reader, args.survey_id, report.span, limit=COMMENTS_IN_HTML, category=category, segment=segment
            )
            comments += shown
            counts[category] = (
                len(shown)
                if not more
                else reader.count(args.survey_id, report.span, with_comment=True, category=category, segment=segment)
            )
        # Drivers and themes are compared within the whole survey: a report of one segment leaves them out.
        drivers = None
        catalog = report.catalog
        if args.segment == "*" and catalog is not None and (catalog.drivers or catalog.themes):
            service = ReportService(DynamoAggregateReader(target.table("aggregates")))
            drivers = drivers_report(service, args.survey_id, report.span, report.granularity, args.channel)
        behind: list[ReasonComments] = []
        if drivers is not None and drivers.rows:
            latest = reader.page(
                args.survey_id, report.span, limit=COMMENTS_FOR_REASONS, newest_first=True, with_comment=True
            )
            behind = comments_by_reason(drivers, latest.responses)
        accounts = None
        if args.segment == "*" and catalog is not None and catalog.accounts and "accounts" in target.tables:
            # Accounts are kept by month and quarter: a finer report lists them by month.
            steps = {Granularity.QUARTER: Granularity.QUARTER}
            try:
                accounts = accounts_report(
                    DynamoAggregateReader(target.table("aggregates")),
                    DynamoAccountProfiles(target.table("accounts")),
                    args.survey_id,
                    report.span,
                    steps.get(report.granularity, Granularity.MONTH),
                )
            except TooManyAccounts as error:  # the rest of the report is still worth writing
                print(f"Accounts section left out: {error}", file=sys.stderr)
        churn = churn_section(target, args, report.span)
        referrals = None
        if args.segment == "*":
            try:
                referrals = _referrals(args, target, report.span, report.granularity)
            except TooManyAccounts as error:
                print(f"Referrals section left out: {error}", file=sys.stderr)
    out = html_path(args)
    html = render_report(
        report,
        comments,
        datetime.now(UTC),
        counts,
        drivers,
        behind,
        accounts=accounts,
        churn=churn,
        referrals=referrals,
    )
    out.write_text(html, encoding="utf-8")
    print(f"HTML report written to {out.resolve()}")
    return EXIT_OK


def _referrals(
    args: argparse.Namespace, target: Target, span: DateRange, granularity: Granularity
) -> ReferralsReport | None:
    """The referral section's report, when the stack keeps referrals and the survey has any (else None)."""
    from nps.accounts.adapters.referrals import DynamoReferralLedger

    if "accounts" not in target.tables:
        return None
    referrals = referrals_report(
        DynamoAggregateReader(target.table("aggregates")),
        DynamoAccountProfiles(target.table("accounts")),
        DynamoReferralLedger(target.table("accounts")),
        args.survey_id,
        span,
        granularity,
    )
    return referrals if referrals.kpis.total.counts.asked or referrals.kpis.joined_unasked else None
