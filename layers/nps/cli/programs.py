"""``nps survey put``, ``nps contacts import`` and ``nps wave start``: running a program.

    nps --stack Nps-prod survey put survey.json
    nps --stack Nps-prod survey list
    nps --stack Nps-prod survey site-secret <survey_id>
    nps --stack Nps-prod survey share-link <survey_id> --qr link.svg
    nps --stack Nps-prod survey retag <survey_id> [--dry-run]
    nps --stack Nps-prod contacts import contacts.csv [--audience default] [--report errors.csv]
    nps --stack Nps-prod wave start <survey_id>
    nps --stack Nps-prod wave show <survey_id> <wave_id>
    nps --stack Nps-prod follow-up show <follow_up_id>
    nps --stack Nps-prod follow-up resolve <follow_up_id> [--note "called back, refunded"]

Table and queue names come from the target (the stack's outputs, or the local environment's prefix) and
are handed to the same code the functions run, through the environment variables they read.
``survey put`` also syncs the survey's schedule when the target has a schedule group, planner and role.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from nps.accounts.adapters.profiles import DynamoAccountProfiles
from nps.channels.site_tokens import printable_site_secret
from nps.cli import retagging, share_links
from nps.cli.common import (
    EXIT_REQUEST,
    EXIT_TARGET,
    EXIT_USAGE,
    CliError,
    file_path,
    identifier,
    input_file,
    output_file,
    read_bytes,
    read_text,
)
from nps.cli.terminal import cell
from nps.follow_ups.adapters.store import DynamoFollowUpStore, StepFunctionsTaskTokens
from nps.follow_ups.steps import FollowUpNotFound, invite_id_of, resolve_task
from nps.kernel.config import ConfigurationError
from nps.kernel.periods import iso_timestamp
from nps.links.adapters.keyring import load_id_key, load_keyring
from nps.links.tokens import KeyringError
from nps.sending.adapters.channels import SqsContinuationQueue, SqsSendQueue
from nps.sending.adapters.contacts import DynamoContactRepository
from nps.sending.adapters.invites import DynamoInviteLifecycle
from nps.sending.adapters.schedules import SurveySchedules
from nps.sending.adapters.suppressions import DynamoSuppressionRepository
from nps.sending.adapters.surveys import DynamoSurveyRepository
from nps.sending.adapters.waves import DynamoWaveProgress
from nps.sending.importing import import_contacts_file
from nps.sending.planning import scheduled_wave_id
from nps.sending.settings import reset_sending_settings, sending_settings
from nps.sending.sms import survey_sms_lengths
from nps.sending.surveys import Survey
from nps.sending.waves import SurveyNotFound, WavePlanner

if TYPE_CHECKING:
    from nps.cli.target import Target


def load_survey(path: Path) -> Survey:
    """The survey definition in ``path`` (UTF-8, a byte order mark allowed), validated.

    Raises :class:`CliError`: usage (exit status 2) listing each problem on its own line, or exit
    status 1 for a file that cannot be read or is not UTF-8 (:func:`nps.cli.common.read_text`).
    """
    text = read_text(path)
    try:
        return Survey.model_validate_json(text)
    except ValidationError as error:
        problems = [f"{'.'.join(map(str, issue['loc'])) or 'survey'}: {issue['msg']}" for issue in error.errors()]
        raise CliError(f"{path}: invalid survey definition", EXIT_USAGE, problems) from None


def check_survey_file(args: argparse.Namespace) -> None:
    """Read and validate the survey file before the target is resolved (kept in ``args.survey``)."""
    args.survey = load_survey(args.file)


def put_survey(survey: Survey) -> int:
    """Store ``survey`` and sync its schedule; prints the id, schedule and SMS lengths as JSON."""
    DynamoSurveyRepository(sending_settings().require("surveys_table").surveys_table).put(survey)
    group, planner, role = (os.environ.get(n, "") for n in ("SCHEDULE_GROUP", "PLANNER_ARN", "SCHEDULER_ROLE_ARN"))
    dead_letters = os.environ.get("PLANNER_DLQ_ARN", "")
    schedules = SurveySchedules(group, planner, role, dead_letters) if group and planner and role else None
    expression = schedules.sync(survey) if schedules else None
    sms = survey_sms_lengths(survey)
    digest = survey.digest
    when = None
    if digest is not None:
        # The digest's schedule and how many people get it (never their addresses: docs/digest.md).
        day = "" if digest.frequency.value == "daily" else f" {digest.weekday.value}"
        people = f"{len(digest.recipients)} recipient(s)"
        when = f"{digest.frequency.value}{day} {digest.hour:02d}:00 {digest.time_zone}, {people}"
        when += "" if digest.enabled else " (off)"
    print(
        json.dumps(
            {"survey_id": survey.survey_id, "schedule": expression, "digest": when, "sms": [s.as_dict() for s in sms]}
        )
    )
    for text in sms:
        if text.length.segments > 2:
            print(
                f"  note: the {text.kind} SMS in {text.locale} takes {text.length.segments} segments "
                f"({text.length.encoding}, {text.length.units} units); each segment is billed",
                file=sys.stderr,
            )
    return 0


def list_surveys() -> int:
    """One line per survey, tab-separated: id, name, locales, channels, status (``active``/``paused``)."""
    surveys = DynamoSurveyRepository(sending_settings().require("surveys_table").surveys_table).all()
    for survey in surveys:
        status = "active" if survey.active else "paused"
        fields = (survey.survey_id, survey.name, ",".join(survey.locales), ",".join(survey.channels), status)
        print("\t".join(map(cell, fields)))
    print(f"{len(surveys)} survey(s)", file=sys.stderr)
    return 0


def site_secret(survey_id: str, secret_name: str) -> int:
    """Print the survey's site secret for its web prompt, ``<kid>.<secret>`` on one line (the only place it
    is shown: the team's backend signs contact tokens with it, docs/web-channel.md). Exit 1 for an unknown
    survey or an unusable site keyring."""
    survey = DynamoSurveyRepository(sending_settings().require("surveys_table").surveys_table).get(survey_id)
    if survey is None:
        raise CliError(f"no survey {survey_id!r}: `nps survey list` shows them", EXIT_REQUEST)
    try:
        keyring = load_keyring(secret_name)
    except KeyringError as error:
        raise CliError(f"the site keys secret cannot be used: {error}", EXIT_REQUEST) from error
    print(printable_site_secret(keyring, survey_id))
    if not survey.web.enabled:
        print(f"  note: the web prompt of {survey_id} is not enabled (set web.enabled)", file=sys.stderr)
    return 0


def _site_keys(target: Target) -> str:
    name = target.outputs.get("SiteKeysSecretArn")
    if not name:
        raise CliError(f"{target.description} has no SiteKeysSecretArn output (deploy this release)", EXIT_TARGET)
    return name


def check_contacts_file(args: argparse.Namespace) -> None:
    """The contacts file can be read and the error report written, before the target is resolved."""
    input_file(args.file)
    if args.report is not None:
        output_file(args.report, "--report")


def import_file(path: Path, audience: str, report_path: Path | None) -> int:
    """Import a local file exactly as the S3-triggered import does; a file error is one line and exit 1."""
    data = read_bytes(path)
    settings = sending_settings().require("contacts_table")
    repository = DynamoContactRepository(settings.contacts_table)
    # A stack from before accounts existed has no accounts table: its contacts are imported without.
    profiles = (DynamoAccountProfiles(settings.accounts_table), datetime.now(UTC)) if settings.accounts_table else None
    report = import_contacts_file(data, audience, repository, profiles)
    if report.file_error:
        if report_path is not None:
            report_path.write_text(report.as_csv(), "utf-8")
        raise CliError(f"{path}: {report.file_error}", EXIT_REQUEST)
    if report_path is not None:
        report_path.write_text(report.as_csv(), "utf-8")
    print(
        json.dumps(
            {
                "imported": len(report.contacts),
                "rejected": len(report.errors),
                "file_error": report.file_error,
            }
        )
    )
    for error in report.errors[:20]:
        print(f"  line {error.line} ({error.contact_id or '?'}): {'; '.join(error.errors)}", file=sys.stderr)
    return 0


def start_wave(survey_id: str, target: Target) -> int:
    """Start a wave now.

    On a deployed stack the wave is handed to the planner function through its planning queue, so it is
    planned in checkpointed chunks with continuations like a scheduled wave, however large the audience
    (``nps wave show`` follows it). Locally, or on a stack without a planning queue, it is planned in this
    process, exactly as the planner function would. Raises :class:`CliError` for an unknown survey.
    """
    config = sending_settings()
    if config.planning_queue_url and not target.local:
        surveys = DynamoSurveyRepository(config.require("surveys_table").surveys_table)
        if surveys.get(survey_id) is None:
            raise CliError(f"no survey {survey_id!r} here: `nps survey list` shows the surveys")
        now = datetime.now(UTC)
        wave_id = scheduled_wave_id(survey_id, now)
        SqsContinuationQueue(config.planning_queue_url).continue_later(
            {"action": "wave", "survey_id": survey_id, "scheduled_time": iso_timestamp(now)}, 0
        )
        print(json.dumps({"survey_id": survey_id, "wave_id": wave_id, "planning": "queued"}, indent=2))
        print(f"the planner plans it in the stack: `nps wave show {survey_id} {wave_id}` follows it", file=sys.stderr)
        return 0
    config = config.require(
        "invites_table", "aggregates_table", "surveys_table", "contacts_table", "suppressions_table",
        "send_queue_url", "id_key_secret_name",
    )  # fmt: skip
    planner = WavePlanner(
        surveys=DynamoSurveyRepository(config.surveys_table),
        contacts=DynamoContactRepository(config.contacts_table),
        suppressions=DynamoSuppressionRepository(config.suppressions_table),
        invites=DynamoInviteLifecycle(config.invites_table, config.aggregates_table, config.contacts_table),
        queue=SqsSendQueue(config.send_queue_url),
        id_key=lambda: load_id_key(config.id_key_secret_name),
        retention_days=config.retention_days,
        # Recorded like the planner's waves: `nps wave show` follows it, and an erasure finds its unsent
        # invites through it (docs/privacy.md).
        progress=DynamoWaveProgress(config.surveys_table),
    )
    try:
        wave = planner.scheduled_wave(survey_id)
    except SurveyNotFound:
        raise CliError(f"no survey {survey_id!r} here: `nps survey list` shows the surveys") from None
    print(json.dumps(wave.as_dict(), indent=2))
    return 0


def show_wave(survey_id: str, wave_id: str) -> int:
    """Where a scheduled wave stands: its latest run's pages, whether it is done, and its counts so far."""
    progress = DynamoWaveProgress(sending_settings().require("surveys_table").surveys_table).get(survey_id, wave_id)
    if progress is None:
        raise CliError(f"no wave {wave_id!r} of survey {survey_id!r} here")
    report = progress.report()
    print(json.dumps({**report.as_dict(), "run": progress.run, "started_at": progress.started_at}, indent=2))
    return 0


