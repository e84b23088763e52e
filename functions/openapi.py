"""The OpenAPI 3 document of the platform's HTTP API, generated from the Powertools resolvers.

``python -m functions.openapi --write`` regenerates ``docs/openapi/responses.json``; ``--check`` fails when the
committed document differs from what the code generates (CI runs the same comparison as a test).

The respond function keeps pydantic off its cold-start path, so its form bodies are described here
with pydantic models and added to the generated operations.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = ROOT / "docs" / "openapi" / "responses.json"
TOKEN_PATTERN = r"^[A-Za-z0-9_-]{1,16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$"  # noqa: S105 - a format, not a secret


class ConfirmForm(BaseModel):
    """The answer, as the score page (or its no-script button) posts it."""

    model_config = ConfigDict(extra="forbid")

    score: Annotated[str, Field(pattern=r"^(10|[0-9])$", description="The score, 0–10")]


class CommentForm(BaseModel):
    """The "why?" comment."""

    model_config = ConfigDict(extra="forbid")

    comment: Annotated[
        str,
        Field(
            min_length=1,
            max_length=2000,
            pattern=r"[^\s\x00-\x1f\x7f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]",
            description="Free text, 1–2,000 characters, not only spaces or invisible characters",
        ),
    ]
    score: Annotated[
        str | None,
        Field(
            default=None,
            pattern=r"^(10|[0-9])$",
            description="The score the page showed, 0–10: recorded with the comment when no answer is on record",
        ),
    ] = None


_FORMS: dict[tuple[str, str], type[BaseModel]] = {
    ("/r/{token}", "post"): ConfirmForm,
    ("/r/{token}/comment", "post"): CommentForm,
}
_NOT_FOUND = {"description": "No such route", "content": {"text/html": {"schema": {"type": "string"}}}}
_WRONG_METHOD = {
    "description": "Method not allowed on this route",
    "content": {"text/html": {"schema": {"type": "string"}}},
}


def build() -> dict[str, Any]:
    from functions.respond.handler import resolver

    document: dict[str, Any] = json.loads(
        resolver().get_openapi_json_schema(
            title="NPS platform HTTP API",
            version="1.0.0",
            summary="One-tap responses to NPS surveys",
            description=(
                "Pages a person reaches from a survey email or SMS. Every route is authorised by the "
                "signed, expiring token in its path; see docs/api.md."
            ),
        )
    )
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "token" and parameter["in"] == "path":
                    parameter["schema"] = {"type": "string", "maxLength": 256, "pattern": TOKEN_PATTERN}
                    parameter["description"] = "Signed link token: key id, payload and signature, base64url"
                if parameter["name"] == "score" and parameter["in"] == "query":
                    parameter["schema"] = {"type": "string", "pattern": "^(10|[0-9])$"}
                    parameter["description"] = "The tapped score (0–10); without it, the score picker"
            operation["responses"].setdefault("404", _NOT_FOUND)
            operation["responses"].setdefault("405", _WRONG_METHOD)
            form = _FORMS.get((path, method))
            if form is not None:
                operation["requestBody"] = {
                    "required": True,
                    "content": {"application/x-www-form-urlencoded": {"schema": form.model_json_schema()}},
                }
    return document


def render() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true", help=f"write {DOCUMENT.relative_to(ROOT)}")
    group.add_argument("--check", action="store_true", help="exit 1 if the committed document is stale")
    args = parser.parse_args()
    text = render()
    if args.write:
        DOCUMENT.write_text(text, "utf-8")
        print(f"wrote {DOCUMENT.relative_to(ROOT)}")
        return 0
    if not DOCUMENT.exists() or DOCUMENT.read_text("utf-8") != text:
        print(f"{DOCUMENT.relative_to(ROOT)} is out of date: run `make openapi` and commit it", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
