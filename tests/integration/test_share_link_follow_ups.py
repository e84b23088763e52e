"""Share-link answers open follow-ups like every other channel's (docs/share-link.md, "Follow-ups"): through
the real share function, the responses stream, the score function and the follow-up workflow's steps."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from functions.share import handler as share
from local.demo_sending import create_survey, handlers
from local.environment import LocalStack
from local.workflows import LocalWorkflows, follow_up_workflows, receive_all
from nps.channels.share_links import ANONYMOUS_CONTACT
from nps.channels.site_tokens import mint
from nps.follow_ups.wiring import follow_up_service
from nps.kernel import aws
from nps.sending.adapters.contacts import DynamoContactRepository
from nps.sending.adapters.invites import DynamoInviteLifecycle
from tests.integration.test_follow_ups import SURVEY, Loop, _subscribe_queue, contact, emails_to, tasks
from tests.integration.test_share_link import BROWSER, request

SURVEY_ID = SURVEY["survey_id"]


def _reset_share() -> None:
    for cached in (share.settings, share.surveys, share.limiter, share.service, share.browser_script):
        cached.cache_clear()


def _workflows(platform: LocalStack, mode: str) -> Iterator[tuple[Loop, LocalWorkflows]]:
    _reset_share()
    state = Loop(platform, SURVEY | {"share_link": {"enabled": True, "mode": mode}})
    with handlers(state.clock), follow_up_workflows(platform, state.clock) as workflows:
        follow_up_service().clock = state.clock
        create_survey(platform, state.survey)
        _reset_share()
        yield state, workflows
    _reset_share()


@pytest.fixture
def identified(platform: LocalStack) -> Iterator[tuple[Loop, LocalWorkflows]]:
    yield from _workflows(platform, "identified")


@pytest.fixture
def anonymous(platform: LocalStack) -> Iterator[tuple[Loop, LocalWorkflows]]:
    yield from _workflows(platform, "anonymous")


def _followups(stack: LocalStack) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = aws.client("dynamodb").scan(TableName=stack.tables["followups"])["Items"]
    return items


def test_an_identified_detractor_gets_the_alert_the_apology_with_a_working_unsubscribe_and_the_task(
    identified: tuple[Loop, LocalWorkflows],
) -> None:
    state, workflows = identified
    alerts = _subscribe_queue(state.stack.alerts_topic_arn)
    # Given a stored contact with an email address
    DynamoContactRepository(state.stack.tables["contacts"]).upsert(contact("c-link"))
    # When the contact answers 3 on the identified link and the answer is scored
    token = mint(state.stack.site_secret(SURVEY_ID), SURVEY_ID, "c-link", int(time.time() + 86400))
    assert request("POST", f"/s/{SURVEY_ID}", {"score": "3", "b": BROWSER, "t": token})["statusCode"] == 200
    state.score()
    assert workflows.start_all() == 1
    # Then the detractor's follow-up opens as for an emailed invite: the team's alert, the apology, the task
    (execution,) = workflows.executions("detractor")
    assert "NothingToFollowUp" not in workflows.states_entered(execution)
    follow_up = state.follow_up("c-link")
    assert (follow_up.channel, follow_up.score, follow_up.audience) == ("link", 3, "default")
    (alert,) = receive_all(alerts)
    assert "Channel: link" in json.loads(alert["Body"])["Message"]
    (apology,) = emails_to("c-link@example.com")
    assert apology.unsubscribe_link.startswith("https://nps.example.test/u/")
    (task,) = [t for t in tasks(state.stack) if t["follow_up_id"] == follow_up.follow_up_id]
    assert task["contact_id"] == "c-link"
    # And the invite the apology's unsubscribe link and mail feedback read names the contact
    tables = state.stack.tables
    invite = DynamoInviteLifecycle(tables["invites"], tables["aggregates"], tables["contacts"]).get(follow_up.invite_id)
    assert invite is not None
    assert (invite.contact_id, invite.channel, invite.status) == ("c-link", "link", "answered")
    assert invite.audience == "default"


def test_an_anonymous_detractor_gets_the_teams_alert_and_task_and_no_email(
    anonymous: tuple[Loop, LocalWorkflows],
) -> None:
    state, workflows = anonymous
    alerts = _subscribe_queue(state.stack.alerts_topic_arn)
    # When someone answers 1 on the anonymous link (a receipt's QR code) and the answer is scored
    assert request("POST", f"/s/{SURVEY_ID}", {"score": "1", "b": BROWSER})["statusCode"] == 200
    state.score()
    assert workflows.start_all() == 1
    # Then the team is alerted and gets the task (the score and comment are what it acts on), and nobody is
    # emailed: there is no contact
    (execution,) = workflows.executions("detractor")
    assert "NothingToFollowUp" not in workflows.states_entered(execution)
    follow_up = state.follow_up(ANONYMOUS_CONTACT)
    assert (follow_up.channel, follow_up.score, follow_up.email_sent) == ("link_anonymous", 1, False)
    (alert,) = receive_all(alerts)
    assert "Channel: link_anonymous" in json.loads(alert["Body"])["Message"]
    (task,) = [t for t in tasks(state.stack) if t["follow_up_id"] == follow_up.follow_up_id]
    assert (task["contact_id"], task["email_sent"]) == (ANONYMOUS_CONTACT, False)
    assert len(_followups(state.stack)) == 1
