"""The digest service on the stack's tables, SES and bus (the digest function and ``nps digest``).

Only the surveys table is read on every hourly run; the readers of the figures, comments and accounts,
the markers, the published health, the suppressions, SES and the bus are built (and their modules, with
reporting's and the event models, imported) when a digest is first due (:mod:`nps.kernel.on_demand`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from nps.digests.service import DigestService
from nps.kernel.on_demand import on_demand
from nps.sending.adapters.surveys import DynamoSurveyRepository

if TYPE_CHECKING:
    from nps.accounts.adapters.profiles import DynamoAccountProfiles
    from nps.accounts.health import AccountHealth
    from nps.digests.adapters.health import DynamoPublishedHealth
    from nps.digests.adapters.markers import DynamoDigestMarkers
    from nps.events.publisher import EventPublisher
    from nps.kernel.periods import Granularity
    from nps.links.pseudonyms import IdKey
    from nps.reporting.adapters.reads import DynamoResponseReader, StoredResponse
    from nps.reporting.figures import ReportService
    from nps.reporting.ranges import DateRange
    from nps.sending.adapters.channels import SesMailer
    from nps.sending.adapters.suppressions import DynamoSuppressionRepository


class ResponseComments:
    """The newest comments of a span, through reporting's responses reader (the survey index), built on
    the first read."""

    def __init__(self, responses_table: str, aggregates_table: str) -> None:
        self.reader = on_demand(lambda: _response_reader(responses_table, aggregates_table))

    def comments(self, survey_id: str, span: DateRange, limit: int) -> Sequence[StoredResponse]:
        return self.reader.page(survey_id, span, limit=limit, newest_first=True, with_comment=True).responses


def _response_reader(responses_table: str, aggregates_table: str) -> DynamoResponseReader:
    from nps.reporting.adapters.reads import DynamoResponseReader

    return DynamoResponseReader(responses_table, aggregates_table)


def _figures(aggregates_table: str) -> ReportService:
    from nps.reporting.adapters.reads import DynamoAggregateReader
    from nps.reporting.figures import ReportService

    return ReportService(DynamoAggregateReader(aggregates_table))


def _profiles(accounts_table: str) -> DynamoAccountProfiles:
    from nps.accounts.adapters.profiles import DynamoAccountProfiles

    return DynamoAccountProfiles(accounts_table)


def _published(accounts_table: str) -> DynamoPublishedHealth:
    from nps.digests.adapters.health import DynamoPublishedHealth

    return DynamoPublishedHealth(accounts_table)


def _markers(surveys_table: str) -> DynamoDigestMarkers:
    from nps.digests.adapters.markers import DynamoDigestMarkers

    return DynamoDigestMarkers(surveys_table)


def _suppressions(suppressions_table: str) -> DynamoSuppressionRepository:
    from nps.sending.adapters.suppressions import DynamoSuppressionRepository

    return DynamoSuppressionRepository(suppressions_table)


def _mailer() -> SesMailer:
    from nps.sending.adapters.channels import SesMailer

    return SesMailer()


def _publisher(event_bus_name: str) -> EventPublisher:
    from nps.events.publisher import EventPublisher

    return EventPublisher(event_bus_name)


def digest_service(
    *,
    surveys_table: str,
    aggregates_table: str,
    responses_table: str,
    accounts_table: str,
    suppressions_table: str,
    event_bus_name: str,
    id_key_secret_name: str = "",
    configuration_set: str = "",
    id_key: IdKey | None = None,
) -> DigestService:
    """A :class:`DigestService` over the named tables, bus and SES configuration set; the id key is read
    from ``id_key_secret_name`` on first use unless given."""

    profiles = on_demand(lambda: _profiles(accounts_table))

    def accounts(survey_id: str, span: DateRange, granularity: Granularity) -> Sequence[AccountHealth]:
        from nps.reporting.accounts import accounts_report
        from nps.reporting.adapters.reads import DynamoAggregateReader

        return accounts_report(DynamoAggregateReader(aggregates_table), profiles, survey_id, span, granularity).accounts

    def key() -> IdKey:
        from nps.links.adapters.keyring import load_id_key

        return id_key if id_key is not None else load_id_key(id_key_secret_name)

    return DigestService(
        surveys=DynamoSurveyRepository(surveys_table),
        figures=on_demand(lambda: _figures(aggregates_table)),
        comments=ResponseComments(responses_table, aggregates_table),
        accounts=accounts,
        published=on_demand(lambda: _published(accounts_table)),
        markers=on_demand(lambda: _markers(surveys_table)),
        suppressions=on_demand(lambda: _suppressions(suppressions_table)),
        mailer=on_demand(_mailer),
        publisher=on_demand(lambda: _publisher(event_bus_name)),
        id_key=key,
        configuration_set=configuration_set,
    )
