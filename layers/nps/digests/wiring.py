"""The digest service on the stack's tables, SES and bus (the digest function and ``nps digest``)."""

from __future__ import annotations

from collections.abc import Sequence

from nps.accounts.adapters.profiles import DynamoAccountProfiles
from nps.accounts.health import AccountHealth
from nps.digests.adapters.health import DynamoPublishedHealth
from nps.digests.adapters.markers import DynamoDigestMarkers
from nps.digests.service import DigestService
from nps.events.publisher import EventPublisher
from nps.kernel.periods import Granularity
from nps.links.adapters.keyring import load_id_key
from nps.links.pseudonyms import IdKey
from nps.reporting.accounts import accounts_report
from nps.reporting.adapters.reads import DynamoAggregateReader, DynamoResponseReader, StoredResponse
from nps.reporting.figures import ReportService
from nps.reporting.ranges import DateRange
from nps.sending.adapters.channels import SesMailer
from nps.sending.adapters.suppressions import DynamoSuppressionRepository
from nps.sending.adapters.surveys import DynamoSurveyRepository


class ResponseComments:
    """The newest comments of a span, through reporting's responses reader (the survey index)."""

    def __init__(self, responses_table: str, aggregates_table: str) -> None:
        self.reader = DynamoResponseReader(responses_table, aggregates_table)

    def comments(self, survey_id: str, span: DateRange, limit: int) -> Sequence[StoredResponse]:
        return self.reader.page(survey_id, span, limit=limit, newest_first=True, with_comment=True).responses


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
    aggregates = DynamoAggregateReader(aggregates_table)
    profiles = DynamoAccountProfiles(accounts_table)

    def accounts(survey_id: str, span: DateRange, granularity: Granularity) -> Sequence[AccountHealth]:
        return accounts_report(DynamoAggregateReader(aggregates_table), profiles, survey_id, span, granularity).accounts

    def key() -> IdKey:
        return id_key if id_key is not None else load_id_key(id_key_secret_name)

    return DigestService(
        surveys=DynamoSurveyRepository(surveys_table),
        figures=ReportService(aggregates),
        comments=ResponseComments(responses_table, aggregates_table),
        accounts=accounts,
        published=DynamoPublishedHealth(accounts_table),
        markers=DynamoDigestMarkers(surveys_table),
        suppressions=DynamoSuppressionRepository(suppressions_table),
        mailer=SesMailer(),
        publisher=EventPublisher(event_bus_name),
        id_key=key,
        configuration_set=configuration_set,
    )
