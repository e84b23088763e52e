"""``nps smoke``: check a deployed stack end to end after ``cdk deploy`` (see :mod:`nps.smoke.checks`).

    nps --stack Nps-prod smoke [--timeout 120] [--sender nps-smoke@example.com] [--api-url URL]
    nps --local smoke --api-url http://127.0.0.1:8080      # a local environment (python -m local.smoke_env)

Prints one line per step (``PASS step — detail`` / ``FAIL step — reason``); exit status 0 when every step
passed, 1 when one failed, 3 when the stack (or local environment) cannot be read at all.

Names come from the stack's outputs: the tables, ``ResponseApiUrl``, ``EventBusName``, ``PlannerArn``,
``SigningSecretArn`` and ``SenderIdentity``. On a deployed stack the wave is planned by invoking the planner
function; in the local environment, which has no functions, the planner runs in this process as
``nps wave start`` does, and the local environment plays the functions' triggers.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import TYPE_CHECKING, Any

from nps.cli.common import EXIT_OK, EXIT_REQUEST, EXIT_TARGET, EXIT_USAGE, CliError
from nps.smoke.checks import SURVEY_ID, Browser, Planner, SmokePlatform, SmokeRun, SmokeSettings, StepResult

if TYPE_CHECKING:
    from nps.cli.target import Target

DEFAULT_TIMEOUT_SECONDS = 120.0
TABLES = ("invites", "responses", "aggregates", "surveys", "contacts", "suppressions")
#: The stack outputs the command reads (tests/infra checks that the stack has every one).
STACK_OUTPUTS = (
    *("InvitesTable", "ResponsesTable", "AggregatesTable", "SurveysTable", "ContactsTable", "SuppressionsTable"),
    *("ResponseApiUrl", "EventBusName", "SigningSecretArn", "IdKeySecretArn", "PlannerArn", "SenderIdentity"),
)


def register(commands: Any) -> None:
    """Add ``smoke`` to the ``nps`` parser."""
    smoke = commands.add_parser(
        "smoke",
        help="after `cdk deploy`: send, tap, score, bounce and clean up one smoke survey (PASS/FAIL per step)",
        description=(
            "Sends one survey email to the SES mailbox simulator's success address and one to its bounce "
            "address through the planner and deliver functions, taps the score link over the response API "
            "like a phone browser, waits for the aggregate, the NPS Response Scored event and the bounce's "
            f"suppression, then removes everything it created (survey {SURVEY_ID!r}). Exit status 0 only "
            "when every step passed."
        ),
    )
    smoke.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help=f"longest wait for each asynchronous step (default {DEFAULT_TIMEOUT_SECONDS:.0f})",
    )
    smoke.add_argument(
        "--sender",
        help="From address of the smoke email (default: nps-smoke@ the stack's SES identity, or that address)",
    )
    smoke.add_argument("--api-url", help="base URL of the response API (default: the stack's ResponseApiUrl)")
    smoke.add_argument("--poll-interval", type=float, default=1.0, help=argparse.SUPPRESS)
    smoke.set_defaults(handler=run_smoke, check=check_api_url)


def check_api_url(args: argparse.Namespace) -> None:
    """An ``--api-url`` given is an http(s) URL, before the target is resolved."""
    if args.api_url and not args.api_url.startswith(("https://", "http://")):
        raise CliError(f"--api-url must be an http(s) URL, not {args.api_url!r}", EXIT_USAGE)


def run_smoke(args: argparse.Namespace, target: Target) -> int:
    settings = SmokeSettings(
        api_url=_api_url(args, target),
        sender=_sender(args, target),
        timeout=max(1.0, args.timeout),
        poll_interval=max(0.01, args.poll_interval),
    )
    platform = build_platform(target)

    def emit(result: StepResult) -> None:
        print(result.line(), flush=True)

    run = SmokeRun(platform, settings, emit)
    run.run()
    return EXIT_OK if run.passed else EXIT_REQUEST


def _api_url(args: argparse.Namespace, target: Target) -> str:
    url = args.api_url or target.api_url
    if not url:
        raise CliError(f"{target.description} has no response API URL: pass --api-url", EXIT_TARGET)
    if not url.startswith(("https://", "http://")):
        raise CliError(f"--api-url must be an http(s) URL, not {url!r}")
    return str(url)


def _sender(args: argparse.Namespace, target: Target) -> str:
    if args.sender:
        return str(args.sender)
    identity = target.outputs.get("SenderIdentity", "")
    if not identity:
        raise CliError(f"{target.description} does not say its SES identity: pass --sender ADDRESS", EXIT_TARGET)
    return identity if "@" in identity else f"nps-smoke@{identity}"


def _require(target: Target, *outputs: str) -> list[str]:
    missing = [name for name in outputs if not target.outputs.get(name)]
    if missing:
        raise CliError(f"{target.description} lacks the output(s) {', '.join(missing)}: redeploy it", EXIT_TARGET)
    return [target.outputs[name] for name in outputs]


def build_platform(target: Target) -> SmokePlatform:
    """The run's collaborators on ``target``: its tables, bus, signing secret and planner."""
    from nps.links.adapters.keyring import load_id_key, load_keyring
    from nps.reporting.adapters.reads import DynamoAggregateReader
    from nps.responding.adapters.responses import DynamoResponseRepository
    from nps.sending.adapters.contacts import DynamoContactRepository
    from nps.sending.adapters.invites import DynamoInviteLifecycle
    from nps.sending.adapters.surveys import DynamoSurveyRepository
    from nps.smoke.adapters.stack import ScoredEventTap, SmokeData

    tables = {name: target.table(name) for name in TABLES}
    bus_name, secret, id_key_secret = _require(target, "EventBusName", "SigningSecretArn", "IdKeySecretArn")
    return SmokePlatform(
        surveys=DynamoSurveyRepository(tables["surveys"]),
        contacts=DynamoContactRepository(tables["contacts"]),
        planner=_planner(target, tables),
        invites=DynamoInviteLifecycle(tables["invites"], tables["aggregates"], tables["contacts"]),
        responses=DynamoResponseRepository(tables["responses"]),
        aggregates=DynamoAggregateReader(tables["aggregates"]),
        store=SmokeData(tables),
        event_tap=lambda name, pattern: ScoredEventTap(bus_name, name, pattern),
        keyring=lambda: load_keyring(secret),
        id_key=lambda: load_id_key(id_key_secret),
        browser=Browser(),
    )


