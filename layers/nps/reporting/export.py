"""CSV export of responses: one row per counted response, segment values as ``segment.<name>`` columns.

The file opens safely in a spreadsheet (:mod:`nps.kernel.spreadsheets`): it starts with a UTF-8 byte
order mark, every field is quoted, and no cell starts a formula under ``,`` or ``;`` splitting.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, TextIO

from nps.kernel.spreadsheets import BOM, safe_cell, writer
from nps.reporting.accounts import AccountsReport, account_dict
from nps.reporting.figures import proportion_dict

if TYPE_CHECKING:
    from nps.reporting.adapters.reads import StoredResponse
    from nps.reporting.drivers import DriversReport

BASE_COLUMNS = (
    "invite_id",
    "survey_id",
    "wave_id",
    "contact_id",
    "channel",
    "locale",
    "score",
    "category",
    "first_answered_at",
    "answered_at",
    "comment",
    "comment_at",
    "sentiment",
    "driver",
    "csat",
    "ces",
    "themes",
)


def _cell(value: object) -> str:
    """A CSV cell: a figure we computed (int or float, never a bool) as the number it is, so a spreadsheet
    reads ``-33.33`` as a number; anything else as text made safe (:func:`nps.kernel.spreadsheets.safe_cell`)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return safe_cell("" if value is None else str(value))


def header(dimensions: Sequence[str]) -> list[str]:
    """The column names: :data:`BASE_COLUMNS`, then ``segment.<dimension>`` per dimension."""
    return [_cell(name) for name in (*BASE_COLUMNS, *(f"segment.{d}" for d in dimensions))]


def row(response: StoredResponse, dimensions: Sequence[str]) -> list[str]:
    """One response's cells, in :func:`header` order, each made safe for spreadsheets."""
    values: list[object] = [
        response.invite_id,
        response.survey_id,
        response.wave_id,
        response.contact_id,
        response.channel,
        response.locale,
        response.score,
        response.category,
        response.first_answered_at,
        response.answered_at,
        response.comment,
        response.comment_at,
        response.sentiment,
        response.driver,
        response.csat,
        response.ces,
        " ".join(response.themes),
        *(response.segments.get(d, "") for d in dimensions),
    ]
    return [_cell(v) for v in values]


def write_csv(
    target: TextIO, responses: Iterable[StoredResponse], dimensions: Sequence[str], *, bom: bool = True
) -> int:
    """Write the byte order mark (unless ``bom`` is false), the header and one row per response.

    Returns the number of response rows. Lines end with CRLF (RFC 4180); every field is quoted.
    """
    if bom:
        target.write(BOM)
    out = writer(target)
    out.writerow(header(dimensions))
    count = 0
    for response in responses:
        out.writerow(row(response, dimensions))
        count += 1
    return count


def to_csv(responses: Iterable[StoredResponse], dimensions: Sequence[str]) -> tuple[str, int]:
    """The whole export as text starting with the byte order mark, and its number of response rows."""
    buffer = io.StringIO()
    count = write_csv(buffer, responses, dimensions)
    return buffer.getvalue(), count


#: The driver report's columns (percentages 0–100, NPS −100…+100, intervals 95%).
DRIVER_COLUMNS = (
    "kind",
    "id",
    "n",
    "detractors_mentioning_percent",
    "passives_mentioning_percent",
    "promoters_mentioning_percent",
    "nps_mentioning",
    "nps_mentioning_low",
    "nps_mentioning_high",
    "nps_not_mentioning",
    "nps_not_mentioning_low",
    "nps_not_mentioning_high",
    "difference",
    "difference_low",
    "difference_high",
    "p_value",
    "significant",
)


def driver_rows(report: DriversReport) -> list[list[str]]:
    """One row per driver, then per theme, in :data:`DRIVER_COLUMNS` order, each cell safe for spreadsheets."""
    rows = []
    for reason in report.rows:
        data = reason.as_dict()
        difference = data["difference"] or {}
        values: list[object] = [
            reason.dimension,
            reason.reason,
            reason.n,
            *(proportion_dict(p)["percent"] for p in (reason.mentions.detractors, reason.mentions.passives,
                                                       reason.mentions.promoters)),
            *(data[group][name] for group in ("mentioning", "not_mentioning") for name in ("nps", "low", "high")),
            *(difference.get(name) for name in ("difference", "low", "high", "p_value")),
            "" if not difference else str(difference["significant"]).lower(),
        ]  # fmt: skip
        rows.append([_cell(v) for v in values])
    return rows