def show_follow_up(follow_up_id: str) -> int:
    """A follow-up's state (ids, answer, email outcome, comments, resolution; never the task token)."""
    follow_up = _follow_ups().get(follow_up_id) if _valid_follow_up_id(follow_up_id) else None
    if follow_up is None:
        print(f"no follow-up {follow_up_id!r}", file=sys.stderr)
        return 1
    print(json.dumps(follow_up.as_dict(exclude={"task_token", "execution"}), indent=2, ensure_ascii=False))
    return 0


def resolve_follow_up(follow_up_id: str, note: str) -> int:
    """The team resolved the task: the workflow goes on to its re-survey."""
    if not _valid_follow_up_id(follow_up_id):
        print(f"no follow-up {follow_up_id!r}", file=sys.stderr)
        return 1
    try:
        resolved = resolve_task(_follow_ups(), StepFunctionsTaskTokens(), follow_up_id, "resolved", note)
    except FollowUpNotFound:
        print(f"no follow-up {follow_up_id!r}", file=sys.stderr)
        return 1
    if not resolved:
        print(f"follow-up {follow_up_id} is not waiting for the team (see `nps follow-up show`)", file=sys.stderr)
        return 1
    print(json.dumps({"follow_up_id": follow_up_id, "resolution": "resolved"}))
    return 0


