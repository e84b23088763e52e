"""The survey definition's ``share_link`` block: off by default, anonymous unless identified, bounded lifetimes."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from nps.sending.surveys import MAX_SHARE_LINK_DAYS, ShareLinkMode, Survey


def definition(**share_link: Any) -> dict[str, Any]:
    return {
        "survey_id": "s1",
        "name": "S",
        "brand_name": "Acme",
        "sender": "surveys@example.com",
        "channels": ["email"],
        **({"share_link": share_link} if share_link else {}),
    }


def test_the_link_is_off_and_anonymous_and_apart_from_the_headline_by_default() -> None:
    settings = Survey.model_validate(definition()).share_link
    assert settings.enabled is False
    assert settings.mode is ShareLinkMode.ANONYMOUS
    assert settings.count_in_nps is False
    assert (settings.channel, settings.in_headline) == ("link_anonymous", False)


def test_identified_answers_always_count_and_anonymous_ones_when_the_survey_says_so() -> None:
    identified = Survey.model_validate(definition(enabled=True, mode="identified")).share_link
    counted = Survey.model_validate(definition(enabled=True, count_in_nps=True)).share_link
    assert (identified.channel, identified.in_headline) == ("link", True)
    assert (counted.channel, counted.in_headline) == ("link_anonymous", True)


@pytest.mark.parametrize(
    "share_link",
    [
        {"mode": "public"},
        {"identified_max_days": 0},
        {"identified_max_days": MAX_SHARE_LINK_DAYS + 1},
        {"enabled": True, "unknown": 1},
    ],
)
def test_a_bad_share_link_block_is_refused(share_link: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Survey.model_validate(definition(**share_link))
