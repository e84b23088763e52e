"""The one-tap path in-process on moto: time per request of the respond function vs the writes it performs.

A tap is two requests: the GET of the score link (one write: the open is logged on the invite) and the
page's POST (two writes: the confirmation logged on the invite, the answer on the response). Baseline,
in the same run and on the same moto: exactly those writes, made directly through the same data-access
calls on other invites. The ratio is what the function adds (token check, routing, rendering, logging)
to the DynamoDB work it cannot avoid.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from benchmarks.report import Figure

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"


@dataclass(frozen=True, slots=True)
class OneTapResult:
    get: Figure
    post: Figure


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1e3


def run(taps: int = 200) -> OneTapResult:
    """Time ``taps`` GET + POST pairs (each on its own invite) and as many direct UpdateItems."""
    import contextlib
    import io

    from local.environment import create_stack, prepare_process_environment

    prepare_process_environment()
    from moto import mock_aws

    from functions.respond import handler as respond
    from local.lambda_events import LambdaContext, http_event
    from nps.kernel import aws
    from nps.kernel.categories import categorize
    from nps.kernel.periods import iso_timestamp
    from nps.links.tokens import Purpose, sign
    from nps.responding.adapters.invites import DynamoInviteRepository, Invite
    from nps.responding.adapters.responses import DynamoResponseRepository
    from nps.responding.scanners import Click, ClickKind

    get_times: list[float] = []
    post_times: list[float] = []
    get_writes: list[float] = []
    post_writes: list[float] = []
    with mock_aws(), contextlib.redirect_stdout(io.StringIO()):
        aws.reset_clients()
        respond.service.cache_clear()
        respond.logger.setLevel("WARNING")  # its JSON lines would bury the figures
        stack = create_stack("nps-bench")
        repository = DynamoInviteRepository(stack.tables["invites"])
        sent_at = iso_timestamp(datetime.now(UTC) - timedelta(minutes=30))
        expires_at = int(time.time()) + 86_400
        tokens = []
        for index in range(2 * (taps + 5)):
            invite_id = f"bench-{index:05d}"
            repository.put(Invite(invite_id, "survey-1", "wave-1", f"c-{index}", "email", "en", expires_at, sent_at,
                                  {"plan": "pro", "region": "emea"}))  # fmt: skip
            tokens.append(sign(stack.keyring, Purpose.RESPOND, invite_id, expires_at))
        context = LambdaContext()
        headers = {"user-agent": PHONE, "accept-language": "en"}
        form = {**headers, "content-type": "application/x-www-form-urlencoded", "sec-fetch-site": "same-origin"}
        responses = DynamoResponseRepository(stack.tables["responses"])
        for index, token in enumerate(tokens[: taps + 5]):
            score = str(index % 11)
            started = time.perf_counter()
            respond.lambda_handler(http_event("GET", f"/r/{token}", {"score": score}, headers=headers), context)
            opened = time.perf_counter()
            body = urlencode({"score": score})
            respond.lambda_handler(http_event("POST", f"/r/{token}", body=body, headers=form), context)
            confirmed = time.perf_counter()
            other = f"bench-{taps + 5 + index:05d}"
            direct = time.perf_counter()
            repository.log_click(other, Click(time.time(), ClickKind.OPEN, index % 11))
            logged = time.perf_counter()
            invite = repository.log_click(other, Click(time.time(), ClickKind.CONFIRM, index % 11))
            responses.record_score(invite, index % 11, categorize(index % 11), iso_timestamp(datetime.now(UTC)))
            recorded = time.perf_counter()
            if index >= 5:  # the first requests warm the caches (keyring, templates)
                get_times.append(opened - started)
                post_times.append(confirmed - opened)
                get_writes.append(logged - direct)
                post_writes.append(recorded - logged)
    detail: dict[str, Any] = {"taps": taps}
    return OneTapResult(
        get=Figure(
            "one-tap GET (page, open logged)",
            "ms",
            _median_ms(get_times),
            "its 1 write alone",
            _median_ms(get_writes),
            detail=detail,
        ),
        post=Figure(
            "one-tap POST (answer recorded)",
            "ms",
            _median_ms(post_times),
            "its 2 writes alone",
            _median_ms(post_writes),
            detail=detail,
        ),
    )


def as_json(result: OneTapResult) -> dict[str, Any]:
    return {"get": result.get.as_json(), "post": result.post.as_json()}


__all__ = ["OneTapResult", "as_json", "run"]
