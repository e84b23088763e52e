"""Keyed ids: invite ids and suppression keys cannot be recomputed or reversed without the stack's id key."""

from __future__ import annotations

import hashlib
import hmac
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nps.links.pseudonyms import IdKey, IdKeyError
from nps.sending.planning import invite_id_for
from nps.sending.suppression import address_hash, legacy_address_hash, lookup_hashes, normalise_address
from tests.support.fakes import ID_KEY

OTHER_KEY = IdKey(b"another-id-key-0123456789abcdef0123456")
PROPERTY = settings(max_examples=200, deadline=None, database=None)


def test_an_invite_id_no_longer_gives_away_its_contact() -> None:
    # Given the reported case: a link's invite id, and an attacker who knows the wave id and audience and
    # hashes candidate contact ids as the old code did (sha256 of wave/audience/contact)
    invite_id = invite_id_for("srv_1-20261123T0900", "c-00042", "default", ID_KEY)

    def unkeyed(contact_id: str) -> str:
        digest = hashlib.sha256(f"srv_1-20261123T0900\x1fdefault\x1f{contact_id}".encode()).hexdigest()
        return f"inv-{digest[:32]}"

    # When every contact id of the form c-NNNNN is tried
    recovered = [c for c in (f"c-{n:05d}" for n in range(100_000)) if unkeyed(c) == invite_id]
    # Then none matches: the id is HMAC-SHA256 under the key (RFC 2104), and only the key reproduces it
    assert recovered == []
    expected = hmac.new(ID_KEY.key, b"invite\x1fsrv_1-20261123T0900\x1fdefault\x1fc-00042", hashlib.sha256)
    assert invite_id == f"inv-{expected.hexdigest()[:32]}"
    assert invite_id != invite_id_for("srv_1-20261123T0900", "c-00042", "default", OTHER_KEY)


def test_a_suppression_key_no_longer_reverses_to_the_phone_number() -> None:
    # Given the reported case: the stored key of a suppressed phone number
    phone = "+14155550123"
    stored = address_hash("sms", phone, ID_KEY)
    # When an attacker hashes every number in the area code as the old code did (sha256 of "sms:<E.164>")
    candidates = (f"+1415555{n:04d}" for n in range(10_000))
    found = [p for p in candidates if hashlib.sha256(f"sms:{p}".encode()).hexdigest() == stored]
    # Then nothing matches, while the legacy key (which did) is only read during the migration
    assert found == []
    assert legacy_address_hash("sms", phone) == hashlib.sha256(b"sms:+14155550123").hexdigest()
    assert stored == hmac.new(ID_KEY.key, b"suppression\x1fsms\x1f+14155550123", hashlib.sha256).hexdigest()


def test_a_lookup_checks_the_keyed_key_then_the_legacy_one() -> None:
    assert lookup_hashes("email", " Ann@Example.com ", ID_KEY) == (
        address_hash("email", "ann@example.com", ID_KEY),
        legacy_address_hash("email", "ann@example.com"),
    )


@pytest.mark.parametrize("secret", [{}, {"key": 42}, {"key": "short"}, {"Key": "x" * 64}])
def test_an_unusable_id_key_secret_is_refused(secret: dict[str, object]) -> None:
    with pytest.raises(IdKeyError):
        IdKey.from_secret(secret)


def test_the_id_key_is_never_shown() -> None:
    assert ID_KEY.key.decode() not in repr(ID_KEY)


_ADDRESSES = st.one_of(
    st.emails(),
    st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True),
    st.text(min_size=1, max_size=40),
)


@PROPERTY
@given(channel=st.sampled_from(["email", "sms"]), address=_ADDRESSES)
def test_any_address_gets_a_keyed_key_unlike_the_legacy_one_and_stable_under_normalising(
    channel: str, address: str
) -> None:
    keyed = address_hash(channel, address, ID_KEY)
    assert len(keyed) == 64
    assert set(keyed) <= set("0123456789abcdef")
    assert keyed != legacy_address_hash(channel, address)
    assert keyed != address_hash(channel, address, OTHER_KEY)
    assert keyed == address_hash(channel, normalise_address(channel, address), ID_KEY)
    assert keyed == address_hash(channel, f"  {address}\t", ID_KEY)


_IDS = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=20)


@PROPERTY
@given(
    waves=st.lists(_IDS, min_size=2, max_size=2, unique=True),
    contacts=st.lists(_IDS, min_size=2, max_size=2, unique=True),
)
def test_invite_ids_are_stable_distinct_and_keyed(waves: list[str], contacts: list[str]) -> None:
    ids = {(w, c): invite_id_for(w, c, "default", ID_KEY) for w, c in itertools.product(waves, contacts)}
    assert len(set(ids.values())) == 4  # one per contact per wave
    assert all(i == invite_id_for(w, c, "default", ID_KEY) for (w, c), i in ids.items())  # replay-stable
    assert all(i.startswith("inv-") and len(i) == 36 for i in ids.values())
    assert all(i != invite_id_for(w, c, "default", OTHER_KEY) for (w, c), i in ids.items())
