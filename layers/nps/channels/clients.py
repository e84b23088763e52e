"""Which client a request counts against in the per-client rate limit (pure).

An IPv6 host is usually given a whole /64 and picks addresses inside it at will (privacy addresses rotate
by design), so counting per address would let one client rotate past the limit. A client is therefore:

* an IPv4 address: the address (an IPv4-mapped IPv6 address ``::ffff:a.b.c.d`` is that IPv4 address);
* an IPv6 address: its /64 prefix (a zone id such as ``%eth0`` is dropped);
* anything else (absent, empty, not an address): one shared ``unknown`` client.

The returned key is only ever fed to a keyed hash (:meth:`nps.channels.service.WebService.check_rate`):
no address or prefix is stored.
"""

from __future__ import annotations

import ipaddress

#: The client of every request whose source is absent or not an IP address (they share one budget).
UNKNOWN_CLIENT = "unknown"
#: The IPv6 prefix length one client is assumed to control.
IPV6_CLIENT_PREFIX = 64


def rate_limit_client(source_ip: str | None) -> str:
    """The rate-limit client of a request from ``source_ip``: ``4:<address>``, ``6:<network>/64`` or
    :data:`UNKNOWN_CLIENT`. Never raises."""
    if not isinstance(source_ip, str):
        return UNKNOWN_CLIENT
    text = source_ip.strip().split("%", 1)[0]
    if not text or len(text) > 64:
        return UNKNOWN_CLIENT
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return UNKNOWN_CLIENT
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped
        if mapped is None:
            network = ipaddress.IPv6Network((address, IPV6_CLIENT_PREFIX), strict=False)
            return f"6:{network}"
        address = mapped
    return f"4:{address}"
