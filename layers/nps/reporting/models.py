"""Request and response models of the reporting API (the contract in ``docs/openapi/report.json``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from nps.kernel.periods import Granularity

Segment = Annotated[
    str,
    Field(
        pattern=r"^(\*|[A-Za-z0-9_.-]{1,64}=[^\x00-\x1f\x7f]{1,128})$",
        description="`*` for every response, or one segment value as `dimension=value` (e.g. `plan=pro`);"
        " the value is everything after the first `=` and may itself contain `=` (`plan=a=b`)",
    ),
]
ChannelFilter = Literal["*", "email", "sms", "web", "link", "link_anonymous"]
CategoryName = Literal["promoter", "passive", "detractor"]


class ReportModel(BaseModel):
    """Base of the API's models: each builds its validator when a request first uses it, so a cold start
    builds the two or three models of the route it serves rather than all of them."""

    model_config = ConfigDict(defer_build=True)


class RangeQuery(ReportModel):
    """An inclusive range of UTC days (by the day of each response's first answer)."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", defer_build=True)

    start: date = Field(alias="from", description="First day, YYYY-MM-DD (UTC)")
    end: date = Field(alias="to", description="Last day, YYYY-MM-DD (UTC), inclusive")


class SliceQuery(RangeQuery):
    segment: Segment = "*"
    channel: ChannelFilter = "*"


class TrendQuery(SliceQuery):
    granularity: Granularity = Field(default=Granularity.MONTH, description="day, week (ISO), month or quarter")


class DimensionQuery(RangeQuery):
    dimension: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="A segment dimension")]
    channel: ChannelFilter = "*"


class DriversQuery(RangeQuery):
    channel: ChannelFilter = "*"
    granularity: Granularity = Field(default=Granularity.MONTH, description="day, week (ISO), month or quarter")


class AccountsQuery(RangeQuery):
    granularity: Literal["month", "quarter"] = Field(
        default="quarter", description="Periods of each account's trend (accounts are kept by month and quarter)"
    )


class ReferralsQuery(RangeQuery):
    granularity: Granularity = Field(
        default=Granularity.MONTH,
        description="The cohorts' periods: day, week (ISO), month or quarter (accounts: month, else quarter)",
    )


class ChannelQuery(RangeQuery):
    segment: Segment = "*"


class CommentsQuery(RangeQuery):
    category: CategoryName | None = Field(default=None, description="Only comments of this category")
    segment: Segment = "*"
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str, Field(max_length=512)] | None = Field(
        default=None, description="`next_cursor` of the previous page"
    )


class ExportQuery(RangeQuery):
    limit: Annotated[int, Field(ge=1, le=10_000)] = 5_000
    cursor: Annotated[str, Field(max_length=512)] | None = None


class ChangeOut(ReportModel):
    difference: float | None = Field(description="NPS points (adjusted estimates), after − before")
    low: float | None = Field(default=None, description="Lower end of the difference's 95% interval")
    high: float | None = Field(default=None, description="Upper end of the difference's 95% interval")
    z: float | None
    p_value: float | None
    significant: bool = Field(description="Two-sided z test at the 5% level")


class ProportionOut(ReportModel):
    count: int
    n: int
    percent: float | None = Field(description="count / n, 0–100 (null when n is 0)")
    low: float | None = Field(description="Lower end of the 95% Wilson interval")
    high: float | None = Field(description="Upper end of the 95% Wilson interval")


class CsatOut(ReportModel):
    n: int
    satisfied: ProportionOut = Field(description="Share answering 4 or 5 of 1–5")


class CesOut(ReportModel):
    n: int
    mean: float | None = Field(description="Mean of the 1–7 answers (null without answers)")
    mean_low: float | None = Field(description="Lower end of the mean's 95% t interval (null below 2 answers)")
    mean_high: float | None = Field(description="Upper end of the mean's 95% t interval (null below 2 answers)")
    agree: ProportionOut = Field(description="Share answering 5, 6 or 7")


