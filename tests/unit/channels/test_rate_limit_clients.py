"""The rate limit's client: an IPv4 address, an IPv6 /64, or one shared "unknown" bucket; the stored
counter id is a keyed hash of it, never the address."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nps.channels.clients import UNKNOWN_CLIENT, rate_limit_client
from nps.channels.service import RateLimited, WebService
from nps.links.pseudonyms import IdKey
from nps.links.tokens import Keyring

ipv6 = st.integers(min_value=0, max_value=2**128 - 1).map(ipaddress.IPv6Address)
ipv4 = st.integers(min_value=0, max_value=2**32 - 1).map(ipaddress.IPv4Address)
NOW = datetime(2026, 12, 3, 10, 0, 30, tzinfo=UTC)


class CountingStore:
    """Only the rate limiter's counter: counts per counter id."""

    def __init__(self) -> None:
        self.counters: dict[str, int] = {}

    def count_request(self, counter_id: str, expires_at: int) -> int:
        self.counters[counter_id] = self.counters.get(counter_id, 0) + 1
        return self.counters[counter_id]


def limiter(store: CountingStore, limit: int = 3) -> WebService:
    keyring = Keyring({"k1": b"k" * 32}, "k1")
    return WebService(
        store=store,  # type: ignore[arg-type]
        site_keyring=lambda: keyring,
        id_key=lambda: IdKey(b"i" * 32),
        invites=None,  # type: ignore[arg-type]
        responses=None,  # type: ignore[arg-type]
        clock=lambda: NOW,
        rate_limit_per_minute=limit,
    )


@given(ipv6, st.integers(min_value=0, max_value=2**64 - 1))
def test_every_address_of_an_ipv6_64_is_one_client(address: ipaddress.IPv6Address, host: int) -> None:
    if address.ipv4_mapped is not None:
        return
    sibling = ipaddress.IPv6Address((int(address) >> 64 << 64) | host)
    assert rate_limit_client(str(address)) == rate_limit_client(str(sibling))
    assert rate_limit_client(address.exploded) == rate_limit_client(str(address))  # any spelling


@given(ipv6, ipv6)
def test_different_ipv6_64s_are_different_clients(a: ipaddress.IPv6Address, b: ipaddress.IPv6Address) -> None:
    if a.ipv4_mapped is not None or b.ipv4_mapped is not None:
        return
    same_prefix = int(a) >> 64 == int(b) >> 64
    assert (rate_limit_client(str(a)) == rate_limit_client(str(b))) is same_prefix


@given(ipv4)
def test_an_ipv4_mapped_ipv6_address_is_its_ipv4_client(address: ipaddress.IPv4Address) -> None:
    assert rate_limit_client(f"::ffff:{address}") == rate_limit_client(str(address)) == f"4:{address}"


@given(ipv4, ipv4)
def test_each_ipv4_address_is_its_own_client(a: ipaddress.IPv4Address, b: ipaddress.IPv4Address) -> None:
    assert (rate_limit_client(str(a)) == rate_limit_client(str(b))) is (a == b)


@given(st.one_of(st.none(), st.text(max_size=80), st.integers()))
def test_any_source_gives_a_client_and_only_addresses_get_their_own(source: Any) -> None:
    client = rate_limit_client(source)
    assert client == UNKNOWN_CLIENT or client.startswith(("4:", "6:"))
    if client != UNKNOWN_CLIENT:
        ipaddress.ip_address(source.strip().split("%")[0])  # only a real address gets its own client


def test_examples() -> None:
    assert rate_limit_client("203.0.113.10") == "4:203.0.113.10"
    assert rate_limit_client("::ffff:203.0.113.10") == "4:203.0.113.10"
    assert (
        rate_limit_client("2001:db8:1:2:aaaa::1") == rate_limit_client("2001:db8:1:2:ffff::9") == "6:2001:db8:1:2::/64"
    )
    assert rate_limit_client("fe80::1%eth0") == "6:fe80::/64"
    for garbage in (None, "", "unknown", "203.0.113", "1.2.3.4.5", "::g", "01.2.3.4"):
        assert rate_limit_client(garbage) == UNKNOWN_CLIENT


def test_an_ipv6_client_rotating_inside_its_64_is_limited() -> None:
    # Given a limit of 3 a minute
    store = CountingStore()
    service = limiter(store)
    # When one client sends from 4 addresses of its /64
    for host in range(1, 4):
        service.check_rate(f"2001:db8:0:7::{host:x}")
    # Then the fourth is refused, and another /64 is not
    with pytest.raises(RateLimited) as refused:
        service.check_rate("2001:db8:0:7:dead:beef:0:1")
    assert 1 <= refused.value.retry_after <= 60
    service.check_rate("2001:db8:0:8::1")
    # And the counters hold keyed hashes only
    assert all("2001" not in counter and counter.startswith("wrl-") for counter in store.counters)
    assert len(store.counters) == 2


def test_absent_and_malformed_sources_share_one_budget() -> None:
    store = CountingStore()
    service = limiter(store)
    for source in (None, "", "not-an-ip"):
        service.check_rate(source)
    with pytest.raises(RateLimited):
        service.check_rate("999.1.1.1")
    assert len(store.counters) == 1
