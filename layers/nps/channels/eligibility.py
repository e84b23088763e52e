"""Whether the web prompt shows, for one contact on one page (pure: values in, a decision out).

The rules, in the order they are checked (the first that applies is the reason given):

1. ``disabled``: the survey is inactive or its web prompt is off;
2. ``url``: the page path is outside ``url_include`` (when it has rules) or inside ``url_exclude``;
3. ``suppressed``: one of the contact's stored addresses is suppressed (unsubscribed, bounced,
   complained), looked up under the same keys as the planner's;
4. ``answered``: the contact answered this survey's web prompt in the current period (the web wave);
5. ``dismissed``: the contact closed the prompt less than ``dismissal_delay_days`` ago;
6. a prompt already shown in this period and not answered shows again (it was eligible when first shown
   and counts once), unless the contact was surveyed on another channel since it was shown (an email or
   SMS send, or an identified share-link answer: the contact's or the web state's ``last_surveyed_at``
   later than the show), which is ``fatigue``;
7. ``fatigue``: the contact was surveyed (an email, an SMS or a web prompt) inside the survey's
   fatigue window;
8. ``too_new``: first seen on the site less than ``min_days_since_first_seen`` days ago;
9. ``sampled_out``: outside the sample (a keyed hash of the contact id, so the answer is stable);
10. ``daily_cap``: the survey showed ``daily_cap`` prompts today (UTC) — checked by the write that
    shows the prompt, so concurrent requests cannot exceed it;
11. ``changed`` / ``busy``: the write that shows the prompt found the stored contact deleted since it was
    read, or could not be written for contention (:class:`nps.channels.adapters.store.ShowOutcome`).

The survey definition is read from its stored JSON (validated by :class:`nps.sending.surveys.Survey`
when it was saved) without pydantic, which keeps the web function's cold start low.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from nps.kernel.normalising import nfc
from nps.kernel.periods import Granularity, parse_timestamp, period_key
from nps.reasons.questions import FollowUpQuestions, stored_questions

if TYPE_CHECKING:
    from nps.accounts.membership import Membership

#: The web wave of a period is ``web-<period>``: one answer per contact per period of the survey's cadence.
WEB_WAVE_PREFIX = "web-"
_CADENCE_PERIOD = {"weekly": Granularity.WEEK, "monthly": Granularity.MONTH, "quarterly": Granularity.QUARTER}


class Reason(StrEnum):
    DISABLED = "disabled"
    SUPPRESSED = "suppressed"
    FATIGUE = "fatigue"
    ANSWERED = "answered"
    DISMISSED = "dismissed"
    TOO_NEW = "too_new"
    SAMPLED_OUT = "sampled_out"
    DAILY_CAP = "daily_cap"
    URL = "url"
    #: The stored contact was deleted (e.g. erased) while the request was decided: not shown.
    CHANGED = "changed"
    #: The show could not be written (write contention or throttling past retries): ask again later.
    BUSY = "busy"


@dataclass(frozen=True, slots=True)
class WebSurvey:
    """What the web channel needs of a survey definition (the stored JSON of
    :class:`nps.sending.surveys.Survey`)."""

    survey_id: str
    audience: str
    active: bool
    cadence: str
    fatigue_days: int
    default_locale: str
    locales: tuple[str, ...]
    brand_name: str
    brand_colour: str
    logo_url: str | None
    question: Mapping[str, str]
    follow_up_question: Mapping[str, str]
    segment_dimensions: tuple[str, ...]
    link_lifetime_days: int
    enabled: bool = False
    allowed_origins: frozenset[str] = frozenset()
    sample_percent: float = 100.0
    daily_cap: int | None = None
    min_days_since_first_seen: int = 0
    url_include: tuple[str, ...] = ()
    url_exclude: tuple[str, ...] = ()
    dismissal_delay_days: int = 30
    #: The stored ``reasons`` block (JSON as saved): what the prompt asks after the score.
    reasons: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_definition(cls, definition: str) -> WebSurvey:
        """From the stored definition JSON (``KeyError``/``ValueError`` when it is not one)."""
        data: dict[str, Any] = json.loads(definition)
        web: dict[str, Any] = data.get("web") or {}
        return cls(
            survey_id=data["survey_id"],
            audience=data.get("audience", "default"),
            active=bool(data.get("active", True)),
            cadence=data.get("cadence", "quarterly"),
            fatigue_days=int(data.get("fatigue_days", 90)),
            default_locale=data.get("default_locale", "en"),
            locales=tuple(data.get("locales") or ("en",)),
            brand_name=data["brand_name"],
            brand_colour=data.get("brand_colour", "#1d4ed8"),
            logo_url=data.get("logo_url"),
            question=dict(data.get("question") or {}),
            follow_up_question=dict(data.get("follow_up_question") or {}),
            segment_dimensions=tuple(data.get("segment_dimensions") or ()),
            link_lifetime_days=int(data.get("link_lifetime_days", 30)),
            enabled=bool(web.get("enabled", False)),
            allowed_origins=frozenset(web.get("allowed_origins") or ()),
            sample_percent=float(web.get("sample_percent", 100)),
            daily_cap=web.get("daily_cap"),
            min_days_since_first_seen=int(web.get("min_days_since_first_seen", 0)),
            url_include=tuple(web.get("url_include") or ()),
            url_exclude=tuple(web.get("url_exclude") or ()),
            dismissal_delay_days=int(web.get("dismissal_delay_days", 30)),
            reasons=data.get("reasons") or {},
        )

    def follow_up_questions(self, locale: str) -> FollowUpQuestions | None:
        """The survey's follow-up questions (driver, CSAT, CES) in ``locale``, as every channel asks them
        (:func:`nps.reasons.questions.stored_questions`); None when the survey asks none."""
        return stored_questions(self.reasons, locale, self.brand_name)

    def locale_for(self, *candidates: str | None) -> str:
        """The first candidate the survey offers (``de-AT`` → ``de``), else the survey's default."""
        for candidate in candidates:
            if candidate:
                tag = candidate.replace("_", "-").lower()
                for option in (tag, tag.split("-")[0]):
                    if option in self.locales:
                        return option
        return self.default_locale

    def segments_of(self, attributes: Mapping[str, str]) -> dict[str, str]:
        """The values of the survey's segment dimensions among ``attributes``, in Unicode NFC (as the email
        path copies them) so values that look the same aggregate as one."""
        return {d: nfc(attributes[d]) for d in self.segment_dimensions if attributes.get(d)}

    def web_wave_id(self, now: datetime) -> str:
        """``web-2026-Q4`` (quarterly, or no cadence), ``web-2026-11`` (monthly), ``web-2026-W48`` (weekly)."""
        return WEB_WAVE_PREFIX + period_key(_CADENCE_PERIOD.get(self.cadence, Granularity.QUARTER), now)


