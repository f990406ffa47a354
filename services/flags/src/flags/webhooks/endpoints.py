"""Which webhook endpoints we may call: no server-side request forgery.

An endpoint is an https URL whose host resolves only to public addresses. Plain http,
and loopback addresses, are allowed only where the settings allow loopback (development,
for the demo's receiver). The check runs at registration and again before every
delivery, and the delivery connects to the address that was checked (a name that
resolves elsewhere the second time, DNS rebinding, gains nothing).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import httpx

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
MAX_URL_LENGTH = 2048
# NAT64 (RFC 6052) embeds an IPv4 address in the low 32 bits of an IPv6 one.
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# RFC 6761: every name under localhost is loopback, whatever a resolver says.
LOCALHOST = "localhost"
# A registration or a delivery waits this long for DNS at most.
RESOLVE_SECONDS = 5.0


class UnsafeEndpoint(ValueError):
    """The URL may not be called; the message says why, in words for the caller."""


@dataclass(frozen=True)
class Endpoint:
    """A checked URL and the address to connect to."""

    url: httpx.URL
    address: Address


def classify(address: Address) -> str | None:
    """Why an address may not be called (None: it is public).

    An IPv6 address that carries an IPv4 one (mapped, 6to4, Teredo, NAT64) is judged
    by the IPv4 address it reaches.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address.teredo is not None:
            embedded = address.teredo[1]
        if embedded is None and address in NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return classify(embedded)
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("not globally routable", not address.is_global),
    )
    return next((reason for reason, applies in checks if applies), None)


def parse(raw: str, *, allow_loopback: bool) -> httpx.URL:
    """The URL's own shape: https (or http where loopback is allowed), a host, no userinfo."""
    if len(raw) > MAX_URL_LENGTH:
        raise UnsafeEndpoint(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, ValueError):
        raise UnsafeEndpoint("the URL cannot be parsed") from None
    if url.scheme not in ("https", "http") or not url.host:
        raise UnsafeEndpoint("it must be an absolute https URL")
    if url.scheme == "http" and not allow_loopback:
        raise UnsafeEndpoint("it must use https")
    if url.userinfo:
        raise UnsafeEndpoint("it may not carry a user name or password")
    return url


async def system_resolver(host: str, port: int) -> Sequence[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return [str(info[4][0]) for info in infos]


async def check(
    raw: str, *, allow_loopback: bool, resolver: Resolver = system_resolver
) -> Endpoint:
    """The endpoint, if every address its host resolves to may be called."""
    url = parse(raw, allow_loopback=allow_loopback)
    addresses = await _addresses(url, resolver)
    for address in addresses:
        reason = classify(address)
        if reason == "loopback" and allow_loopback:
            continue
        if reason is not None:
            raise UnsafeEndpoint(f"its host resolves to a {reason} address")
    if url.scheme == "http" and not all(a.is_loopback for a in addresses):
        raise UnsafeEndpoint("plain http is allowed only to a loopback address")
    return Endpoint(url, addresses[0])


async def _addresses(url: httpx.URL, resolver: Resolver) -> list[Address]:
    host = url.host.rstrip(".").lower()
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    if host == LOCALHOST or host.endswith("." + LOCALHOST):
        return [ipaddress.ip_address("127.0.0.1")]
    try:
        async with asyncio.timeout(RESOLVE_SECONDS):
            found = await resolver(host, url.port or (443 if url.scheme == "https" else 80))
    except (OSError, UnicodeError, TimeoutError):
        raise UnsafeEndpoint("its host does not resolve") from None
    addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in found]
    if not addresses:
        raise UnsafeEndpoint("its host does not resolve")
    return addresses
