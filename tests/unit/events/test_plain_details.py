"""The plain opt-out and bounce details are the contract's JSON: the models accept them and write them alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from nps.events.details import UNSUBSCRIBE_METHODS, contact_unsubscribed, invite_bounced, json_timestamp
from nps.events.models import ContactUnsubscribedDetail, InviteBouncedDetail

IDS = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)
TIMES = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=2))]),
)


@given(IDS, st.none() | IDS, st.none() | IDS, st.none() | IDS, st.sampled_from(["email", "sms"]),
       st.sampled_from(UNSUBSCRIBE_METHODS), TIMES)  # fmt: skip
def test_contact_unsubscribed_is_the_models_json(
    contact: str, survey: str | None, wave: str | None, invite: str | None, channel: str, method: str, at: datetime
) -> None:
    plain = contact_unsubscribed(
        event_id=f"{invite}:unsubscribed:{method}", contact_id=contact, survey_id=survey, wave_id=wave,
        invite_id=invite, channel=channel, method=method, unsubscribed_at=at,
    )  # fmt: skip
    model = ContactUnsubscribedDetail.model_validate_json(plain.model_dump_json())
    assert model.model_dump_json() == plain.model_dump_json()
    assert model.unsubscribed_at == at


@given(IDS, IDS, IDS, IDS, st.sampled_from(["permanent", "transient", "complaint"]), st.booleans(), TIMES)
def test_invite_bounced_is_the_models_json(
    contact: str, survey: str, wave: str, invite: str, kind: str, suppressed: bool, at: datetime
) -> None:
    plain = invite_bounced(
        event_id=f"{invite}:bounced:{kind}", contact_id=contact, survey_id=survey, wave_id=wave, invite_id=invite,
        bounce_type=kind, suppressed=suppressed, bounced_at=at,  # type: ignore[arg-type]
    )  # fmt: skip
    model = InviteBouncedDetail.model_validate_json(plain.model_dump_json())
    assert model.model_dump_json() == plain.model_dump_json()


def test_timestamps_are_written_as_pydantic_writes_them() -> None:
    assert json_timestamp(datetime(2026, 11, 23, 10, 20, tzinfo=UTC)) == "2026-11-23T10:20:00Z"
    assert json_timestamp(datetime(2026, 11, 23, 10, 20, 0, 4500, tzinfo=UTC)) == "2026-11-23T10:20:00.004500Z"
    assert json_timestamp(datetime(2026, 11, 23, tzinfo=timezone(timedelta(hours=2)))) == "2026-11-23T00:00:00+02:00"
