"""What a digest says (pure: values in, values out; no clients, no clocks).

* **NPS** of the period with n and its 95% interval, the change from the previous period of equal length
  and whether it is significant (two-sided z test at 5%, :func:`nps.kernel.statistics.compare`);
* **responses** and the **response rate** (responses ÷ invites sent in the period, as the reports count it);
* **accounts newly at risk** (where the survey has accounts): at risk now and not at risk at the previous
  digest, with their reasons; and every account whose health (at risk or not) changed since then, for the
  ``NPS Account Health Changed`` events;
* **notable comments**: a few of the period's comments, detractors first (:func:`notable_comments`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from nps.accounts.health import AccountHealth, Health
from nps.kernel.normalising import BIDI_CONTROLS
from nps.kernel.statistics import ChangeTest, compare

if TYPE_CHECKING:
    from nps.digests.schedule import DigestPeriod
    from nps.reporting.figures import Figures

#: The binary health the event contract carries: at risk, or not (watch, healthy, no answers).
BinaryHealth = Literal["at_risk", "healthy"]
#: Notable comments shown per category, most pressing first, and in all.
NOTABLE_PER_CATEGORY: Mapping[str, int] = {"detractor": 3, "passive": 1, "promoter": 2}
MAX_NOTABLE = 5
#: A comment is cut to this many characters (on a word boundary when one is near), "…" added.
MAX_COMMENT_CHARS = 280
#: Accounts newly at risk listed by name in the digest (the count says how many in all).
MAX_ACCOUNTS_LISTED = 10


class Comment(Protocol):
    """A stored comment as the reports read it (:class:`nps.reporting.adapters.reads.StoredResponse`)."""

    @property
    def score(self) -> int: ...
    @property
    def category(self) -> str: ...
    @property
    def comment(self) -> str | None: ...
    @property
    def first_answered_at(self) -> str: ...


@dataclass(frozen=True, slots=True)
class NotableComment:
    score: int
    category: str
    day: str
    text: str


@dataclass(frozen=True, slots=True)
class AtRiskAccount:
    account_id: str
    reasons: tuple[str, ...]
    reason_codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PublishedHealthState:
    """An account's published health: the ``latest`` one, and the one ``before`` the digest period at hand
    (None: never published before it). They differ once the period's own run has published a change."""

    latest: BinaryHealth
    before: BinaryHealth | None


@dataclass(frozen=True, slots=True)
class HealthChange:
    """An account whose binary health differs from the one published at the previous digest."""

    account: AccountHealth
    health: BinaryHealth
    previous: BinaryHealth | None
    #: The health published before the digest's period (None: never); recorded with the new one.
    before_period: BinaryHealth | None = None


@dataclass(frozen=True, slots=True)
class DigestContent:
    """Everything a digest shows, computed; the templates only format it."""

    survey_id: str
    title: str
    period: DigestPeriod
    current: Figures
    previous: Figures
    change: ChangeTest
    comments: tuple[NotableComment, ...]
    #: None when the survey has no accounts (the section is left out).
    newly_at_risk: tuple[AtRiskAccount, ...] | None
    accounts_at_risk: int = 0
    health_changes: tuple[HealthChange, ...] = ()

    @property
    def difference(self) -> float | None:
        """The change in NPS points as the reader sees it: this period's NPS minus the previous one's (None
        when either has no responses). Its significance is the test's (:attr:`change`), which compares the
        adjusted estimates."""
        now, before = self.current.estimate.nps, self.previous.estimate.nps
        if now is None or before is None:
            return None
        return now - before

    @property
    def direction(self) -> str:
        """``"up"``, ``"down"`` or ``"flat"`` (no change, or none measurable)."""
        difference = self.difference
        if difference is None or round(difference, 1) == 0:
            return "flat"
        return "up" if difference > 0 else "down"

    @property
    def newly_at_risk_listed(self) -> tuple[AtRiskAccount, ...]:
        return (self.newly_at_risk or ())[:MAX_ACCOUNTS_LISTED]


def binary_health(account: AccountHealth) -> BinaryHealth:
    """``at_risk`` for an account at risk; ``healthy`` for every other (watch, healthy, no answers)."""
    return "at_risk" if account.health is Health.AT_RISK else "healthy"


