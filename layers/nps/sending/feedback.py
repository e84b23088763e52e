"""The SES message tags that let mail feedback (bounces, complaints) find what an email was about.

Every email the platform sends (invites, reminders, follow-ups) carries :func:`feedback_tags`; SES
copies them into each bounce and complaint event (``mail.tags``), and the suppress function reads them
back. Ids only: no address ever goes into a tag.
"""

from __future__ import annotations

import re

#: The SES message tags every email the platform sends carries (:func:`feedback_tags`), so that a bounce
#: or complaint on any of them (invite, reminder, follow-up) names the invite it belongs to.
INVITE_TAG = "invite_id"
FOLLOW_UP_TAG = "follow_up_id"
#: SES ``MessageTag`` values: ASCII letters, digits, ``_`` and ``-``, at most 256 characters
#: (SES API reference, MessageTag).
_TAG_VALUE = re.compile(r"[A-Za-z0-9_-]{1,256}")


class InvalidMessageTag(ValueError):
    """An id that SES cannot carry as a message tag value (see :data:`_TAG_VALUE`)."""


def feedback_tags(
    *, invite_id: str, survey_id: str, contact_id: str, follow_up_id: str | None = None
) -> dict[str, str]:
    """The SES message tags of an email: ``invite_id``, ``survey_id``, ``contact_id`` and, for a follow-up
    email, ``follow_up_id``. The feedback path reads them back
    (:func:`nps.sending.unsubscribing.parse_ses_notification`).

    Raises :class:`InvalidMessageTag` for an id SES would refuse (the send would fail anyway).
    """
    tags = {INVITE_TAG: invite_id, "survey_id": survey_id, "contact_id": contact_id}
    if follow_up_id is not None:
        tags[FOLLOW_UP_TAG] = follow_up_id
    for name, value in tags.items():
        if not _TAG_VALUE.fullmatch(value):
            raise InvalidMessageTag(f"{name} cannot be an SES message tag value (letters, digits, _ and - only)")
    return tags
