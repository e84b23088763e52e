"""Survey definitions: what to ask, in whose name, to whom, how often, and when to hold or remind.

Validated with pydantic once when a survey is saved; the planner and the deliver function read the
stored JSON back through the same model, so a malformed definition never reaches a send.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import time
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from nps.accounts.membership import ACCOUNT_DIMENSION
from nps.events.fields import Id, SendChannel
from nps.kernel.branding import MAX_URL, PageBrand, logo_url_problem, website_url_problem
from nps.kernel.locales import offered_locale, supported_locales
from nps.kernel.normalising import BIDI_CONTROLS, segment_values
from nps.reasons.definition import Reasons
from nps.reasons.scales import RESERVED_DIMENSIONS
from nps.sending.addresses import EMAIL_RE, is_email
from nps.sending.digest_timing import DigestFrequency as DigestFrequency  # re-exported: the model's field types
from nps.sending.digest_timing import DigestTiming
from nps.sending.digest_timing import Weekday as Weekday
from nps.sending.time_zones import check_time_zone

if TYPE_CHECKING:
    from nps.reasons.questions import FollowUpQuestions

#: Dimensions whose slices the platform writes itself: the driver, the themes and the account.
_RESERVED = RESERVED_DIMENSIONS | {ACCOUNT_DIMENSION}
MAX_SEGMENT_DIMENSIONS = 8  # keeps the send transaction (invite + counters) far below 100 items
_COLOUR_RE = r"^#[0-9a-fA-F]{6}$"
Dimension = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]

#: Validation context for definitions read back from the surveys table (see :data:`STORED`).
STORED: dict[str, Any] = {"stored": True}
#: The longest subject a survey may set (characters): past ~80 clients cut it anyway, and RFC 5322
#: lines stay far below 998 octets once the subject is folded.
MAX_SUBJECT_LENGTH = 150
# Unicode categories that must never reach a mail header: controls (Cc: CR, LF, TAB, NUL, NEL U+0085
# ...), line and paragraph separators (Zl U+2028, Zp U+2029) and lone surrogates (Cs, not encodable).
_NOT_IN_HEADERS = frozenset({"Cc", "Cs", "Zl", "Zp"})


#: An RFC 2047 encoded word: mail readers decode it, so ``=?utf-8?q?Hi=0D=0ABcc:...?=`` written by a person
#: would become a line break (and a header) when the message is parsed.
_ENCODED_WORD = re.compile(r"=\?[^?]*\?[bBqQ]\?[^?]*\?=")


def forbidden_header_character(text: str) -> str | None:
    """The first character of ``text`` that may not appear in a mail header, described for people
    (``"U+000A at position 11"``, counting from 1), or None when every character may.

    Refused: control, surrogate and line/paragraph-separator characters, bidirectional controls, and
    RFC 2047 encoded-word syntax (``=?charset?q?...?=``), which readers would decode into other text."""
    for index, character in enumerate(text):
        if unicodedata.category(character) in _NOT_IN_HEADERS or character in BIDI_CONTROLS:
            return f"U+{ord(character):04X} at position {index + 1}"
    encoded = _ENCODED_WORD.search(text)
    if encoded is not None:
        return f"an encoded word (=?…?=) at position {encoded.start() + 1}"
    return None


def _header_text(value: str, info: ValidationInfo) -> str:
    """Refuse a header field value with a control or line-separator character (header injection:
    ``"Acme\\r\\nBcc: x@example.com"``). A definition stored before this rule has each run of such
    characters read back as one space, so a wave never fails on it."""
    # Other spaces (NBSP, thin space...) become ordinary ones: mail folding treats them as fold points.
    value = "".join(" " if unicodedata.category(c) == "Zs" else c for c in value)
    found = forbidden_header_character(value)
    if found is None:
        if value and not value.strip():
            raise ValueError("must not be blank")
        return value
    if info.context and info.context.get("stored"):
        return re.sub(r"\s+", " ", "".join(" " if forbidden_header_character(c) else c for c in value)).strip()
    raise ValueError(
        f"must be one line without control, line-separator or bidirectional characters or encoded words (found {found})"
    )


#: Header field values (one line, see :func:`_header_text`): a subject, a brand name, a sender name.
Subject = Annotated[str, StringConstraints(min_length=1, max_length=MAX_SUBJECT_LENGTH), AfterValidator(_header_text)]
BrandName = Annotated[str, StringConstraints(min_length=1, max_length=80), AfterValidator(_header_text)]
SenderName = Annotated[str, StringConstraints(max_length=80), AfterValidator(_header_text)]


def _sms_template(value: str) -> str:
    """A custom SMS text: ``{link}`` exactly once (the one signed link), no control characters but
    line feeds."""
    if value.count("{link}") != 1:
        raise ValueError("must contain {link} exactly once (where the signed score link goes)")
    found = forbidden_header_character(value.replace("\n", " "))
    if found is not None:
        raise ValueError(f"must not contain control or separator characters other than line feeds (found {found})")
    return value


#: An SMS text with ``{brand}`` and ``{link}`` placeholders (segments: :mod:`nps.sending.sms`).
SmsTemplate = Annotated[str, StringConstraints(min_length=1, max_length=1000), AfterValidator(_sms_template)]


class Cadence(StrEnum):
    """How often a survey starts a wave (relationship NPS); ``none`` means event-triggered only."""

    NONE = "none"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


# Scheduler cron expressions (minute hour day-of-month month day-of-week year), 09:00 UTC; the planner
# then holds each send until the contact's own local daytime.
_CRON: dict[Cadence, str] = {
    Cadence.WEEKLY: "cron(0 9 ? * TUE *)",
    Cadence.MONTHLY: "cron(0 9 1 * ? *)",
    Cadence.QUARTERLY: "cron(0 9 1 1,4,7,10 ? *)",
}


class Trigger(BaseModel):
    """A business event that starts a transactional invite for the contact it names."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    source: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    detail_type: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    contact_id_field: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$")] = "contact_id"
    delay_minutes: Annotated[int, Field(ge=0, le=60 * 24 * 14)] = 60

    def contact_id(self, detail: object) -> str | None:
        """The contact id at ``contact_id_field`` (a dotted path) in an event's detail, if present."""
        value: object = detail
        for part in self.contact_id_field.split("."):
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value if isinstance(value, str) and value else None


