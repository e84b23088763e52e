"""How many SMS segments a text takes, and in which encoding (3GPP TS 23.038 / 23.040).

A text that the GSM 7-bit default alphabet can carry (its extension table included: ``€ [ ] { } ~ ^ \\ |``
take two septets, an escape and the character) goes as GSM-7: 160 septets in one message, or 153 per
part once concatenated (the user data header takes 7). Any other character (``á``, ``í``, ``ó``, ``ú``,
emoji, CJK) makes the whole text UCS-2: 70 UTF-16 code units in one message, 67 per part (a character
outside the BMP takes two units). Parts never split an escape pair or a surrogate pair.

The alphabet comes from the ``gsm0338`` codec (3GPP TS 23.038 Rel-15 tables); this module adds only
the segment arithmetic. Used by ``nps survey put`` to show what a survey's SMS texts cost; the deliver
function does not import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

from nps.links.tokens import Keyring
from nps.sending.messages import fill_sms, invite_links, sms_template

if TYPE_CHECKING:
    from nps.sending.surveys import Survey

Encoding = Literal["GSM-7", "UCS-2"]
_SINGLE = {"GSM-7": 160, "UCS-2": 70}
_PART = {"GSM-7": 153, "UCS-2": 67}
_ESCAPE = 0x1B


@dataclass(frozen=True, slots=True)
class SmsLength:
    """A text's SMS cost: its encoding, its length in that encoding's units (septets for GSM-7,
    UTF-16 code units for UCS-2) and the number of segments (messages billed)."""

    encoding: Encoding
    units: int
    segments: int

    def as_dict(self) -> dict[str, object]:
        return {"encoding": self.encoding, "units": self.units, "segments": self.segments}


def _gsm_septets(text: str) -> list[int] | None:
    """Septets per character (1, or 2 for the extension table), or None when GSM-7 cannot carry it."""
    try:
        encoded = text.encode("gsm03.38")
    except UnicodeEncodeError:
        return None
    sizes: list[int] = []
    index = 0
    while index < len(encoded):
        size = 2 if encoded[index] == _ESCAPE else 1
        sizes.append(size)
        index += size
    return sizes


def _parts(sizes: list[int], per_part: int) -> int:
    """Parts needed when no character (a run of ``size`` units) may straddle two parts."""
    parts, used = 1, 0
    for size in sizes:
        if used + size > per_part:
            parts, used = parts + 1, 0
        used += size
    return parts


def sms_length(text: str) -> SmsLength:
    """The encoding, length and segment count of ``text`` as one SMS (an empty text is one segment)."""
    sizes = _gsm_septets(text)
    encoding: Encoding = "GSM-7"
    if sizes is None:
        encoding = "UCS-2"
        sizes = [2 if ord(character) > 0xFFFF else 1 for character in text]
    units = sum(sizes)
    segments = 1 if units <= _SINGLE[encoding] else _parts(sizes, _PART[encoding])
    return SmsLength(encoding=encoding, units=units, segments=segments)


#: The longest score link a default deployment sends (an API Gateway URL in the longest region name,
#: a respond token for a planner invite id): the budget the catalogs' SMS texts are checked against.
SAMPLE_BASE_URL = "https://abcdefghij.execute-api.ap-southeast-2.amazonaws.com"


def sample_score_link() -> str:
    """A score link as long as a real one (signed with a throwaway key: it is only counted)."""
    keyring = Keyring(keys={"k1": b"\0" * 32}, active_kid="k1")
    return invite_links(keyring, SAMPLE_BASE_URL, "inv-" + "0" * 32, 4_000_000_000, 4_000_000_000).score_page


@dataclass(frozen=True, slots=True)
class SurveySms:
    """One SMS text of a survey and its cost: ``kind`` is ``invite`` or ``reminder``; ``custom`` says
    whether the survey's own text (rather than the catalog's) was counted."""

    locale: str
    kind: Literal["invite", "reminder"]
    length: SmsLength
    custom: bool

    def as_dict(self) -> dict[str, object]:
        return {"locale": self.locale, "kind": self.kind, **self.length.as_dict(), "custom": self.custom}


def survey_sms_lengths(survey: Survey) -> list[SurveySms]:
    """The cost of each locale's invite and reminder SMS with the survey's brand and a link as long
    as a real one (:func:`sample_score_link`); empty when the survey does not send SMS."""
    if "sms" not in survey.channels:
        return []
    link = sample_score_link()
    lengths: list[SurveySms] = []
    for locale in survey.locales:
        for kind, custom in (("invite", survey.sms_text), ("reminder", survey.sms_reminder_text)):
            reminder = kind == "reminder"
            text = fill_sms(sms_template(survey, locale, reminder=reminder), survey.brand_name, link)
            lengths.append(SurveySms(locale, "reminder" if reminder else "invite", sms_length(text), locale in custom))
    return lengths
