"""The signed referral/review redirect ``/g/<token>``: landing page, scanner filtering, the click recorded once.

The token (:attr:`nps.links.tokens.Purpose.REDIRECT`) names the invite and the kind of target; the address
is the survey definition's promoter ``referral_url``/``review_url``, checked on every request
(:func:`nps.accounts.referrals.target_url_problem`), so the link can lead nowhere else: no open redirect.

* ``GET``: the landing page, which continues with a ``POST`` (auto-submitted by its script, or its button);
  the fetch is logged on the invite (:meth:`Ledger.log_open`) and nothing is recorded.
* ``HEAD``: the same checks, nothing logged, nothing recorded.
* ``POST``: the click, judged as score links are judged (:mod:`nps.responding.scanners`): a scanner user
  agent or a prefetch, a click within seconds of the ask, a cross-site post, or a burst of fetches (both
  links fetched within :data:`TARGET_BURST_SECONDS`, or :data:`BURST_FETCHES` fetches within
  :data:`~nps.responding.scanners.BURST_WINDOW_SECONDS`) is automated: it is redirected but never recorded.
  A person's first click of a target is recorded (:meth:`Ledger.record_click`) and published as
  ``NPS Referral Clicked``; a repeated click is redirected without recording.

Refusals: a forged, truncated or foreign-key token is :class:`LinkInvalid` (400); an expired one
:class:`LinkExpired` (410, with the brand's website when the survey has one, never the target); an unknown
invite or survey, or a survey without that target's address, :class:`TargetNotFound` (404).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from nps.accounts.adapters.referrals import Answer, InviteMarkers
from nps.accounts.referrals import target_urls
from nps.events.details import referral_clicked
from nps.events.names import REFERRAL_CLICKED
from nps.events.publisher import Event, Publisher
from nps.kernel.branding import NEUTRAL_BRAND, PageBrand
from nps.links.tokens import Keyring, Purpose, TokenStatus, verify
from nps.responding.scanners import BURST_WINDOW_SECONDS, MIN_SECONDS_AFTER_SEND, header_reasons, is_prefetch

logger = logging.getLogger(__name__)

#: Both links of one email fetched within this many seconds of each other: a scanner opening every link.
TARGET_BURST_SECONDS = 3.0
#: This many fetches of an invite's redirect pages within the burst window: a scanner (or a loop).
BURST_FETCHES = 4


@dataclass(frozen=True, slots=True)
class AnsweredInvite:
    """The promoter's answer as the responses table holds it (ids, locale, segments, first answer, account)."""

    invite_id: str
    survey_id: str
    wave_id: str
    contact_id: str
    channel: str
    locale: str
    first_answered_at: datetime
    segments: dict[str, str] = field(default_factory=dict)
    account_id: str | None = None

    @property
    def answer(self) -> Answer:
        return Answer(self.survey_id, self.invite_id, self.contact_id, self.first_answered_at, self.account_id)


class Answers(Protocol):
    def get(self, invite_id: str) -> AnsweredInvite | None: ...


class Definitions(Protocol):
    """Stored survey definitions as JSON data (None: no such survey)."""

    def get(self, survey_id: str) -> dict[str, Any] | None: ...


class Ledger(Protocol):
    def markers(self, invite_id: str) -> InviteMarkers: ...
    def log_open(self, invite_id: str, target: str, at: float) -> None: ...
    def record_click(self, answer: Answer, target: str, clicked_at: datetime) -> bool: ...


class LinkInvalid(Exception):
    """A forged, truncated or foreign-key token (or one for another purpose): 400, nothing recorded."""


class LinkExpired(Exception):
    """The link's lifetime is over: 410 with the brand (its website link only), nothing recorded."""

    def __init__(self, brand: PageBrand = NEUTRAL_BRAND, locale: str | None = None) -> None:
        super().__init__("link expired")
        self.brand = brand
        self.locale = locale


class TargetNotFound(LookupError):
    """The invite or survey is unknown, or the survey has no (safe) address for the target: 404."""


@dataclass(frozen=True, slots=True)
class Landing:
    """What a valid link leads to: the answer, the target kind and address, the page's brand and locale."""

    invite: AnsweredInvite
    target: str
    url: str
    brand: PageBrand

    @property
    def locale(self) -> str:
        return self.invite.locale


