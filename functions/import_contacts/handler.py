"""import_contacts λ: a CSV put under ``imports/<audience>/`` in the import bucket → contacts upserted.

The per-row error report is written to ``reports/<audience>/<file>.errors.csv`` in the same bucket
(ids and reasons only, never an address), and the summary is logged.

The CSV parser validates each row with the pydantic contact model: it is imported with the first file
to import, not at cold start (an event with no file under ``imports/`` never loads it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from nps.kernel import aws
from nps.sending.adapters.contacts import DynamoContactRepository
from nps.sending.settings import sending_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="import_contacts")
metrics = Metrics(namespace="NPS", service="import_contacts")


@lru_cache(maxsize=1)
def contacts() -> DynamoContactRepository:
    return DynamoContactRepository(sending_settings().require("contacts_table").contacts_table)


def import_object(bucket: str, key: str) -> dict[str, Any]:
    """Import one uploaded file and write its error report; the summary (counts, no PII) is returned."""
    from nps.accounts.adapters.profiles import DynamoAccountProfiles
    from nps.sending.importing import MAX_FILE_BYTES, audience_from_key, import_contacts_file, report_key, too_large

    s3 = aws.client("s3")
    head = s3.head_object(Bucket=bucket, Key=key)
    if int(head["ContentLength"]) > MAX_FILE_BYTES:
        report = too_large()
    else:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        profiles = DynamoAccountProfiles(sending_settings().require("accounts_table").accounts_table)
        report = import_contacts_file(body, audience_from_key(key), contacts(), (profiles, datetime.now(UTC)))
    destination = report_key(key)
    s3.put_object(Bucket=bucket, Key=destination, Body=report.as_csv().encode(), ContentType="text/csv; charset=utf-8")
    summary = {
        "key": key,
        "audience": audience_from_key(key),
        "imported": len(report.contacts),
        "rejected": len(report.errors),
        "file_error": report.file_error,
        "report": destination,
    }
    logger.info("contacts imported", extra=summary)
    metrics.add_metric("ContactsImported", MetricUnit.Count, len(report.contacts))
    metrics.add_metric("ContactRowsRejected", MetricUnit.Count, len(report.errors))
    return summary


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """S3 ``ObjectCreated`` notifications (``Records[].s3``); each object is imported in turn."""
    results = []
    for record in event.get("Records", []):
        bucket = record["s3"]["bucket"]["name"]
        key = unquote_plus(record["s3"]["object"]["key"])
        if not key.startswith("imports/") or not key.lower().endswith(".csv"):
            logger.info("object ignored", extra={"key": key})
            continue
        results.append(import_object(bucket, key))
    return {"imports": results}