@dataclass(frozen=True, slots=True)
class StoredContact:
    """The contact as stored in the contacts table (addresses are PII: never logged or returned)."""

    last_surveyed_at: str | None = None
    locale: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)
    email: str | None = field(default=None, repr=False)
    phone: str | None = field(default=None, repr=False)
    #: The contact's account (imported with ``account_id``): its web answers count for the account too.
    account: Membership | None = None

    def addresses(self) -> list[tuple[str, str]]:
        return [(channel, value) for channel, value in (("email", self.email), ("sms", self.phone)) if value]


@dataclass(frozen=True, slots=True)
class WebState:
    """What the web channel remembers of a contact for a survey (across periods)."""

    first_seen_at: str | None = None
    dismissed_at: str | None = None
    #: When a web prompt was last shown: the fatigue window of contacts the contacts table does not hold.
    last_surveyed_at: str | None = None


@dataclass(frozen=True, slots=True)
class PeriodInvite:
    """The contact's web invite of the current period, if the prompt was shown in it."""

    invite_id: str
    status: str  # shown | answered | dismissed
    #: When the prompt was first shown (ISO-8601 UTC); None on invites stored without it.
    sent_at: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """Show the prompt (``reason`` None), or not and why; ``reshow`` when the period's invite exists."""

    reason: Reason | None
    reshow: bool = False

    @property
    def show(self) -> bool:
        return self.reason is None