class QuietHours(BaseModel):
    """Local hours in which nothing is sent (default 20:00–09:00: sends land in the recipient's day)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    start: time = time(20, 0)
    end: time = time(9, 0)

    @field_validator("start", "end")
    @classmethod
    def _wall_clock(cls, value: time, info: ValidationInfo) -> time:
        """Quiet hours are each contact's local wall-clock time, so an offset (``20:00+01:00``, ``Z``)
        has no meaning: refused when saved; a definition stored before this rule drops it."""
        if value.tzinfo is None:
            return value
        if info.context and info.context.get("stored"):
            return value.replace(tzinfo=None)
        raise ValueError(
            f'write a local time without an offset, e.g. "{value.replace(tzinfo=None).isoformat("minutes")}": '
            "quiet hours apply in each contact's own time zone"
        )

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("quiet hours must start and end at different times")
        return self


LocaleText = dict[str, Annotated[str, StringConstraints(min_length=1, max_length=2000)]]
#: A subject by locale: one header line, at most :data:`MAX_SUBJECT_LENGTH` characters.
LocaleSubject = dict[str, Subject]
#: Invisible or controlling characters a link must not carry (control, format — bidirectional overrides, zero
#: widths —, surrogates, line separators): they would reach a terminal (``nps digest preview --text``) or
#: disguise where the link goes.
_NOT_IN_URLS = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _url_text(value: str, info: ValidationInfo) -> str:
    """Refuse a link holding a control, format or separator character; a definition stored before this
    rule reads back with them left out."""
    for index, character in enumerate(value):
        if unicodedata.category(character) in _NOT_IN_URLS:
            if info.context and info.context.get("stored"):
                return "".join(c for c in value if unicodedata.category(c) not in _NOT_IN_URLS)
            raise ValueError(
                f"must not contain control, format or separator characters (found U+{ord(character):04X}"
                f" at position {index + 1})"
            )
    return value


HttpsUrl = Annotated[str, StringConstraints(pattern=r"^https://[^\s<>\"]{3,2000}$"), AfterValidator(_url_text)]


def _checked(problem: Callable[[str], str | None]) -> Callable[[str], str]:
    def check(value: str) -> str:
        found = problem(value)
        if found is not None:
            raise ValueError(found)
        return value

    return check


#: The brand's logo on the response pages (see :func:`nps.kernel.branding.logo_url_problem`).
LogoUrl = Annotated[str, StringConstraints(max_length=MAX_URL), AfterValidator(_checked(logo_url_problem))]
#: The brand's own site, offered on the pages' end states (see :func:`nps.kernel.branding.website_url_problem`).
WebsiteUrl = Annotated[str, StringConstraints(max_length=MAX_URL), AfterValidator(_checked(website_url_problem))]


class FollowUpEmail(BaseModel):
    """One category's follow-up email: on/off, when, and per-locale text replacing the catalog's."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    enabled: bool = True
    #: Send the email; when False the workflow still runs (alert, task, re-survey) without it.
    email: bool = True
    #: Minutes after the answer (then held to the contact's local daytime, as invites are).
    email_delay_minutes: Annotated[int, Field(ge=0, le=60 * 24 * 30)] = 60
    #: Subject and body by locale (body: plain text, paragraphs separated by a blank line; escaped).
    subject: LocaleSubject = Field(default_factory=dict)
    body: LocaleText = Field(default_factory=dict)


