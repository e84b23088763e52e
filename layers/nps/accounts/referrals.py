"""Referral KPIs and the rules of the referral redirect (pure: no clients, no clocks).

A promoter's follow-up email asks for a referral and/or a review. Its links go through the signed
redirect ``/g/<token>`` (``functions/referral``), which records the first click per invite and target; the
team's referral program emits ``Referral Joined`` when a promoter joins. Each of the three steps is
recorded exactly once per invite, as a marker item in the accounts table and counters on the aggregates of
the promoter's answer (docs/referrals.md):

================  ================================  ===================  =========================
step              marker (pk ``referral#<invite>``)  counter              added to
================  ================================  ===================  =========================
asked             ``asked``                         ``referral_asked``   the answer's aggregates
clicked           ``clicked#<target>``, ``clicked`` ``referral_clicked`` (first target only)
joined            ``joined``                        ``referral_joined``  the answer's aggregates
================  ================================  ===================  =========================

The aggregates are those of the promoter's answer: the survey at every granularity, in the period of the
response's ``first_answered_at``, segment ``*`` and channel ``*``, plus the account slice
``account_id=<id>`` at month and quarter (channel ``*``) when the answer is an account's. So every figure
is a **cohort** figure: it belongs to the period in which the promoter answered, however late the click or
the join comes.

``referral_clicked`` counts promoters who clicked at least one of the links (the first click of either
target adds it; each target's own first click is marked and published), so click-through is a proportion.

A join without any ask on record (the contact was never asked, or joined before the ask) is marked
``joined_unasked`` on the contact and counted apart (``referral_joined_unasked``): it is not in the
participation rate, whose denominator is the promoters asked.

**KPIs** (per period and over the range; 95% Wilson intervals, :func:`nps.kernel.statistics.wilson`):

* referral program participation rate = promoters who joined ÷ promoters asked;
* click-through = promoters who clicked a referral or review link ÷ promoters asked.

A numerator above its denominator (a join or click of an ask that failed to record) is capped at the
denominator and reported in ``capped`` rather than breaking the interval.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from nps.accounts.health import REFERRAL_ASKED, REFERRAL_CLICKED, REFERRAL_JOINED
from nps.accounts.membership import ACCOUNT_GRANULARITIES, account_label
from nps.kernel.periods import Granularity, period_key
from nps.kernel.statistics import Proportion, wilson

#: The kinds of target a referral redirect leads to (the survey's promoter ``referral_url``/``review_url``).
TARGETS = ("referral", "review")
#: Joins of contacts with no ask on record, counted apart (never in the participation rate).
REFERRAL_JOINED_UNASKED = "referral_joined_unasked"
#: The aggregates' "every segment" and "every channel" value (:data:`nps.scoring.aggregation.ALL`).
ALL = "*"
#: The longest target address followed (the survey definition allows 2,000 characters after ``https://``).
MAX_TARGET_LENGTH = 2048

#: A target's host as a page's Content-Security-Policy can name it (``form-action``): a DNS name in ASCII.
_HOST = re.compile(r"[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?")

ASKED = "asked"
CLICKED = "clicked"
JOINED = "joined"
JOINED_UNASKED = "joined_unasked"
#: The sort key of a contact's pointer to its latest ask (pk ``contact#<contact_id>``).
LATEST_ASK = "referral_asked"


def invite_partition(invite_id: str) -> str:
    """The accounts-table partition of an invite's referral markers: ``referral#<invite_id>``."""
    return f"referral#{invite_id}"


def contact_partition(contact_id: str) -> str:
    """The accounts-table partition of a contact's referral pointer: ``contact#<contact_id>``."""
    return f"contact#{contact_id}"


def clicked_marker(target: str) -> str:
    """The marker of the first click of ``target``: ``clicked#<target>``."""
    if target not in TARGETS:
        raise ValueError(f"the target is one of {', '.join(TARGETS)}")
    return f"{CLICKED}#{target}"


def target_url_problem(url: object) -> str | None:
    """Why ``url`` may not be a redirect target, or None when it may.

    A target is an absolute ``https`` address with a host, of printable ASCII without spaces, backslashes
    or quotes (so it cannot be read as another host, a scheme-relative ``//host`` or carry a header line),
    at most :data:`MAX_TARGET_LENGTH` characters. The survey definition is checked when it is saved; this
    check runs again on every redirect, so a definition written another way never opens a redirect."""
    if not isinstance(url, str) or not url:
        return "no address"
    if len(url) > MAX_TARGET_LENGTH:
        return "the address is too long"
    if not url.isascii() or any(c <= " " or c in '\\"<>`\x7f' for c in url):
        return "the address has characters an address cannot have"
    if not url.startswith("https://"):
        return "the address is not https"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "the address cannot be read"
    host = parts.hostname or ""
    if parts.scheme != "https" or not _HOST.fullmatch(host) or ".." in host or parts.username or parts.password:
        return "the address has no plain host name"
    if port == 0 or "@" in parts.netloc:
        return "the address has no plain host name"
    return None


