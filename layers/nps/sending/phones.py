"""Contacts' phone numbers: parsed with every country's rules (Google's libphonenumber), stored as E.164.

``phonenumbers`` (the ``phonenumberslite`` distribution: parsing, validation and formatting without the
geocoder and carrier data) is imported on first use, so functions that never parse a number do not pay
its import. Reasons never echo the number (PII), only its country calling code.
"""

from __future__ import annotations


class PhoneRefused(ValueError):
    """A phone number that cannot receive a text message as written, with the reason."""


EXAMPLE = "+44 20 7946 0958"


def e164(text: str) -> str:
    """``text`` as an E.164 number (``+442079460958``), or :class:`PhoneRefused` with the reason.

    International format is required (a ``+`` and the country calling code) because a file does not say
    which country a national number belongs to; national trunk prefixes written after the country code
    (``+44 (0)20 ...``, ``+44 020 ...``) are dropped by the country's own rules. A number that is not valid
    in its country (an unassigned range, a wrong length) or that has an extension is refused.
    Source: ITU-T E.164; libphonenumber's ``parse`` / ``isValidNumber``.
    """
    import phonenumbers  # ~65 ms of import, paid only where numbers are parsed

    stripped = text.strip()
    if not stripped.startswith("+"):
        raise PhoneRefused(f"phone must be in international format: + and the country code (e.g. {EXAMPLE})")
    try:
        number = phonenumbers.parse(stripped, None)
    except phonenumbers.NumberParseException:
        raise PhoneRefused(f"phone is not a phone number (e.g. {EXAMPLE})") from None
    if number.extension:
        raise PhoneRefused("phone has an extension; a text message cannot reach an extension")
    if not phonenumbers.is_valid_number(number):
        region = phonenumbers.region_code_for_country_code(number.country_code or 0)
        where = f" ({region})" if region and region != "ZZ" else ""
        raise PhoneRefused(
            f"phone is not a valid number for country code +{number.country_code}{where} (wrong length or range)"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def stored_spellings(stored: str) -> tuple[str, ...]:
    """Every spelling a contact's number may have been stored (and suppressed) under, canonical first.

    Releases before numbers were parsed stored them with only the punctuation removed, trunk prefix kept:
    ``+44 (0)20 7946 0958`` → ``+4402079460958``, today ``+442079460958``. A suppression is keyed by the
    stored spelling, so moving one to the canonical number needs both (see :mod:`nps.sending.rekeying`).
    An unparseable stored number has only its own spelling.
    """
    import phonenumbers

    try:
        canonical = e164(stored)
    except PhoneRefused:
        return (stored,)
    number = phonenumbers.parse(canonical, None)
    trunk = f"+{number.country_code}0{phonenumbers.national_significant_number(number)}"
    return tuple(dict.fromkeys((canonical, stored, trunk)))
