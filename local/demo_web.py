"""The demo's web prompt: people signed in to the product are asked in the page, through the web function.

The demo survey gets its web prompt (allowed on the demo app's origin); site users nobody imported and
some contacts the wave just emailed open a page. The emailed ones are inside the fatigue window and are
not asked; the others see the prompt, and most answer (some with a comment), some close it. Answers land
in the responses table with channel ``web`` and are scored by the same stream as the email ones.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from local.environment import LocalStack
from local.lambda_events import LambdaContext, http_event

ORIGIN = "https://app.acme.example"
SITE_USERS = 24
EMAILED_VISITORS = 6
ANSWER_RATE = 0.7
DISMISS_RATE = 0.15
COMMENT_RATE = 0.4


def _call(survey_id: str, action: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    from functions.web import handler as web

    event = http_event(
        "POST",
        f"/w/v1/surveys/{survey_id}/{action}",
        body=json.dumps(body),
        headers={"content-type": "application/json", "origin": ORIGIN},
    )
    result = web.lambda_handler(event, LambdaContext("web"))
    return int(result["statusCode"]), json.loads(result["body"])


def enable_web(stack: LocalStack, definition: dict[str, Any]) -> None:
    """Store the demo survey again with its web prompt on for :data:`ORIGIN`."""
    from functions.web import handler as web
    from nps.sending.adapters.surveys import DynamoSurveyRepository
    from nps.sending.surveys import Survey

    survey = Survey.model_validate(definition | {"web": {"enabled": True, "allowed_origins": [ORIGIN]}})
    DynamoSurveyRepository(stack.tables["surveys"]).put(survey)
    web.service.cache_clear()


def run_web(
    stack: LocalStack,
    rng: random.Random,
    definition: dict[str, Any],
    plans: tuple[str, ...],
    score_weights: dict[str, list[int]],
    comment_for: Any,
    now: datetime | None = None,
) -> Counter[str]:
    """Page views of identified people through the web function; returns outcome counts.

    ``comment_for(score, rng, locale)`` writes the comment of a person who leaves one. The web function's
    clock starts at ``now`` (default: the current UTC time) and moves a second a visitor, so the prompt
    is shown and answered then (in ``now``'s period, the web wave's)."""
    from functions.web import handler as web
    from nps.channels.site_tokens import mint

    enable_web(stack, definition)
    start = now or datetime.now(UTC)
    clock = [start]
    web.service().clock = lambda: clock[0]
    survey_id = definition["survey_id"]
    secret = stack.site_secret(survey_id)
    expires = int(start.timestamp()) + 3600
    visitors = [(f"site-user-{i:03d}", plans[i % len(plans)]) for i in range(SITE_USERS)]
    visitors += [(f"contact-{i:05d}", plans[i % len(plans)]) for i in range(1, 3 * EMAILED_VISITORS, 3)]
    outcomes: Counter[str] = Counter()
    for index, (contact_id, plan) in enumerate(visitors):
        clock[0] = start + timedelta(seconds=index)
        locale = rng.choice(("en", "en", "es", "de"))
        token = mint(secret, survey_id, contact_id, expires, locale=locale, attributes={"plan": plan, "region": "emea"})
        status, reply = _call(survey_id, "eligibility", {"contact_token": token, "url": f"{ORIGIN}/app/home"})
        if status != 200 or not reply.get("show"):
            outcomes[f"not shown ({reply.get('reason', status)})"] += 1
            continue
        outcomes["shown"] += 1
        ask = reply["ask_token"]
        roll = rng.random()
        if roll < DISMISS_RATE:
            outcomes[f"closed → {_call(survey_id, 'dismissals', {'ask_token': ask})[0]}"] += 1
            continue
        if roll >= DISMISS_RATE + ANSWER_RATE:
            continue  # looked away: shown again on the next page view
        score = rng.choices(range(11), weights=score_weights[plan])[0]
        outcomes[f"answered → {_call(survey_id, 'responses', {'ask_token': ask, 'score': score})[0]}"] += 1
        if rng.random() < COMMENT_RATE:
            body = {"ask_token": ask, "comment": comment_for(score, rng, locale), "score": score}
            outcomes[f"comment → {_call(survey_id, 'comments', body)[0]}"] += 1
    web.service.cache_clear()  # a later caller's service reads the current time again
    return outcomes
