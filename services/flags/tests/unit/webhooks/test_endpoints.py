"""Which endpoints may be called (no server-side request forgery)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import pytest

from flags.webhooks.endpoints import UnsafeEndpoint, check, classify

REFUSED = {
    "0.0.0.0": "unspecified",
    "127.0.0.1": "loopback",
    "127.8.9.10": "loopback",
    "169.254.169.254": "link-local",  # the cloud metadata service
    "224.0.0.1": "multicast",
    "10.1.2.3": "private",
    "172.16.0.1": "private",
    "192.168.1.1": "private",
    "100.64.0.1": "not globally routable",  # carrier-grade NAT
    "::": "unspecified",
    "::1": "loopback",
    "fe80::1": "link-local",
    "ff02::1": "multicast",
    "fc00::1": "private",
    "::ffff:127.0.0.1": "loopback",  # IPv4-mapped
    "::ffff:169.254.169.254": "link-local",
    "::ffff:10.0.0.1": "private",
    "2002:7f00:1::": "loopback",  # 6to4 wrapping 127.0.0.1
    "64:ff9b::a00:1": "private",  # NAT64 wrapping 10.0.0.1
}
PUBLIC = ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize(("address", "reason"), REFUSED.items())
def test_non_public_addresses_are_refused_and_say_why(address: str, reason: str) -> None:
    assert classify(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert classify(ipaddress.ip_address(address)) is None


def resolving(*addresses: str):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> Sequence[str]:
        return addresses

    return resolve


async def test_a_public_https_endpoint_is_pinned_to_its_checked_address() -> None:
    endpoint = await check(
        "https://hooks.example/flags", allow_loopback=False, resolver=resolving("93.184.215.14")
    )
    assert str(endpoint.address) == "93.184.215.14"
    assert endpoint.url.host == "hooks.example"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://hooks.example/flags", "https"),
        ("ftp://hooks.example/flags", "https"),
        ("https://user:pw@hooks.example/", "user name"),
        ("https://localhost/hook", "loopback"),
        ("https://api.localhost/hook", "loopback"),
        ("https://127.0.0.1/hook", "loopback"),
        ("https://[::ffff:7f00:1]/hook", "loopback"),
        ("https://[fe80::1]/hook", "link-local"),
        ("not a url", "https"),
    ],
)
async def test_refused_outside_development(url: str, why: str) -> None:
    with pytest.raises(UnsafeEndpoint, match=why):
        await check(url, allow_loopback=False, resolver=resolving("93.184.215.14"))


async def test_a_name_resolving_to_any_private_address_is_refused() -> None:
    # One bad answer among good ones is enough: the connection could use either.
    with pytest.raises(UnsafeEndpoint, match="private"):
        await check(
            "https://hooks.example/",
            allow_loopback=False,
            resolver=resolving("93.184.215.14", "10.0.0.7"),
        )


async def test_development_allows_loopback_and_plain_http_to_it_only() -> None:
    for url in ("http://127.0.0.1:9000/hook", "http://localhost:9000/", "http://[::1]/x"):
        assert (await check(url, allow_loopback=True)).address.is_loopback
    with pytest.raises(UnsafeEndpoint, match="private"):
        await check("https://10.0.0.1/", allow_loopback=True)
    with pytest.raises(UnsafeEndpoint, match="loopback"):
        await check("http://hooks.example/", allow_loopback=True, resolver=resolving("8.8.8.8"))


async def test_a_name_that_does_not_resolve_is_refused() -> None:
    async def fails(host: str, port: int) -> Sequence[str]:
        raise OSError("no such host")

    with pytest.raises(UnsafeEndpoint, match="does not resolve"):
        await check("https://nowhere.example/", allow_loopback=False, resolver=fails)
