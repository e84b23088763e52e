"""``nps survey share-link --base-url``: only a URL that can carry the link is accepted, and every accepted
one yields a link whose path ends in ``/s/<survey>`` with nothing after it (what a printed QR code needs)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nps.cli.share_links import check_base_url, share_url

HOSTS = st.sampled_from(["x.test", "links.example.com", "a-b.example.org", "localhost", "127.0.0.1", "[::1]"])
SEGMENT = st.text(alphabet="abcXYZ019-._~!$&'()*+,;=:@", max_size=8) | st.sampled_from(["%20", "%2F", "%C3%A9"])
PREFIXES = st.lists(SEGMENT, max_size=3).map(lambda parts: "".join("/" + part for part in parts))
PORTS = st.one_of(st.just(""), st.integers(1, 65535).map(lambda port: f":{port}"))


@given(HOSTS, PORTS, PREFIXES, st.booleans(), st.sampled_from(["receipts", "a_b-c"]))
def test_every_accepted_base_url_carries_the_link_in_its_path(
    host: str, port: str, prefix: str, trailing: bool, survey_id: str
) -> None:
    # Given an https base URL with a host, maybe a port and a path prefix
    base = f"https://{host}{port}{prefix}{'/' if trailing else ''}"
    # When it is checked and the link is built on it
    url = share_url(check_base_url(base), survey_id)
    # Then the link is on that host, its path is the prefix then /s/<survey>, with no query or fragment
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("https", f"{host}{port}")
    assert parts.path == prefix.rstrip("/") + f"/s/{survey_id}"
    assert (parts.query, parts.fragment) == ("", "")


@given(
    st.sampled_from(["https://x.test", "https://x.test/app"]),
    st.sampled_from(["?", "?q=1", "#", "#f", "/a b", "/a\tb", "/a\nb", "/é", "/a<b", "/a%zz", "/a\\b", '/a"b']),
)
def test_a_base_url_with_a_query_fragment_or_unencoded_character_is_refused(base: str, tail: str) -> None:
    with pytest.raises(ValueError, match=r"^(it|its) "):
        check_base_url(base + tail)


@pytest.mark.parametrize(
    "base",
    [
        "",
        "https://",
        "https:///path",
        "https://:443",
        "https://user@x.test",
        "https://user:pw@x.test",
        "https://x.test:0",
        "https://x.test:99999",
        "https://x.test:",
        "https://-x.test",
        "ftp://x.test",
        "x.test",
        "//x.test",
        "http://x.test",
        "http://192.168.1.2",
        "javascript:alert(1)",
    ],
)
def test_a_base_url_without_a_usable_host_or_scheme_is_refused(base: str) -> None:
    with pytest.raises(ValueError, match=r"^(it|its) "):
        check_base_url(base)


def test_http_is_accepted_for_a_local_server_only() -> None:
    assert check_base_url("http://localhost:3000/") == "http://localhost:3000"
    assert check_base_url("http://127.0.0.1:8080") == "http://127.0.0.1:8080"