#: RFC 3986 section 2.3: percent-encodings of these are decoded before matching (section 6.2.2.2).
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_RULE_HOST = re.compile(r"([A-Za-z0-9.-]+)(?::([0-9]{1,5}))?")
_GLOB = re.compile(r"(\*\*|\*|\?)")
_GLOB_REGEX = {"**": ".*", "*": "[^/]*", "?": "[^/]"}


def normalise_path(path: str) -> str:
    """A URL path in the normal form URL rules compare (RFC 3986 section 6.2.2): backslashes read as
    slashes (as browsers read them in http(s) URLs), percent-encoded unreserved characters decoded
    (``%61pp`` → ``app``), other percent-encodings in upper case (``%2f`` → ``%2F``, still not a
    separator), each segment's parameters dropped (``;`` and what follows it in the segment, section 3.3:
    ``/checkout;jsessionid=1`` → ``/checkout``, as servlet containers route it; ``%3B`` stays), empty
    segments collapsed (``/app//checkout`` → ``/app/checkout``, as most servers route it), dot-segments
    removed (``/app/../admin`` → ``/admin``, section 5.2.4); a trailing slash kept; never empty. Rules and
    page paths both go through it, so a page cannot step out of an exclude rule by these spellings."""
    path = path.replace("\\", "/")

    def decode(match: re.Match[str]) -> str:
        character = chr(int(match.group(1), 16))
        return character if character in _UNRESERVED else "%" + match.group(1).upper()

    path = _PERCENT.sub(decode, path)
    raw = path.split("/")[1:] if path.startswith("/") else path.split("/")
    segments = [segment.partition(";")[0] for segment in raw]
    kept: list[str] = []
    for segment in segments:
        if segment == "..":
            if kept:
                kept.pop()
        elif segment not in (".", ""):
            kept.append(segment)
    if not kept:
        return "/"
    trailing = "/" if segments and segments[-1] in (".", "..", "") else ""
    return "/" + "/".join(kept) + trailing


@dataclass(frozen=True, slots=True)
class UrlRule:
    """One ``url_include``/``url_exclude`` rule, parsed (the grammar: docs/web-channel.md#url-rules)."""

    host: str | None
    port: int | None
    pattern: re.Pattern[str]

    def matches(self, host: str | None, port: int | None, path: str) -> bool:
        """Whether a page at ``host``/``port`` with the normalised ``path`` is under this rule."""
        if self.host is not None and (host is None or host.lower() != self.host):
            return False
        if self.port is not None and port != self.port:
            return False
        return self.pattern.fullmatch(path) is not None


@lru_cache(maxsize=1024)
def parse_url_rule(rule: str) -> UrlRule | None:
    """``[host[:port]]/path``: a path without ``*``/``?`` matches that path and every path below it,
    segment by segment (``/app`` matches ``/app``, ``/app/`` and ``/app/x``, never ``/apple``; a trailing
    slash is ignored); a path with them is a glob on the whole path (``*``: any characters but ``/``,
    ``**``: any characters, ``?``: one character but ``/``; an optional trailing slash). The path is
    compared case-sensitively after :func:`normalise_path`; the host case-insensitively. None for a rule
    that is not of this grammar (it matches nothing)."""
    host_part, slash, rest = rule.partition("/")
    if not slash:
        return None
    host = port = None
    if host_part:
        match = _RULE_HOST.fullmatch(host_part)
        if match is None:
            return None
        host, port = match.group(1).lower(), int(match.group(2)) if match.group(2) else None
    path = normalise_path("/" + rest)
    if _GLOB.search(path):
        regex = "".join(_GLOB_REGEX.get(part, re.escape(part)) for part in _GLOB.split(path.rstrip("/") or "/"))
        return UrlRule(host, port, re.compile(regex + "/?", re.DOTALL))
    prefix = path.rstrip("/")
    return UrlRule(host, port, re.compile(re.escape(prefix) + "(?:/.*)?", re.DOTALL))


