"""Command line for teams running a program (works against the deployed stack or a local moto server).

    python -m nps.cli survey put survey.json
    python -m nps.cli contacts import contacts.csv [--audience default] [--report errors.csv]
    python -m nps.cli wave start <survey_id>

Table and queue names come from the same environment variables the functions use (``SURVEYS_TABLE``,
``CONTACTS_TABLE``, ...; see the stack outputs). ``survey put`` also syncs the survey's schedule when
``SCHEDULE_GROUP``, ``PLANNER_ARN`` and ``SCHEDULER_ROLE_ARN`` are set.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from pydantic import ValidationError

from nps.dal.channels import SqsSendQueue
from nps.dal.contacts import DynamoContactRepository
from nps.dal.invite_lifecycle import DynamoInviteLifecycle
from nps.dal.schedules import SurveySchedules
from nps.dal.suppressions import DynamoSuppressionRepository
from nps.dal.surveys import DynamoSurveyRepository
from nps.importing import import_contacts
from nps.sending_config import sending_settings
from nps.surveys import Survey
from nps.waves import WavePlanner


def put_survey(path: Path) -> int:
    try:
        survey = Survey.model_validate_json(path.read_text("utf-8"))
    except ValidationError as error:
        print(f"{path}: invalid survey definition", file=sys.stderr)
        for issue in error.errors():
            print(f"  {'.'.join(map(str, issue['loc'])) or 'survey'}: {issue['msg']}", file=sys.stderr)
        return 2
    DynamoSurveyRepository(sending_settings().require("surveys_table").surveys_table).put(survey)
    group, planner, role = (
        os.environ.get(n, "") for n in ("SCHEDULE_GROUP", "PLANNER_ARN", "SCHEDULER_ROLE_ARN")
    )
    expression = SurveySchedules(group, planner, role).sync(survey) if group and planner and role else None
    print(json.dumps({"survey_id": survey.survey_id, "schedule": expression}))
    return 0


def import_file(path: Path, audience: str, report_path: Path | None) -> int:
    repository = DynamoContactRepository(sending_settings().require("contacts_table").contacts_table)
    report = import_contacts(path.read_text("utf-8-sig"), audience, repository)
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
    return 1 if report.file_error else 0


def start_wave(survey_id: str) -> int:
    """Plan a wave now, in this process, exactly as the planner function would."""
    config = sending_settings().require(
        "invites_table", "aggregates_table", "surveys_table", "contacts_table", "suppressions_table",
        "send_queue_url",
    )  # fmt: skip
    planner = WavePlanner(
        surveys=DynamoSurveyRepository(config.surveys_table),
        contacts=DynamoContactRepository(config.contacts_table),
        suppressions=DynamoSuppressionRepository(config.suppressions_table),
        invites=DynamoInviteLifecycle(config.invites_table, config.aggregates_table, config.contacts_table),
        queue=SqsSendQueue(config.send_queue_url),
        retention_days=config.retention_days,
    )
    print(json.dumps(planner.scheduled_wave(survey_id).as_dict(), indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nps.cli", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="area", required=True)
    survey = commands.add_parser("survey").add_subparsers(dest="command", required=True)
    survey.add_parser("put", help="create or update a survey from a JSON file").add_argument(
        "file", type=Path
    )
    contacts = commands.add_parser("contacts").add_subparsers(dest="command", required=True)
    importer = contacts.add_parser("import", help="import a local CSV of contacts")
    importer.add_argument("file", type=Path)
    importer.add_argument("--audience", default="default")
    importer.add_argument("--report", type=Path, help="write the per-row error report here")
    wave = commands.add_parser("wave").add_subparsers(dest="command", required=True)
    wave.add_parser("start", help="start a wave now (runs the planner in this process)").add_argument(
        "survey_id"
    )
    args = parser.parse_args(argv)
    if args.area == "survey":
        return put_survey(args.file)
    if args.area == "contacts":
        return import_file(args.file, args.audience, args.report)
    return start_wave(args.survey_id)


if __name__ == "__main__":
    sys.exit(main())
