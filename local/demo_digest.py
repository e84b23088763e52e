"""The demo's team digest: the demo survey gets a weekly digest, and the digest function (its real
handler, on moto) sends it; the captured SES message is written to ``demo-output/digest-<survey>.html``
and ``.txt`` (docs/digest.md)."""

from __future__ import annotations

import contextlib
import io
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from local.demo_sending import ACCOUNT_ID
from local.environment import REGION, LocalStack

#: The team addresses of the demo's digest (example.com: nothing leaves moto anyway).
DEMO_TEAM = ("cx-team@example.com", "head-of-success@example.com")


def digest_messages(recipients: tuple[str, ...]) -> list[EmailMessage]:
    """The raw messages SES (moto) accepted for ``recipients``, parsed."""
    from moto.ses.models import ses_backends

    found = []
    for sent in ses_backends[ACCOUNT_ID][REGION].sent_messages:
        raw = getattr(sent, "raw_data", None)
        if raw is None:
            continue
        message = message_from_bytes(raw.encode() if isinstance(raw, str) else raw, policy=policy.default)
        if isinstance(message, EmailMessage) and str(message["To"]) in recipients:
            found.append(message)
    return found


def run(stack: LocalStack, survey_id: str, folder: Path, now: datetime | None = None) -> int:
    """Give ``survey_id`` a weekly digest due at the next whole hour a day from ``now`` (covering the seven
    days to today), run the digest function then, and write what it sent. Returns an exit status."""
    from functions.digest import handler as digest
    from local.lambda_events import LambdaContext
    from nps.sending.adapters.surveys import DynamoSurveyRepository

    surveys = DynamoSurveyRepository(stack.tables["surveys"])
    survey = surveys.get(survey_id)
    if survey is None:
        print(f"Digest: no survey {survey_id!r}")
        return 1
    due = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    weekday = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")[due.weekday()]
    settings = {"frequency": "weekly", "weekday": weekday, "hour": due.hour, "time_zone": "UTC"}
    definition = {**survey.model_dump(mode="json"), "digest": {**settings, "recipients": list(DEMO_TEAM)}}
    surveys.put(type(survey).model_validate(definition))
    digest.service.cache_clear()
    event = {"source": "aws.events", "time": due.isoformat().replace("+00:00", "Z")}
    with contextlib.redirect_stdout(io.StringIO()):  # the function's JSON log
        outcomes = digest.lambda_handler(event, LambdaContext())["digests"]
    messages = digest_messages(DEMO_TEAM)
    if not outcomes or not messages:
        print("Digest: the digest function sent nothing")
        return 1
    outcome = outcomes[0]
    message = messages[0]
    html_part = message.get_body(preferencelist=("html",))
    text_part = message.get_body(preferencelist=("plain",))
    folder.mkdir(parents=True, exist_ok=True)
    html_path = folder / f"digest-{survey_id}.html"
    text_path = folder / f"digest-{survey_id}.txt"
    html_path.write_text(html_part.get_content() if html_part is not None else "", encoding="utf-8")
    text_path.write_text(text_part.get_content() if text_part is not None else "", encoding="utf-8")
    attached = [part.get_filename() for part in message.iter_attachments()]
    print(
        f"\nDigest ({outcome['period']}): sent to {outcome['sent']} team address(es) by the digest function,"
        f" report attached: {', '.join(str(a) for a in attached) or 'no'}; written to {html_path} and {text_path}"
    )
    return 0
