"""``nps survey retag``: past comments re-tagged with a changed taxonomy, the aggregates following exactly
through the real score function, without a single event to subscribers."""

from __future__ import annotations

import contextlib
import copy
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.respond import handler as respond
from local.demo_reasons import check_drivers
from local.environment import LocalStack, StreamReader
from nps.cli.main import main as cli
from nps.kernel import aws
from nps.kernel.tables import RESPONSE_SURVEY_SHARDS, shard_key, survey_shards
from nps.responding.adapters.retagging import DynamoRetagStore, decode_token, encode_token
from nps.responding.retagging import Commented, retag
from nps.sending.adapters.surveys import DynamoSurveyRepository
from nps.sending.surveys import Survey
from tests.integration.test_score_stream import (
    REASONS_SURVEY,
    aggregate_items,
    nonzero,
    put_reasons_survey,
    recount,
    run,
    tap_a_campaign,
)
from tests.support.reliability import drain, route_events_to_queue
from tests.support.taps import issue_invite

#: The taxonomy after the change: ``price`` gains "cost", ``support`` is gone, ``speed`` is new.
NEW_THEMES: list[dict[str, Any]] = [
    {"id": "price", "label": {"en": "Price"}, "phrases": {"en": ["price", "expensive", "cost"]}},
    {"id": "speed", "label": {"en": "Speed"}, "phrases": {"en": ["slow", "never called"]}},
]


def change_taxonomy(stack: LocalStack, themes: list[dict[str, Any]]) -> Survey:
    definition = copy.deepcopy(REASONS_SURVEY)
    definition["reasons"]["themes"] = themes
    survey = Survey.model_validate(definition)
    DynamoSurveyRepository(stack.tables["surveys"]).put(survey)
    respond.service.cache_clear()  # the respond function's taxonomy cache has expired (CACHE_SECONDS)
    return survey


def score_all(reader: StreamReader) -> int:
    """Run the stream through the score function; returns the records scored."""
    records = 0
    for event in reader.read_batches():
        assert run(event) == {"batchItemFailures": []}
        records += len(event["Records"])
    return records


