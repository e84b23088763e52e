"""Shared harness: synthetic DynamoDB stream batches, a stub AWS client, a Lambda context, and the score
function wired to the stub (:func:`scoring_function`).

The stream records look like what the responses table's stream delivers to the score function
(``NEW_AND_OLD_IMAGES``, DynamoDB JSON): first answers as ``INSERT`` and score changes as ``MODIFY``.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
import os
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from unittest import mock

from nps.kernel.tables import survey_shard

if TYPE_CHECKING:  # the scoring workload loads no pydantic model
    from nps.sending.surveys import Survey

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
REGION = "us-east-1"
ACCOUNT = "123456789012"
STREAM_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/nps-bench-responses/stream/2026-03-10T00:00:00.000"
CHANNELS = ("email", "sms")
PLANS = ("free", "pro", "enterprise")
REGIONS = ("emea", "amer", "apac")
LOCALES = ("en", "de", "es")
# Skewed like real NPS answers: many 9-10s and 7-8s, a tail of detractors.
SCORE_WEIGHTS = (2, 1, 1, 2, 2, 4, 5, 10, 14, 22, 20)

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}

SCORE_FUNCTION_ENVIRONMENT = {
    "AGGREGATES_TABLE": "nps-bench-aggregates",
    "EVENT_BUS_NAME": "nps-bench-bus",
    "POWERTOOLS_METRICS_NAMESPACE": "NPS",
    "POWERTOOLS_DEV": "false",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "LOG_LEVEL": "WARNING",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}


def prepare_score_environment() -> None:
    """Environment of the score function, set before its module is imported (the logger reads it then)."""
    os.environ.update(FAKE_CREDENTIALS)
    os.environ.update(SCORE_FUNCTION_ENVIRONMENT)


@dataclass(frozen=True, slots=True)
class WorkloadSpec:
    records: int = 10_000
    batch_size: int = 100
    modify_share: float = 0.10
    surveys: int = 1
    # The event source mapping waits up to 2 s for a batch: a full batch of 100 needs >= 50 records/s.
    records_per_second: float = 50.0
    start: datetime = datetime(2026, 3, 10, 9, 0, 17, tzinfo=UTC)
    earlier_answers: int = 0
    seed: int = 20260310
    #: With N > 0, every response is from a contact of one of N accounts (a decision maker one time in
    #: four): each answer then also writes its account's month and quarter (docs/accounts.md).
    accounts: int = 0


@dataclass(slots=True)
class Workload:
    spec: WorkloadSpec
    events: list[dict[str, Any]]
    inserts: int = 0
    modifies: int = 0

    @property
    def records(self) -> int:
        return self.inserts + self.modifies

    def all_records(self) -> Iterator[dict[str, Any]]:
        for event in self.events:
            yield from event["Records"]


@dataclass(slots=True)
class _Response:
    invite_id: str
    survey_id: str
    contact_id: str
    channel: str
    locale: str
    plan: str
    region: str
    first_answered_at: str
    score: int = 0
    version: int = 0
    answered_at: str = ""
    account_id: str | None = None
    role: str | None = None


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def category(score: int) -> str:
    return "detractor" if score <= 6 else "passive" if score <= 8 else "promoter"


def _image(response: _Response) -> dict[str, Any]:
    """The stream image of a response: the attributes the respond path stores for an answer
    (``DynamoResponseRepository.record_score``; tests/benchmarks/test_stream_workload.py compares them)."""
    return {
        "invite_id": {"S": response.invite_id},
        "survey_id": {"S": response.survey_id},
        "survey_shard": {"S": survey_shard(response.survey_id, response.invite_id)},
        "wave_id": {"S": f"{response.survey_id}-w1"},
        "contact_id": {"S": response.contact_id},
        "channel": {"S": response.channel},
        "locale": {"S": response.locale},
        "segments": {"M": {"plan": {"S": response.plan}, "region": {"S": response.region}}},
        "score": {"N": str(response.score)},
        "category": {"S": category(response.score)},
        "counted": {"BOOL": True},
        "confidence": {"S": "high"},
        "version": {"N": str(response.version)},
        "first_answered_at": {"S": response.first_answered_at},
        "answered_at": {"S": response.answered_at},
        "source": {"S": "link"},
        **({"account_id": {"S": response.account_id}} if response.account_id is not None else {}),
        **({"role": {"S": response.role}} if response.role is not None else {}),
    }


def _stream_record(
    index: int, event_name: str, at: datetime, new: dict[str, Any], old: dict[str, Any] | None
) -> dict[str, Any]:
    dynamodb: dict[str, Any] = {
        "ApproximateCreationDateTime": int(at.timestamp()),
        "Keys": {"invite_id": new["invite_id"]},
        "NewImage": new,
        "SequenceNumber": f"{4_000_000_000_000_000_000_000 + index * 10:d}",
        "SizeBytes": 420,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if old is not None:
        dynamodb["OldImage"] = old
    return {
        "eventID": f"{index:032x}",
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": dynamodb,
        "eventSourceARN": STREAM_ARN,
    }


def _new_response(rng: random.Random, number: int, spec: WorkloadSpec, at: datetime) -> _Response:
    now = _iso(at)
    response = _Response(
        invite_id=f"inv-{number:07d}",
        survey_id=f"survey-{rng.randrange(spec.surveys) + 1}",
        contact_id=f"contact-{rng.randrange(10**9):09d}",
        channel=rng.choice(CHANNELS),
        locale=rng.choice(LOCALES),
        plan=rng.choices(PLANS, weights=(5, 3, 2))[0],
        region=rng.choice(REGIONS),
        first_answered_at=now,
        score=rng.choices(range(11), weights=SCORE_WEIGHTS)[0],
        version=1,
        answered_at=now,
    )
    if spec.accounts:  # drawn only then: the other workloads stay as they were
        response.account_id = f"acct-{rng.randrange(spec.accounts):05d}"
        response.role = "decision_maker" if rng.random() < 0.25 else "user"
    return response


def build_workload(spec: WorkloadSpec | None = None) -> Workload:
    """``spec.records`` stream records in Lambda events of ``spec.batch_size``.

    First answers are ``INSERT`` records answered during the run (the same day by default); about
    ``spec.modify_share`` of the records are ``MODIFY`` score changes of a response answered earlier,
    either in the run or among ``spec.earlier_answers`` responses first answered the day before.
    """
    spec = spec or WorkloadSpec()
    rng = random.Random(spec.seed)
    yesterday = spec.start - timedelta(days=1)
    answered = [
        _new_response(rng, number, spec, yesterday + timedelta(seconds=number))
        for number in range(spec.earlier_answers)
    ]
    workload = Workload(spec, [])
    records: list[dict[str, Any]] = []
    for index in range(spec.records):
        at = spec.start + timedelta(seconds=index / spec.records_per_second)
        if answered and rng.random() < spec.modify_share:
            response = rng.choice(answered)
            old = _image(response)
            response.score = rng.choice([s for s in range(11) if s != response.score])
            response.version += 1
            response.answered_at = _iso(at)
            records.append(_stream_record(index, "MODIFY", at, _image(response), old))
            workload.modifies += 1
        else:
            response = _new_response(rng, len(answered), spec, at)
            answered.append(response)
            records.append(_stream_record(index, "INSERT", at, _image(response), None))
            workload.inserts += 1
    workload.events = [
        {"Records": records[start : start + spec.batch_size]} for start in range(0, len(records), spec.batch_size)
    ]
    return workload


@dataclass(slots=True)
class StubAwsClient:
    """Stands in for both the DynamoDB and the EventBridge client: counts calls, keeps optional detail.

    ``record_keys`` keeps the (pk, period) of every ``Update`` so write fan-out can be analysed.
    """

    record_keys: bool = False
    transactions: int = 0
    transaction_items: int = 0
    put_events_calls: int = 0
    events: int = 0
    batch_gets: int = 0
    transaction_keys: list[list[tuple[str, str]]] = field(default_factory=list)

    def client(self, service: str) -> StubAwsClient:
        """Drop-in for ``nps.kernel.aws.client``."""
        return self

    def transact_write_items(self, *, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:
        self.transactions += 1
        self.transaction_items += len(TransactItems)
        if self.record_keys:
            keys = []
            for action in TransactItems:
                request = action.get("Update") or action["Put"]
                key = request.get("Key") or request["Item"]
                keys.append((key["pk"]["S"], key["period"]["S"]))
            self.transaction_keys.append(keys)
        return {}

    def put_events(self, *, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.put_events_calls += 1
        self.events += len(Entries)
        return {"FailedEntryCount": 0, "Entries": [{"EventId": "x"} for _ in Entries]}

    def batch_get_item(self, *, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.batch_gets += 1
        return {"Responses": {}, "UnprocessedKeys": {}}


class FakeLambdaContext:
    function_name = "nps-bench-score"
    function_version = "$LATEST"
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:nps-bench-score"
    memory_limit_in_mb = 1024
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/nps-bench-score"
    log_stream_name = "2026/03/10/[$LATEST]0000"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


class Discard(io.TextIOBase):
    """stdout for the timed loops: the EMF metrics line is still produced, just not shown."""

    def write(self, text: str) -> int:
        return len(text)


@contextlib.contextmanager
def scoring_function(stub: StubAwsClient) -> Iterator[Handler]:
    """The score function's ``lambda_handler`` with AWS stubbed, fresh settings and service, quiet output."""
    prepare_score_environment()
    from nps.kernel import aws
    from nps.kernel.config import reset_settings

    handler = importlib.import_module("functions.score.handler")
    handler.logger.setLevel(logging.WARNING)
    with mock.patch.object(aws, "client", stub.client), contextlib.redirect_stdout(Discard()):
        reset_settings()
        handler.service.cache_clear()
        try:
            yield handler.lambda_handler
        finally:
            handler.service.cache_clear()
            reset_settings()


@dataclass
class OneSurvey:
    """A survey store holding one survey and no reminders: the planner benchmarks' ``SurveyStore``."""

    survey: Survey

    def get(self, survey_id: str) -> Survey | None:
        return self.survey if survey_id == self.survey.survey_id else None

    def all(self) -> list[Survey]:
        return [self.survey]

    def due_reminders(self, survey_id: str, now_iso: str) -> Iterable[tuple[str, str]]:
        return []

    def delete_reminders(self, survey_id: str, sort_keys: Sequence[str]) -> None:
        return None
