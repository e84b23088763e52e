"""A seeded survey for the reporting tests: answers on days that straddle week, month and quarter edges.

The responses go through the real score function (stream → aggregates), and invites are counted the
way the sending side counts them, so reports are read from aggregates built by production code.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from local.environment import LocalStack, StreamReader, create_stack
from local.lambda_events import LambdaContext
from local.reporting_data import History, count_invites_sent, write_history

SURVEY_ID = "relationship-2026"
# Monday 30 March (ISO week 14, March, Q1) to Tuesday 30 June: week, month and quarter edges.
ANSWER_DAYS = (date(2026, 3, 30), date(2026, 3, 31), date(2026, 4, 1), date(2026, 4, 6), date(2026, 6, 30))
INVITES_PER_DAY = 20


@dataclass
class SeededSurvey:
    stack: LocalStack
    history: History


def seed(stack: LocalStack, rng: random.Random) -> History:
    from functions.score import handler as score

    history = History()
    for index, day in enumerate(ANSWER_DAYS):
        part = write_history(
            stack.tables["responses"],
            SURVEY_ID,
            end=datetime(day.year, day.month, day.day, tzinfo=UTC),
            days=1,
            invites_per_day=INVITES_PER_DAY,
            rng=rng,
            plans=("starter", "enterprise"),
            regions=("emea", "amer"),
            prefix=f"d{index}",
            reasons=True,
        )
        history.invites += part.invites
        history.responses += part.responses
    # One big batch: the scorer coalesces every key once (moto's transactions are slow per call).
    for event in StreamReader(stack.stream_arns["responses"], batch_size=1000).read_batches():
        result = score.lambda_handler(event, LambdaContext())
        assert not result.get("batchItemFailures"), result
    count_invites_sent(stack.tables["aggregates"], history.invites)
    return history


@contextmanager
def seeded_platform() -> Iterator[SeededSurvey]:
    """moto with the platform created and the survey seeded; the environment is restored afterwards."""
    from aws_lambda_powertools.utilities import parameters
    from moto import mock_aws

    from functions.report import handler as report
    from functions.score import handler as score
    from nps.kernel import aws

    saved = dict(os.environ)
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    caches: list[Any] = [score.service, report.aggregates, report.responses]
    with mock_aws():
        aws.reset_clients()
        parameters.clear_caches()
        for cache in caches:
            cache.cache_clear()
        stack = create_stack("report")
        yield SeededSurvey(stack, seed(stack, random.Random(7)))
    aws.reset_clients()
    for cache in caches:
        cache.cache_clear()
    os.environ.clear()
    os.environ.update(saved)