def nps(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = cli(["--local", "--prefix", "test", *args], in_process=True)
        except SystemExit as exited:  # argparse refuses an option
            status = int(exited.code or 0)
    return status, out.getvalue(), err.getvalue()


def stored_themes(stack: LocalStack) -> dict[str, tuple[str, ...]]:
    items = aws.client("dynamodb").scan(TableName=stack.tables["responses"])["Items"]
    return {item["invite_id"]["S"]: tuple(t["S"] for t in item["themes"]["L"]) for item in items if "themes" in item}


@pytest.fixture
def reader(platform: LocalStack) -> StreamReader:
    return StreamReader(platform.stream_arns["responses"], batch_size=25)


def test_retag_moves_only_theme_slices_to_a_recount_and_publishes_nothing(
    platform: LocalStack, reader: StreamReader
) -> None:
    # Given a scored campaign whose comments were tagged with price and support
    tap_a_campaign(platform)
    score_all(reader)
    before = nonzero(aggregate_items(platform))
    assert any("#theme=support#" in pk for pk, _ in before)
    events = route_events_to_queue(platform, "everything")
    # When the taxonomy changes and the survey is re-tagged
    change_taxonomy(platform, NEW_THEMES)
    status, out, err = nps("survey", "retag", "survey-1")
    # Then one summary line says what changed
    assert status == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("survey survey-1 retagged: read ")
    assert ", skipped 0" in lines[0]
    assert ", changed 0," not in lines[0]
    # And once the stream is scored, every aggregate equals a recount of the responses table
    assert score_all(reader) > 0
    after = nonzero(aggregate_items(platform))
    assert after == recount(platform)
    slices = {pk.split("#")[2] for pk, _ in after}
    assert "theme=speed" in slices
    assert "theme=support" not in slices
    # And only theme slices moved: every other key is as it was
    moved = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    assert moved
    assert all("#theme=" in pk for pk, _ in moved)
    # And no subscriber heard of it (no scored, comment or retracted event: nobody is alerted)
    assert drain(events) == []


def test_the_demos_driver_check_agrees_after_a_retag_and_fails_on_an_aggregate_off_by_one(
    platform: LocalStack, reader: StreamReader
) -> None:
    # Given a scored campaign, re-tagged with a changed taxonomy and scored again
    tap_a_campaign(platform)
    score_all(reader)
    change_taxonomy(platform, NEW_THEMES)
    assert nps("survey", "retag", "survey-1")[0] == 0
    score_all(reader)
    today = datetime.now(UTC).date()
    # Then the driver table `make demo` prints equals its recount of the stored responses
    assert check_drivers(platform, "survey-1", today - timedelta(days=1), today + timedelta(days=1)) == []
    # And the check is a recount, not a second reading of the aggregates: one detractor taken from one
    # theme slice's items is found
    client = aws.client("dynamodb")
    tampered = 0
    for item in client.scan(TableName=platform.tables["aggregates"])["Items"]:
        scores = [f"score_{value}" for value in range(7) if int(item.get(f"score_{value}", {}).get("N", "0")) > 0]
        if "#theme=price#" in item["pk"]["S"] and scores:
            client.update_item(  # one detractor fewer, in whichever form the report reads
                TableName=platform.tables["aggregates"],
                Key={"pk": item["pk"], "period": item["period"]},
                UpdateExpression="ADD detractors :minus, #score :minus",
                ExpressionAttributeNames={"#score": scores[0]},
                ExpressionAttributeValues={":minus": {"N": "-1"}},
            )
            tampered += 1
    assert tampered
    found = check_drivers(platform, "survey-1", today - timedelta(days=1), today + timedelta(days=1))
    assert any(line.startswith("theme=price: report") for line in found), found


def test_a_second_run_changes_nothing_and_a_dry_run_writes_nothing(platform: LocalStack, reader: StreamReader) -> None:
    tap_a_campaign(platform)
    score_all(reader)
    change_taxonomy(platform, NEW_THEMES)
    # A dry run counts what would change and writes nothing
    status, dry, _ = nps("survey", "retag", "survey-1", "--dry-run")
    assert status == 0
    assert "would change (dry run, nothing written)" in dry
    assert score_all(reader) == 0
    # The run changes what the dry run said
    status, first, _ = nps("survey", "retag", "survey-1")
    assert first.split(": ")[1] == dry.split(": ")[1]
    score_all(reader)
    # And a second run finds every comment already right
    status, second, _ = nps("survey", "retag", "survey-1")
    assert status == 0
    assert ", changed 0, " in second
    assert ", skipped 0" in second
    assert score_all(reader) == 0
    assert nonzero(aggregate_items(platform)) == recount(platform)


def test_a_comment_edited_during_the_run_keeps_its_newer_themes(platform: LocalStack, reader: StreamReader) -> None:
    # Given an answer whose comment was about support
    questions = put_reasons_survey(platform)
    invite = issue_invite(platform, "inv-edit", questions=questions)
    invite.tap(3)
    invite.comment("Support was slow", 3)
    score_all(reader)
    survey = change_taxonomy(platform, NEW_THEMES)
    store = DynamoRetagStore(platform.tables["responses"])

    def tag_while_the_person_edits(locale: str, comment: str) -> tuple[str, ...]:
        # Between the read and the write, the person saves a new comment (tagged by the respond function)
        assert invite.comment("Too expensive", 3)["statusCode"] == 200
        return survey.reasons.tag(comment, locale)

    # When the retag tags the comment it read
    result = retag("survey-1", tag_while_the_person_edits, store)
    # Then its write is refused, and the newer comment keeps the themes its own save gave it
    assert (result.counts.read, result.counts.changed, result.counts.skipped) == (1, 0, 1)
    assert stored_themes(platform)["inv-edit"] == ("price",)
    score_all(reader)
    assert nonzero(aggregate_items(platform)) == recount(platform)


def test_a_run_stopped_at_its_limit_resumes_where_it_stopped(platform: LocalStack, reader: StreamReader) -> None:
    tap_a_campaign(platform)
    score_all(reader)
    survey = change_taxonomy(platform, NEW_THEMES)
    store = DynamoRetagStore(platform.tables["responses"])

    def tag(locale: str, comment: str) -> tuple[str, ...]:
        return survey.reasons.tag(comment, locale)

    # When a run stops after a few responses and the next ones resume from its token
    first = retag("survey-1", tag, store, limit=2, page_size=1)
    assert first.next_token is not None
    assert first.counts.read == 2
    totals = [first.counts.read, first.counts.changed]
    token: str | None = first.next_token
    while token is not None:
        part = retag("survey-1", tag, store, token=token, limit=3, page_size=2)
        totals = [totals[0] + part.counts.read, totals[1] + part.counts.changed]
        token = part.next_token
    # Then together they read every commented response once, and the aggregates follow
    full = retag("survey-1", tag, store, dry_run=True)
    assert totals[0] == full.counts.read
    assert full.counts.changed == 0
    assert totals[1] > 0
    score_all(reader)
    assert nonzero(aggregate_items(platform)) == recount(platform)
    # And the command prints where to resume when it stops at --limit
    status, out, err = nps("survey", "retag", "survey-1", "--limit", "1", "--rate", "1")
    assert status == 0
    assert "resume with: survey retag survey-1 --resume " in err
    token = err.rsplit("--resume ", 1)[1].strip()
    status, out, _ = nps("survey", "retag", "survey-1", "--resume", token, "--dry-run")
    assert status == 0
    assert ", changed 0, " in out


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["survey", "retag", "no-such-survey"], 1, "no survey 'no-such-survey'"),
        (["survey", "retag", "survey-1", "--resume", "not-a-token"], 2, "--resume: the resume token is not one"),
        (["survey", "retag", "survey-1", "--rate", "0"], 2, "--rate is more than 0"),
        (["survey", "retag", "survey-1", "--limit", "0"], 2, "--limit is a whole number"),
    ],
)
def test_bad_requests_are_one_line_and_an_exit_status(
    platform: LocalStack, args: list[str], status: int, message: str
) -> None:
    put_reasons_survey(platform)
    code, out, err = nps(*args)
    assert code == status
    assert out == ""
    assert message in err
    if status == 1:
        assert len(err.strip().splitlines()) == 1


