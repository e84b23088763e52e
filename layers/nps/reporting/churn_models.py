"""Request and response models of the churn report (``GET /reports/{survey_id}/churn``; the contract in
``docs/openapi/report.json``). Apart from :mod:`nps.reporting.models` so the churn route stays one place."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from nps.reporting.models import CategoryName, ProportionOut, RangeQuery, ReportModel


class ChurnQuery(RangeQuery):
    granularity: Literal["month", "quarter"] = Field(
        default="month", description="Cohort periods: month or quarter of each churned contact's last answer"
    )


class CategoryRateOut(ReportModel):
    category: CategoryName
    churned: int = Field(description="Contacts churned whose last answer before churning was in the category")
    responses: int = Field(description="Responses in the category (first answered in the period or range)")
    rate: ProportionOut = Field(description="churned ÷ responses, 0–100, 95% Wilson interval")


class PeriodChurnOut(ReportModel):
    period: str
    by_category: list[CategoryRateOut]
    overall: ProportionOut = Field(description="All churned ÷ all responses of the period")


class DifferenceOut(ReportModel):
    difference: float | None = Field(description="Detractors' rate − promoters' rate, percentage points")
    low: float | None = Field(description="Lower end of Newcombe's hybrid score 95% interval")
    high: float | None = Field(description="Upper end of Newcombe's hybrid score 95% interval")
    significant: bool = Field(description="Detractors churn significantly more: the interval lies above 0")


class ChurnEventsOut(ReportModel):
    month: str
    churned: int


class AccountsByCategoryOut(ReportModel):
    detractor: int
    passive: int
    promoter: int


class ChurnOut(ReportModel):
    survey_id: str
    start: date = Field(serialization_alias="from")
    end: date = Field(serialization_alias="to")
    granularity: Literal["month", "quarter"]
    by_category: list[CategoryRateOut] = Field(description="Over the range's cohort periods")
    overall: ProportionOut
    detractors_vs_promoters: DifferenceOut
    periods: list[PeriodChurnOut]
    churn_events_by_month: list[ChurnEventsOut] = Field(description="Contacts churned per month of churned_at")
    accounts_by_category: AccountsByCategoryOut = Field(description="Accounts churned by their last quarter's category")
    churned_without_answer: int = Field(description="Churns with no answer before them (never in a rate)")
    inconsistent_cells: int = Field(description="Cells with more churned than responses (denominator raised)")
