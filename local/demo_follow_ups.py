"""``make demo``, closing the loop: the follow-up workflows for the campaign's answers.

Starts a workflow per answer the start rules routed (detractors: alert, apology email, a task for the
team; passives: "what would make it a 10?"; promoters: thank-you with the referral link), runs the
follow-up events consumer (detractor comments appended to their tasks), lets the team resolve most
tasks (a CRM calling ``SendTaskSuccess``) while the rest time out, sends the re-surveys, has some
contacts answer them, and prints who moved category (from the ``NPS Follow-up Resolved`` events a
subscriber queue received).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from local.demo_sending import DEMO_SURVEY, Clock, captured_emails, drain_send_queue, handlers, sent_links
from local.environment import LocalStack
from local.workflows import LocalFollowUps, receive_all
from nps.models import FOLLOW_UP_OPENED, FOLLOW_UP_RESOLVED

#: Share of detractor tasks the team resolves before the timeout.
RESOLVED_BY_TEAM = 0.7
#: Share of re-surveyed contacts who answer, and how their score moves after the team's call.
RESURVEY_RESPONSE_RATE = 0.75
NEW_SCORE_WEIGHTS = [2, 2, 2, 3, 4, 6, 8, 14, 16, 12, 10]
REFERRAL_URL = DEMO_SURVEY["follow_ups"]["promoter"]["referral_url"]


@dataclass
class LoopSummary:
    lines: list[str] = field(default_factory=list)
    detractor_follow_ups: int = 0
    mismatches: list[str] = field(default_factory=list)


def run_loop(stack: LocalStack, rng: random.Random, detractors: int, tap: Any, score_stream: Any) -> LoopSummary:
    """Run every follow-up of the campaign on a simulated clock. ``tap(path, score, at)`` answers a link
    through the respond function; ``score_stream()`` runs the responses stream through the score function."""
    from nps.follow_up_wiring import follow_up_service

    summary = LoopSummary()
    emails_before = len(captured_emails())
    clock = Clock(datetime.now(UTC))
    with handlers(clock):
        follow_up_service().clock = clock
        loop = LocalFollowUps(stack)
        started = loop.start_all()
        consumed = loop.consume_events()
        tasks = [json.loads(m["Body"]) for m in receive_all(stack.follow_up_task_queue_url)]
        opened_tasks = [t for t in tasks if t["type"] == "follow_up_opened"]
        follow_up_emails = captured_emails()[emails_before:]
        referral_asks = sum(1 for e in follow_up_emails if REFERRAL_URL in e.text)

        # Over the next days the team works its queue (a CRM integration calls SendTaskSuccess with the
        # task token); the survey's resolve_within_days (5) ends the other waits.
        clock.advance(timedelta(days=2))
        resolved_by_team = 0
        for task in opened_tasks:
            if rng.random() < RESOLVED_BY_TEAM:
                loop.succeed(task["task_token"], {"resolution": "resolved"})
                resolved_by_team += 1
        clock.advance(timedelta(days=3))
        timed_out = loop.time_out_waits()
        # resurvey_after_days (14) later: the re-surveys go out through the send queue and deliver function.
        clock.advance(timedelta(days=14))
        links_before = {link.invite_id for link in sent_links(stack)}
        loop.run_resurveys()
        drain_send_queue(stack, clock)
        resurveys = [link for link in sent_links(stack) if link.invite_id not in links_before]
        answered = 0
        for link in resurveys:
            if rng.random() < RESURVEY_RESPONSE_RATE:
                score = rng.choices(range(11), weights=NEW_SCORE_WEIGHTS)[0]
                answered += tap(urlsplit(link.score_page).path, score, clock.now + timedelta(hours=2)) == 200
        score_stream()
        consumed += loop.consume_events()
        clock.advance(timedelta(days=31))
        closed_unanswered = loop.expire_resurveys()

    lifecycle = [json.loads(m["Body"]) for m in receive_all(stack.follow_up_subscriber_queue_url)]
    opened_events = [e for e in lifecycle if e["detail-type"] == FOLLOW_UP_OPENED]
    resolved = [e["detail"] for e in lifecycle if e["detail-type"] == FOLLOW_UP_RESOLVED]
    outcomes = Counter(d["outcome"] for d in resolved)
    moved = Counter(d["new_category"] for d in resolved if d["moved_category"])
    by_category = Counter(e["detail"]["category"] for e in opened_events)
    emails_by_category = Counter(e["detail"]["category"] for e in opened_events if e["detail"]["email_sent"])
    summary.detractor_follow_ups = by_category["detractor"]
    # Comments saved before a task opened travel in it; later ones follow as comment_added messages.
    comments_on_tasks = sum(len(t["comments"]) for t in opened_tasks)
    comments_on_tasks += sum(1 for t in tasks if t["type"] == "comment_added")
    summary.lines = [
        f"workflows started                      {started:>5}  {dict(sorted(by_category.items()))}",
        f"detractor alerts (SNS topic)           {loop.counts['alerts']:>5}",
        f"apology emails                         {emails_by_category['detractor']:>5}",
        f"'what would make it a 10?' emails      {emails_by_category['passive']:>5}",
        f"thank-you emails with a referral ask   {referral_asks:>5} of {emails_by_category['promoter']} sent",
        f"follow-up tasks opened for the team    {len(opened_tasks):>5}",
        f"detractor comments on the tasks        {comments_on_tasks:>5}",
        f"tasks resolved by the team / timed out {resolved_by_team:>5} / {timed_out}",
        f"re-surveys sent / answered             {len(resurveys):>5} / {answered}",
        f"follow-ups resolved                    {len(resolved):>5}  {dict(sorted(outcomes.items()))}",
        f"  moved out of detractor               {sum(moved.values()):>5}  {dict(sorted(moved.items()))}",
        f"  closed without an answer             {closed_unanswered:>5}",
        f"follow-up events consumed              {sum(consumed.values()):>5}  {dict(sorted(consumed.items()))}",
    ]
    if summary.detractor_follow_ups != detractors:
        summary.mismatches.append(f"{detractors} detractors but {summary.detractor_follow_ups} detractor follow-ups")
    if len(opened_tasks) != summary.detractor_follow_ups:
        summary.mismatches.append(f"{summary.detractor_follow_ups} detractor follow-ups but {len(opened_tasks)} tasks")
    return summary
