"""Parallel taps on one invite, against moto in server mode: one response, versions that only go up,
and exactly one ``NPS Response Scored`` event per real change.

Each thread plays one Lambda instance of the respond function: its own ``ResponseService`` built the
way the function builds it, calling DynamoDB over HTTP through the shared client factory. (Threads do
not call the HTTP handler itself: the Powertools resolver keeps the current request on a module-level
object, and Lambda never runs two requests in one instance at once.) A person taps two different
scores from several devices at the same moment; another thread samples the stored version meanwhile.
"""

from __future__ import annotations

import itertools
import os
import threading
import urllib.request
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

from functions.respond import handler as respond
from functions.score import handler as score
from local.environment import LocalStack, StreamReader, create_stack
from nps.kernel import aws
from nps.responding.adapters.responses import DynamoResponseRepository, RecordOutcome, StoredResponse
from nps.responding.service import ConfirmResult
from tests.permissions.session import load_template_now
from tests.support.reliability import aggregate_counts, drain, recount, route_events_to_queue, run_score, scan
from tests.support.taps import PAGE_SCRIPT, issue_invite

pytestmark = pytest.mark.reliability

THREADS = 8
TAPS_PER_THREAD = 4
SCORES = ("9", "4")  # two devices, two minds: a promoter and a detractor answer, over and over


