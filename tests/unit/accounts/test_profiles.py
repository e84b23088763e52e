"""Account profiles written by a contacts import: every account once, in parallel like the contacts."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from nps.accounts.adapters.profiles import DynamoAccountProfiles
from nps.accounts.membership import Membership
from nps.kernel import aws


class SlowClient:
    """A DynamoDB client whose UpdateItem takes a little while, recording how many run at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = self.peak = 0
        self.keys: list[str] = []

    def update_item(self, **request: Any) -> dict[str, Any]:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
            self.keys.append(request["Key"]["pk"]["S"])
        time.sleep(0.01)
        with self.lock:
            self.running -= 1
        return {}


def test_an_import_of_many_accounts_writes_each_profile_once_in_parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an import naming 200 accounts (100,000 one after the other would outlast the import's 15 minutes)
    client = SlowClient()
    monkeypatch.setattr(aws, "client", lambda service: client)
    memberships = [Membership(f"acct-{n % 200}", None, None) for n in range(400)]
    # When their profiles are recorded
    written = DynamoAccountProfiles("accounts").record(memberships, "2026-12-01T00:00:00.000Z")
    # Then each account is written once, several at a time
    assert written == 200
    assert sorted(client.keys) == sorted(f"account#acct-{n}" for n in range(200))
    assert client.peak > 1
