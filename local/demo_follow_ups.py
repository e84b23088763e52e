"""``make demo``, closing the loop: the follow-up workflows for the campaign's answers.

Starts an execution of the synthesized state machine per answer the start rules routed (detractors:
alert, apology email, a task for the team; passives: "what would make it a 10?"; promoters: thank-you
with the referral link) and lets simulated days pass (emails held to the contact's daytime go out), runs
the follow-up events consumer (detractor comments appended to their tasks), lets the team resolve most
tasks (a CRM calling ``SendTaskSuccess`` with the task token) while the rest time out, sends the
re-surveys the executions ask for, has some contacts answer them, lets the answer waits end, and prints
who moved category (from the ``NPS Follow-up Resolved`` events a subscriber queue received) and how the
executions ended.
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
from local.workflows import follow_up_workflows, receive_all
from nps.events.models import FOLLOW_UP_OPENED, FOLLOW_UP_RESOLVED
from nps.follow_ups.adapters.store import StepFunctionsTaskTokens
from nps.kernel import aws

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


def run_loop(
    stack: LocalStack,
    rng: random.Random,
    detractors: int,
    tap: Any,
    score_stream: Any,
    now: datetime | None = None,
) -> LoopSummary:
    """Run every follow-up of the campaign on a simulated clock starting at ``now`` (default: the current
    UTC time). ``tap(path, score, at)`` answers a link through the respond function; ``score_stream()``
    runs the responses stream through the score function."""
    from nps.follow_ups.wiring import follow_up_service

    summary = LoopSummary()
    emails_before = len(captured_emails())
    alerts_inbox = _subscribe(stack, stack.alerts_topic_arn)
    clock = Clock(now or datetime.now(UTC))
    with handlers(clock), follow_up_workflows(stack, clock) as workflows:
        follow_up_service().clock = clock
        started = workflows.start_all()
        # The first day: the emails held to each contact's daytime go out, detractors' tasks open.
        workflows.advance(timedelta(days=1))
        consumed = workflows.consume_events()
        tasks = [json.loads(m["Body"]) for m in receive_all(stack.follow_up_task_queue_url)]
        opened_tasks = [t for t in tasks if t["type"] == "follow_up_opened"]
        follow_up_emails = captured_emails()[emails_before:]
        # The referral link is a signed redirect (/g/<token>); the survey's address stays out of the email.
        referral_asks = sum(1 for e in follow_up_emails if "/g/" in e.text and REFERRAL_URL not in e.text)

        # The next day the team works its queue (a CRM integration calls SendTaskSuccess with the task
        # token); the survey's resolve_within_days (5) ends the other waits.
        workflows.advance(timedelta(days=1))
        resolved_by_team = 0
        for task in opened_tasks:
            if rng.random() < RESOLVED_BY_TEAM:
                StepFunctionsTaskTokens().succeed(task["task_token"], {"resolution": "resolved"})
                workflows.settle()
                resolved_by_team += 1
        workflows.advance(timedelta(days=4))
        # resurvey_after_days (14) later: the re-surveys go out through the send queue and deliver function.
        workflows.advance(timedelta(days=14))
        links_before = {link.invite_id for link in sent_links(stack)}
        drain_send_queue(stack, clock)
        resurveys = [link for link in sent_links(stack) if link.invite_id not in links_before]
        answered = 0
        for link in resurveys:
            if rng.random() < RESURVEY_RESPONSE_RATE:
                score = rng.choices(range(11), weights=NEW_SCORE_WEIGHTS)[0]
                answered += tap(urlsplit(link.score_page).path, score, clock.now + timedelta(hours=2)) == 200
        score_stream()
        consumed += workflows.consume_events()
        # The re-survey links expire: the executions close what nobody answered, and end.
        workflows.advance(timedelta(days=31))
        passed = workflows.tally()
        ended = workflows.statuses()
        nothing = sum(count for key, count in passed.items() if key.endswith(" NothingToFollowUp"))
        outputs = [workflows.output(arn) for arn in workflows.executions(status="SUCCEEDED")]
        closed_unanswered = sum(1 for o in outputs if (o.get("closed") or {}).get("outcome") == "closed")

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
        f"workflows started                      {started - nothing:>5}  {dict(sorted(by_category.items()))}",
        f"detractor alerts (SNS topic)           {len(receive_all(alerts_inbox)):>5}",
        f"apology emails                         {emails_by_category['detractor']:>5}",
        f"'what would make it a 10?' emails      {emails_by_category['passive']:>5}",
        f"thank-you emails with a referral ask   {referral_asks:>5} of {emails_by_category['promoter']} sent",
        f"follow-up tasks opened for the team    {len(opened_tasks):>5}",
        f"detractor comments on the tasks        {comments_on_tasks:>5}",
        f"tasks resolved by the team / timed out {resolved_by_team:>5} / {passed['detractor TimedOut']}",
        f"re-surveys sent / answered             {len(resurveys):>5} / {answered}",
        f"follow-ups resolved                    {len(resolved):>5}  {dict(sorted(outcomes.items()))}",
        f"  moved out of detractor               {sum(moved.values()):>5}  {dict(sorted(moved.items()))}",
        f"  closed without an answer             {closed_unanswered:>5}",
        f"follow-up events consumed              {sum(consumed.values()):>5}  {dict(sorted(consumed.items()))}",
        f"executions of the synthesized machines {started:>5}  {dict(sorted(ended.items()))}, {nothing} of them"
        " with nothing to follow up (a changed or repeated answer)",
    ]
    if set(ended) != {"SUCCEEDED"}:
        summary.mismatches.append(f"follow-up executions did not all succeed: {dict(ended)}")
    if summary.detractor_follow_ups != detractors:
        summary.mismatches.append(f"{detractors} detractors but {summary.detractor_follow_ups} detractor follow-ups")
    if len(opened_tasks) != summary.detractor_follow_ups:
        summary.mismatches.append(f"{summary.detractor_follow_ups} detractor follow-ups but {len(opened_tasks)} tasks")
    return summary


def _subscribe(stack: LocalStack, topic_arn: str) -> str:
    """A queue subscribed to a topic (the team's inbox for the detractor alerts)."""
    sqs = aws.client("sqs")
    url: str = sqs.create_queue(QueueName=f"{stack.prefix}-alerts-inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    return url