def health_changes(
    accounts: Sequence[AccountHealth],
    published: Mapping[str, BinaryHealth],
    before_period: Mapping[str, BinaryHealth] | None = None,
) -> tuple[HealthChange, ...]:
    """Accounts whose binary health differs from ``published`` (the last one published per account);
    each carries its health published before the period (``before_period``, default ``published``).

    An account never published counts as ``healthy`` before: its first event is the day it is at risk,
    so a survey's first digest does not announce every healthy account."""
    earlier = published if before_period is None else before_period
    changes = []
    for account in accounts:
        now = binary_health(account)
        before = published.get(account.account_id)
        if now != (before or "healthy"):
            changes.append(HealthChange(account, now, before, earlier.get(account.account_id)))
    return tuple(changes)


def _cut(text: str) -> str:
    """One line: whitespace runs folded, other control and bidirectional-control characters dropped."""
    flat = " ".join("".join(c for c in text if c.isspace() or (c.isprintable() and c not in BIDI_CONTROLS)).split())
    if len(flat) <= MAX_COMMENT_CHARS:
        return flat
    cut = flat[: MAX_COMMENT_CHARS - 1]
    space = cut.rfind(" ")
    if space >= MAX_COMMENT_CHARS * 3 // 4:
        cut = cut[:space]
    return cut.rstrip() + "…"


def notable_comments(comments: Sequence[Comment]) -> tuple[NotableComment, ...]:
    """A few of ``comments`` worth a reader's minute: up to 3 detractors, 1 passive and 2 promoters (at
    most :data:`MAX_NOTABLE`), each category's longest first (more words say more; ties: newest first,
    then lowest score). Blank comments are skipped; each is folded to one line and cut to
    :data:`MAX_COMMENT_CHARS` characters. Order: detractors, passives, promoters."""
    chosen: list[NotableComment] = []
    for category, quota in NOTABLE_PER_CATEGORY.items():
        candidates = [c for c in comments if c.category == category and _cut(c.comment or "")]
        candidates.sort(key=_notability)
        for comment in candidates[:quota]:
            chosen.append(
                NotableComment(comment.score, category, comment.first_answered_at[:10], _cut(comment.comment or ""))
            )
    return tuple(chosen[:MAX_NOTABLE])


def _notability(comment: Comment) -> tuple[int, tuple[int, ...], int]:
    """Longest first, then newest (ISO timestamps compared character by character, negated), then lowest score."""
    words = len(" ".join((comment.comment or "").split()))
    return (-words, tuple(-ord(character) for character in comment.first_answered_at), comment.score)


def digest_content(
    *,
    survey_id: str,
    title: str,
    period: DigestPeriod,
    current: Figures,
    previous: Figures,
    comments: Sequence[Comment],
    accounts: Sequence[AccountHealth] | None,
    published: Mapping[str, BinaryHealth],
    before: Mapping[str, BinaryHealth] | None = None,
) -> DigestContent:
    """The digest of ``period``: ``current`` and ``previous`` are the figures of the period and the one
    before; ``accounts`` the survey's accounts assessed at the period's end (None: the survey has none);
    ``published`` each account's latest published health (the events to publish are the changes from it);
    ``before`` each account's health published before this period (default: ``published``), which decides
    what is *newly* at risk, so a retried run of the period lists what its first run listed."""
    changes = health_changes(accounts, published, before) if accounts is not None else ()
    newly = None
    if accounts is not None:
        since = health_changes(accounts, published if before is None else before)
        newly = tuple(
            AtRiskAccount(
                change.account.account_id,
                change.account.reason_texts,
                tuple(reason.value for reason in change.account.reasons),
            )
            for change in since
            if change.health == "at_risk"
        )
    return DigestContent(
        survey_id=survey_id,
        title=title,
        period=period,
        current=current,
        previous=previous,
        change=compare(previous.counts, current.counts),
        comments=notable_comments(comments),
        newly_at_risk=newly,
        accounts_at_risk=sum(1 for a in accounts or () if a.health is Health.AT_RISK),
        health_changes=changes,
    )
