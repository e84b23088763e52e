"""The web channel's keyed ids (a contact's web invite of a wave, its prompt state on a survey), apart
from the web service: the share pages and a contact's erasure compute them without loading it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nps.links.pseudonyms import IdKey

#: The prefix of a web invite's id (an email or SMS invite's starts ``inv-``).
WEB_INVITE_PREFIX = "web-"


def web_invite_id(id_key: IdKey, survey_id: str, wave_id: str, contact_id: str) -> str:
    """The contact's web invite of a web wave: ``web-`` and 32 hex characters of a keyed hash."""
    return WEB_INVITE_PREFIX + id_key.digest("web-invite", survey_id, wave_id, contact_id)[:32]


def web_state_id(id_key: IdKey, survey_id: str, contact_id: str) -> str:
    """The contact's web prompt state on a survey: ``wst-`` and 32 hex characters of a keyed hash."""
    return "wst-" + id_key.digest("web-state", survey_id, contact_id)[:32]
