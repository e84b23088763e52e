"""Wave progress items in the surveys table (sort key ``wave#<wave_id>``): the checkpoint of a scheduled
wave between planner invocations.

One item per wave, in its survey's partition: it is written once per page planned (about one write a
second while a wave is planned), never per invite. Reminders (``reminder#...``) and definitions
(``definition``) sort apart from it, so their reads never see it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from nps.kernel import aws
from nps.kernel.periods import iso_timestamp

if TYPE_CHECKING:
    # The planner's module loads with the first progress read: a contact's erasure and timeline find the
    # recorded waves by :data:`WAVE_PREFIX` without it (tests/architecture/test_import_budget.py).
    from nps.sending.waves import WaveProgress

WAVE_PREFIX = "wave#"
# Every attribute through a placeholder: DynamoDB reserves many plain words.
_NAMES = {
    "#run": "run",
    "#pages": "pages",
    "#done": "done",
    "#counts": "counts",
    "#after": "after",
    "#started": "started_at",
}


def _key(survey_id: str, wave_id: str) -> dict[str, Any]:
    return {"survey_id": {"S": survey_id}, "sk": {"S": f"{WAVE_PREFIX}{wave_id}"}}


def _progress(item: dict[str, Any]) -> WaveProgress:
    from nps.sending.waves import WaveProgress

    return WaveProgress(
        survey_id=item["survey_id"]["S"],
        wave_id=item["sk"]["S"].removeprefix(WAVE_PREFIX),
        run=int(item["run"]["N"]),
        started_at=item["started_at"]["S"],
        pages=int(item.get("pages", {}).get("N", "0")),
        after=item.get("after", {}).get("S"),
        done=bool(item.get("done", {}).get("BOOL", False)),
        counts=json.loads(item.get("counts", {}).get("S", "{}")),
    )


class DynamoWaveProgress:
    """:class:`nps.sending.waves.WaveProgressStore` on the surveys table."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def begin(self, survey_id: str, wave_id: str, now: datetime) -> WaveProgress:
        result = aws.client("dynamodb").update_item(
            TableName=self.table_name,
            Key=_key(survey_id, wave_id),
            UpdateExpression=(
                "SET #run = if_not_exists(#run, :zero) + :one, #pages = :zero, #done = :false, #counts = :empty,"
                " #started = :now REMOVE #after"
            ),
            ExpressionAttributeNames=_NAMES,
            ExpressionAttributeValues={
                ":zero": {"N": "0"},
                ":one": {"N": "1"},
                ":false": {"BOOL": False},
                ":empty": {"S": "{}"},
                ":now": {"S": iso_timestamp(now)},
            },
            ReturnValues="ALL_NEW",
        )
        return _progress(result["Attributes"])

    def get(self, survey_id: str, wave_id: str) -> WaveProgress | None:
        item = aws.client("dynamodb").get_item(
            TableName=self.table_name, Key=_key(survey_id, wave_id), ConsistentRead=True
        )
        return _progress(item["Item"]) if "Item" in item else None

    def advance(self, progress: WaveProgress, expected_pages: int) -> bool:
        values: dict[str, Any] = {
            ":run": {"N": str(progress.run)},
            ":expected": {"N": str(expected_pages)},
            ":pages": {"N": str(progress.pages)},
            ":done": {"BOOL": progress.done},
            ":counts": {"S": json.dumps(progress.counts, separators=(",", ":"), sort_keys=True)},
        }
        sets = ["#pages = :pages", "#done = :done", "#counts = :counts"]
        if progress.after is not None:
            sets.append("#after = :after")
            values[":after"] = {"S": progress.after}
        return aws.conditional_write(
            "update_item",
            TableName=self.table_name,
            Key=_key(progress.survey_id, progress.wave_id),
            UpdateExpression="SET " + ", ".join(sets) + ("" if progress.after is not None else " REMOVE #after"),
            ConditionExpression="#run = :run AND #pages = :expected",
            ExpressionAttributeNames={k: v for k, v in _NAMES.items() if k != "#started"},
            ExpressionAttributeValues=values,
        )
