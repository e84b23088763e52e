"""The web prompt's and the share link's promises at their edges: bursts to unknown surveys are rate-limited,
a contact who answered the identified link is not prompted again, share-link detractors get their follow-up,
and a share-link base URL that cannot carry the link is refused."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from functions.share import handler as share
from functions.web import handler as web_function
from local.environment import LocalStack
from nps.cli.main import main as cli
from nps.kernel import aws
from tests.support.web import call, contact_token, put_web_survey


def _reset_share() -> None:
    for cached in (share.settings, share.surveys, share.limiter, share.service, share.browser_script):
        cached.cache_clear()


@pytest.fixture
def stack(platform: LocalStack) -> Iterator[LocalStack]:
    web_function.service.cache_clear()
    _reset_share()
    yield platform
    web_function.service.cache_clear()
    _reset_share()


class _CountingClient:
    """A DynamoDB client that counts its GetItem calls."""

    def __init__(self, client: Any, counts: dict[str, int]) -> None:
        self._client, self._counts = client, counts

    def get_item(self, **kwargs: Any) -> Any:
        self._counts["get_item"] += 1
        return self._client.get_item(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_a_burst_of_unknown_survey_ids_from_one_client_is_rate_limited(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the web function (limit: 120 requests a minute per client) and a client cycling through survey
    # ids nobody has: each is a 404 after a GetItem on the surveys table, and each is cached as "absent",
    # pushing real surveys out of the 256-entry cache.
    put_web_survey(stack)
    counts = {"get_item": 0}
    real = aws.client
    monkeypatch.setattr(
        aws, "client", lambda name: _CountingClient(real(name), counts) if name == "dynamodb" else real(name)
    )
    # (the limiter's clock stopped inside one minute: a burst straddling a minute's end is two budgets)
    stopped = datetime.now(UTC).replace(second=1, microsecond=0)
    web_function.service().clock = lambda: stopped
    # When one client sends 150 requests a minute, each for another unknown id
    statuses = [call(f"no-such-{i}", "eligibility", {"contact_token": "x"}).status for i in range(150)]
    # Then the burst is refused as any other burst from one client (429), not answered with a read each
    print(f"statuses {sorted(set(statuses))}, surveys-table GetItems {counts['get_item']}")
    assert 429 in statuses
    assert counts["get_item"] <= 121


def test_a_web_prompt_is_not_shown_again_to_a_contact_who_just_answered_the_identified_share_link(
    stack: LocalStack,
) -> None:
    # Given a survey with the web prompt and an identified share link, and a contact only the site knows
    # (web apps' users are usually not in the contacts table) whose prompt was shown and not answered
    survey_id = "both-survey"
    put_web_survey(stack, survey_id, share_link={"enabled": True, "mode": "identified"})

    def prompt() -> dict[str, Any]:
        body = {"contact_token": contact_token(stack, "site-user-1", survey_id), "url": None}
        return call(survey_id, "eligibility", body).body

    assert prompt()["show"] is True
    # When the contact answers on the identified share link (answer recorded, headline taken)
    from nps.channels.site_tokens import mint
    from tests.integration.test_share_link import BROWSER, request

    token = mint(stack.site_secret(survey_id), survey_id, "site-user-1", int(time.time() + 86400))
    assert request("POST", f"/s/{survey_id}", {"score": "9", "b": BROWSER, "t": token})["statusCode"] == 200
    # Then the prompt does not ask them again inside the fatigue window (docs/share-link.md: "so no wave or
    # prompt asks the contact again inside the fatigue window"); today it shows again (the reshow path
    # reads only the contacts table's last_surveyed_at, which such a contact has not)
    again = prompt()
    assert again == {"show": False, "reason": "fatigue"}, {k: v for k, v in again.items() if k != "prompt"}


def test_a_detractor_on_an_identified_share_link_opens_a_follow_up(platform: LocalStack) -> None:
    # Given a survey whose detractor follow-ups are on, with an identified share link, and a stored contact
    from local.demo_sending import create_survey, handlers
    from local.workflows import follow_up_workflows
    from nps.channels.site_tokens import mint
    from nps.follow_ups.wiring import follow_up_service
    from nps.sending.adapters.contacts import DynamoContactRepository
    from tests.integration.test_follow_ups import SURVEY, Loop, contact
    from tests.integration.test_share_link import BROWSER, request

    _reset_share()
    state = Loop(platform, SURVEY | {"share_link": {"enabled": True, "mode": "identified"}})
    with handlers(state.clock), follow_up_workflows(platform, state.clock) as workflows:
        follow_up_service().clock = state.clock
        create_survey(platform, state.survey)
        DynamoContactRepository(platform.tables["contacts"]).upsert(contact("c-link"))
        _reset_share()
        # When the contact answers 2 on the link and the answer is scored
        token = mint(platform.site_secret(SURVEY["survey_id"]), SURVEY["survey_id"], "c-link", int(time.time() + 86400))
        posted = request("POST", f"/s/{SURVEY['survey_id']}", {"score": "2", "b": BROWSER, "t": token})
        assert posted["statusCode"] == 200
        state.score()
        assert workflows.start_all() == 1
        (execution,) = workflows.executions("detractor")
        # Then the detractor workflow opens a follow-up (alert, task) as for any channel; today its Open step
        # finds no invite item (share answers have none) and ends in NothingToFollowUp ("unknown_invite")
        assert "NothingToFollowUp" not in workflows.states_entered(execution)
        assert aws.client("dynamodb").scan(TableName=platform.tables["followups"])["Count"] == 1


@pytest.mark.parametrize("base_url", ["https://", "https://x.test/path?q=1#f", "https://x.test/a b"])
def test_a_base_url_that_cannot_carry_the_link_is_refused(
    platform: LocalStack, capsys: pytest.CaptureFixture[str], base_url: str
) -> None:
    # Given a survey with an anonymous share link
    from tests.integration.test_share_link_cli import put

    put(platform, "receipts")
    # When the command is given a base URL without a host, or with a query/fragment/space
    code = cli(
        ["--local", "--prefix", "test", "survey", "share-link", "receipts", "--base-url", base_url], in_process=True
    )
    out, err = capsys.readouterr()
    # Then it is one line and exit 2, not a printed (and QR-encoded) link that does not open the survey
    assert (code, out) == (2, ""), (code, out)
    assert len(err.strip().splitlines()) == 1