class FiguresOut(ReportModel):
    n: int
    nps: float | None = Field(description="Observed NPS, −100…+100 (null without responses)")
    margin: float | None = Field(description="Half-width of the adjusted-Wald 95% interval")
    low: float | None
    high: float | None
    promoters: int
    passives: int
    detractors: int
    promoter_share: float | None
    passive_share: float | None
    detractor_share: float | None
    scores: list[int] = Field(description="Responses per score 0…10")
    invites_sent: int
    response_rate: float | None = Field(description="Responses per invite sent, % (null without invites)")
    earlier_invites: bool = Field(
        description="Some responses in the range answer invites sent before it: the response rate counts"
        " them too (and may pass 100%), so it is not the share of the range's invites that were answered"
    )
    answers_to_earlier_invites: int = Field(
        description="At least this many responses in the range answer invites sent before it"
        " (responses beyond the invites sent in the range; 0 does not prove there are none)"
    )
    small_n: bool = Field(description="Fewer than 30 responses: read the NPS with care")
    csat: CsatOut = Field(description="CSAT of the follow-up answers (its own n: not every response answers it)")
    ces: CesOut = Field(description="CES of the follow-up answers (its own n: not every response answers it)")


class SummaryOut(ReportModel):
    survey_id: str
    start: date = Field(serialization_alias="from")
    end: date = Field(serialization_alias="to")
    segment: str
    channel: str
    figures: FiguresOut


class TrendPointOut(FiguresOut):
    period: str
    first_day: date
    last_day: date
    partial: bool = Field(description="The period reaches outside the range; its figures are the whole period's")
    change: ChangeOut | None = Field(description="Change from the previous point (null on the first)")


class TrendOut(ReportModel):
    survey_id: str
    granularity: Granularity
    segment: str
    channel: str
    points: list[TrendPointOut]


class SliceRowOut(FiguresOut):
    dimension: str
    value: str
    versus_rest: ChangeOut | None = Field(
        default=None,
        description="This slice against the other responses of the report (this − rest; null when either is"
        " empty): `significant` marks a slice whose NPS differs from the rest at the 5% level",
    )


class BreakdownOut(ReportModel):
    survey_id: str
    dimension: str
    rows: list[SliceRowOut] = Field(description="Highest NPS first")


class CommentOut(ReportModel):
    invite_id: str
    score: int
    category: CategoryName
    comment: str
    channel: str
    segments: dict[str, str]
    first_answered_at: str
    comment_at: str | None
    sentiment: Literal["positive", "negative", "neutral", "mixed"] | None = Field(
        default=None,
        description="The comment's sentiment (Amazon Comprehend) when the stack analyses comments"
        " (`-c commentSentiment=true`) and this comment has been analysed; null otherwise",
    )
    driver: str | None = Field(description="The driver chosen after the score (null when none was)")
    csat: int | None = Field(description="The CSAT answer, 1–5 (null when none was given)")
    ces: int | None = Field(description="The CES answer, 1–7 (null when none was given)")
    themes: list[str] = Field(description="Theme ids tagged in the comment by the survey's taxonomy")


class CommentsOut(ReportModel):
    survey_id: str
    comments: list[CommentOut]
    next_cursor: str | None


class EstimateOut(ReportModel):
    n: int
    nps: float | None = Field(description="Observed NPS, −100…+100 (null without responses)")
    low: float | None = Field(description="Lower end of the adjusted-Wald 95% interval")
    high: float | None = Field(description="Upper end of the adjusted-Wald 95% interval")


class ReasonPointOut(EstimateOut):
    period: str
    partial: bool = Field(description="The period reaches outside the range; its figures are the whole period's")


class ReasonOut(ReportModel):
    dimension: Literal["driver", "theme"]
    id: str = Field(description="The driver's or theme's id in the survey's reasons")
    n: int = Field(description="Responses mentioning it (chose the driver, or a comment tagged with the theme)")
    detractors: ProportionOut = Field(description="Share of the detractors mentioning it")
    passives: ProportionOut = Field(description="Share of the passives mentioning it")
    promoters: ProportionOut = Field(description="Share of the promoters mentioning it")
    mentioning: EstimateOut = Field(description="NPS of the responses mentioning it")
    not_mentioning: EstimateOut = Field(
        description="NPS of every other response of the range and channel (with or without a comment)"
    )
    difference: ChangeOut | None = Field(description="Mentioning − not mentioning, with its 95% interval")
    trend: list[ReasonPointOut] = Field(description="NPS of those mentioning it, per period")


class DriversOut(ReportModel):
    survey_id: str
    start: date = Field(serialization_alias="from")
    end: date = Field(serialization_alias="to")
    granularity: Granularity
    channel: str
    n: int = Field(description="Responses in the range and channel")
    csat: CsatOut
    ces: CesOut
    drivers: list[ReasonOut] = Field(description="Most mentioned first")
    themes: list[ReasonOut] = Field(description="Most mentioned first")


