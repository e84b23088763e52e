"""Which account a contact answers for: the account id, the contact's role in it and the account's revenue.

Parsed from untrusted text (a contacts file, a stored invite) without pydantic, because the respond path
and the stream read it. Roles are normalised to a small vocabulary so that ``Decision Maker``,
``decision-maker`` and ``DM`` are one role; any other role is kept as a normalised word (it is shown, never
counted apart), so a team's own role names survive an import.

An account's answers are counted in the aggregates under the slice ``account_id=<account id>`` (a
dimension no survey may use for its own segments), at the granularities in :data:`ACCOUNT_GRANULARITIES`
and over every channel together: per-day or per-channel figures of a single account are too small to read,
and each extra key would cost a write per answer (docs/accounts.md, docs/capacity.md). A decision maker's
answer also adds to the ``dm_promoters`` / ``dm_passives`` / ``dm_detractors`` counters of those slices,
which is how a report knows that "a decision maker is a detractor" without reading responses.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from nps.kernel.categories import Category
from nps.kernel.periods import Granularity

#: The aggregate slice dimension of an account's answers (``account_id=<id>``).
ACCOUNT_DIMENSION = "account_id"
#: The granularities an account's slices are kept at (a quarter is the usual relationship-NPS cadence).
ACCOUNT_GRANULARITIES: tuple[Granularity, ...] = (Granularity.MONTH, Granularity.QUARTER)

DECISION_MAKER = "decision_maker"
INFLUENCER = "influencer"
USER = "user"
#: Spellings people write in a contacts file, by the role they mean (compared after normalising).
_ROLE_ALIASES: dict[str, str] = {
    "decision_maker": DECISION_MAKER,
    "decisionmaker": DECISION_MAKER,
    "dm": DECISION_MAKER,
    "economic_buyer": DECISION_MAKER,
    "buyer": DECISION_MAKER,
    "executive": DECISION_MAKER,
    "exec": DECISION_MAKER,
    "influencer": INFLUENCER,
    "champion": INFLUENCER,
    "user": USER,
    "end_user": USER,
    "enduser": USER,
}
#: Counters a decision maker's answer adds to its account slices, by category.
DECISION_MAKER_COUNTERS: dict[Category, str] = {
    Category.PROMOTER: "dm_promoters",
    Category.PASSIVE: "dm_passives",
    Category.DETRACTOR: "dm_detractors",
}

_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_ROLE = re.compile(r"[a-z][a-z0-9_]{0,31}")
#: Revenue is a non-negative amount in the team's currency, at most 2 decimals, below 10^15.
MAX_REVENUE = Decimal("1e15")
#: Thousands separators a revenue may use between groups of three digits (one kind per figure).
_SEPARATORS = ",_ \u00a0\u202f"
_REVENUE = re.compile(r"(?:[0-9]+|[0-9]{1,3}(?P<separators>(?:[,_ \u00a0\u202f][0-9]{3})+))(?:\.[0-9]{1,2})?", re.ASCII)
ROLE_RULE = "role is 1-32 letters, digits, spaces, '-' or '_' (e.g. decision maker, influencer, user)"


class MembershipError(ValueError):
    """An account id, role or revenue that cannot be stored; the message names the field, never a value."""


def normalise_role(text: str) -> str:
    """The role ``text`` names: ``decision_maker``, ``influencer``, ``user``, or the text as a lower-case
    word (spaces and dashes become ``_``). Raises :class:`MembershipError` for anything else."""
    folded = unicodedata.normalize("NFKC", text).strip().lower()
    word = re.sub(r"[\s\-]+", "_", folded)
    if not _ROLE.fullmatch(word):
        raise MembershipError(ROLE_RULE)
    return _ROLE_ALIASES.get(word, _ROLE_ALIASES.get(word.replace("_", ""), word))


def parse_revenue(text: str) -> Decimal:
    """A revenue figure as written in a contacts file (``12000``, ``12,000.50``, ``12000.5``, ``12 000``): a
    non-negative amount below 10^15 with at most two decimals, in ASCII digits, with a ``.`` decimal point
    and, optionally, one thousands separator (``,``, ``_`` or a space) between groups of three digits.
    Anything else is refused rather than guessed at: ``12000,50`` (a decimal comma) is not 1200050,
    ``1e3`` and ``١٢٣`` are not amounts a spreadsheet writes for revenue. Raises :class:`MembershipError`."""
    written = text.strip()
    if written.startswith("-"):
        raise MembershipError("revenue must be zero or more and below 10^15")
    match = _REVENUE.fullmatch(written)
    if match is None or len({*(match.group("separators") or "")} & set(_SEPARATORS)) > 1:
        raise MembershipError(
            "revenue is not a number (write e.g. 12000 or 12,000.50: digits, a '.' before at most two decimals,"
            " no currency sign)"
        )
    value = Decimal("".join(ch for ch in written if ch not in _SEPARATORS))
    if value >= MAX_REVENUE:
        raise MembershipError("revenue must be zero or more and below 10^15")
    return value


@dataclass(frozen=True, slots=True)
class Membership:
    """A contact's account: ``account_id`` (an id), ``role`` (normalised, or None) and the account's
    ``revenue`` (a non-negative ``Decimal`` in the team's currency, or None: not known)."""

    account_id: str
    role: str | None = None
    revenue: Decimal | None = None

    def __post_init__(self) -> None:
        if not _ID.fullmatch(self.account_id):
            raise MembershipError("account_id is 1-64 letters, digits, '-' or '_'")
        if self.role is not None and not _ROLE.fullmatch(self.role):
            raise MembershipError(ROLE_RULE)
        if self.revenue is not None and (self.revenue < 0 or self.revenue >= MAX_REVENUE):
            raise MembershipError("revenue must be zero or more and below 10^15")

    @property
    def is_decision_maker(self) -> bool:
        return self.role == DECISION_MAKER

    @classmethod
    def parse(cls, account_id: str | None, role: str | None, revenue: str | None) -> Membership | None:
        """From a contacts file's cells (blank cells are ``None``/empty): None without an account id.
        Raises :class:`MembershipError` for a bad cell, or for a role or revenue without an account."""
        account_id = (account_id or "").strip()
        role_text = (role or "").strip()
        revenue_text = (revenue or "").strip()
        if not account_id:
            if role_text or revenue_text:
                raise MembershipError("role and revenue need an account_id on the same row")
            return None
        return cls(
            account_id=account_id,
            role=normalise_role(role_text) if role_text else None,
            revenue=parse_revenue(revenue_text) if revenue_text else None,
        )

    def to_attribute(self) -> dict[str, Any]:
        """The DynamoDB map attribute stored on a contact or an invite."""
        fields: dict[str, Any] = {"account_id": {"S": self.account_id}}
        if self.role is not None:
            fields["role"] = {"S": self.role}
        if self.revenue is not None:
            fields["revenue"] = {"N": str(self.revenue)}
        return {"M": fields}

    @classmethod
    def from_attribute(cls, value: Any) -> Membership | None:
        """The membership stored by :meth:`to_attribute`; None when absent or not readable (an older item
        without one is a contact without an account, not an error)."""
        if not isinstance(value, dict) or not isinstance(value.get("M"), dict):
            return None
        fields = value["M"]
        try:
            account_id = fields["account_id"]["S"]
            role = fields.get("role", {}).get("S")
            revenue_text = fields.get("revenue", {}).get("N")
            return cls(account_id, role, Decimal(revenue_text) if revenue_text is not None else None)
        except (KeyError, TypeError, InvalidOperation, MembershipError):
            return None


def account_label(account_id: str) -> str:
    """The aggregate segment of an account's answers: ``account_id=<account id>``."""
    return f"{ACCOUNT_DIMENSION}={account_id}"