def _follow_ups() -> DynamoFollowUpStore:
    return DynamoFollowUpStore(sending_settings().require("follow_ups_table").follow_ups_table)


def _valid_follow_up_id(follow_up_id: str) -> bool:
    try:
        invite_id_of(follow_up_id)
    except FollowUpNotFound:
        return False
    return True


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``survey``, ``contacts``, ``wave`` and ``follow-up`` to the ``nps`` parser."""
    survey = commands.add_parser("survey", help="survey definitions").add_subparsers(dest="action", required=True)
    put = survey.add_parser("put", help="create or update a survey from a JSON file (and sync its schedule)")
    put.add_argument(
        "file", type=file_path, metavar="FILE", help="the survey definition, JSON (see examples/survey.json)"
    )
    put.set_defaults(
        handler=lambda args, target: _with(target, lambda: put_survey(args.survey)), check=check_survey_file
    )
    listing = survey.add_parser("list", help="every survey: id, name, locales, channels, status (tab-separated)")
    listing.set_defaults(handler=lambda args, target: _with(target, list_surveys))
    secret = survey.add_parser(
        "site-secret", help="print the survey's site secret (<kid>.<secret>) for signing web contact tokens"
    )
    secret.add_argument("survey_id", metavar="SURVEY", type=identifier("a survey id"), help="the survey id")
    secret.set_defaults(
        handler=lambda args, target: _with(target, lambda: site_secret(args.survey_id, _site_keys(target)))
    )
    share_links.register(survey, _with, _site_keys)
    retagging.register(survey, _with, lambda: sending_settings().require("surveys_table").surveys_table)
    contacts = commands.add_parser("contacts", help="contacts").add_subparsers(dest="action", required=True)
    importer = contacts.add_parser("import", help="import a local CSV of contacts (a per-row error report)")
    importer.add_argument("file", type=file_path, metavar="FILE", help="the contacts CSV (see examples/contacts.csv)")
    importer.add_argument(
        "--audience",
        default="default",
        type=identifier("an audience"),
        help="the audience to import into (default: default)",
    )
    importer.add_argument("--report", type=file_path, help="write the per-row error report here (an existing folder)")
    importer.set_defaults(
        handler=lambda args, target: _with(target, lambda: import_file(args.file, args.audience, args.report)),
        check=check_contacts_file,
    )
    wave = commands.add_parser("wave", help="waves").add_subparsers(dest="action", required=True)
    start = wave.add_parser("start", help="start a wave now (the stack's planner plans it; locally, this process)")
    start.add_argument(
        "survey_id",
        metavar="SURVEY",
        type=identifier("a survey id"),
        help="the survey id (`nps survey list` shows them)",
    )
    start.set_defaults(handler=lambda args, target: _with(target, lambda: start_wave(args.survey_id, target)))
    follow = wave.add_parser("show", help="where a wave stands (pages planned, done, counts)")
    follow.add_argument("survey_id", metavar="SURVEY", type=identifier("a survey id"), help="the survey id")
    follow.add_argument(
        "wave_id", metavar="WAVE", type=identifier("a wave id"), help="the wave id `wave start` printed"
    )
    follow.set_defaults(handler=lambda args, target: _with(target, lambda: show_wave(args.survey_id, args.wave_id)))
    follow_up = commands.add_parser("follow-up", help="follow-ups of answers").add_subparsers(
        dest="action", required=True
    )
    show = follow_up.add_parser("show", help="a follow-up's state")
    show.add_argument("follow_up_id", metavar="FOLLOW_UP", help="the follow-up id (from the alert or task)")
    show.set_defaults(handler=lambda args, target: _with(target, lambda: show_follow_up(args.follow_up_id)))
    resolve = follow_up.add_parser("resolve", help="the team resolved a detractor's task: go on to the re-survey")
    resolve.add_argument("follow_up_id", metavar="FOLLOW_UP", help="the follow-up id (from the alert or task)")
    resolve.add_argument("--note", default="", help="a short note for the workflow's history (no personal data)")
    resolve.set_defaults(
        handler=lambda args, target: _with(target, lambda: resolve_follow_up(args.follow_up_id, args.note))
    )


_TABLE_VARIABLES = {
    "invites": "INVITES_TABLE",
    "responses": "RESPONSES_TABLE",
    "aggregates": "AGGREGATES_TABLE",
    "surveys": "SURVEYS_TABLE",
    "contacts": "CONTACTS_TABLE",
    "suppressions": "SUPPRESSIONS_TABLE",
    "followups": "FOLLOW_UPS_TABLE",
    "accounts": "ACCOUNTS_TABLE",
}
_OUTPUT_VARIABLES = {
    "SendQueueUrl": "SEND_QUEUE_URL",
    "PlanningQueueUrl": "PLANNING_QUEUE_URL",
    "ScheduleGroup": "SCHEDULE_GROUP",
    "PlannerArn": "PLANNER_ARN",
    "SchedulerRoleArn": "SCHEDULER_ROLE_ARN",
    "PlannerDeadLetterQueueArn": "PLANNER_DLQ_ARN",
    "IdKeySecretArn": "ID_KEY_SECRET_NAME",
}


def _with(target: Target, command: Callable[[], int]) -> int:
    """Run ``command`` with the target's names in the environment the sending code reads."""
    for logical, variable in _TABLE_VARIABLES.items():
        if logical in target.tables:
            os.environ[variable] = target.tables[logical]
    for output, variable in _OUTPUT_VARIABLES.items():
        if output in target.outputs:
            os.environ[variable] = target.outputs[output]
    reset_sending_settings()
    try:
        return command()
    except ConfigurationError as error:
        raise CliError(f"{target.description} lacks what this command needs: {error}", EXIT_TARGET) from error
