"""Telling "the table has no such index" apart from every other refusal of a DynamoDB query."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from nps.kernel.aws import missing_index


def refusal(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "Query")


@pytest.mark.parametrize(
    "error",
    [
        # DynamoDB's answer for a query of an index the table does not have
        refusal("ValidationException", "The table does not have the specified index: by_survey"),
        # moto 5's answer for the same query
        refusal("ResourceNotFoundException", "Invalid index: by_survey for table: t. Available indexes are: x"),
    ],
)
def test_a_query_of_an_index_the_table_lacks_is_a_missing_index(error: ClientError) -> None:
    assert missing_index(error, "by_survey")


@pytest.mark.parametrize(
    "error",
    [
        refusal("ResourceNotFoundException", "Requested resource not found"),  # the table itself is missing
        refusal("ResourceNotFoundException", "Requested resource not found: Table: by_survey not found"),
        refusal("ValidationException", "The table does not have the specified index: by_survey_shard"),
        refusal("ResourceNotFoundException", "Invalid index: by_survey_shard for table: t. Available indexes are: "),
        refusal("ValidationException", "Query condition missed key schema element: survey_id"),
        refusal("AccessDeniedException", "not authorized to perform: dynamodb:Query on .../index/by_survey"),
        refusal("ProvisionedThroughputExceededException", "by_survey"),
        RuntimeError("The table does not have the specified index: by_survey"),
    ],
)
def test_any_other_refusal_is_not_a_missing_index(error: Exception) -> None:
    assert not missing_index(error, "by_survey")
