"""Survey definitions from real-world input: quiet hours with offsets, header fields with line breaks,
brand colours the digits vanish on, long or non-ASCII headers, and SMS texts that cost more segments."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, time, timedelta, timezone
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from nps.cli.main import main as cli
from nps.kernel.branding import (
    DARK_CARD,
    MIN_CONTRAST,
    NEAR_BLACK,
    WHITE,
    brand_text_colour,
    contrast_ratio,
    text_colour_on,
)
from nps.kernel.locales import catalog, supported_locales
from nps.links.tokens import Keyring
from nps.sending.messages import RenderedEmail, fill_sms, invite_links, mime_message, render_email, render_sms
from nps.sending.quiet_hours import next_send_time
from nps.sending.sms import sample_score_link, sms_length, survey_sms_lengths
from nps.sending.surveys import MAX_SUBJECT_LENGTH, STORED, QuietHours, Survey, forbidden_header_character

BASE: dict[str, Any] = {
    "survey_id": "srv_1",
    "name": "Relationship NPS",
    "brand_name": "Acme",
    "sender": "surveys@example.com",
    "channels": ["email", "sms"],
    "locales": ["en", "de", "es"],
}
NOON_UTC = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ENCODED_WORD = re.compile(r"=\?[^?]+\?[bBqQ]\?[^?]*\?=")


def make_survey(**overrides: Any) -> Survey:
    return Survey.model_validate({**BASE, **overrides})


def refusal(overrides: dict[str, Any]) -> tuple[str, str]:
    """The (field path, message) of the single validation error ``overrides`` cause."""
    with pytest.raises(ValidationError) as caught:
        make_survey(**overrides)
    errors = caught.value.errors()
    assert len(errors) == 1, errors
    return ".".join(map(str, errors[0]["loc"])), errors[0]["msg"]


def mime(survey: Survey, subject: str = "Hello", recipient: str = "p@example.com") -> bytes:
    email = RenderedEmail(subject=subject, html="<p>hi</p>", text="hi")
    return mime_message(survey, recipient, email, "https://nps.example/u/k1.abc.def")


# -- quiet hours ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "written"), [("start", "20:00+01:00"), ("end", "09:00Z"), ("start", "20:00-05:30")])
def test_quiet_hours_with_an_offset_are_refused_with_the_field_named(field: str, written: str) -> None:
    # Given quiet hours written with an offset (the wave used to crash comparing naive and aware times)
    where, message = refusal({"quiet_hours": {field: written}})
    # Then survey put refuses them, naming the field and showing the local time to write
    assert where == f"quiet_hours.{field}"
    assert "without an offset" in message
    assert f'"{written[:5]}"' in message


def test_quiet_hours_stored_with_an_offset_are_read_as_local_times_so_a_wave_never_crashes() -> None:
    # Given a definition saved before the rule, with "20:00+01:00"
    stored = make_survey().model_dump(mode="json")
    stored["quiet_hours"] = {"start": "20:00+01:00", "end": "09:00"}
    survey = Survey.model_validate(stored, context=STORED)
    # Then it reads back as 20:00 local and the planner holds sends as usual
    assert survey.quiet_hours.start == time(20, 0)
    assert next_send_time(NOON_UTC.replace(hour=21), "UTC", survey.quiet_hours) == NOON_UTC.replace(hour=9) + timedelta(
        days=1
    )


@given(
    st.times(timezones=st.sampled_from([UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-9, minutes=-30))]))
)
def test_any_quiet_hour_with_an_offset_is_refused(aware: time) -> None:
    with pytest.raises(ValidationError, match="without an offset"):
        QuietHours.model_validate({"start": aware.isoformat(), "end": "12:00" if aware.hour != 12 else "13:00"})


@given(st.times(), st.times(), st.datetimes(timezones=st.just(UTC)), st.sampled_from(["UTC", "Asia/Kolkata"]))
def test_any_valid_quiet_hours_plan_a_send_time_outside_them(start: time, end: time, at: datetime, zone: str) -> None:
    if start.replace(microsecond=0) == end.replace(microsecond=0):
        return
    quiet = QuietHours.model_validate({"start": start.isoformat(), "end": end.isoformat()})
    assert next_send_time(at, zone, quiet) >= at


# -- header fields ----------------------------------------------------------------------------------

LINE_BREAKS = ["\n", "\r\n", "\r", "\u2028", "\u2029", "\u0085", "\t", "\x00"]


@pytest.mark.parametrize("separator", LINE_BREAKS)
@pytest.mark.parametrize(
    ("field", "path"),
    [
        ("name", "name"),
        ("brand_name", "brand_name"),
        ("sender_name", "sender_name"),
        ("follow_ups", "follow_ups.detractor.subject.en"),
    ],
)
def test_a_header_field_with_a_control_or_line_separator_is_refused_with_the_field_named(
    field: str, path: str, separator: str
) -> None:
    value = f"Acme Cloud{separator}Customer Success"
    overrides: dict[str, Any] = {field: value}
    if field == "follow_ups":
        overrides = {"follow_ups": {"detractor": {"subject": {"en": value}}}}
    where, message = refusal(overrides)
    assert where == path
    assert f"U+{ord(separator[0]):04X} at position 11" in message


def test_a_crlf_brand_cannot_add_a_bcc_even_when_it_reaches_the_message() -> None:
    # Given a definition that slipped past validation (built without it)
    survey = make_survey().model_copy(update={"brand_name": "Acme\r\nBcc: victim@example.com"})
    # Then the message is never built
    with pytest.raises(ValueError, match="control or line-separator"):
        mime(survey)


ENCODED_INJECTIONS = [
    "=?utf-8?q?Hi=0D=0ABcc:_evil@x.com?=",
    "=?utf-8?b?SGkNCkJjYzogZXZpbEB4LmNvbQ==?=",
    "Acme =?UTF-8?Q?=0D=0ABcc:_evil@x.com?= Cloud",
]


@pytest.mark.parametrize("value", ENCODED_INJECTIONS)
@pytest.mark.parametrize("field", ["brand_name", "sender_name", "follow_ups"])
def test_an_encoded_word_in_a_header_field_is_refused_with_the_field_named(field: str, value: str) -> None:
    # Given an ASCII value that a mail reader would decode into a line break and a Bcc header
    overrides: dict[str, Any] = {field: value}
    if field == "follow_ups":
        overrides = {"follow_ups": {"detractor": {"subject": {"en": value}}}}
    # Then survey put refuses it and names the field
    where, message = refusal(overrides)
    assert where.split(".")[0] == field
    assert "encoded word" in message


@pytest.mark.parametrize("value", ["\u202eevil\u202c subject", "Acme\u2066 Cloud", "   ", "\u00a0\u00a0"])
@pytest.mark.parametrize("field", ["brand_name", "name"])
def test_bidirectional_controls_and_blank_values_are_refused_in_header_fields(field: str, value: str) -> None:
    where, _ = refusal({field: value})
    assert where == field


@pytest.mark.parametrize("value", ENCODED_INJECTIONS)
def test_an_encoded_word_that_reaches_the_message_never_becomes_a_header(value: str) -> None:
    # Given a definition that slipped past validation (built without it), with the encoded word in the
    # subject and in the brand / Then the message is never built, rather than carrying a decoded Bcc
    survey = make_survey()
    with pytest.raises(ValueError, match=r"one header|encoded word"):
        mime(survey, subject=value)
    with pytest.raises(ValueError, match=r"one header|encoded word|CR or LF"):
        mime(survey.model_copy(update={"brand_name": value, "sender_name": value}))


def test_a_brand_cannot_add_a_second_link_to_the_sms() -> None:
    # Given a brand written with the link placeholder in it
    text = fill_sms("{brand}: rate us {link}", "Acme {link}", "https://nps.example/r/t")
    # Then the text carries exactly one link, and the brand as written
    assert text == "Acme {link}: rate us https://nps.example/r/t"
    assert text.count("https://") == 1


def test_a_header_field_stored_with_a_line_break_reads_back_as_one_line() -> None:
    stored = make_survey().model_dump(mode="json")
    stored["brand_name"] = "Acme Cloud\r\nCustomer Success"
    assert Survey.model_validate(stored, context=STORED).brand_name == "Acme Cloud Customer Success"


def test_the_example_brand_with_a_line_break_keeps_list_unsubscribe_when_written_on_one_line() -> None:
    message = message_from_bytes(mime(make_survey(brand_name="Acme Cloud Customer Success")), policy=policy.default)
    assert message["List-Unsubscribe"] == "<https://nps.example/u/k1.abc.def>"
    assert message["From"].addresses[0].display_name == "Acme Cloud Customer Success"
    assert "Bcc" not in message


def test_a_subject_over_the_cap_is_refused() -> None:
    where, message = refusal({"follow_ups": {"promoter": {"subject": {"en": "x" * (MAX_SUBJECT_LENGTH + 1)}}}})
    assert where == "follow_ups.promoter.subject.en"
    assert f"at most {MAX_SUBJECT_LENGTH} characters" in message


def test_the_1040_character_subject_folds_into_lines_of_at_most_76() -> None:
    # Given the example: a 1,040-character ASCII subject was one 1,049-character line
    raw = mime(make_survey(), subject="x" * 1040)
    header = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert max(len(line) for line in header.split("\r\n")) <= 76
    assert str(message_from_bytes(raw, policy=policy.default)["Subject"]) == "x" * 1040


def test_non_ascii_brand_names_give_encoded_words_of_at_most_75_characters() -> None:
    # Given the example: a non-ASCII sender name gave 77–100-character encoded words
    brand = "Ñandú Ölçüm Şirketi — Müşteri Başarısı Ekibi ünlü"
    survey = make_survey(brand_name=brand)
    raw = mime(survey, subject=render_email(survey, "es", _links()).subject)
    header = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    words = ENCODED_WORD.findall(header)
    assert words
    assert max(len(w) for w in words) <= 75
    assert max(len(line) for line in header.split("\r\n")) <= 76
    assert rfc2047_display_name(raw) == brand
    assert brand in str(message_from_bytes(raw, policy=policy.default)["Subject"])


def rfc2047_display_name(raw: bytes) -> str:
    """The From display name decoded per RFC 2047 §6.2 (whitespace between adjacent encoded words is
    dropped; the modern parser of Python 3.11 keeps one space there, so it is not used here)."""
    value = message_from_bytes(raw, policy=policy.compat32)["From"]
    decoded = str(make_header(decode_header(value.replace("\r\n", ""))))
    display, _, address = decoded.rpartition(" <")
    assert address == "surveys@example.com>"
    if display.startswith('"') and display.endswith('"'):
        display = re.sub(r"\\(.)", r"\1", display[1:-1])
    return display


header_text = st.text(
    st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp", "Zs")) | st.sampled_from(" \u00a0\u2009"),
    min_size=1,
    max_size=80,
).filter(lambda s: s.strip() == s and "  " not in s and forbidden_header_character(s) is None)


@settings(max_examples=150, deadline=None)
@given(brand=header_text, written_subject=header_text)
def test_any_header_field_value_yields_a_message_with_the_same_headers(brand: str, written_subject: str) -> None:
    survey = make_survey(brand_name=brand, follow_ups={"passive": {"subject": {"en": written_subject}}})
    brand, subject = survey.brand_name, survey.follow_ups.passive.subject["en"]  # other spaces → " "
    raw = mime(survey, subject=subject)
    header = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert all(len(w) <= 75 for w in ENCODED_WORD.findall(header))
    assert all(len(line) <= 998 for line in header.split("\r\n"))
    parsed = message_from_bytes(raw, policy=policy.default)
    assert [k for k in parsed if k != "Date"] == [
        "From", "To", "Subject", "MIME-Version", "List-Unsubscribe", "List-Unsubscribe-Post",
        "Auto-Submitted", "Content-Type",
    ]  # fmt: skip
    assert rfc2047_display_name(raw) == brand
    assert parsed["From"].addresses[0].addr_spec == "surveys@example.com"
    assert str(parsed["Subject"]) == subject
    assert parsed["List-Unsubscribe"] == "<https://nps.example/u/k1.abc.def>"


# -- brand colour -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("brand_colour", "digits", "ratio"),
    [("#facc15", NEAR_BLACK, 11.36), ("#ffffff", NEAR_BLACK, 17.4), ("#1d4ed8", WHITE, 6.70)],
)
def test_the_score_digits_take_the_colour_that_reaches_4_5_to_1(brand_colour: str, digits: str, ratio: float) -> None:
    # Given the examples: white digits on #facc15 were 1.53:1, on #ffffff invisible
    assert round(contrast_ratio(WHITE, "#facc15"), 2) == 1.53
    assert text_colour_on(brand_colour) == digits
    assert round(contrast_ratio(digits, brand_colour), 2) == ratio
    html = render_email(make_survey(brand_colour=brand_colour), "en", _links()).html
    assert html.count(f"color:{digits};background-color:{brand_colour}") == 11


def test_a_light_brand_colour_is_not_used_for_the_brand_name_on_the_white_card() -> None:
    html = render_email(make_survey(brand_colour="#facc15"), "en", _links()).html
    assert f"font-weight:bold;color:{NEAR_BLACK};" in html
    assert brand_text_colour("#1d4ed8") == "#1d4ed8"


@given(st.integers(0, 0xFFFFFF).map(lambda n: f"#{n:06x}"))
def test_any_brand_colour_gets_digits_and_a_brand_name_at_4_5_to_1(colour: str) -> None:
    assert contrast_ratio(text_colour_on(colour), colour) >= MIN_CONTRAST
    assert contrast_ratio(brand_text_colour(colour), WHITE) >= MIN_CONTRAST
    assert contrast_ratio(brand_text_colour(colour, DARK_CARD), DARK_CARD) >= MIN_CONTRAST


@pytest.mark.parametrize(
    ("brand_colour", "light", "dark"),
    [
        ("#facc15", NEAR_BLACK, "#facc15"),  # yellow: unreadable on white, fine on the dark card
        ("#1e3a8a", "#1e3a8a", WHITE),  # navy: the reverse
    ],
)
def test_the_dark_palette_gives_the_brand_name_its_own_colour(brand_colour: str, light: str, dark: str) -> None:
    html = render_email(make_survey(brand_colour=brand_colour), "en", _links()).html
    brand_cell = re.search(r'class="nps-brand" style="[^"]*"', html)
    assert brand_cell is not None
    assert brand_cell.group(0).endswith(f'color:{light};"')
    assert f".nps-brand {{ color: {dark} !important; }}" in html


# -- SMS --------------------------------------------------------------------------------------------

OLD_SPANISH = "{brand}: ¿nos recomendarías (0-10)? Responde aquí: {link} Responde STOP para no recibir más."


def test_the_old_spanish_invite_of_241_characters_took_4_ucs2_segments() -> None:
    # Given the example: the Spanish invite of 241 characters, forced to UCS-2 by "í"
    link = "https://nps.example.com/r/"
    link += "A" * (241 - len(fill_sms(OLD_SPANISH, "Acme", link)))
    text = fill_sms(OLD_SPANISH, "Acme", link)
    assert len(text) == 241
    assert sms_length(text).as_dict() == {"encoding": "UCS-2", "units": 241, "segments": 4}


@pytest.mark.parametrize("locale", sorted(supported_locales()))
@pytest.mark.parametrize("reminder", [False, True])
def test_every_locales_default_sms_fits_two_gsm7_segments_with_a_40_character_brand(
    locale: str, reminder: bool
) -> None:
    survey = make_survey(brand_name="B" * 40, locales=sorted(supported_locales()))
    link = sample_score_link()
    assert len(link) >= 150
    text = fill_sms(catalog(locale)["sms_reminder" if reminder else "sms_invite"], survey.brand_name, link)
    length = sms_length(text)
    assert length.encoding == "GSM-7", text
    assert length.segments <= 2


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # extension table: two septets each
        ("a" * 152 + "€" + "a" * 10, "GSM-7", 164, 2),
        ("a" * 152 + "€" * 77, "GSM-7", 306, 3),  # an escape pair never straddles two parts
        ("¿Qué tal? ñ ü é", "GSM-7", 15, 1),
        ("á" * 70, "UCS-2", 70, 1),
        ("á" * 71, "UCS-2", 71, 2),
        ("á" * 134, "UCS-2", 134, 2),
        ("😀" * 35, "UCS-2", 70, 1),  # outside the BMP: two UTF-16 units
        ("a" * 66 + "😀" * 35, "UCS-2", 136, 3),  # a surrogate pair never straddles two parts
    ],
)
def test_sms_segments_are_counted_per_encoding(text: str, encoding: str, units: int, segments: int) -> None:
    assert sms_length(text).as_dict() == {"encoding": encoding, "units": units, "segments": segments}


GSM_BASIC = "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"  # noqa: E501


@given(st.text(st.sampled_from(GSM_BASIC), max_size=800))
def test_any_basic_gsm_text_takes_one_septet_a_character(text: str) -> None:
    length = sms_length(text)
    assert (length.encoding, length.units) == ("GSM-7", len(text))
    assert length.segments == (1 if len(text) <= 160 else math.ceil(len(text) / 153))


@given(st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=["Cs"]), max_size=400).map(lambda s: "á" + s))
def test_any_text_with_a_non_gsm_character_is_ucs2_at_67_a_part(text: str) -> None:
    length = sms_length(text)
    assert (length.encoding, length.units) == ("UCS-2", len(text))
    assert length.segments == (1 if len(text) <= 70 else math.ceil(len(text) / 67))


def test_a_custom_sms_text_replaces_the_catalogs_and_its_segments_are_shown() -> None:
    survey = make_survey(sms_text={"es": "{brand}: ¿qué nota nos darías? {link}"}, locales=["en", "es"])
    assert render_sms(survey, "es", _links()) == f"Acme: ¿qué nota nos darías? {_links().score_page}"
    lengths = {(s.locale, s.kind): s for s in survey_sms_lengths(survey)}
    assert set(lengths) == {("en", "invite"), ("en", "reminder"), ("es", "invite"), ("es", "reminder")}
    assert lengths["es", "invite"].custom
    assert not lengths["es", "reminder"].custom
    assert lengths["es", "invite"].length.encoding == "UCS-2"  # "í" in "darías"
    assert lengths["es", "invite"].length.segments == 3
    assert lengths["en", "invite"].length.segments == 2
    assert survey_sms_lengths(make_survey(channels=["email"])) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [("Acme: tap here", "{link} exactly once"), ("{link} {link}", "{link} exactly once"), ("a\u2028{link}", "U+2028")],
)
def test_a_custom_sms_text_without_one_link_is_refused(text: str, message: str) -> None:
    where, error = refusal({"sms_text": {"en": text}})
    assert where == "sms_text.en"
    assert message in error


def test_survey_put_names_the_field_and_exits_non_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "survey.json"
    definition = {
        **BASE,
        "brand_name": "Acme\r\nBcc: x@example.com",
        "quiet_hours": {"start": "20:00+01:00"},
    }
    path.write_text(json.dumps(definition))
    # A deployed stack is named, but the file is refused before any call to AWS (this test has no mock).
    assert cli(["--stack", "Nps-prod", "survey", "put", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"nps: {path}: invalid survey definition\n")
    assert "brand_name: Value error, must be one line without control, line-separator or bidirectional" in err
    assert "quiet_hours.start: Value error, write a local time without an offset" in err


def _links() -> Any:
    keyring = Keyring(keys={"k1": b"k" * 32}, active_kid="k1")
    return invite_links(keyring, "https://nps.example", "inv_1", 2_000_000_000, 2_100_000_000)


@pytest.mark.parametrize("hidden", ["\x1b[2J", "\x00", "\u202e", "\u200b", "\x7f"])
@pytest.mark.parametrize("where", ["digest", "promoter"])
def test_a_link_with_a_control_or_invisible_character_is_refused_and_read_back_without_it(
    hidden: str, where: str
) -> None:
    # Given a link that carries a terminal escape, a NUL, a bidirectional override, a zero width or a separator
    url = f"https://intranet.example.com/nps{hidden}/report.html"
    if where == "digest":
        overrides: dict[str, Any] = {"digest": {"recipients": ["team@example.com"], "report_url": url}}
        field = "digest.report_url"
    else:
        overrides = {"follow_ups": {"promoter": {"review_url": url}}}
        field = "follow_ups.promoter.review_url"
    # When the survey is put / Then it is refused, with the field and the character named (not the link)
    path, message = refusal(overrides)
    assert path == field
    assert f"U+{ord(hidden[0]):04X} at position 33" in message
    # And a definition stored before the rule reads back with the character left out
    stored = {**make_survey().model_dump(mode="json"), **overrides}
    survey = Survey.model_validate(stored, context=STORED)
    read = survey.digest.report_url if where == "digest" and survey.digest else survey.follow_ups.promoter.review_url
    assert read == url.replace(hidden, hidden[1:] if hidden[0] == "\x1b" else "")