def url_allowed(survey: WebSurvey, url: str | None) -> bool:
    """Whether the page at ``url`` may show the prompt under the survey's URL rules
    (:func:`parse_url_rule`; the query and fragment are never part of the match). Include rules (when
    there are any) must match, no exclude rule may. Without a URL, only a survey with no include rules
    shows; a URL that does not parse matches no rule."""
    if url is None:
        return not survey.url_include
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        parts, host, port = None, None, None
    path = normalise_path(parts.path if parts is not None else "")

    def matches(rule: str) -> bool:
        parsed = parse_url_rule(rule)
        return parsed is not None and parts is not None and parsed.matches(host, port, path)

    if survey.url_include and not any(matches(rule) for rule in survey.url_include):
        return False
    return not any(matches(rule) for rule in survey.url_exclude)


def sampled_in(sample_percent: float, sample_hash: str) -> bool:
    """Whether a contact whose keyed hash (hex) is ``sample_hash`` falls in a ``sample_percent`` sample:
    the first 8 hex digits as a fraction of 2³² below the percentage."""
    if sample_percent >= 100:
        return True
    return int(sample_hash[:8], 16) < sample_percent / 100 * 2**32


def _within(at: str | None, days: int, now: datetime) -> bool:
    if not at or days <= 0:
        return False
    try:
        return now - parse_timestamp(at) < timedelta(days=days)
    except ValueError:
        return False


def _surveyed_elsewhere_since(
    contact: StoredContact | None, state: WebState, invite: PeriodInvite, fatigue_days: int, now: datetime
) -> bool:
    """Whether the contact was surveyed on another channel after this period's prompt was shown: an email or
    SMS send sets the stored contact's ``last_surveyed_at``, and an identified share-link answer sets it and
    the web state's (the only record of a contact the contacts table does not hold), later than the show.
    The shared fatigue window then holds. The show itself writes the web state's ``last_surveyed_at`` equal
    to the invite's ``sent_at``, so only a later time counts."""
    if invite.sent_at is None:
        return False
    for surveyed in (contact.last_surveyed_at if contact else None, state.last_surveyed_at):
        if surveyed is None or not _within(surveyed, fatigue_days, now):
            continue
        try:
            if parse_timestamp(surveyed) > parse_timestamp(invite.sent_at):
                return True
        except ValueError:
            continue
    return False


def decide(
    survey: WebSurvey,
    *,
    url: str | None,
    now: datetime,
    contact: StoredContact | None,
    suppressed: bool,
    state: WebState | None,
    period_invite: PeriodInvite | None,
    sample_hash: str,
) -> Decision:
    """Whether to show the prompt (the rules and their order: this module's docstring). The daily cap is
    not decided here: the write that shows the prompt enforces it."""
    if not survey.active or not survey.enabled:
        return Decision(Reason.DISABLED)
    if not url_allowed(survey, url):
        return Decision(Reason.URL)
    if suppressed:
        return Decision(Reason.SUPPRESSED)
    state = state or WebState()
    if period_invite is not None and period_invite.status == "answered":
        return Decision(Reason.ANSWERED)
    if _within(state.dismissed_at, survey.dismissal_delay_days, now):
        return Decision(Reason.DISMISSED)
    if period_invite is not None:
        if _surveyed_elsewhere_since(contact, state, period_invite, survey.fatigue_days, now):
            return Decision(Reason.FATIGUE)
        return Decision(None, reshow=True)
    if _within(contact.last_surveyed_at if contact else None, survey.fatigue_days, now) or _within(
        state.last_surveyed_at, survey.fatigue_days, now
    ):
        return Decision(Reason.FATIGUE)
    first_seen = state.first_seen_at
    if survey.min_days_since_first_seen > 0 and (
        first_seen is None or _within(first_seen, survey.min_days_since_first_seen, now)
    ):
        return Decision(Reason.TOO_NEW)
    if not sampled_in(survey.sample_percent, sample_hash):
        return Decision(Reason.SAMPLED_OUT)
    return Decision(None)
