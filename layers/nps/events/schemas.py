"""The event contract as JSON Schema: one file per detail type in ``schemas/events/``.

``python -m nps.events.schemas --write`` regenerates the files from the pydantic models;
``python -m nps.events.schemas --check`` (and a test) fails when the committed files drifted.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nps.events.models import (
    ACCOUNT_HEALTH_CHANGED,
    COMMENT_RECEIVED,
    CONTACT_ERASED,
    CONTACT_UNSUBSCRIBED,
    CUSTOMER_CHURNED,
    EVENT_SOURCE,
    FOLLOW_UP_ALERT,
    FOLLOW_UP_OPENED,
    FOLLOW_UP_RESOLVED,
    INVITE_BOUNCED,
    REFERRAL_CLICKED,
    RESPONSE_RETRACTED,
    RESPONSE_SCORED,
    AccountHealthChangedDetail,
    CommentReceivedDetail,
    ContactErasedDetail,
    ContactUnsubscribedDetail,
    CustomerChurnedDetail,
    FollowUpAlertDetail,
    FollowUpOpenedDetail,
    FollowUpResolvedDetail,
    InviteBouncedDetail,
    ReferralClickedDetail,
    ResponseRetractedDetail,
    ResponseScoredDetail,
)

if TYPE_CHECKING:
    from pydantic import BaseModel

#: Every detail type the platform publishes, with the model of its ``detail``.
DETAIL_MODELS: dict[str, type[BaseModel]] = {
    RESPONSE_SCORED: ResponseScoredDetail,
    COMMENT_RECEIVED: CommentReceivedDetail,
    CONTACT_UNSUBSCRIBED: ContactUnsubscribedDetail,
    INVITE_BOUNCED: InviteBouncedDetail,
    RESPONSE_RETRACTED: ResponseRetractedDetail,
    FOLLOW_UP_OPENED: FollowUpOpenedDetail,
    FOLLOW_UP_RESOLVED: FollowUpResolvedDetail,
    FOLLOW_UP_ALERT: FollowUpAlertDetail,
    REFERRAL_CLICKED: ReferralClickedDetail,
    ACCOUNT_HEALTH_CHANGED: AccountHealthChangedDetail,
    CONTACT_ERASED: ContactErasedDetail,
}

#: Business events the platform consumes (published by the team's services with any source but ``nps``).
CONSUMED_MODELS: dict[str, type[BaseModel]] = {
    CUSTOMER_CHURNED: CustomerChurnedDetail,
}
#: The ``x-event-source`` of a consumed event's schema.
CONSUMED_SOURCE = "any source but nps"

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "schemas" / "events"


class UnknownDetailType(LookupError):
    """An event names a detail type that is not part of the contract."""


def slug(detail_type: str) -> str:
    """``NPS Follow-up Opened`` → ``nps-follow-up-opened`` (the schema file's name)."""
    return "-".join(detail_type.lower().split())


def _model(detail_type: str) -> type[BaseModel]:
    model = DETAIL_MODELS.get(detail_type) or CONSUMED_MODELS.get(detail_type)
    if model is None:
        raise UnknownDetailType(detail_type)
    return model


def schema_for(detail_type: str) -> dict[str, Any]:
    """The JSON Schema of ``detail`` for one detail type, with its source and detail type recorded."""
    model = _model(detail_type)
    schema = model.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://nps.example/schemas/events/{slug(detail_type)}.json",
        "x-event-source": CONSUMED_SOURCE if detail_type in CONSUMED_MODELS else EVENT_SOURCE,
        "x-detail-type": detail_type,
        **schema,
    }


def rendered() -> dict[str, str]:
    """File name → file text for every detail type (stable key order, trailing newline)."""
    return {
        f"{slug(detail_type)}.json": json.dumps(schema_for(detail_type), indent=2, sort_keys=True) + "\n"
        for detail_type in (*DETAIL_MODELS, *CONSUMED_MODELS)
    }


def drift(directory: Path = SCHEMA_DIR) -> list[str]:
    """Names of schema files that are missing, stale or no longer generated."""
    expected = rendered()
    present = {p.name: p.read_text(encoding="utf-8") for p in directory.glob("*.json")} if directory.is_dir() else {}
    stale = [name for name, text in expected.items() if present.get(name) != text]
    extra = [name for name in present if name not in expected]
    return sorted(stale + extra)


def write(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Write every schema file (and remove files of detail types no longer published)."""
    directory.mkdir(parents=True, exist_ok=True)
    expected = rendered()
    for path in directory.glob("*.json"):
        if path.name not in expected:
            path.unlink()
    written = []
    for name, text in expected.items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def validate_detail(detail_type: str, detail: object) -> BaseModel:
    """Parse an event's ``detail`` with its contract model (``ValidationError`` when it does not match)."""
    return _model(detail_type).model_validate(detail)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true", help="regenerate schemas/events/*.json")
    group.add_argument("--check", action="store_true", help="exit 1 when the committed files drifted")
    args = parser.parse_args(argv)
    if args.write:
        for path in write():
            print(path.relative_to(SCHEMA_DIR.parents[1]))
        return 0
    stale = drift()
    if stale:
        print("event schemas drifted (run python -m nps.events.schemas --write): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