def _planner(target: Target, tables: dict[str, str]) -> Planner:
    from nps.smoke.adapters.stack import LambdaPlanner

    if target.outputs.get("PlannerArn"):
        return LambdaPlanner(target.outputs["PlannerArn"])
    if not target.local:
        _require(target, "PlannerArn")
    queue_url, id_key_secret = _require(target, "SendQueueUrl", "IdKeySecretArn")
    return InProcessPlanner(tables, queue_url, id_key_secret)


class InProcessPlanner:
    """The planner's code run here (the local environment has no functions), as ``nps wave start`` does."""

    def __init__(self, tables: dict[str, str], send_queue_url: str, id_key_secret: str) -> None:
        self.tables = tables
        self.send_queue_url = send_queue_url
        self.id_key_secret = id_key_secret

    def start_wave(self, survey_id: str, scheduled_time: datetime) -> dict[str, Any]:
        from nps.links.adapters.keyring import load_id_key
        from nps.sending.adapters.channels import SqsSendQueue
        from nps.sending.adapters.contacts import DynamoContactRepository
        from nps.sending.adapters.invites import DynamoInviteLifecycle
        from nps.sending.adapters.suppressions import DynamoSuppressionRepository
        from nps.sending.adapters.surveys import DynamoSurveyRepository
        from nps.sending.waves import WavePlanner

        tables = self.tables
        planner = WavePlanner(
            surveys=DynamoSurveyRepository(tables["surveys"]),
            contacts=DynamoContactRepository(tables["contacts"]),
            suppressions=DynamoSuppressionRepository(tables["suppressions"]),
            invites=DynamoInviteLifecycle(tables["invites"], tables["aggregates"], tables["contacts"]),
            queue=SqsSendQueue(self.send_queue_url),
            id_key=lambda: load_id_key(self.id_key_secret),
        )
        return planner.scheduled_wave(survey_id, scheduled_time).as_dict()