class DetractorFollowUp(FollowUpEmail):
    """Detractors: alert the team, open a task, apologise, wait for resolution, then re-survey."""

    email_delay_minutes: Annotated[int, Field(ge=0, le=60 * 24 * 30)] = 0
    #: Publish an alert to the team's SNS topic (and the webhook, when one is configured).
    alert: bool = True
    #: How long the workflow waits for the team to resolve the task before re-surveying anyway.
    resolve_within_days: Annotated[int, Field(ge=1, le=90)] = 7
    #: Send a new invite after resolution (or the timeout) and report whether the contact moved.
    resurvey: bool = True
    resurvey_after_days: Annotated[int, Field(ge=0, le=90)] = 14


class PromoterFollowUp(FollowUpEmail):
    """Promoters: thank you, with a referral and/or review request."""

    referral_url: HttpsUrl | None = None
    review_url: HttpsUrl | None = None


class FollowUps(BaseModel):
    """Per-category follow-up settings of a survey (every category on by default)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    detractor: DetractorFollowUp = Field(default_factory=DetractorFollowUp)
    passive: FollowUpEmail = Field(default_factory=FollowUpEmail)
    promoter: PromoterFollowUp = Field(default_factory=PromoterFollowUp)

    def for_category(self, category: str) -> FollowUpEmail:
        settings: FollowUpEmail = getattr(self, category)
        return settings


#: The most origins one survey's web prompt may be embedded on (each is checked on every request).
MAX_WEB_ORIGINS = 20
#: Origins allowed over plain http, for development on one's own machine.
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")
_ORIGIN_RE = re.compile(r"^(https|http)://([a-z0-9.-]+|\[::1\])(:[0-9]{1,5})?$")
#: A URL rule: ``[host[:port]]/path`` (the grammar: docs/web-channel.md#url-rules), printable ASCII.
_URL_RULE_RE = re.compile(r"^([A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?)?/[!-~]{0,199}$")
#: A ``.`` or ``..`` segment, also percent-encoded: a rule means the path it names, never a relative one.
_DOT_SEGMENT_RE = re.compile(r"(^|/)(\.|%2e){1,2}(/|$)", re.IGNORECASE)


def _origin(value: str) -> str:
    """A web origin as browsers send it (``https://app.example.com``, optional port; no path, no slash):
    https only, except ``http://localhost``/``127.0.0.1``/``[::1]`` for development. Compared exactly."""
    match = _ORIGIN_RE.fullmatch(value)
    if match is None or value != value.lower():
        raise ValueError(
            f"{value!r} is not an origin: write scheme and host (and port), lower case, no path, "
            'e.g. "https://app.example.com"'
        )
    if match.group(1) == "http" and match.group(2) not in _LOCAL_HOSTS:
        raise ValueError(f"{value!r}: origins must use https (plain http only for localhost)")
    if match.group(3) and not 0 < int(match.group(3)[1:]) < 65536:
        raise ValueError(f"{value!r}: the port must be 1-65535")
    if match.group(3) == {"https": ":443", "http": ":80"}[match.group(1)]:
        # Browsers leave the scheme's own port out of Origin: this entry could never match.
        raise ValueError(
            f"{value!r}: leave out the default port, as browsers do: {value.removesuffix(match.group(3))!r}"
        )
    return value


Origin = Annotated[str, StringConstraints(max_length=260), AfterValidator(_origin)]


#: A page-path rule: a path prefix (``/app/``) or, with ``*`` or ``?``, a glob on the whole path (``/app/*/settings``).
def _url_rule(value: str) -> str:
    if _DOT_SEGMENT_RE.search("/" + value.partition("/")[2]):
        raise ValueError("a URL rule may not have '.' or '..' segments")
    host, _, port = value.partition("/")[0].partition(":")
    if port and not 0 < int(port) < 65536:
        raise ValueError(f"{value!r}: the port must be 1-65535")
    if port in ("443", "80"):
        # Browsers leave the scheme's own port out of the page URL: this rule could never match.
        raise ValueError(
            f"{value!r}: leave out the default port, as browsers do: {host + '/' + value.partition('/')[2]!r}"
        )
    return value


UrlRule = Annotated[str, StringConstraints(pattern=_URL_RULE_RE.pattern), AfterValidator(_url_rule)]


class WebSettings(BaseModel):
    """The in-app / website prompt of a survey: where it may run, and who is asked how often.

    Eligibility (``nps.channels.eligibility``) reads the stored JSON of this block without pydantic.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    enabled: bool = False
    #: Origins of the pages that embed the prompt (CORS allow-list, exact match).
    allowed_origins: Annotated[list[Origin], Field(max_length=MAX_WEB_ORIGINS)] = Field(default_factory=list)
    #: Share of eligible people who are asked, decided by a keyed hash of the contact id (the same person
    #: always gets the same answer for a survey).
    sample_percent: Annotated[float, Field(ge=0, le=100)] = 100
    #: The most prompts shown per UTC day for this survey (None: no cap).
    daily_cap: Annotated[int, Field(ge=1, le=10_000_000)] | None = None
    #: Days between the first time the contact is identified on the site and the first prompt.
    min_days_since_first_seen: Annotated[int, Field(ge=0, le=365)] = 0
    #: Page paths where the prompt may show (empty: every page) and where it never shows.
    url_include: Annotated[list[UrlRule], Field(max_length=50)] = Field(default_factory=list)
    url_exclude: Annotated[list[UrlRule], Field(max_length=50)] = Field(default_factory=list)
    #: Days before a person who closed the prompt is asked again.
    dismissal_delay_days: Annotated[int, Field(ge=0, le=365)] = 30

    @field_validator("allowed_origins")
    @classmethod
    def _distinct_origins(cls, origins: list[str]) -> list[str]:
        if len(set(origins)) != len(origins):
            raise ValueError("each origin may be listed once")
        return origins

    @model_validator(mode="after")
    def _origins_when_enabled(self) -> WebSettings:
        if self.enabled and not self.allowed_origins:
            raise ValueError("an enabled web prompt needs at least one allowed origin")
        return self


class ShareLinkMode(StrEnum):
    """Who answers through a survey's shareable link (``/s/{survey_id}``)."""

    #: Anyone with the link (a receipt, a kiosk, a support signature): no contact, nothing about the person.
    ANONYMOUS = "anonymous"
    #: Only with a contact token in the link (``?t=``), signed by the team with the survey's site secret.
    IDENTIFIED = "identified"


#: The longest lifetime an identified share link's contact token may have (printed links live long).
MAX_SHARE_LINK_DAYS = 90


class ShareLink(BaseModel):
    """A survey's shareable link and QR code (``/s/{survey_id}``, docs/share-link.md).

    Anonymous answers are recorded with channel ``link_anonymous`` and kept out of the survey-wide
    (headline) figures unless ``count_in_nps``; identified answers use channel ``link`` and count like
    any other channel. One browser (anonymous) or one contact (identified) has at most one answer per
    fatigue window: a second answer edits the first within the edit window, never adds one.
    The share pages read the stored JSON of this block without pydantic (``nps.channels.share_links``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    enabled: bool = False
    mode: ShareLinkMode = ShareLinkMode.ANONYMOUS
    #: Anonymous answers count in the survey's headline NPS too (identified ones always do).
    count_in_nps: bool = False
    #: The longest lifetime accepted for an identified link's contact token (printed links), in days.
    identified_max_days: Annotated[int, Field(ge=1, le=MAX_SHARE_LINK_DAYS)] = 30

    @property
    def channel(self) -> str:
        """The response channel of this link's answers."""
        return "link" if self.mode is ShareLinkMode.IDENTIFIED else "link_anonymous"

    @property
    def in_headline(self) -> bool:
        """Whether this link's answers count in the survey-wide figures."""
        return self.mode is ShareLinkMode.IDENTIFIED or self.count_in_nps


_TIMING = DigestTiming()
#: The most people one survey's digest goes to (each is one message: SES answers per recipient).
MAX_DIGEST_RECIPIENTS = 20


def _recipient(value: str) -> str:
    """A team address: an email address like the survey's sender (ASCII, no display name), stored in lower
    case so one person is listed (and mailed) once. The error never repeats the address (personal data)."""
    text = value.strip()
    if not is_email(text):
        raise ValueError("each recipient must be one email address (ASCII, no name, e.g. team@example.com)")
    return text.lower()


DigestRecipient = Annotated[str, StringConstraints(max_length=254), AfterValidator(_recipient)]


class DigestSettings(BaseModel):
    """The team's digest of a survey (docs/digest.md): how often, when (local hour in ``time_zone``), to whom.

    Daily: sent every day at ``hour`` local time, covering the day before (UTC days, as the aggregates are
    kept). Weekly: sent on ``weekday`` at ``hour``, covering the seven days before. ``report_url`` (https),
    when set, is linked from the digest; the HTML report is attached in any case when it fits.
    Recipients are personal data: never logged, never in events (outcomes count them).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    # The timing's defaults are the light reader's (:class:`~nps.sending.digest_timing.DigestTiming`).
    enabled: bool = _TIMING.enabled
    frequency: DigestFrequency = _TIMING.frequency
    #: The local day of a weekly digest (ignored by a daily one).
    weekday: Weekday = _TIMING.weekday
    #: The local hour (0–23) the digest is sent at: a JSON whole number (``true`` is not 1, ``"8"`` not 8).
    hour: Annotated[int, Field(ge=0, le=23, strict=True)] = _TIMING.hour
    #: An IANA time zone with a region (``Europe/Berlin``) or ``UTC`` (:mod:`nps.sending.time_zones`).
    time_zone: Annotated[str, StringConstraints(min_length=1, max_length=64)] = _TIMING.time_zone
    recipients: Annotated[list[DigestRecipient], Field(min_length=1, max_length=MAX_DIGEST_RECIPIENTS)]
    #: Where the team reads the full HTML report (linked from the digest), if it is hosted somewhere.
    report_url: HttpsUrl | None = None
    #: The digest's language (one of the catalog's locales; English by default).
    locale: str = "en"

    @field_validator("time_zone")
    @classmethod
    def _place(cls, value: str) -> str:
        return check_time_zone(value)

    @field_validator("recipients")
    @classmethod
    def _distinct_recipients(cls, recipients: list[str]) -> list[str]:
        if len(set(recipients)) != len(recipients):
            raise ValueError("each recipient may be listed once (addresses compare without case)")
        return recipients


class Survey(BaseModel):
    """A survey definition, as stored in the surveys table and given to the CLI as JSON."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    survey_id: Id
    #: Shown in report headlines, page titles and `nps survey list`: one line, like the brand name.
    name: Annotated[str, StringConstraints(min_length=1, max_length=120), AfterValidator(_header_text)]
    #: Question wording by locale; a locale without one uses the catalog's standard NPS question.
    question: dict[str, Annotated[str, StringConstraints(min_length=1, max_length=300)]] = Field(default_factory=dict)
    #: The "why?" question on the thank-you page, by locale (the catalog's when absent).
    follow_up_question: dict[str, Annotated[str, StringConstraints(min_length=1, max_length=300)]] = Field(
        default_factory=dict
    )
    brand_name: BrandName
    brand_colour: Annotated[str, StringConstraints(pattern=_COLOUR_RE)] = "#1d4ed8"
    #: The brand's logo on the response pages: an https address of one image file, no query.
    logo_url: LogoUrl | None = None
    #: The brand's site (or contact page), offered when a response page has nothing more to ask.
    website_url: WebsiteUrl | None = None
    sender: Annotated[str, StringConstraints(min_length=3, max_length=254)]
    sender_name: SenderName | None = None
    channels: Annotated[list[SendChannel], Field(min_length=1, max_length=2)]
    default_locale: str = "en"
    locales: list[str] = Field(default_factory=lambda: ["en"])
    audience: Id = "default"
    cadence: Cadence = Cadence.QUARTERLY
    fatigue_days: Annotated[int, Field(ge=0, le=365)] = 90
    reminder_days: Annotated[int, Field(ge=1, le=30)] | None = 3
    link_lifetime_days: Annotated[int, Field(ge=1, le=365)] = 30
    segment_dimensions: Annotated[list[Dimension], Field(max_length=MAX_SEGMENT_DIMENSIONS)] = Field(
        default_factory=list
    )
    quiet_hours: QuietHours = Field(default_factory=QuietHours)
    #: The invite's and the reminder's SMS text by locale, replacing the catalog's (``nps survey put``
    #: shows how many segments each one takes).
    sms_text: dict[str, SmsTemplate] = Field(default_factory=dict)
    sms_reminder_text: dict[str, SmsTemplate] = Field(default_factory=dict)
    triggers: Annotated[list[Trigger], Field(max_length=10)] = Field(default_factory=list)
    follow_ups: FollowUps = Field(default_factory=FollowUps)
    #: The in-app / website prompt (docs/web-channel.md); off unless enabled.
    web: WebSettings = Field(default_factory=lambda: WebSettings())
    #: The shareable link and QR code (docs/share-link.md); off unless enabled.
    share_link: ShareLink = Field(default_factory=ShareLink)
    #: The questions after the score (driver, CSAT, CES) and the comment themes (nps.reasons.definition);
    #: asks nothing more unless set.
    reasons: Reasons = Field(default_factory=Reasons)
    #: The team's scheduled digest email (docs/digest.md); none unless set.
    digest: DigestSettings | None = None
    active: bool = True

    @field_validator("channels")
    @classmethod
    def _distinct_channels(cls, channels: list[SendChannel]) -> list[SendChannel]:
        if len(set(channels)) != len(channels):
            raise ValueError("each channel may be listed once")
        return channels

    @field_validator("sender")
    @classmethod
    def _sender_is_an_address(cls, sender: str) -> str:
        if not EMAIL_RE.fullmatch(sender):
            raise ValueError("the sender must be an email address (the SES identity's domain or address)")
        return sender

    @field_validator("segment_dimensions")
    @classmethod
    def _distinct_dimensions(cls, dimensions: list[str], info: ValidationInfo) -> list[str]:
        if len(set(dimensions)) != len(dimensions):
            raise ValueError("each segment dimension may be listed once")
        reserved = sorted(_RESERVED.intersection(dimensions))
        if reserved and info.context and info.context.get("stored"):
            # A definition stored before the rule still reads (a wave must not fail on it), without the
            # reserved dimension: its slices would count into the drivers', themes' or accounts' ones.
            return [dimension for dimension in dimensions if dimension not in _RESERVED]
        if ACCOUNT_DIMENSION in reserved:
            raise ValueError(
                f"{ACCOUNT_DIMENSION} cannot be a segment dimension: every answer of a contact with an account"
                " is already counted per account (docs/accounts.md)"
            )
        if reserved:
            raise ValueError(
                f"{', '.join(reserved)} cannot be a segment dimension: the driver report uses"
                f" {' and '.join(sorted(RESERVED_DIMENSIONS))} for the chosen driver and the comment themes"
            )
        return dimensions

    @model_validator(mode="after")
    def _known_locales(self) -> Survey:
        supported = supported_locales()
        texts = [self.follow_ups.for_category(c) for c in ("detractor", "passive", "promoter")]
        written = {locale for text in texts for locale in (*text.subject, *text.body)}
        unknown = sorted(
            {*self.locales, self.default_locale, *self.question, *self.follow_up_question, *written}.union(
                self.sms_text, self.sms_reminder_text, self.reasons.text_locales()
            ).difference(supported)
            | ({self.digest.locale} - supported if self.digest is not None else set())
        )
        if unknown:
            raise ValueError(f"unsupported locale(s) {', '.join(unknown)}; supported: {sorted(supported)}")
        if self.default_locale not in self.locales:
            raise ValueError("default_locale must be one of locales")
        missing = self.reasons.locale_problems(self.locales)
        if missing:
            raise ValueError(f"reasons: {'; '.join(missing)}")
        return self

    @property
    def schedule_expression(self) -> str | None:
        """The EventBridge Scheduler expression that starts this survey's waves (None: events only)."""
        return _CRON.get(self.cadence)

    def locale_for(self, contact_locale: str | None) -> str:
        """The contact's locale when the survey offers it (``de-AT`` → ``de``), else the survey default."""
        return offered_locale(self.locales, self.default_locale, contact_locale)

    def page_brand(self, locale: str) -> PageBrand:
        """What the response pages of an invite in ``locale`` show of this survey (copied onto the invite)."""
        return PageBrand(
            name=self.brand_name,
            colour=self.brand_colour,
            logo_url=self.logo_url,
            website_url=self.website_url,
            question=self.question.get(locale),
            follow_up_question=self.follow_up_question.get(locale),
        )

    def follow_up_questions(self, locale: str) -> FollowUpQuestions | None:
        """What the response page of an invite in ``locale`` asks after the score (copied onto the
        invite), or None when the survey asks no follow-up question."""
        questions = self.reasons.questions(locale, self.brand_name)
        return questions if questions.asks_anything else None

    def segments_of(self, attributes: dict[str, str]) -> dict[str, str]:
        """The contact's values of this survey's segment dimensions (copied onto the invite), in Unicode
        NFC so that values that look the same aggregate as one (contacts stored before normalisation)."""
        return segment_values(self.segment_dimensions, attributes)


WaveKind = Literal["scheduled", "event"]
