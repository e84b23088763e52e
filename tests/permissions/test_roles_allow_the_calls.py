"""The calls each function makes on its busiest paths are allowed by its synthesized role, KMS included.

These pin the faults a deployment met before: every tap answered 500 (the respond role could only read
the invites table whose click log it writes), no role but a few could use the key that encrypts every
table, and the score role could not write the commit record of a batch wider than one transaction.
The session-wide recorder (``tests/conftest.py``) checks every other test's calls the same way.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit

from functions.score import handler as score
from functions.suppress import handler as suppress
from functions.unsubscribe import handler as unsubscribe
from local import demo_sending as ds
from local.environment import LocalStack, StreamReader
from local.lambda_events import LambdaContext, http_event
from nps.kernel import aws
from tests.integration.test_follow_up_answers import SURVEY as REASONS_SURVEY
from tests.integration.test_score_stream import tap_a_wide_campaign
from tests.permissions.recorder import Use, Violation
from tests.permissions.session import RECORDER
from tests.support.taps import issue_invite
from tests.support.web import SURVEY_ID, call, contact_token, put_web_survey

REASONS = REASONS_SURVEY["reasons"]
CSV = (
    "contact_id,email,phone,time_zone,locale,plan,region\n"
    "a,a@example.com,,UTC,en,pro,emea\n"
    "b,b@example.com,,UTC,en,pro,emea\n"
)


def violations(uses: set[Use]) -> list[str]:
    found: list[Violation] = RECORDER.violations(uses)
    return [str(v) for v in found]


def used(uses: set[Use], principal: str) -> set[tuple[str, str]]:
    return {(u.action, u.resource.rsplit("/", 1)[-1]) for u in uses if u.principal == principal}


def test_a_tap_its_confirmation_and_the_preview_link_are_allowed_for_respond(platform: LocalStack) -> None:
    # Given an invite with a signed link
    invite = issue_invite(platform, "inv-perm-1")
    # When a person taps, the page confirms, a scanner follows the preview link and a comment follows
    with RECORDER.capture() as uses:
        assert invite.open(9)["statusCode"] == 200
        assert invite.confirm(9)["statusCode"] == 200
        invite.preview()
        assert invite.comment("Quick and friendly")["statusCode"] == 200
    # Then respond wrote the invite's click log, and its role allows that and every other call, key included
    assert any(u.action == "dynamodb:UpdateItem" and "Invites" in u.resource for u in uses)
    assert violations(uses) == []


def test_suppress_and_unsubscribe_may_use_the_key_of_the_tables_they_write(platform: LocalStack) -> None:
    # Given a wave sent to two contacts
    clock = ds.Clock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    with ds.handlers(clock):
        ds.create_survey(platform, {**ds.DEMO_SURVEY, "reminder_days": None})
        ds.import_csv(platform, CSV)
        ds.fire_wave(ds.SURVEY_ID, clock.now)
        ds.drain_send_queue(platform, clock)
    first, second = sorted(ds.captured_emails(), key=lambda e: e.to)
    invite_id = next(i["invite_id"]["S"] for i in ds.invite_items(platform) if i["contact_id"]["S"] == "b")
    bounce = {
        "eventType": "Bounce",
        "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": second.to}]},
        "mail": {"tags": {"invite_id": [invite_id]}},
    }
    # When the first unsubscribes with one click and SES reports a bounce for the second
    with RECORDER.capture() as uses:
        unsubscribed = unsubscribe.lambda_handler(
            http_event("POST", urlsplit(first.unsubscribe_link).path), LambdaContext()
        )
        suppress.lambda_handler({"Records": [{"Sns": {"Message": json.dumps(bounce)}}]}, LambdaContext())
    assert unsubscribed["statusCode"] == 200
    # Then both wrote the encrypted suppressions table, and their roles may use its key
    assert "dynamodb:PutItem" in {a for a, _ in used(uses, "function:unsubscribe")}
    assert "dynamodb:PutItem" in {a for a, _ in used(uses, "function:suppress")}
    # And unsubscribe's keyring read is judged even though deliver's read left it in the shared cache
    assert "secretsmanager:GetSecretValue" in {a for a, _ in used(uses, "function:unsubscribe")}
    assert violations(uses) == []


def test_the_score_role_allows_the_commit_record_of_a_batch_wider_than_one_transaction(platform: LocalStack) -> None:
    # Given answers touching more aggregate keys than one transaction holds
    tap_a_wide_campaign(platform)
    (event,) = StreamReader(platform.stream_arns["responses"], batch_size=200).read_batches()
    # When the batch is scored
    with RECORDER.capture() as uses:
        assert score.lambda_handler(event, LambdaContext())["batchItemFailures"] == []
    # Then it wrote a commit record, and every write it made is allowed
    assert any(u.action == "dynamodb:PutItem" and "Aggregates" in u.resource for u in uses)
    assert violations(uses) == []


def test_parallel_writes_are_checked_against_the_role_of_the_function_that_makes_them(platform: LocalStack) -> None:
    # Given contacts imported and a wave planned: both write many items from a thread pool
    clock = ds.Clock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    with RECORDER.capture() as uses, ds.handlers(clock):
        ds.create_survey(platform, {**ds.DEMO_SURVEY, "reminder_days": None})
        ds.import_csv(platform, CSV)
        ds.fire_wave(ds.SURVEY_ID, clock.now)
    # Then those writes were recorded as the importer's and the planner's, and their roles allow them
    imported = used(uses, "function:import_contacts")
    planned = used(uses, "function:planner")
    assert any(a == "dynamodb:UpdateItem" and "Contacts" in r for a, r in imported)
    assert any(a == "dynamodb:PutItem" and "Invites" in r for a, r in planned)
    assert violations(uses) == []


def test_the_web_prompt_calls_are_allowed_for_the_web_function(platform: LocalStack) -> None:
    # Given a web-enabled survey and a stored contact with both addresses (so suppressions are read)
    from functions.web import handler as web
    from nps.sending.adapters.contacts import DynamoContactRepository
    from nps.sending.contacts import Contact

    web.service.cache_clear()
    put_web_survey(platform, daily_cap=10, reasons=REASONS)
    DynamoContactRepository(platform.tables["contacts"]).upsert(
        Contact(contact_id="w-1", email="w1@example.com", phone="+14155550101")
    )
    # When the prompt is shown, answered, commented on (with follow-up answers, the comment tagged with the
    # survey's themes), and another contact's is dismissed
    with RECORDER.capture() as uses:
        shown = call(SURVEY_ID, "eligibility", {"contact_token": contact_token(platform, "w-1"), "url": None})
        token = shown.body["ask_token"]
        assert call(SURVEY_ID, "responses", {"ask_token": token, "score": 4}).status == 200
        comment = {"ask_token": token, "comment": "Slow help desk", "score": 4, "driver": "support", "csat": 2}
        assert call(SURVEY_ID, "comments", comment).status == 200
        other = call(SURVEY_ID, "eligibility", {"contact_token": contact_token(platform, "w-2"), "url": None})
        assert call(SURVEY_ID, "dismissals", {"ask_token": other.body["ask_token"]}).status == 200
    web.service.cache_clear()
    # Then the show transaction wrote the aggregates and the contact, and every call is allowed, keys included
    assert ("dynamodb:UpdateItem", "StorageAggregates164A1710") in used(uses, "function:web") or any(
        u.action == "dynamodb:UpdateItem" and "Aggregates" in u.resource for u in uses
    )
    assert any(u.action == "dynamodb:BatchGetItem" and "Suppressions" in u.resource for u in uses)
    # and the taxonomy was read to tag the comment
    (response,) = aws.client("dynamodb").scan(TableName=platform.tables["responses"])["Items"]
    assert response["themes"] == {"L": [{"S": "support"}]}
    assert violations(uses) == []


def test_the_share_link_calls_are_allowed_for_the_share_function(platform: LocalStack) -> None:
    # Given an identified share link whose survey asks follow-up questions and tags comments
    from functions.share import handler as share
    from nps.channels.site_tokens import mint

    for cached in (share.settings, share.surveys, share.limiter, share.service, share.browser_script):
        cached.cache_clear()
    put_web_survey(platform, reasons=REASONS, share_link={"enabled": True, "mode": "identified"})
    token = mint(platform.site_secret(SURVEY_ID), SURVEY_ID, "s-1", int(datetime.now(UTC).timestamp()) + 600)

    def post(path: str, form: dict[str, str]) -> int:
        event = http_event(
            "POST", path, body=urlencode(form), headers={"content-type": "application/x-www-form-urlencoded"}
        )
        return int(share.lambda_handler(event, LambdaContext("share"))["statusCode"])

    # When the contact answers, then sends a comment with a driver and a CES
    with RECORDER.capture() as uses:
        assert post(f"/s/{SURVEY_ID}", {"score": "5", "b": "Qx3mT0c1bJd5rA8wZy7u2g", "t": token}) == 200
        form = {"comment": "Too expensive", "score": "5", "b": "Qx3mT0c1bJd5rA8wZy7u2g", "t": token}
        assert post(f"/s/{SURVEY_ID}/comment", form | {"driver": "price", "ces": "3"}) == 200
    # Then the answers and the comment's themes are stored, and every call is allowed, keys included
    (response,) = aws.client("dynamodb").scan(TableName=platform.tables["responses"])["Items"]
    assert (response["driver"], response["ces"]) == ({"S": "price"}, {"N": "3"})
    assert response["themes"] == {"L": [{"S": "price"}]}
    assert any(u.principal == "function:share" and "Surveys" in u.resource for u in uses)
    assert violations(uses) == []


def test_a_referral_click_and_a_join_are_allowed_for_the_redirect_and_the_joins_consumer(platform: LocalStack) -> None:
    from datetime import timedelta

    from functions.referral import handler as referral
    from functions.referral_joins import handler as referral_joins
    from local import referrals as people
    from nps.sending.adapters.surveys import DynamoSurveyRepository
    from nps.sending.surveys import Survey

    # Given a promoter of a survey with a referral address, asked for a referral ten minutes ago
    referral.service.cache_clear()
    referral_joins.ledger.cache_clear()
    survey = {
        "survey_id": "survey-1", "name": "R", "brand_name": "Acme", "sender": "surveys@example.com",
        "channels": ["email"], "follow_ups": {"promoter": {"referral_url": "https://acme.example/refer"}},
    }  # fmt: skip
    DynamoSurveyRepository(platform.tables["surveys"]).put(Survey.model_validate(survey))
    invite = issue_invite(platform, "inv-perm-ref")
    assert invite.tap(10)["statusCode"] == 200
    from nps.accounts.adapters.referrals import Answer, DynamoReferralLedger

    DynamoReferralLedger(platform.tables["accounts"], platform.tables["aggregates"]).record_ask(
        Answer("survey-1", "inv-perm-ref", invite.invite.contact_id, datetime.now(UTC)),
        datetime.now(UTC) - timedelta(minutes=10),
    )
    # When the promoter clicks the link and the referral program says they joined
    with RECORDER.capture() as uses:
        assert people.click(people.redirect_link(platform, "inv-perm-ref", "referral"))["statusCode"] == 303
        people.emit_join(platform, invite.invite.contact_id, datetime.now(UTC))
        assert people.drain_joins(platform) == [{"batchItemFailures": []}]
    # Then the click's transaction and the join's were made, and both roles allow every call, key included
    assert any(a == "dynamodb:PutItem" and "Accounts" in r for a, r in used(uses, "function:referral"))
    assert any(a == "events:PutEvents" for a, _ in used(uses, "function:referral"))
    assert any(a == "dynamodb:UpdateItem" and "Aggregates" in r for a, r in used(uses, "function:referral_joins"))
    assert violations(uses) == []
    referral.service.cache_clear()
    referral_joins.ledger.cache_clear()


def test_the_digest_run_is_allowed_for_the_digest_function(platform: LocalStack) -> None:
    # Given an answered wave of a survey with a daily digest (accounts included)
    from tests.integration import test_digest as digests

    digests.answer_a_wave(platform)
    url = digests.health_queue(platform)
    # When the hourly run sends the digest, a retry finds it sent, and an account health change is published
    with RECORDER.capture() as uses:
        assert digests.run(digests.DUE)[0]["sent"] == 2
        assert digests.run(digests.DUE)[0]["already_sent"] == 2
    # Then every call of the digest function is allowed by its role, the key and the SES identity included
    assert digests.received(url)
    actions = {action for action, _ in used(uses, "function:digest")}
    assert {"dynamodb:PutItem", "dynamodb:BatchGetItem", "ses:SendRawEmail", "events:PutEvents"} <= actions
    assert violations(uses) == []