def write_drivers_csv(target: TextIO, report: DriversReport, *, bom: bool = True) -> int:
    """Write the driver report as CSV (byte order mark unless ``bom`` is false, header, one row per reason).

    Returns the number of reason rows; every field is quoted and none starts a formula.
    """
    if bom:
        target.write(BOM)
    out = writer(target)
    out.writerow([_cell(name) for name in DRIVER_COLUMNS])
    rows = driver_rows(report)
    out.writerows(rows)
    return len(rows)


DRIVER_TREND_COLUMNS = ("kind", "id", "period", "first_day", "last_day", "partial", "n", "nps", "nps_low", "nps_high")


def driver_trend_rows(report: DriversReport) -> list[list[str]]:
    """One row per driver or theme and period (the API's ``trend``), in :data:`DRIVER_TREND_COLUMNS`
    order: the NPS of those mentioning it in that period with n and its 95% interval; each cell safe for
    spreadsheets."""
    rows = []
    for reason in report.rows:
        for point, data in zip(reason.trend, reason.as_dict()["trend"], strict=True):
            values: list[object] = [
                reason.dimension,
                reason.reason,
                point.period.key,
                point.period.first.isoformat(),
                point.period.last.isoformat(),
                str(point.partial).lower(),
                data["n"],
                data["nps"],
                data["low"],
                data["high"],
            ]
            rows.append([_cell(v) for v in values])
    return rows


def write_driver_trend_csv(target: TextIO, report: DriversReport, *, bom: bool = True) -> int:
    """Write the driver report's trend as CSV, long format (byte order mark unless ``bom`` is false, header,
    one row per reason and period). Returns the number of rows; every field is quoted, none starts a formula."""
    if bom:
        target.write(BOM)
    out = writer(target)
    out.writerow([_cell(name) for name in DRIVER_TREND_COLUMNS])
    rows = driver_trend_rows(report)
    out.writerows(rows)
    return len(rows)


ACCOUNT_COLUMNS = (
    "account_id", "health", "reasons", "latest_period", "n", "nps", "nps_low", "nps_high", "change",
    "change_significant", "category", "mean_score", "revenue", "churned", "readiness", "referral_ready",
)  # fmt: skip


def account_rows(report: AccountsReport) -> list[list[str]]:
    """One row per account in :data:`ACCOUNT_COLUMNS` order (the API's ``accounts``): health, reasons
    (``; ``-separated codes), the latest answered period's NPS with n and its 95% interval, the change from
    the answered period before, category, mean score, revenue, churned, readiness and referral-ready."""
    rows = []
    for account in report.accounts:
        data = account_dict(account)
        change = data["change"] or {}
        values: list[object] = [
            account.account_id,
            account.health.value,
            "; ".join(reason.value for reason in account.reasons),
            account.latest_period,
            data["latest"]["n"],
            data["latest"]["nps"],
            data["latest"]["low"],
            data["latest"]["high"],
            change.get("difference"),
            str(change["significant"]).lower() if change else None,
            data["category"],
            data["mean_score"],
            data["revenue"],
            str(account.churned).lower(),
            account.readiness.score,
            str(account.readiness.ready).lower(),
        ]
        rows.append([_cell(value) for value in values])
    return rows


def write_accounts_csv(target: TextIO, report: AccountsReport, *, bom: bool = True) -> int:
    """Write the account table as CSV (byte order mark unless ``bom`` is false, header, one row per
    account); returns the number of account rows. Every field is quoted and none starts a formula."""
    if bom:
        target.write(BOM)
    out = writer(target)
    out.writerow([_cell(name) for name in ACCOUNT_COLUMNS])
    rows = account_rows(report)
    out.writerows(rows)
    return len(rows)