def test_a_token_of_another_survey_is_refused(platform: LocalStack) -> None:
    put_reasons_survey(platform)
    other = dict(REASONS_SURVEY, survey_id="survey-2")
    DynamoSurveyRepository(platform.tables["surveys"]).put(Survey.model_validate(other))
    store = DynamoRetagStore(platform.tables["responses"])
    token = next(iter(store.pages("survey-2", None, 1))).next_token
    assert token is not None
    status, _, err = nps("survey", "retag", "survey-1", "--resume", token)
    assert status == 2
    assert "printed for another survey" in err


SHARD_0 = shard_key("survey-1", 0)
LAST = RESPONSE_SURVEY_SHARDS  # the previous by_survey index
FORGED_KEYS: list[tuple[int, dict[str, Any]]] = [
    (0, {"invite_id": {"S": "x"}}),  # no index keys: the query would fail on the target
    (0, {"invite_id": {"S": "x"}, "first_answered_at": {"S": "2026-01-01"}}),
    (0, {"invite_id": {"S": "x"}, "survey_shard": {"S": shard_key("survey-2", 0)}, "first_answered_at": {"S": "1"}}),
    (0, {"invite_id": {"S": "x"}, "survey_shard": {"S": shard_key("survey-1", 1)}, "first_answered_at": {"S": "1"}}),
    (0, {"invite_id": {"S": ""}, "survey_shard": {"S": SHARD_0}, "first_answered_at": {"S": "1"}}),
    (0, {"invite_id": {"S": "x"}, "survey_id": {"S": "survey-1"}, "first_answered_at": {"S": "1"}}),
    (
        RESPONSE_SURVEY_SHARDS,
        {"invite_id": {"S": "x"}, "survey_shard": {"S": SHARD_0}, "first_answered_at": {"S": "1"}},
    ),
    (
        RESPONSE_SURVEY_SHARDS,
        {"invite_id": {"S": "x"}, "survey_id": {"S": "survey-2"}, "first_answered_at": {"S": "1"}},
    ),
]


@pytest.mark.parametrize(("source", "key"), FORGED_KEYS)
def test_a_forged_resume_key_is_a_bad_option_not_a_failed_query(
    platform: LocalStack, source: int, key: dict[str, Any]
) -> None:
    # Given a token in the printed form, for this survey, but with a key its index partition never returns
    put_reasons_survey(platform)
    token = encode_token("survey-1", source, key)
    # Then it is refused as a bad option (exit 2, one line), before any query runs
    status, out, err = nps("survey", "retag", "survey-1", "--resume", token)
    assert (status, out) == (2, "")
    assert "--resume: the resume token is not one" in err
    assert len(err.strip().splitlines()) == 1


def test_every_key_a_run_prints_decodes_to_itself() -> None:
    for source, shard in enumerate(survey_shards("survey-1")):
        key = {"invite_id": {"S": "i"}, "survey_shard": {"S": shard}, "first_answered_at": {"S": "2026"}}
        assert decode_token(encode_token("survey-1", source, key), "survey-1", RESPONSE_SURVEY_SHARDS + 1) == (
            source,
            key,
        )
    previous = {"invite_id": {"S": "i"}, "survey_id": {"S": "survey-1"}, "first_answered_at": {"S": "2026"}}
    token = encode_token("survey-1", RESPONSE_SURVEY_SHARDS, previous)
    assert decode_token(token, "survey-1", RESPONSE_SURVEY_SHARDS + 1) == (RESPONSE_SURVEY_SHARDS, previous)
    assert decode_token(encode_token("survey-1", 3, None), "survey-1", RESPONSE_SURVEY_SHARDS + 1) == (3, None)


def test_commented_carries_no_more_than_tagging_needs() -> None:
    assert set(Commented.__dataclass_fields__) == {"invite_id", "locale", "comment", "comment_at", "themes"}
