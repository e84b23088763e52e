"""Write the web prompt API's OpenAPI document: ``python -m functions.web.openapi [--check]``.

The web function parses its JSON bodies without pydantic (cold start), so its contract is described
here with pydantic models and written to ``docs/openapi/web.json``; ``--check`` exits 1 when the
committed copy has drifted. Mobile apps call the same API natively (docs/web-channel.md).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.openapi_files import write_or_check

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi" / "web.json"
Reason = Literal[
    "disabled",
    "suppressed",
    "fatigue",
    "answered",
    "dismissed",
    "too_new",
    "sampled_out",
    "daily_cap",
    "url",
    "changed",
    "busy",
]
ErrorCode = Literal[
    "bad_request",
    "token_invalid",
    "token_expired",
    "origin_not_allowed",
    "wrong_survey",
    "survey_not_found",
    "edit_window_closed",
    "no_answer",
    "payload_too_large",
    "unsupported_media_type",
    "bad_score",
    "bad_comment",
    "rate_limited",
    "unavailable",
    "comment_limit",
    "unknown_driver",
    "csat_out_of_range",
    "ces_out_of_range",
    "question_not_asked",
    "not_found",
    "server_error",
]
Score = Annotated[int, Field(ge=0, le=10, description="0 (not at all likely) to 10 (extremely likely)")]
AskToken = Annotated[str, Field(min_length=1, max_length=512, description="From the eligibility answer; valid 2 hours")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EligibilityRequest(_Strict):
    contact_token: Annotated[
        str,
        Field(
            min_length=1,
            max_length=8192,
            description="v1.<kid>.<payload>.<signature>, minted by the team's backend (docs/web-channel.md)",
        ),
    ]
    url: Annotated[str | None, Field(max_length=2048, description="The page's URL (its path meets the URL rules)")] = (
        None
    )


class Brand(_Strict):
    name: str
    colour: Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")]
    logo_url: str | None


class Labels(_Strict):
    low: str
    high: str
    close: str
    send: str
    skip: str
    thanks: str
    comment_label: str
    score_label: Annotated[str, Field(description="A template: {score} is replaced by the number")]
    error: str
    retry: str


class DriverChoice(_Strict):
    id: Annotated[str, Field(description="The value to send as `driver`")]
    label: str


class DriverQuestion(_Strict):
    question: str
    choices: Annotated[list[DriverChoice], Field(min_length=1, max_length=20)]


class ScaleQuestion(_Strict):
    question: Annotated[str, Field(description="CSAT: the question; CES: the statement to agree with")]
    low: Annotated[str, Field(description="What the lowest value means (e.g. '1 = very dissatisfied')")]
    high: Annotated[str, Field(description="What the highest value means")]


class FollowUpQuestions(_Strict):
    """Only the questions the survey asks are present."""

    driver: DriverQuestion | None = None
    csat: Annotated[ScaleQuestion | None, Field(description="Answered 1–5")] = None
    ces: Annotated[ScaleQuestion | None, Field(description="Answered 1–7")] = None


class Prompt(_Strict):
    locale: str
    dir: Literal["ltr", "rtl"]
    question: str
    follow_up_question: str
    brand: Brand
    labels: Labels
    questions: Annotated[
        FollowUpQuestions | None,
        Field(description="The survey's follow-up questions in the prompt's locale; absent when it asks none"),
    ] = None


class Show(_Strict):
    show: Literal[True]
    ask_token: str
    prompt: Prompt


class DoNotShow(_Strict):
    show: Literal[False]
    reason: Reason


class AnswerRequest(_Strict):
    ask_token: AskToken
    score: Score


class Answered(_Strict):
    recorded: Literal[True]
    category: Literal["promoter", "passive", "detractor"]


class CommentRequest(_Strict):
    """A comment, the follow-up answers, or both (at least one)."""

    ask_token: AskToken
    comment: Annotated[
        str | None,
        Field(
            max_length=2000,
            description="Not only spaces or invisible characters, unless a follow-up answer is sent with it",
        ),
    ] = None
    score: Score | None = None
    driver: Annotated[str | None, Field(description="One of the prompt's driver choice ids")] = None
    csat: Annotated[int | None, Field(ge=1, le=5, description="1 (very dissatisfied) to 5 (very satisfied)")] = None
    ces: Annotated[int | None, Field(ge=1, le=7, description="1 (strongly disagree) to 7 (strongly agree)")] = None


class DismissalRequest(_Strict):
    ask_token: AskToken


class Recorded(_Strict):
    recorded: Literal[True]


class ErrorDetail(_Strict):
    code: ErrorCode
    message: str


class Error(_Strict):
    error: ErrorDetail


_MODELS: tuple[type[BaseModel], ...] = (
    EligibilityRequest,
    Show,
    DoNotShow,
    AnswerRequest,
    Answered,
    CommentRequest,
    DismissalRequest,
    Recorded,
    Error,
)
_ERRORS = {
    "400": "Malformed JSON or fields (bad_request)",
    "401": "Token invalid or expired (token_invalid, token_expired)",
    "403": "Origin not in the survey's allow-list, or a token for another survey (origin_not_allowed, wrong_survey)",
    "404": "No such survey (survey_not_found)",
    "413": "Body larger than 32 KiB (payload_too_large)",
    "415": "Body not application/json (unsupported_media_type)",
    "429": "Too many requests from this client, counted before the survey is read (rate_limited; see Retry-After)",
    "503": "The rate limiter could not count the request: try again (unavailable; see Retry-After)",
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait (429, 503)", "schema": {"type": "integer"}}}
_ACTION = {
    "name": "action",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "enum": ["eligibility", "responses", "comments", "dismissals"]},
}


_SURVEY_ID_PARAMETER = {
    "name": "survey_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": r"^[A-Za-z0-9_-]{1,64}$"},
}


def _ref(model: type[BaseModel]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}


def _operation(
    summary: str, description: str, request: type[BaseModel], ok: dict[str, Any], extra: dict[str, str]
) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": ok}
    for status, text in {**_ERRORS, **extra}.items():
        responses[status] = {"description": text} | _ref(Error)
        if status in ("429", "503"):
            responses[status]["headers"] = _RETRY_AFTER
    return {
        "summary": summary,
        "description": description,
        "tags": ["Web prompt"],
        "parameters": [_SURVEY_ID_PARAMETER],
        "requestBody": {"required": True} | _ref(request),
        "responses": responses,
    }


def document() -> str:
    schemas: dict[str, Any] = {}
    for model in _MODELS:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    eligibility_ok = {
        "description": "Show the prompt (with its texts and the ask token), or not and why",
        "content": {
            "application/json": {
                "schema": {"oneOf": [{"$ref": "#/components/schemas/Show"}, {"$ref": "#/components/schemas/DoNotShow"}]}
            }
        },
    }
    base = "/w/v1/surveys/{survey_id}"
    paths = {
        f"{base}/eligibility": {
            "post": _operation(
                "Should the prompt show?",
                "Call on page load with the contact token. Cheap: at most two reads. Shows at most once per "
                "period per contact (counted as sent once); a shown, unanswered prompt shows again.",
                EligibilityRequest,
                eligibility_ok,
                {},
            )
        },
        f"{base}/responses": {
            "post": _operation(
                "Record the answer",
                "The same ask token again inside the edit window changes the score (same response).",
                AnswerRequest,
                {"description": "Recorded"} | _ref(Answered),
                {
                    "409": "The edit window has closed (edit_window_closed)",
                    "422": "Score not an integer 0–10 (bad_score)",
                },
            )
        },
        f"{base}/comments": {
            "post": _operation(
                "Save the comment and the follow-up answers",
                "A score sent with the comment is the person's answer and is recorded first. The follow-up "
                "answers (driver, CSAT, CES) are recorded on the same response in one write with the comment, "
                "which is tagged with the survey's themes; within the edit window each answer replaces the one "
                "on record, after it the answers on record stand (a comment is still saved; answers alone are "
                "refused).",
                CommentRequest,
                {"description": "Saved"} | _ref(Recorded),
                {
                    "400": (
                        "Malformed JSON or fields, or neither a comment nor an answer (bad_request); a follow-up "
                        "answer the survey does not ask or allow: a driver not among its choices "
                        "(unknown_driver), CSAT not an integer 1–5 (csat_out_of_range), CES not an integer 1–7 "
                        "(ces_out_of_range), an answer to a question the survey has off (question_not_asked)"
                    ),
                    "409": (
                        "No answer on record and no score sent (no_answer); answers without a comment after the "
                        "edit window, nothing recorded (edit_window_closed)"
                    ),
                    "422": "Comment empty or longer than 2,000 characters, or a bad score (bad_comment, bad_score)",
                },
            )
        },
        f"{base}/dismissals": {
            "post": _operation(
                "The person closed the prompt",
                "Not asked again for the survey's dismissal delay (default 30 days).",
                DismissalRequest,
                {"description": "Recorded"} | _ref(Recorded),
                {},
            )
        },
    }
    paths[f"{base}/{{action}}"] = {
        "options": {
            "summary": "CORS preflight",
            "description": (
                "Browsers send it before each POST (cached 600 s). Counted against the client's rate limit like "
                "every request. 204 with Access-Control-Allow-Origin (the request's Origin), -Methods: POST, "
                "-Headers: Content-Type, -Max-Age: 600 when the survey allows the Origin; otherwise 403 or 404 "
                "without CORS headers. Native apps need not send it."
            ),
            "tags": ["Web prompt"],
            "parameters": [_SURVEY_ID_PARAMETER, _ACTION],
            "responses": {
                "204": {"description": "The Origin may POST this action"},
                "403": {"description": "Origin not in the survey's allow-list (origin_not_allowed)"} | _ref(Error),
                "404": {"description": "No such survey or action (survey_not_found, not_found)"} | _ref(Error),
                "429": {"description": _ERRORS["429"], "headers": _RETRY_AFTER} | _ref(Error),
                "503": {"description": _ERRORS["503"], "headers": _RETRY_AFTER} | _ref(Error),
            },
        }
    }
    paths["/w/v1/widget.js"] = {
        "get": {
            "summary": "The widget script",
            "description": (
                "The embeddable widget (docs/web-channel.md). Cache-Control: public, max-age=3600; a strong ETag "
                "(a hash of the script): a matching If-None-Match gives 304 without a body. Any origin may load "
                "it (Access-Control-Allow-Origin: *, Cross-Origin-Resource-Policy: cross-origin). Not rate limited "
                "by the function: it reads nothing."
            ),
            "tags": ["Web prompt"],
            "parameters": [{"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"}}],
            "responses": {
                "200": {
                    "description": "The script",
                    "headers": {"ETag": {"schema": {"type": "string"}}},
                    "content": {"text/javascript": {"schema": {"type": "string"}}},
                },
                "304": {"description": "Not modified (the If-None-Match ETag is current)"},
                "404": {"description": "The script is not installed (not_found)"} | _ref(Error),
            },
        }
    }
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "NPS web prompt API",
            "version": "1.0.0",
            "description": (
                "The in-app / website prompt (the widget, a WebView or a native app). Browsers must send an "
                "Origin in the survey's allow-list (CORS, no credentials). Every answer is JSON; errors are "
                '{"error": {"code", "message"}}. Nothing is recorded on any error.'
            ),
        },
        "paths": paths,
        "components": {"schemas": schemas},
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    description = (__doc__ or "").splitlines()[0]
    return write_or_check(DOCUMENT, document(), argv, description, "python -m functions.web.openapi")


if __name__ == "__main__":
    sys.exit(main())
