"""``nps digest preview SURVEY``: the team's digest as it would be sent, written to a file or printed, without
sending anything; ``nps digest send SURVEY``: send it now, once per recipient and period (docs/digest.md)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nps.cli.common import EXIT_OK, EXIT_REQUEST, CliError, day, file_path, identifier, output_file
from nps.digests.schedule import latest_period
from nps.digests.service import DigestService, NoDigest, NoDigestDay, UnknownDigestSurvey
from nps.digests.wiring import digest_service

if TYPE_CHECKING:
    from nps.cli.target import Target


def register(commands: Any) -> None:
    """Add ``digest preview`` to the ``nps`` parser."""
    digest = commands.add_parser(
        "digest",
        help="the team's digest email of a survey",
        description='The team\'s scheduled digest of a survey (its "digest" settings: docs/digest.md).',
    )
    actions = digest.add_subparsers(dest="digest_command", metavar="ACTION", required=True)
    preview = actions.add_parser(
        "preview",
        help="render the latest digest without sending it",
        description="Render the latest digest due (or due by --as-of) as HTML (default) or text, reading the"
        " same figures, comments and accounts the digest function reads. Sends nothing, writes nothing.",
    )
    preview.add_argument(
        "survey_id", metavar="SURVEY", type=identifier("a survey id"), help="the survey id (`nps survey list`)"
    )
    preview.add_argument(
        "--out",
        type=file_path,
        default=None,
        help="file to write, in an existing folder (default: SURVEY-digest.html here, or standard output with --text)",
    )
    preview.add_argument("--text", action="store_true", help="the plain-text part instead of the HTML one")
    preview.add_argument(
        "--as-of", dest="as_of", type=day, default=None, help="the digest due by the end of this local day, YYYY-MM-DD"
    )
    preview.set_defaults(handler=run_preview, check=check_preview)
    send = actions.add_parser(
        "send",
        help="send the latest digest due now, to the recipients who have not had it",
        description="Send the survey's latest digest due (the one `digest preview` shows) now, with your own"
        " credentials, as the digest function would: each recipient at most once per period (a recipient the"
        " function already mailed is skipped), suppressed addresses skipped. Prints the outcome as JSON (counts"
        " only); exit 1 when a send failed.",
    )
    send.add_argument(
        "survey_id", metavar="SURVEY", type=identifier("a survey id"), help="the survey id (`nps survey list`)"
    )
    send.set_defaults(handler=run_send)


def check_preview(args: argparse.Namespace) -> None:
    """``--out`` names a file in an existing folder; raises :class:`CliError`."""
    if args.out is not None:
        output_file(args.out, "--out")


def _service(target: Target, sending: bool) -> DigestService:
    outputs = target.outputs
    if sending:
        missing = [name for name in ("EventBusName", "IdKeySecretArn", "SesConfigurationSet") if not outputs.get(name)]
        if missing:
            raise CliError(f"{target.description} has no {', '.join(missing)}: digests cannot be sent from it")
    return digest_service(
        surveys_table=target.table("surveys"),
        aggregates_table=target.table("aggregates"),
        responses_table=target.table("responses"),
        accounts_table=target.table("accounts"),
        suppressions_table=target.table("suppressions"),
        event_bus_name=outputs.get("EventBusName", "") if sending else "",
        id_key_secret_name=outputs.get("IdKeySecretArn", "") if sending else "",
        configuration_set=outputs.get("SesConfigurationSet", "") if sending else "",
    )


def run_send(args: argparse.Namespace, target: Target) -> int:
    service = _service(target, sending=True)
    survey = service.surveys.get(args.survey_id)
    if survey is None:
        raise CliError(f"no survey {args.survey_id!r}")
    if survey.digest is None:
        raise CliError(
            f'survey {args.survey_id!r} has no digest: add a "digest" block with recipients (docs/digest.md)'
        )
    # As the function: a switched-off digest or a paused survey sends nothing.
    if not survey.digest.enabled:
        raise CliError(f'the digest of survey {args.survey_id!r} is switched off ("enabled": false): nothing sent')
    if not survey.active:
        raise CliError(f"survey {args.survey_id!r} is not active: its digest is not sent")
    now = datetime.now(UTC)
    outcome = service.send(survey, survey.digest, latest_period(survey.digest, now), now)
    print(json.dumps(asdict(outcome)))
    return EXIT_REQUEST if outcome.failed else EXIT_OK


def run_preview(args: argparse.Namespace, target: Target) -> int:
    service = _service(target, sending=False)
    try:
        _, content, rendered, report = service.preview(args.survey_id, datetime.now(UTC), args.as_of)
    except (UnknownDigestSurvey, NoDigest, NoDigestDay) as error:
        raise CliError(str(error)) from None
    body = rendered.text if args.text else rendered.html
    if args.text and args.out is None:
        print(body)
    else:
        out: Path = args.out if args.out is not None else Path(f"{args.survey_id}-digest.html")
        out.write_text(body, encoding="utf-8")
        print(f"Digest of {content.period.label()} written to {out.resolve()}")
    attached = "be attached" if report is not None else "not be attached"
    print(f"Subject: {rendered.subject}; the HTML report would {attached}", file=sys.stderr)
    return EXIT_OK
