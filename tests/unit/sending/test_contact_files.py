"""Contact files as real tools write them: dialects, encodings, mailboxes, phone numbers, time zones, text.

Each example is modelled on a public bug report of a tool that imports contact lists; its right value is
asserted here, and a property test covers the kind of input where one fits.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nps.events.models import ResponseItem
from nps.kernel.statistics import estimate
from nps.reporting.figures import counts_from
from nps.scoring.aggregation import ALL, Transition, coalesce
from nps.sending.contacts import Contact, parse_contacts_csv, parse_contacts_file
from nps.sending.phones import PhoneRefused, e164
from nps.sending.planning import Skip, plan_contacts
from nps.sending.quiet_hours import next_send_time
from nps.sending.surveys import QuietHours, Survey
from nps.sending.time_zones import TimeZoneRefused, check_time_zone
from tests.support.fakes import ID_KEY

SURVEY: dict[str, Any] = {
    "survey_id": "srv_1",
    "name": "Relationship NPS",
    "brand_name": "Acme",
    "sender": "surveys@example.com",
    "channels": ["email", "sms"],
    "locales": ["en"],
    "segment_dimensions": ["city"],
}
NOON_UTC = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def reasons(report: Any) -> dict[str, str]:
    return {e.contact_id or f"line {e.line}": "; ".join(e.errors) for e in report.errors}


# -- dialects ---------------------------------------------------------------------------------------


def test_an_excel_semicolon_file_with_bom_and_crlf_imports() -> None:
    # Given a file as Excel writes it in a ';' locale: BOM, CRLF, header contact_id;email;plan
    data = "\ufeffcontact_id;email;plan\r\nc1;ana@example.com;pro\r\nc2;ben@example.com;free\r\n".encode()
    # When it is parsed
    report = parse_contacts_file(data)
    # Then both rows are contacts with their plan
    assert report.file_error is None
    assert [(c.contact_id, c.email, c.attributes) for c in report.contacts] == [
        ("c1", "ana@example.com", {"plan": "pro"}),
        ("c2", "ben@example.com", {"plan": "free"}),
    ]


def test_a_tab_separated_utf16_file_from_excel_unicode_text_imports() -> None:
    data = "contact_id\temail\tplan\r\nc1\tana@example.com\tpro\r\n".encode("utf-16")
    report = parse_contacts_file(data)
    assert (report.file_error, [c.contact_id for c in report.contacts]) == (None, ["c1"])


def test_a_row_written_with_another_separator_names_the_files_separator() -> None:
    report = parse_contacts_csv("contact_id;email;plan\nc1,ana@example.com,pro\n")
    assert reasons(report) == {"line 2": "expected 3 columns separated by ';', found 1"}


def test_cells_holding_another_separator_stay_in_their_column() -> None:
    # Given a comma file whose quoted cells contain ';' and a tab
    report = parse_contacts_csv('contact_id,email,plan\nc1,ana@example.com,"pro; annual\tEU"\n')
    assert report.contacts[0].attributes == {"plan": "pro; annual\tEU"}


PLAN_VALUES = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=20).filter(
    lambda s: s.strip() == s and bool(s.strip())
)


@settings(max_examples=60, deadline=None)
@given(
    delimiter=st.sampled_from([",", ";", "\t"]),
    line_end=st.sampled_from(["\n", "\r\n"]),
    bom=st.booleans(),
    plans=st.lists(PLAN_VALUES, min_size=1, max_size=5),
)
def test_any_dialect_a_spreadsheet_writes_reads_back_the_same_contacts(
    delimiter: str, line_end: str, bom: bool, plans: list[str]
) -> None:
    # Given contacts written by the csv module in some separator, line end and BOM
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=line_end)
    writer.writerow(["contact_id", "email", "plan"])
    for index, plan in enumerate(plans):
        writer.writerow([f"c{index}", f"p{index}@example.com", plan])
    data = (("\ufeff" if bom else "") + out.getvalue()).encode()
    # When parsed / Then every row comes back with its value (NFC, as every value is)
    report = parse_contacts_file(data)
    assert report.errors == []
    assert report.file_error is None
    assert [c.attributes["plan"] for c in report.contacts] == [unicodedata.normalize("NFC", p) for p in plans]


# -- encodings --------------------------------------------------------------------------------------


def test_a_windows_1252_file_is_refused_with_one_line_and_imports_nothing() -> None:
    # Given "Zürich" saved as Windows-1252 (ü is byte 0xFC)
    data = "contact_id,email,city\nc1,ana@example.com,Zürich\n".encode("cp1252")
    report = parse_contacts_file(data)
    assert report.contacts == []
    assert report.file_error == (
        "the file is not UTF-8 text (byte 0xFC on line 2); nothing was imported: "
        'save it as "CSV UTF-8" (Excel: File > Save As > CSV UTF-8) and import it again'
    )
    assert "\n" not in report.file_error


# -- mailboxes --------------------------------------------------------------------------------------


def test_two_spellings_of_one_mailbox_are_one_contact_and_the_second_is_reported() -> None:
    report = parse_contacts_csv("contact_id,email\nc1,Ana.Example@Example.com\nc2,ana.example@example.com\n")
    assert [c.contact_id for c in report.contacts] == ["c1"]
    assert reasons(report) == {
        "c2": "email: the same mailbox as line 2 (contact_id c1); one contact per mailbox "
        "(addresses compare case-insensitively)"
    }


def test_one_phone_number_written_two_ways_is_one_contact() -> None:
    report = parse_contacts_csv("contact_id,phone\nc1,+44 20 7946 0958\nc2,+44 (0)20 7946 0958\n")
    assert reasons(report) == {"c2": "phone: the same phone number as line 2 (contact_id c1)"}


def test_a_wave_sends_one_invite_per_mailbox_even_across_pages() -> None:
    # Given two contacts (stored before imports compared mailboxes) on two pages of one audience
    survey = Survey.model_validate(SURVEY)
    first = Contact(contact_id="c1", email="Ana.Example@Example.com")
    second = Contact(contact_id="c2", email="ana.example@example.com")
    other = Contact(contact_id="c3", email="ben@example.com")
    invited: set[str] = set()
    # When the wave plans both pages
    plans = [
        plan_contacts(survey, "w1", page, lambda c, ch: False, NOON_UTC, ID_KEY, invited_addresses=invited)
        for page in ([first], [second, other])
    ]
    # Then one invite goes to the mailbox and the other contact is skipped as the same address
    assert [i.contact_id for p in plans for i in p.invites] == ["c1", "c3"]
    assert plans[1].skipped == {Skip.SAME_ADDRESS: 1}


@given(st.from_regex(r"[A-Za-z0-9._+-]{1,20}@[A-Za-z0-9]{1,10}\.[A-Za-z]{2,6}", fullmatch=True))
def test_any_casing_of_an_address_is_the_same_mailbox(address: str) -> None:
    survey = Survey.model_validate(SURVEY)
    contacts = [Contact(contact_id="c1", email=address), Contact(contact_id="c2", email=address.swapcase())]
    plan = plan_contacts(survey, "w1", contacts, lambda c, ch: False, NOON_UTC, ID_KEY)
    assert len(plan.invites) == 1


# -- phone numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("+44 (0)20 7946 0958", "+442079460958"),
        ("+44 020 7946 0958", "+442079460958"),
        ("+33 (0)1 42 68 53 00", "+33142685300"),
        ("+1 (415) 555-0123", "+14155550123"),
        ("+49 151 12345678", "+4915112345678"),
    ],
)
def test_a_number_with_a_trunk_prefix_after_the_country_code_is_stored_as_e164(written: str, stored: str) -> None:
    assert Contact(contact_id="c1", phone=written).phone == stored


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        # 07700 900xxx is Ofcom's range reserved for drama: no handset has it
        ("+44 07700 900123", "phone is not a valid number for country code +44 (GB) (wrong length or range)"),
        ("+4402079460958", None),  # the old output: read back, it is the valid London number
        ("020 7946 0958", "phone must be in international format: + and the country code (e.g. +44 20 7946 0958)"),
        ("+1 415 555 0123 ext. 12", "phone has an extension; a text message cannot reach an extension"),
        ("+1-2", "phone is not a phone number (e.g. +44 20 7946 0958)"),
    ],
)
def test_a_number_no_phone_can_have_is_refused_with_the_reason(written: str, reason: str | None) -> None:
    if reason is None:
        assert e164(written) == "+442079460958"
        return
    with pytest.raises(PhoneRefused) as refused:
        e164(written)
    assert str(refused.value) == reason


def test_the_import_report_names_the_phone_reason_without_the_number() -> None:
    report = parse_contacts_csv("contact_id,phone\nc1,+44 07700 900123\n")
    assert reasons(report) == {
        "c1": "phone: phone is not a valid number for country code +44 (GB) (wrong length or range)"
    }
    assert "7700" not in report.as_csv()


NUMBERS = st.builds(
    phonenumbers.example_number_for_type,
    st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)),
    st.sampled_from([phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE]),
).filter(lambda n: n is not None)


@settings(max_examples=200, deadline=None)
@given(NUMBERS, st.sampled_from([phonenumbers.PhoneNumberFormat.INTERNATIONAL, phonenumbers.PhoneNumberFormat.E164]))
def test_any_number_phonenumbers_accepts_round_trips_to_the_same_e164(number: Any, style: int) -> None:
    # Given a valid number of any country, written as people write it internationally
    expected = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    written = phonenumbers.format_number(number, style)
    # Then it is stored as its E.164 form, and storing that again changes nothing
    assert e164(written) == expected
    assert e164(expected) == expected


# -- time zones -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "suggestion"),
    [
        ("EST", "America/New_York"),
        ("PST", "America/Los_Angeles"),
        ("Etc/GMT+5", "America/New_York"),
        ("UTC-05:00", "America/New_York"),
        ("GMT", "Europe/London"),
        ("+05:30", "Asia/Kolkata"),
    ],
)
def test_abbreviations_and_fixed_offsets_are_refused_with_a_place_to_use(written: str, suggestion: str) -> None:
    with pytest.raises(TimeZoneRefused, match="daylight saving time would be missed") as refused:
        check_time_zone(written)
    assert suggestion in str(refused.value)


def test_utc_and_place_names_are_kept() -> None:
    assert check_time_zone("UTC") == "UTC"
    assert check_time_zone("Etc/UTC") == "UTC"
    assert check_time_zone("America/New_York") == "America/New_York"


def test_the_import_report_flags_est_and_suggests_new_york() -> None:
    report = parse_contacts_csv("contact_id,email,time_zone\nc1,ana@example.com,EST\nc2,ben@example.com,UTC\n")
    assert [c.contact_id for c in report.contacts] == ["c2"]
    assert "use an IANA zone such as America/New_York" in reasons(report)["c1"]


def test_a_send_released_at_0030z_in_july_is_held_until_nine_in_new_york() -> None:
    # Given a July release at 00:30Z (20:30 in New York, inside the 20:00-09:00 quiet hours)
    at = datetime(2026, 7, 15, 0, 30, tzinfo=UTC)
    # Then the place name holds it until 09:00 EDT (13:00Z), where "EST" would have sent at 19:30
    assert next_send_time(at, check_time_zone("America/New_York"), QuietHours()) == at + timedelta(hours=12, minutes=30)


@given(st.sampled_from(sorted(__import__("zoneinfo").available_timezones())))
def test_any_zone_is_kept_as_a_place_or_refused_with_what_to_use(name: str) -> None:
    try:
        kept = check_time_zone(name)
    except TimeZoneRefused as refused:
        message = str(refused)
    else:
        message = ""
    if message:
        assert "use" in message or "IANA" in message
        return
    assert kept == "UTC" or ("/" in kept and not kept.startswith("Etc/"))


# -- text that looks the same -----------------------------------------------------------------------


def test_precomposed_and_decomposed_zurich_are_one_aggregate_row_n6_nps0() -> None:
    # Given 3 promoters in precomposed "Zürich" and 3 detractors in decomposed "Zu\u0308rich"
    precomposed, decomposed = "Z\u00fcrich", "Zu\u0308rich"
    rows = [f"p{i},p{i}@example.com,{precomposed}" for i in range(3)]
    rows += [f"d{i},d{i}@example.com,{decomposed}" for i in range(3)]
    report = parse_contacts_file(("contact_id,email,city\n" + "\n".join(rows) + "\n").encode())
    survey = Survey.model_validate(SURVEY)
    plan = plan_contacts(survey, "w1", report.contacts, lambda c, ch: False, NOON_UTC, ID_KEY)
    # When each invitee answers (promoters 10, detractors 0) and the answers are aggregated
    transitions = [
        Transition(
            invite_id=invite.invite_id,
            version=1,
            record_time=NOON_UTC,
            sequence_number=str(n),
            old=None,
            new=ResponseItem(
                invite_id=invite.invite_id,
                survey_id=invite.survey_id,
                wave_id=invite.wave_id,
                contact_id=invite.contact_id,
                channel="email",
                segments=invite.segments,
                score=10 if invite.contact_id.startswith("p") else 0,
                version=1,
                first_answered_at=NOON_UTC,
                answered_at=NOON_UTC,
            ),
        )
        for n, invite in enumerate(plan.invites)
    ]
    aggregates = coalesce(transitions)
    # Then there is one city row: n=6, NPS 0
    city_rows = {
        key.segment: counters
        for key, counters in aggregates.items()
        if key.segment.startswith("city=") and key.channel == ALL and key.granularity.value == "day"
    }
    assert list(city_rows) == ["city=Z\u00fcrich"]
    figures = estimate(counts_from(city_rows["city=Z\u00fcrich"]))
    assert (figures.n, figures.nps) == (6, 0)


@given(
    st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=30).filter(
        lambda s: s.strip() == s and len(unicodedata.normalize("NFC", s)) <= 64
    )
)
def test_any_value_and_its_decomposed_form_are_the_same_attribute(value: str) -> None:
    decomposed = unicodedata.normalize("NFD", value)
    one = Contact(contact_id="c1", email="a@example.com", attributes={"city": value})
    two = Contact(contact_id="c1", email="a@example.com", attributes={"city": decomposed})
    assert one.attributes == two.attributes == {"city": unicodedata.normalize("NFC", value)}
    survey = Survey.model_validate(SURVEY)
    assert survey.segments_of({"city": decomposed}) == {"city": unicodedata.normalize("NFC", value)}


# -- the error report -------------------------------------------------------------------------------


def test_the_error_report_neutralises_rejected_cells_a_spreadsheet_would_run() -> None:
    text = 'contact_id,email\n"=HYPERLINK(""https://evil.example"",""x"")",ana@example.com\n+1-2,\n'
    report = parse_contacts_csv(text)
    rows = list(csv.reader(io.StringIO(report.as_csv())))
    assert rows[1][1] == '\'=HYPERLINK("https://evil.example","x")'
    assert rows[2][1] == "'+1-2"


@given(st.lists(st.text(max_size=20).filter(lambda s: "\n" not in s and "\r" not in s), min_size=1, max_size=5))
def test_no_cell_of_the_error_report_starts_a_formula(ids: list[str]) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([["contact_id", "locale"], *([i, "xx"] for i in ids)])
    report = parse_contacts_csv(out.getvalue())
    for row in csv.reader(io.StringIO(report.as_csv())):
        assert not any(cell.startswith(FORMULA_STARTS) for cell in row)


@pytest.mark.parametrize(
    "email", ["d\x1b[2J@example.com", "c\x1b[31m@example.com", "a\x00b@example.com", "x\x85@example.com"]
)
def test_an_email_with_a_control_character_is_refused(email: str) -> None:
    report = parse_contacts_csv(f"contact_id,email\nc1,{email}\n", audience="default")
    assert report.contacts == []
    assert len(report.errors) == 1


@pytest.mark.parametrize("written", ["UTC+14:00", "Etc/GMT-14", "Etc/GMT+12", "-03:30"])
def test_a_fixed_offset_without_a_listed_place_suggests_no_wrong_place(written: str) -> None:
    with pytest.raises(TimeZoneRefused) as refused:
        check_time_zone(written)
    assert "Europe/Berlin" not in str(refused.value)
    assert "fixed offset" in str(refused.value)


def test_a_quote_left_open_is_reported_and_swallows_no_row_silently() -> None:
    # Given a cell whose quote is never closed: the rest of the file would be read as one cell
    report = parse_contacts_csv(
        'contact_id,email,plan\nc1,a@example.com,"gold\nc2,b@example.com,ok\nc3,c@example.com,ok\n'
    )
    # Then nothing from there is imported, and the report says where and why
    assert report.contacts == []
    (error,) = report.errors
    assert error.line == 2
    assert "never closed" in error.errors[0]
    assert "lines 2-4" in error.errors[0]


def test_a_segment_value_with_a_control_character_is_refused_with_the_reason() -> None:
    report = parse_contacts_csv("contact_id,email,plan\nc1,a@example.com,go\x00ld\nc2,b@example.com,pro\n")
    assert [c.contact_id for c in report.contacts] == ["c2"]
    (error,) = report.errors
    assert error.errors == ("attributes.plan: holds a control character or a line break (is a quote left open?)",)


@pytest.mark.parametrize(
    ("column", "suggested"),
    [("Customer Segment", "customer_segment"), ("Région", "region"), ("plan-type", "plan_type")],
)
def test_a_column_that_cannot_be_an_attribute_name_is_one_file_error_with_a_suggestion(
    column: str, suggested: str
) -> None:
    report = parse_contacts_csv(f"contact_id,email,{column}\nc1,a@example.com,gold\n")
    assert report.contacts == []
    assert report.file_error is not None
    assert "attribute names are 1-32 lower-case letters" in report.file_error
    assert repr(suggested) in report.file_error


def test_a_trailing_separator_adds_no_column_and_a_value_under_no_name_is_refused() -> None:
    report = parse_contacts_csv("contact_id,email,\nc1,a@example.com,\nc2,b@example.com,oops\n")
    assert [c.contact_id for c in report.contacts] == ["c1"]
    (error,) = report.errors
    assert "column with no name" in error.errors[0]
