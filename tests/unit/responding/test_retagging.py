"""The re-tag loop over a fake store: counts, dry run, limit and resume, pacing, tokens."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nps.responding.adapters.retagging import BadToken, decode_token, encode_token
from nps.responding.retagging import Commented, Pacer, Page, retag


class FakeStore:
    """Responses in pages; ``refuse`` names the invites whose comment changed before the write."""

    def __init__(self, responses: list[Commented], refuse: frozenset[str] = frozenset()) -> None:
        self.responses = responses
        self.refuse = refuse
        self.written: dict[str, tuple[str, ...]] = {}

    def pages(self, survey_id: str, token: str | None, page_size: int) -> Iterator[Page]:
        start = int(token) if token else 0
        for at in range(start, len(self.responses), page_size):
            end = at + page_size
            yield Page(tuple(self.responses[at:end]), 0, str(end) if end < len(self.responses) else None)

    def write_themes(self, response: Commented, themes: tuple[str, ...]) -> bool:
        if response.invite_id in self.refuse:
            return False
        self.written[response.invite_id] = themes
        return True


def tag(locale: str, comment: str) -> tuple[str, ...]:
    return ("price",) if "expensive" in comment else ()


def commented(index: int, comment: str, themes: tuple[str, ...]) -> Commented:
    return Commented(f"inv-{index}", "en", comment, "2026-11-20T09:00:00.000Z", themes)


RESPONSES = [
    commented(0, "Too expensive", ("price",)),  # unchanged
    commented(1, "Too expensive", ("support",)),  # changed
    commented(2, "Slow", ("price",)),  # changed (to none)
    commented(3, "Very expensive", ()),  # changed, but edited meanwhile: skipped
]


def test_counts_say_what_changed_and_writes_only_those() -> None:
    store = FakeStore(RESPONSES, refuse=frozenset({"inv-3"}))
    result = retag("s", tag, store, page_size=3)
    assert result.counts.summary() == "read 4, changed 2, unchanged 1, skipped 1"
    assert store.written == {"inv-1": ("price",), "inv-2": ()}
    assert result.next_token is None


def test_a_dry_run_writes_nothing() -> None:
    store = FakeStore(RESPONSES)
    assert retag("s", tag, store, dry_run=True).counts.changed == 3
    assert store.written == {}


@given(st.integers(1, 5), st.integers(1, 5))
def test_runs_stopped_at_a_limit_and_resumed_read_everything_once(limit: int, page_size: int) -> None:
    store = FakeStore(RESPONSES)
    read, token, runs = 0, None, 0
    while True:
        result = retag("s", tag, store, token=token, limit=limit, page_size=page_size)
        read += result.counts.read
        runs += 1
        token = result.next_token
        if token is None:
            break
    assert read == len(RESPONSES)
    assert set(store.written) == {"inv-1", "inv-2", "inv-3"}


def test_the_pacer_waits_until_the_run_is_back_under_its_rate() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer(50, clock=lambda: now[0], sleep=sleep)
    pacer.took(100)  # 100 responses at once: two seconds' worth
    now[0] += 0.5
    pacer.took(25)  # 125 in total: 2.5 s' worth, and 2.5 s have passed
    assert slept == [2.0]
    Pacer(0, clock=lambda: 0.0, sleep=sleep).took(10_000)
    assert slept == [2.0]


def test_a_token_resumes_only_its_own_survey_and_names_only_keys() -> None:
    key = {"invite_id": {"S": "inv-1"}, "survey_shard": {"S": "s#03"}, "first_answered_at": {"S": "2026-11-20"}}
    token = encode_token("s", 3, key)
    assert decode_token(token, "s", 33) == (3, key)
    assert decode_token(encode_token("s", 4, None), "s", 33) == (4, None)
    with pytest.raises(BadToken, match="another survey"):
        decode_token(token, "t", 33)
    with pytest.raises(BadToken):
        decode_token(token, "s", 3)  # a source the survey does not have
    for bad in ("", "!!", "bnVsbA", encode_token("s", 0, None)[:-4]):
        with pytest.raises(BadToken):
            decode_token(bad, "s", 33)