class AtomicRequestsMotoServer(ThreadedMotoServer):
    """moto's threaded server, executing one request at a time.

    DynamoDB executes each request atomically (a conditional update checks and writes in one step);
    moto's threaded server runs handlers concurrently without locks, so two updates of one item could
    interleave inside moto. Serialising requests restores DynamoDB's guarantee; the callers still race
    freely between their requests, which is the concurrency under test.
    """

    def _server_entry(self) -> None:
        app = DomainDispatcherApplication(create_backend_app)
        lock = threading.Lock()

        def atomic(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            with lock:
                return list(app(environ, start_response))

        self._server = make_server(self._ip_address, self._port, atomic, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()


def _reset_function_state() -> None:
    from aws_lambda_powertools.utilities import parameters

    aws.reset_clients()
    parameters.clear_caches()
    respond.service.cache_clear()
    score.service.cache_clear()


@pytest.fixture
def served_platform() -> Iterator[LocalStack]:
    """The platform on a moto server at 127.0.0.1:<free port>, every client pointed at it."""
    saved = dict(os.environ)
    server = AtomicRequestsMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    load_template_now()  # before any request thread records a call
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    _reset_function_state()
    try:
        yield create_stack("concurrent")
    finally:
        request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")  # noqa: S310 - our local server
        urllib.request.urlopen(request, timeout=5).close()  # noqa: S310
        server.stop()
        os.environ.clear()
        os.environ.update(saved)
        _reset_function_state()


def test_parallel_taps_on_one_invite_make_one_response_with_monotonic_versions_and_one_event_per_change(
    served_platform: LocalStack,
) -> None:
    stack = served_platform
    scored_events = route_events_to_queue(stack, "scored-events", ["NPS Response Scored"])
    invite = issue_invite(stack, "inv-race")
    responses_table = stack.tables["responses"]

    # Given a sampler that reads the stored version while the taps run
    sampled: list[int] = []
    done = threading.Event()

    def sample() -> None:
        client = aws.client("dynamodb")
        while True:
            finished = done.is_set()  # one last read after the taps end
            item = client.get_item(TableName=responses_table, Key={"invite_id": {"S": "inv-race"}}, ConsistentRead=True)
            if "Item" in item:
                sampled.append(int(item["Item"]["version"]["N"]))
            if finished:
                return

    # When eight "instances" tap the invite's link at once, alternating two scores
    results: list[ConfirmResult] = []
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS + 1)

    def tap(worker: int) -> None:
        service = respond.service.__wrapped__()  # this instance's own service, configured as the function's
        start.wait()
        try:
            for n in range(TAPS_PER_THREAD):
                results.append(service.tap(invite.token, SCORES[(worker + n) % 2], PAGE_SCRIPT))
        except BaseException as error:  # a failed tap fails the test below, with its reason
            errors.append(error)

    sampler = threading.Thread(target=sample)
    workers = [threading.Thread(target=tap, args=(w,)) for w in range(THREADS)]
    sampler.start()
    for worker in workers:
        worker.start()
    start.wait()
    for worker in workers:
        worker.join(timeout=60)
    done.set()
    sampler.join(timeout=10)
    assert not errors, errors
    assert len(results) == THREADS * TAPS_PER_THREAD

    # Then there is one response item, and every tap was judged a person's answer
    (item,) = [i for i in scan(responses_table) if i["invite_id"]["S"] == "inv-race"]
    assert all(not r.assessment.automated for r in results)
    # and the versions only went up: as sampled, as written to the stream, as told to the callers
    assert sampled == sorted(sampled)
    records = StreamReader(stack.stream_arns["responses"]).read_records()
    images = [r["dynamodb"]["NewImage"] for r in records if "version" in r["dynamodb"].get("NewImage", {})]
    versions = [int(image["version"]["N"]) for image in images]
    final = int(item["version"]["N"])
    assert versions == list(range(1, final + 1))
    writes = {RecordOutcome.RECORDED, RecordOutcome.CHANGED}
    assert sorted(r.recorded.version for r in results if r.recorded and r.recorded.outcome in writes) == versions
    assert [r.recorded.outcome for r in results if r.recorded].count(RecordOutcome.RECORDED) == 1
    # and every write was a real change of score (a repeated score writes nothing)
    scores = [image["score"]["N"] for image in images]
    assert all(a != b for a, b in itertools.pairwise(scores))
    assert item["score"]["N"] == scores[-1]

    # When the stream is scored, and the same batch is delivered again
    assert run_score({"Records": records}) == {"batchItemFailures": []}
    first_delivery = Counter(str(e["detail"]["event_id"]) for e in drain(scored_events))
    assert run_score({"Records": records}) == {"batchItemFailures": []}
    redelivered = Counter(str(e["detail"]["event_id"]) for e in drain(scored_events))

    # Then each real change produced exactly one event (ids stable across the redelivery, which
    # subscribers dedupe), in order, and the aggregates count the one response once
    expected = {f"inv-race:{v}" for v in versions}
    assert first_delivery == Counter(expected)
    assert set(redelivered) <= expected
    assert aggregate_counts(stack) == recount(stack)
    (today,) = [c for (pk, _), c in aggregate_counts(stack).items() if pk == "survey-1#day#*#*"]
    assert sum(today.get(category, 0) for category in ("promoters", "passives", "detractors")) == 1
    # (the race really raced: several changes, with versions sampled while they happened)
    assert final >= 3
    assert sampled[-1] == final


def test_a_tap_that_races_a_change_is_not_reported_locked_inside_the_edit_window(
    platform: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an answer of 9 on record, and two instances of the respond function
    invite = issue_invite(platform, "inv-lock")
    first, second = respond.service.__wrapped__(), respond.service.__wrapped__()
    assert first.tap(invite.token, "9", PAGE_SCRIPT).recorded is not None
    # and the person's other device changing the answer to 4 just after the first instance's
    # conditional write found 9 already on record (the moment it reads the item back)
    repository = first.responses
    assert isinstance(repository, DynamoResponseRepository)
    read_back = repository.get

    def get_after_a_change(invite_id: str) -> StoredResponse | None:
        second.tap(invite.token, "4", PAGE_SCRIPT)
        return read_back(invite_id)

    monkeypatch.setattr(repository, "get", get_after_a_change)
    # When the first instance handles a repeated tap of 9
    result = first.tap(invite.token, "9", PAGE_SCRIPT)
    # Then its answer is reported as unchanged (9 was on record when it wrote), not as locked out
    assert result.recorded is not None
    assert result.recorded.outcome is RecordOutcome.UNCHANGED
