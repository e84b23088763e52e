"""Fixtures for the unit tests of the domain package (no AWS, no network).

Every unit test runs with sockets disabled and with ``nps.kernel.aws.client`` replaced by a function that
fails loudly, so a test that accidentally reaches for AWS fails instead of hanging or calling out.
Constants and the in-memory fakes themselves live in :mod:`tests.support.fakes`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from nps.events.models import ResponseItem
from nps.kernel import aws
from nps.links.tokens import Keyring, Purpose, sign
from nps.responding.adapters.invites import Invite
from nps.scoring.aggregation import Transition
from tests.support.fakes import (
    FIRST_ANSWERED_AT,
    KEY_1,
    KEY_2,
    NOW,
    NOW_EPOCH,
    CallLog,
    Clock,
    FakeAggregateStore,
    FakeEventsClient,
    FakeInviteStore,
    FakePublisher,
    FakeResponseStore,
)

# --------------------------------------------------------------------------------------------------
# Isolation: no sockets, no AWS clients
# --------------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_network(socket_disabled: None) -> None:
    """pytest-socket: any attempt to open a socket raises ``SocketBlockedError``."""


@pytest.fixture(autouse=True)
def _no_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests must never create a real boto3 client; tests that need one install a fake."""

    def forbidden(service: str) -> Any:
        raise AssertionError(f"unit tests must not create AWS clients (asked for {service!r})")

    monkeypatch.setattr(aws, "client", forbidden)
    monkeypatch.setattr(aws, "send_client", forbidden)


# --------------------------------------------------------------------------------------------------
# Keys and tokens
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def keyring() -> Keyring:
    """A keyring with a single active key ``k1``."""
    return Keyring(keys={"k1": KEY_1}, active_kid="k1")


@pytest.fixture(scope="session")
def rotated_keyring() -> Keyring:
    """After rotation: ``k2`` signs new links, ``k1`` is kept so links already sent still work."""
    return Keyring(keys={"k1": KEY_1, "k2": KEY_2}, active_kid="k2")


@pytest.fixture(scope="session")
def make_token(keyring: Keyring) -> Callable[..., str]:
    """Sign a token; defaults: respond link for ``inv_1`` that expires one hour after ``NOW``."""

    def factory(
        invite_id: str = "inv_1",
        purpose: Purpose = Purpose.RESPOND,
        expires_at: int = NOW_EPOCH + 3600,
        ring: Keyring | None = None,
    ) -> str:
        return sign(ring or keyring, purpose, invite_id, expires_at)

    return factory


# --------------------------------------------------------------------------------------------------
# Responses (models and stream images)
# --------------------------------------------------------------------------------------------------


def _response_fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "invite_id": "inv_1",
        "survey_id": "srv_1",
        "wave_id": "wave_1",
        "contact_id": "ct_1",
        "channel": "email",
        "locale": "en",
        "segments": {"region": "EU", "plan": "pro"},
        "score": 9,
        "category": None,
        "version": 1,
        "first_answered_at": FIRST_ANSWERED_AT,
        "answered_at": FIRST_ANSWERED_AT,
    }
    fields.update(overrides)
    return fields


@pytest.fixture
def make_item() -> Callable[..., ResponseItem]:
    """A counted ``ResponseItem`` (score 9, two segment dimensions); keyword arguments override fields."""

    def factory(**overrides: Any) -> ResponseItem:
        return ResponseItem(**_response_fields(**overrides))

    return factory


@pytest.fixture
def make_image() -> Callable[..., dict[str, Any]]:
    """A stream image as boto3's ``TypeDeserializer`` yields it: plain dicts, numbers as ``Decimal``.

    ``score=None`` leaves the attribute out (an invite's item before its first answer).
    """

    def factory(**overrides: Any) -> dict[str, Any]:
        fields = _response_fields(**overrides)
        image: dict[str, Any] = {}
        for name, value in fields.items():
            if value is None:
                continue
            if isinstance(value, bool):
                image[name] = value
            elif isinstance(value, int):
                image[name] = Decimal(value)
            elif isinstance(value, datetime):
                image[name] = value.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            else:
                image[name] = value
        if "category" not in overrides and fields["score"] is not None:
            score = int(fields["score"])
            image["category"] = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
        return image

    return factory


@pytest.fixture
def make_transition() -> Callable[..., Transition]:
    def factory(
        old: ResponseItem | None,
        new: ResponseItem | None,
        *,
        invite_id: str | None = None,
        version: int | None = None,
        record_time: datetime = NOW,
        sequence_number: str = "100",
    ) -> Transition:
        latest = new or old
        assert latest is not None or invite_id is not None
        return Transition(
            invite_id=invite_id or (latest.invite_id if latest else ""),
            version=version if version is not None else (latest.version if latest else 0),
            record_time=record_time,
            sequence_number=sequence_number,
            old=old,
            new=new,
        )

    return factory


# --------------------------------------------------------------------------------------------------
# Invites and the in-memory stores used by ResponseService
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def make_invite() -> Callable[..., Invite]:
    """An invite for ``inv_1`` (German, sent three weeks before ``NOW``, no clicks yet); keywords override."""

    def factory(**overrides: Any) -> Invite:
        fields: dict[str, Any] = {
            "invite_id": "inv_1",
            "survey_id": "srv_1",
            "wave_id": "wave_1",
            "contact_id": "ct_1",
            "channel": "email",
            "locale": "de",
            "expires_at": NOW_EPOCH + 3600,
            "sent_at": "2026-11-01T08:00:00.000Z",
            "segments": {"region": "EU"},
        }
        fields.update(overrides)
        return Invite(**fields)

    return factory


@pytest.fixture
def invite_store() -> FakeInviteStore:
    return FakeInviteStore()


@pytest.fixture
def clock() -> Clock:
    """A clock that starts at ``NOW`` and that a test can advance."""
    return Clock()


@pytest.fixture
def response_store() -> FakeResponseStore:
    return FakeResponseStore()


# --------------------------------------------------------------------------------------------------
# Scoring service fakes (aggregate store and event publisher share one call log)
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def call_log() -> CallLog:
    return CallLog()


@pytest.fixture
def aggregate_store(call_log: CallLog) -> FakeAggregateStore:
    return FakeAggregateStore(call_log)


@pytest.fixture
def publisher(call_log: CallLog) -> FakePublisher:
    return FakePublisher(call_log)


# --------------------------------------------------------------------------------------------------
# EventBridge fake
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def events_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEventsClient]:
    """Install a fake EventBridge client behind ``nps.kernel.aws.client``."""
    fake = FakeEventsClient()
    requested: list[str] = []

    def client(service: str) -> FakeEventsClient:
        requested.append(service)
        return fake

    monkeypatch.setattr(aws, "client", client)
    yield fake
    assert set(requested) <= {"events"}, f"unexpected AWS services requested: {requested}"
