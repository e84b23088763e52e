"""The event contract: JSON Schemas in the repo match the models, the publisher sends exactly those shapes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from nps.events import schemas as event_schemas
from nps.events.publisher import Event, EventPublisher
from nps.events.schemas import CONSUMED_MODELS, DETAIL_MODELS, drift, schema_for, slug, validate_detail
from tests.support.event_samples import SAMPLES
from tests.support.fakes import FakeEventsClient

ROOT = Path(__file__).resolve().parents[3]
PII = re.compile(r"@|\+\d{6,}|email_address|phone")


def test_committed_schema_files_match_the_models() -> None:
    # Given the models / When the schemas are generated / Then the committed files are identical
    assert drift() == [], "run: python -m nps.events.schemas --write"


def test_drift_check_notices_a_stale_and_an_extra_file(tmp_path: Path) -> None:
    # Given a directory written by the generator, then one file edited and one unknown file added
    event_schemas.write(tmp_path)
    (tmp_path / "nps-response-scored.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "nps-old-event.json").write_text("{}\n", encoding="utf-8")
    # Then both are reported, and --write repairs the directory
    assert drift(tmp_path) == ["nps-old-event.json", "nps-response-scored.json"]
    event_schemas.write(tmp_path)
    assert drift(tmp_path) == []


#: Detail types whose shape was fixed with their subscribers without an ``event_id``: ``NPS Account Health
#: Changed`` is mapped to CRMs field by field; (survey_id, account_id, period) identifies one (docs/digest.md).
WITHOUT_EVENT_ID = {"NPS Account Health Changed"}


def test_every_detail_type_has_a_schema_file_with_schema_version() -> None:
    for detail_type in DETAIL_MODELS:
        schema = json.loads((ROOT / "schemas" / "events" / f"{slug(detail_type)}.json").read_text())
        assert schema["x-detail-type"] == detail_type
        assert schema["additionalProperties"] is False
        assert "schema_version" in schema["required"] or "schema_version" in schema["properties"]
        if detail_type not in WITHOUT_EVENT_ID:
            assert "event_id" in schema["required"]


@pytest.mark.parametrize("detail_type", list(DETAIL_MODELS))
def test_sample_detail_is_valid_and_carries_no_contact_address(detail_type: str) -> None:
    detail = validate_detail(detail_type, SAMPLES[detail_type])
    assert not PII.search(detail.model_dump_json())
    assert not any(PII.search(name) for name in schema_for(detail_type)["properties"])


@pytest.mark.parametrize("detail_type", list(DETAIL_MODELS))
def test_a_detail_with_an_extra_field_such_as_an_email_is_rejected(detail_type: str) -> None:
    with pytest.raises(ValidationError, match="email"):
        validate_detail(detail_type, {**SAMPLES[detail_type], "email": "ana@example.com"})


def test_an_unknown_detail_type_is_not_part_of_the_contract() -> None:
    with pytest.raises(event_schemas.UnknownDetailType):
        validate_detail("NPS Something Else", {})


def test_publisher_sends_exactly_the_contract_shapes(events_client: FakeEventsClient) -> None:
    # Given one event of every detail type, parsed with its model
    events = [Event(t, DETAIL_MODELS[t].model_validate(SAMPLES[t])) for t in DETAIL_MODELS]
    # When published (more than one chunk's worth, to cross a chunk boundary)
    EventPublisher("nps-bus").publish(events * 2)
    entries: list[dict[str, Any]] = [e for call in events_client.calls for e in call]
    # Then every entry is source nps, a contract detail type, and a detail that validates against its schema
    total = 2 * len(events)
    assert [len(call) for call in events_client.calls] == [min(10, total - start) for start in range(0, total, 10)]
    for entry in entries:
        assert entry["Source"] == "nps"
        model = DETAIL_MODELS[entry["DetailType"]]
        detail = json.loads(entry["Detail"])
        assert set(detail) <= set(model.model_json_schema()["properties"])
        assert model.model_validate(detail) == model.model_validate(SAMPLES[entry["DetailType"]])
        assert detail["schema_version"] == "1.0"


def test_docs_show_a_valid_example_of_every_detail_type() -> None:
    # Given docs/events.md / Then each detail type has a heading and a JSON example that validates
    text = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
    examples = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", text, flags=re.S)]
    documented = {e["detail-type"]: e["detail"] for e in examples if isinstance(e.get("detail-type"), str)}
    for detail_type in DETAIL_MODELS:
        assert f"## `{detail_type}`" in text
        assert detail_type in documented, detail_type
        validate_detail(detail_type, documented[detail_type])


def test_consumed_events_have_schema_files_and_a_valid_documented_example() -> None:
    # Given docs/events.md / Then every consumed detail type has a heading, a schema file and a valid example
    text = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
    examples = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", text, flags=re.S)]
    documented = {e["detail-type"]: e for e in examples if isinstance(e.get("detail-type"), str)}
    for detail_type in CONSUMED_MODELS:
        assert f"## `{detail_type}` (consumed" in text
        schema = json.loads((ROOT / "schemas" / "events" / f"{slug(detail_type)}.json").read_text())
        assert schema["x-event-source"] == "any source but nps"
        assert schema["additionalProperties"] is False
        assert documented[detail_type]["source"] != "nps"
        validate_detail(detail_type, documented[detail_type]["detail"])


@pytest.mark.parametrize(
    "change",
    [
        {"email": "ana@example.com"},
        {"contact_id": None},
        {"churned_at": "next tuesday"},
        {"reason": "she said the price was too high"},
        {"contact_id": "ana@example.com"},
        {"schema_version": "2.0"},
    ],
)
def test_a_churn_detail_with_personal_data_free_text_or_no_subject_is_refused(change: dict[str, Any]) -> None:
    detail = {"contact_id": "contact-1", "churned_at": "2026-11-30"} | change
    with pytest.raises(ValidationError):
        validate_detail("Customer Churned", detail)


@pytest.mark.parametrize(
    ("churned_at", "expected"),
    [
        ("2026-11-30", "2026-11-30T00:00:00+00:00"),
        ("2026-11-30T10:15:00", "2026-11-30T10:15:00+00:00"),
        ("2026-11-30T10:15:00+02:00", "2026-11-30T08:15:00+00:00"),
        ("2026-11-30T10:15:00Z", "2026-11-30T10:15:00+00:00"),
    ],
)
def test_a_churn_date_or_naive_time_is_utc(churned_at: str, expected: str) -> None:
    detail = validate_detail("Customer Churned", {"account_id": "acme", "churned_at": churned_at, "reason": "Price"})
    assert detail.churned_at.isoformat() == expected  # type: ignore[attr-defined]
    assert detail.reason == "price"  # type: ignore[attr-defined]
