"""Telling a person's tap from a mail scanner's fetch (pure: no clients, no clocks).

Corporate mail security (Microsoft Defender Safe Links, Mimecast, Proofpoint, Barracuda) fetches every
link in a message, often all 11 score links within a couple of seconds and sometimes in a headless
browser that runs JavaScript. The defences combine (see ``docs/scanner-proof-responses.md``):

* a GET never records a score; the page it returns records it with a POST issued by its own script
  after a short pause (or with a button when scripts are off), so plain fetchers never record;
* HEAD and prefetch requests are read-only;
* each GET, POST and honeypot fetch is logged on the invite, so a POST can be judged in context:
  a burst of several different scores for one invite, a fetch of the hidden honeypot link nearby,
  known scanner user agents, or a click within seconds of sending mark it automated;
* automated answers are stored but never counted; a later human answer replaces them, and evidence
  that arrives a little late retracts a just-recorded answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

#: Several different scores for one invite within this many seconds is a scanner, not a person.
BURST_WINDOW_SECONDS = 20.0
BURST_DISTINCT_SCORES = 3
#: A honeypot fetch marks clicks this close to it (before or after) as automated.
HONEYPOT_WINDOW_SECONDS = 90.0
#: Clicks this soon after the message was sent are a scanner's (people need longer to open it).
MIN_SECONDS_AFTER_SEND = 5.0
#: Evidence arriving this soon after a recorded answer retracts that answer.
RETRACT_WINDOW_SECONDS = 60.0
#: How many clicks the invite keeps for judging the next one.
CLICK_LOG_SIZE = 24

_SCANNER_AGENTS = re.compile(
    r"(safelinks|defender|proofpoint|mimecast|barracuda|bitdefender|trend ?micro|symantec|messagelabs"
    r"|forcepoint|sophos|fireeye|zscaler|cisco|ironport|avanan|checkpoint|headlesschrome|phantomjs"
    r"|python-requests|python-urllib|curl/|wget/|go-http-client|java/|okhttp|libwww|scrapy|\bbot\b|crawler"
    r"|spider|preview|slurp|urlscan|linkcheck|validator)",
    re.IGNORECASE,
)


class ClickKind(StrEnum):
    OPEN = "open"  # GET of a score link: shows the page, records nothing
    CONFIRM = "confirm"  # POST issued by the page (or its button): the answer
    HONEYPOT = "honeypot"  # GET of the hidden link only machines follow


@dataclass(frozen=True, slots=True)
class Click:
    at: float
    kind: ClickKind
    score: int | None = None

    def to_item(self) -> dict[str, object]:
        return {"at": round(self.at, 3), "kind": self.kind.value, "score": self.score}

    @classmethod
    def from_item(cls, raw: Mapping[str, object]) -> Click | None:
        try:
            kind = ClickKind(str(raw["kind"]))
            at = float(str(raw["at"]))
            score = raw.get("score")
            return cls(at, kind, int(str(score)) if score is not None else None)
        except (KeyError, ValueError, TypeError):
            return None


@dataclass(frozen=True, slots=True)
class Assessment:
    automated: bool
    reasons: tuple[str, ...]
    confidence: str  # "high" | "medium" for people; "automated" otherwise


def is_prefetch(headers: Mapping[str, str]) -> bool:
    """Browser and proxy prefetches: they must never change anything."""
    purpose = (headers.get("sec-purpose") or headers.get("purpose") or headers.get("x-purpose") or "").lower()
    return "prefetch" in purpose or "preview" in purpose or headers.get("x-moz", "").lower() == "prefetch"


def header_reasons(headers: Mapping[str, str]) -> tuple[str, ...]:
    """What the request headers alone say about automation."""
    reasons: list[str] = []
    agent = headers.get("user-agent", "")
    if not agent.strip():
        reasons.append("no user agent")
    elif _SCANNER_AGENTS.search(agent):
        reasons.append("scanner user agent")
    if is_prefetch(headers):
        reasons.append("prefetch")
    return tuple(reasons)


def _recent(clicks: Iterable[Click], now: float, window: float) -> list[Click]:
    return [c for c in clicks if abs(now - c.at) <= window]


def burst(clicks: Sequence[Click], now: float) -> bool:
    """Several different scores opened or confirmed for one invite within a few seconds."""
    scores = {c.score for c in _recent(clicks, now, BURST_WINDOW_SECONDS) if c.kind is not ClickKind.HONEYPOT}
    scores.discard(None)
    return len(scores) >= BURST_DISTINCT_SCORES


def honeypot_nearby(clicks: Sequence[Click], now: float) -> bool:
    return any(c.kind is ClickKind.HONEYPOT for c in _recent(clicks, now, HONEYPOT_WINDOW_SECONDS))


def assess(
    clicks: Sequence[Click],
    now: float,
    sent_at: float | None,
    headers: Mapping[str, str],
) -> Assessment:
    """Judge an answer (a CONFIRM) given the invite's click log, which already includes it."""
    reasons = list(header_reasons(headers))
    if burst(clicks, now):
        reasons.append("burst of different scores")
    if honeypot_nearby(clicks, now):
        reasons.append("honeypot link fetched")
    if sent_at is not None and 0 <= now - sent_at < MIN_SECONDS_AFTER_SEND:
        reasons.append("seconds after sending")
    if reasons:
        return Assessment(True, tuple(reasons), "automated")
    # A fetch() from our own page carries same-origin fetch metadata in every current browser;
    # a navigation the person started carries Sec-Fetch-User. Without either, we still count it.
    same_origin = headers.get("sec-fetch-site", "") == "same-origin"
    user_activated = headers.get("sec-fetch-user", "") == "?1"
    return Assessment(False, (), "high" if same_origin or user_activated else "medium")


def automated_evidence(clicks: Sequence[Click], now: float) -> tuple[str, ...]:
    """Evidence that arrived now (a burst, a honeypot fetch) that may retract a recent answer."""
    reasons = []
    if burst(clicks, now):
        reasons.append("burst of different scores")
    if honeypot_nearby(clicks, now):
        reasons.append("honeypot link fetched")
    return tuple(reasons)