def target_origin(url: str) -> str:
    """The origin (``https://host[:port]``) of a target that passed :func:`target_url_problem`: what the
    landing page's ``form-action`` allows, since a form's redirect must be allowed by it too."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"https://{host}" + (f":{parts.port}" if parts.port else "")


def safe_target(url: object) -> str | None:
    """``url`` when it may be a redirect target (:func:`target_url_problem`), else None."""
    return url if isinstance(url, str) and target_url_problem(url) is None else None


def target_urls(definition: Mapping[str, object]) -> dict[str, str | None]:
    """The referral and review addresses of a stored survey definition (JSON as ``nps survey put`` wrote
    it), each None when absent or not a safe target."""
    follow_ups = definition.get("follow_ups")
    promoter = follow_ups.get("promoter") if isinstance(follow_ups, Mapping) else None
    promoter = promoter if isinstance(promoter, Mapping) else {}
    return {target: safe_target(promoter.get(f"{target}_url")) for target in TARGETS}


@dataclass(frozen=True, slots=True)
class CounterKey:
    """One aggregate item a referral step counts in (the key and attributes of
    :class:`nps.scoring.aggregation.AggregateKey`)."""

    survey_id: str
    granularity: Granularity
    period: str
    segment: str = ALL
    channel: str = ALL

    @property
    def pk(self) -> str:
        """The aggregates table's partition key (``<survey>#<granularity>#<segment>#<channel>``)."""
        return f"{self.survey_id}#{self.granularity.value}#{self.segment}#{self.channel}"


def counter_keys(survey_id: str, first_answered_at: datetime, account_id: str | None = None) -> list[CounterKey]:
    """The aggregates a referral step of one answer adds to: the survey at every granularity in the period
    of ``first_answered_at`` (segment and channel ``*``), and the account's slice at month and quarter."""
    keys = [CounterKey(survey_id, g, period_key(g, first_answered_at)) for g in Granularity]
    if account_id is not None:
        label = account_label(account_id)
        keys.extend(
            CounterKey(survey_id, g, period_key(g, first_answered_at), label, ALL) for g in ACCOUNT_GRANULARITIES
        )
    return keys


#: The counter each recorded step adds to.
STEP_COUNTERS: dict[str, str] = {ASKED: REFERRAL_ASKED, CLICKED: REFERRAL_CLICKED, JOINED: REFERRAL_JOINED}


# -- KPIs ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ReferralCounts:
    """A cohort's referral counters: promoters asked, promoters who clicked a link, promoters who joined."""

    asked: int = 0
    clicked: int = 0
    joined: int = 0

    def __add__(self, other: ReferralCounts) -> ReferralCounts:
        return ReferralCounts(self.asked + other.asked, self.clicked + other.clicked, self.joined + other.joined)

    @classmethod
    def of(cls, counters: Mapping[str, object]) -> ReferralCounts:
        """From an aggregate item's counters (absent: 0)."""

        def count(name: str) -> int:
            try:
                return max(0, int(str(counters.get(name, 0))))
            except ValueError:
                return 0

        return cls(count(REFERRAL_ASKED), count(REFERRAL_CLICKED), count(REFERRAL_JOINED))


@dataclass(frozen=True, slots=True)
class ReferralRates:
    """A cohort's (one period's, or the range's) KPIs: participation = joined ÷ asked, click-through =
    clicked ÷ asked, each with its 95% Wilson interval in percent; ``capped`` is True when a numerator
    was above the promoters asked and was capped at it."""

    period: str | None
    counts: ReferralCounts
    participation: Proportion
    click_through: Proportion
    capped: bool


def rates(counts: ReferralCounts, period: str | None = None) -> ReferralRates:
    """The KPIs of one cohort (``period`` None: the range)."""
    joined = min(counts.joined, counts.asked)
    clicked = min(counts.clicked, counts.asked)
    return ReferralRates(
        period=period,
        counts=counts,
        participation=wilson(joined, counts.asked),
        click_through=wilson(clicked, counts.asked),
        capped=joined != counts.joined or clicked != counts.clicked,
    )


@dataclass(frozen=True, slots=True)
class ReferralKpis:
    """Per-period KPIs (in period order) and the range's (the sum of the periods' counters)."""

    periods: tuple[ReferralRates, ...]
    total: ReferralRates
    #: Joins without an ask on record in the range (counted apart, not in any rate).
    joined_unasked: int = 0


def referral_kpis(by_period: Iterable[tuple[str, ReferralCounts]], joined_unasked: int = 0) -> ReferralKpis:
    """The KPIs of each period's cohort (``(period key, counts)``, any order; repeated periods add up) and of
    the whole range."""
    merged: dict[str, ReferralCounts] = {}
    for period, counts in by_period:
        merged[period] = merged.get(period, ReferralCounts()) + counts
    periods = tuple(rates(merged[p], p) for p in sorted(merged))
    total = sum((merged[p] for p in merged), ReferralCounts())
    return ReferralKpis(periods=periods, total=rates(total), joined_unasked=max(0, joined_unasked))


def ready_rate(ready: Sequence[bool]) -> Proportion:
    """Referral-ready accounts ÷ accounts (each account's readiness from the account report), Wilson 95%."""
    return wilson(sum(1 for r in ready if r), len(ready))
