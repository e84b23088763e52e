"""The web prompt's eligibility endpoint in-process on moto: read round trips per call and CPU time per call.

Each call goes through the real web function (request checks, rate-limit counter, token check, the
rules, the JSON answer) for contacts already identified (warm: the prompt was shown earlier in the
period, the common case of a page view). Half the contacts are in the contacts table with an email and a
phone (so their suppression keys are read), half are known only to the site. Baseline, same run, same
moto: the DynamoDB requests such a call cannot avoid — one BatchGetItem of the contact, web state and
web invite, one of the four suppression keys, and the rate-limit counter's UpdateItem — made directly.
CPU time (``time.process_time``), median per call.
"""

from __future__ import annotations

import contextlib
import io
import json
import statistics
import time
from dataclasses import dataclass
from typing import Any

from benchmarks.report import Figure

ORIGIN = "https://app.example.com"


@dataclass(frozen=True, slots=True)
class EligibilityResult:
    reads: Figure
    cpu: Figure


def run(calls: int = 300) -> EligibilityResult:
    from local.environment import create_stack, prepare_process_environment

    prepare_process_environment()
    from moto import mock_aws

    from functions.web import handler as web
    from local.lambda_events import LambdaContext, http_event
    from nps.channels.site_tokens import mint
    from nps.kernel import aws
    from nps.sending.adapters.contacts import DynamoContactRepository
    from nps.sending.adapters.surveys import DynamoSurveyRepository
    from nps.sending.contacts import Contact
    from nps.sending.surveys import Survey

    with mock_aws(), contextlib.redirect_stdout(io.StringIO()):
        aws.reset_clients()
        web.service.cache_clear()
        web.logger.setLevel("WARNING")
        stack = create_stack("nps-bench-web")
        survey = Survey.model_validate(
            {
                "survey_id": "bench-web",
                "name": "Bench",
                "brand_name": "Acme",
                "sender": "s@example.com",
                "channels": ["email"],
                "web": {"enabled": True, "allowed_origins": [ORIGIN]},
            }
        )
        DynamoSurveyRepository(stack.tables["surveys"]).put(survey)
        contacts = DynamoContactRepository(stack.tables["contacts"])
        web.service().rate_limit_per_minute = 10**9
        context = LambdaContext("web")
        headers = {"content-type": "application/json", "origin": ORIGIN}
        expires = int(time.time()) + 3600
        secret = stack.site_secret("bench-web")
        bodies = []
        for index in range(calls):
            contact_id = f"c-{index:05d}"
            if index % 2 == 0:
                contacts.upsert(
                    Contact(
                        contact_id=contact_id, email=f"{contact_id}@example.com", phone=f"+1415555{index % 10_000:04d}"
                    )
                )
            bodies.append(json.dumps({"contact_token": mint(secret, "bench-web", contact_id, expires), "url": None}))

        def call(body: str) -> dict[str, Any]:
            event = http_event("POST", "/w/v1/surveys/bench-web/eligibility", body=body, headers=headers)
            result: dict[str, Any] = web.lambda_handler(event, context)
            return result

        for body in bodies:  # first page view: shown (the show transaction), untimed
            assert json.loads(call(body)["body"])["show"] is True
        store = web.service().store
        cpu: list[float] = []
        reads: list[int] = []
        for body in bodies:
            before, started = store.reads, time.process_time()
            call(body)
            cpu.append(time.process_time() - started)
            reads.append(store.reads - before)
        client = aws.client("dynamodb")
        direct: list[float] = []
        for index in range(calls):
            started = time.process_time()
            client.update_item(
                TableName=stack.tables["invites"],
                Key={"invite_id": {"S": f"wrl-bench-{index}"}},
                UpdateExpression="ADD requests :one",
                ExpressionAttributeValues={":one": {"N": "1"}},
                ReturnValues="UPDATED_NEW",
            )
            client.batch_get_item(
                RequestItems={
                    stack.tables["contacts"]: {
                        "Keys": [{"audience": {"S": "default"}, "contact_id": {"S": f"c-{index:05d}"}}]
                    },
                    stack.tables["invites"]: {
                        "Keys": [{"invite_id": {"S": f"x-{index}"}}, {"invite_id": {"S": f"y-{index}"}}]
                    },
                }
            )
            if index % 2 == 0:
                client.batch_get_item(
                    RequestItems={
                        stack.tables["suppressions"]: {
                            "Keys": [{"address_hash": {"S": f"h{index}-{k}"}} for k in range(4)]
                        }
                    }
                )
            direct.append(time.process_time() - started)
    per_call = statistics.mean(reads)
    detail = {"calls": calls, "max_reads": max(reads)}
    return EligibilityResult(
        reads=Figure(
            "web eligibility reads per call (mean)",
            "reads",
            per_call,
            "the rule: at most",
            2.0,
            target=2.0,
            detail=detail,
        ),
        cpu=Figure(
            "web eligibility CPU per call (median)",
            "ms",
            statistics.median(cpu) * 1e3,
            "its DynamoDB requests alone",
            statistics.median(direct) * 1e3,
            detail=detail,
        ),
    )


def as_json(result: EligibilityResult) -> dict[str, Any]:
    return {"reads": result.reads.as_json(), "cpu": result.cpu.as_json()}