class AccountReasonOut(ReportModel):
    code: Literal["decision_maker_detractor", "nps_fell", "no_answer", "more_detractors"]
    text: str = Field(description="The reason in words, e.g. `a decision maker is a detractor`")


class ReadinessOut(ReportModel):
    score: int = Field(description="Referral readiness 0–100: the sum of the four parts (docs/accounts.md)")
    advocacy: float | None = Field(description="Up to 40, from the latest answered period's mean score")
    recency: float | None = Field(description="Up to 20, from how recent the latest answer is")
    consistency: float | None = Field(description="Up to 20, answered periods without a detractor")
    engagement: float | None = Field(description="Up to 20, response rate and referral activity")
    ready: bool = Field(description="Referral-ready: the score reaches 70 and the account passes the rules")


class AccountPointOut(ReportModel):
    period: str
    n: int
    nps: float | None
    low: float | None
    high: float | None
    invites_sent: int


class AccountOut(ReportModel):
    account_id: str
    health: Literal["at_risk", "watch", "healthy", "no_answers"]
    reasons: list[AccountReasonOut]
    latest_period: str | None = Field(description="The latest period of the range with an answer")
    latest: EstimateOut = Field(description="Account NPS of the latest answered period")
    change: ChangeOut | None = Field(description="From the answered period before to the latest")
    category: CategoryName | None = Field(description="Category of the latest answered period's mean score")
    mean_score: float | None
    revenue: float | None = Field(description="From the contacts import (null when not given)")
    churned: bool
    readiness: ReadinessOut
    trend: list[AccountPointOut] = Field(description="Every period of the range")


class WeightedOut(ReportModel):
    nps: float | None = Field(description="Revenue-weighted NPS, −100…+100 (docs/accounts.md)")
    low: float | None = Field(description="95% interval, accounts as clusters (null below 2 accounts)")
    high: float | None
    accounts: int = Field(description="Accounts with answers and a revenue")
    accounts_without_revenue: int = Field(description="Accounts with answers left out: no revenue")
    revenue: float


class WeightedPointOut(ReportModel):
    period: str
    nps: float | None
    low: float | None
    high: float | None
    accounts: int
    accounts_without_revenue: int
    revenue: float


class AccountsOut(ReportModel):
    survey_id: str
    start: date = Field(serialization_alias="from")
    end: date = Field(serialization_alias="to")
    granularity: Granularity
    periods: list[str]
    by_health: dict[str, int] = Field(description="Accounts per health")
    referral_ready: ProportionOut = Field(description="Referral-ready accounts ÷ accounts with an answer")
    revenue_weighted: WeightedOut
    revenue_weighted_trend: list[WeightedPointOut]
    accounts: list[AccountOut] = Field(description="At risk first, then watch, healthy, without answers")


class ReferralRatesOut(ReportModel):
    period: str | None = Field(description="The cohort: promoters who answered in this period (null: the range)")
    asked: int = Field(description="Promoters asked for a referral or review")
    clicked: int = Field(description="Promoters who clicked a referral or review link (people, not scanners)")
    joined: int = Field(description="Promoters who joined the referral program")
    participation: ProportionOut = Field(description="Referral program participation rate: joined ÷ asked")
    click_through: ProportionOut = Field(description="Click-through: clicked ÷ asked")
    capped: bool = Field(description="A count above the promoters asked was capped at it")


class AccountReadinessOut(ReportModel):
    account_id: str
    health: Literal["at_risk", "watch", "healthy", "no_answers"]
    readiness: int = Field(description="Referral readiness score 0–100 (nps.accounts.health)")
    ready: bool


class ReferralsOut(ReportModel):
    survey_id: str
    start: date = Field(serialization_alias="from")
    end: date = Field(serialization_alias="to")
    granularity: Granularity
    periods: list[ReferralRatesOut] = Field(description="Every period (cohort) of the range")
    total: ReferralRatesOut = Field(description="The whole range")
    joined_unasked: int = Field(description="Joins of contacts never asked, counted apart (not in any rate)")
    referral_ready: ProportionOut = Field(description="Referral-ready accounts ÷ accounts with an answer")
    accounts_granularity: Granularity = Field(description="The account figures' periods: month or quarter")
    accounts: list[AccountReadinessOut] = Field(description="Each account's readiness, at risk first")


class ErrorBody(ReportModel):
    code: str
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorOut(ReportModel):
    error: ErrorBody