@dataclass(frozen=True, slots=True)
class Followed:
    """A POST's outcome: where to send the person, whether the click was recorded, and why it was not
    counted when it looked automated."""

    url: str
    recorded: bool
    automated: tuple[str, ...] = ()


def brand_of(definition: Mapping[str, Any]) -> PageBrand:
    """The page brand of a stored survey definition (fields that fail the survey's rules are dropped)."""
    values = {
        "name": definition.get("brand_name"),
        "colour": definition.get("brand_colour"),
        "logo_url": definition.get("logo_url"),
        "website_url": definition.get("website_url"),
    }
    return PageBrand.from_item({"M": {k: {"S": v} for k, v in values.items() if isinstance(v, str)}})


def automated_reasons(
    headers: Mapping[str, str], now: float, asked_at: datetime | None, opens: Sequence[tuple[float, str]]
) -> tuple[str, ...]:
    """Why a POST looks like a scanner's (empty: a person's). ``headers`` lower-cased; ``opens`` the
    invite's logged page fetches ``(epoch seconds, target)``."""
    reasons = list(header_reasons(headers))
    if asked_at is not None and 0 <= now - asked_at.timestamp() < MIN_SECONDS_AFTER_SEND:
        reasons.append("seconds after sending")
    # The page's own form posts same-origin; a post from another site is never the person's click.
    if headers.get("sec-fetch-site", "") == "cross-site":
        reasons.append("cross-site post")
    recent = [(at, target) for at, target in opens if abs(now - at) <= BURST_WINDOW_SECONDS]
    if any(t1 != t2 and abs(a1 - a2) <= TARGET_BURST_SECONDS for a1, t1 in recent for a2, t2 in recent):
        reasons.append("both links fetched at once")
    if len(recent) >= BURST_FETCHES:
        reasons.append("burst of fetches")
    return tuple(reasons)


@dataclass
class RedirectService:
    keyring: Callable[[], Keyring]
    answers: Answers
    definitions: Definitions
    ledger: Ledger
    publisher: Publisher
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def land(self, token: str) -> Landing:
        """Check the token and find its target. Raises :class:`LinkInvalid`, :class:`LinkExpired` or
        :class:`TargetNotFound`; reads only."""
        check = verify(self.keyring(), token, Purpose.REDIRECT, self.clock().timestamp())
        if check.claims is None or check.claims.target is None or check.status is TokenStatus.INVALID:
            raise LinkInvalid
        invite = self.answers.get(check.claims.invite_id)
        definition = self.definitions.get(invite.survey_id) if invite is not None else None
        if check.status is TokenStatus.EXPIRED:
            raise LinkExpired(brand_of(definition) if definition else NEUTRAL_BRAND, invite.locale if invite else None)
        if invite is None or definition is None:
            raise TargetNotFound
        url = target_urls(definition).get(check.claims.target)
        if url is None:
            raise TargetNotFound
        return Landing(invite=invite, target=check.claims.target, url=url, brand=brand_of(definition))

    def open(self, token: str, headers: Mapping[str, str]) -> Landing:
        """A GET: the landing, with the fetch logged for judging the POST (never a prefetch's)."""
        landing = self.land(token)
        if not is_prefetch(headers):
            self.ledger.log_open(landing.invite.invite_id, landing.target, self.clock().timestamp())
        return landing

    def follow(self, token: str, headers: Mapping[str, str]) -> Followed:
        """A POST: record a person's first click of the target and publish it; redirect in every case."""
        landing = self.land(token)
        now = self.clock()
        markers = self.ledger.markers(landing.invite.invite_id)
        automated = automated_reasons(headers, now.timestamp(), markers.asked_at, markers.opens)
        if automated or landing.target in markers.clicked:
            return Followed(landing.url, recorded=False, automated=automated)
        invite = landing.invite
        recorded = self.ledger.record_click(invite.answer, landing.target, now)
        if recorded:
            detail = referral_clicked(
                survey_id=invite.survey_id,
                wave_id=invite.wave_id,
                invite_id=invite.invite_id,
                contact_id=invite.contact_id,
                channel=invite.channel,
                locale=invite.locale,
                segments=invite.segments,
                target=landing.target,
                clicked_at=now,
            )
            try:
                self.publisher.publish([Event(REFERRAL_CLICKED, detail)])
            except Exception:  # the click is recorded and the person must get to the page: log, go on
                logger.exception("NPS Referral Clicked could not be published")
        return Followed(landing.url, recorded=recorded)
