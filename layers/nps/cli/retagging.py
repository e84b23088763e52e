"""``nps survey retag``: re-tag a survey's past comments after its taxonomy changed.

    nps --stack Nps-prod survey put survey.json          # a new or changed reasons.themes
    nps --stack Nps-prod survey retag onboarding-q4 --dry-run
    nps --stack Nps-prod survey retag onboarding-q4 [--rate 50] [--limit 10000] [--resume TOKEN]

Prints one summary line on stdout: ``survey onboarding-q4 retagged: read 120, changed 14, unchanged 100,
skipped 6`` (``--dry-run``: what would change, nothing written). ``skipped``: answers whose comment changed
(or that were deleted) while the command ran; their newer save tagged them. When the run stops before the
end (``--limit``, an interruption, a failure after the SDK's retries), stderr says how to resume:
``--resume TOKEN`` continues after the last page done (re-running from the start is also safe: the
themes already right are only read). Runs with the operator's credentials (no function does this).

Exit status: 0 done (or stopped at ``--limit``), 1 unknown survey, 2 a bad option or resume token,
3 the target cannot be reached; 130 interrupted (after printing where to resume).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from nps.cli.common import EXIT_REQUEST, EXIT_TARGET, EXIT_USAGE, CliError, identifier
from nps.reasons.themes import CommentTooLong
from nps.responding.adapters.retagging import BadToken, DynamoRetagStore
from nps.responding.retagging import DEFAULT_RATE, PAGE_SIZE, Pacer, RetagCounts, retag
from nps.sending.adapters.surveys import DynamoSurveyRepository

if TYPE_CHECKING:
    from nps.cli.target import Target
    from nps.sending.surveys import Survey

#: The most responses a second ``--rate`` takes (each costs a read, a changed one a write too).
MAX_RATE = 10_000.0


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--rate is responses a second (a number), not {text!r}") from None
    if not 0 < value <= MAX_RATE:
        raise argparse.ArgumentTypeError(f"--rate is more than 0 and at most {MAX_RATE:.0f} responses a second")
    return value


def _limit(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"--limit is a whole number of responses, at least 1, not {text!r}")
    return int(text)


def survey_tagger(survey: Survey) -> Callable[[str, str], tuple[str, ...]]:
    """``(locale, comment)`` → theme ids, with the survey's taxonomy as the respond function tags: the
    phrases of the comment's locale, none where no theme has phrases in it, none for a comment over the
    tagger's limit."""

    def tag(locale: str, comment: str) -> tuple[str, ...]:
        try:
            return survey.reasons.tag(comment, locale)
        except CommentTooLong:
            return ()

    return tag


def run_retag(
    args: argparse.Namespace,
    target: Target,
    surveys_table: str,
    pacer: Pacer | None = None,
) -> int:
    """Re-tag ``args.survey_id`` on ``target`` (see the module docstring); returns the exit status."""
    responses_table = target.tables.get("responses")
    if not responses_table:
        raise CliError(f"{target.description} has no responses table", EXIT_TARGET)
    survey = DynamoSurveyRepository(surveys_table).get(args.survey_id)
    if survey is None:
        raise CliError(f"no survey {args.survey_id!r}: `nps survey list` shows them", EXIT_REQUEST)
    if not survey.reasons.themes:
        print(f"  note: {args.survey_id} has no themes: every comment's themes are removed", file=sys.stderr)
    store = DynamoRetagStore(responses_table)
    page_size = max(1, min(PAGE_SIZE, int(args.rate)))
    resume: list[str | None] = [args.resume]
    done = RetagCounts()

    def progress(counts: RetagCounts, token: str | None) -> None:
        resume[0] = token
        done.read, done.changed, done.unchanged, done.skipped = (
            counts.read,
            counts.changed,
            counts.unchanged,
            counts.skipped,
        )

    def where_to_resume() -> None:
        if resume[0] is not None:
            print(
                f"nps: stopped after {done.summary()}; resume with: survey retag {args.survey_id} --resume {resume[0]}",
                file=sys.stderr,
            )

    try:
        result = retag(
            args.survey_id,
            survey_tagger(survey),
            store,
            dry_run=args.dry_run,
            token=args.resume,
            limit=args.limit,
            page_size=page_size,
            pacer=pacer or Pacer(args.rate),
            progress=progress,
        )
    except BadToken as error:
        raise CliError(f"--resume: {error}", EXIT_USAGE) from None
    except KeyboardInterrupt:
        where_to_resume()
        raise
    except Exception:
        where_to_resume()
        raise
    what = "would change (dry run, nothing written)" if args.dry_run else "retagged"
    print(f"survey {args.survey_id} {what}: {result.counts.summary()}")
    if result.next_token is not None:
        print(
            f"nps: stopped at --limit; resume with: survey retag {args.survey_id} --resume {result.next_token}",
            file=sys.stderr,
        )
    return 0


def register(
    survey: argparse._SubParsersAction[argparse.ArgumentParser],
    run: Callable[[Target, Callable[[], int]], int],
    surveys_table: Callable[[], str],
) -> None:
    """Add ``survey retag`` (``run`` sets the target's names up; ``surveys_table`` names the table then)."""
    command = survey.add_parser(
        "retag", help="re-tag a survey's past comments with its current taxonomy (after `survey put`)"
    )
    command.add_argument("survey_id", metavar="SURVEY", type=identifier("a survey id"), help="the survey id")
    command.add_argument("--dry-run", action="store_true", help="count what would change; write nothing")
    command.add_argument(
        "--rate",
        type=_rate,
        default=DEFAULT_RATE,
        help=f"responses a second at most (default {DEFAULT_RATE:.0f}; each is a read, a changed one a write)",
    )
    command.add_argument("--limit", type=_limit, help="stop after about this many responses (prints where to resume)")
    command.add_argument("--resume", metavar="TOKEN", help="continue where a stopped run said to resume")
    command.set_defaults(handler=lambda args, target: run(target, lambda: run_retag(args, target, surveys_table())))
