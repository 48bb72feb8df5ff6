"""Store-supplied URLs: https to a public host, however an address is spelled, checked again after DNS."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from functions.shared.endpoints import UnsafeEndpoint, check_endpoint_url, resolve_and_check

pytestmark = pytest.mark.unit

SAFE = [
    "https://shop.example.com/refunds",
    "https://shop.example.com:8443/api/refund?store=acme",
    "https://SHOP.Example.COM/refund",
    "https://93.184.216.34/refund",
    "https://[2606:2800:220:1:248:1893:25c8:1946]/refund",
    "https://xn--bcher-kva.example/refund",
    "https://bücher.example/refund",
    "https://shop.example.com./refund",
    "https://a.b-c_d.example.com/",
]

UNSAFE = [
    # scheme
    ("http://shop.example.com/refund", "https://"),
    ("ftp://shop.example.com/refund", "https://"),
    ("file:///etc/passwd", "no host name"),
    ("javascript:alert(1)", "no host name"),
    ("//shop.example.com/refund", "https://"),
    ("shop.example.com/refund", "no host name"),
    # credentials, fragments, malformed
    ("https://user:pass@shop.example.com/", "user name or password"),
    ("https://user@shop.example.com/", "user name or password"),
    ("https://shop.example.com@169.254.169.254/", "user name or password"),
    ("https://shop.example.com/refund#x", "#fragment"),
    ("https://shop.example.com/refund#", "#fragment"),
    ("https://shop.example.com:0/", "port"),
    ("https://shop.example.com:65536/", "port"),
    ("https://shop.example.com:99999999999/", "port"),
    ("https://shop.example.com:-1/", "port"),
    ("https://shop.example.com:https/", "port"),
    ("https://shop.example.com /", "spaces"),
    ("https://shop.example.com/\nHost: evil", "control characters"),
    ("https://127.0.0.1\\.example.com/", "host name may only contain"),
    ("https://ex%61mple.com/", "host name may only contain"),
    ("https://[::1/", "not a valid URL"),
    ("https://[1.2.3.4]/", "not a valid URL"),
    ("https://[not:an:address]/", "not a valid"),
    ("", "must be a URL"),
    ("https://" + "a" * 2000 + ".example.com/", "longer than"),
    # cloud metadata, link-local
    ("https://169.254.169.254/latest/meta-data/", "private"),
    ("http://169.254.169.254/latest/meta-data/", "private"),
    ("https://[fe80::1]/", "private"),
    ("https://[fe80::1%25eth0]/", "private"),
    ("https://[fd00:ec2::254]/", "private"),
    # private networks
    ("https://10.0.0.1/", "private"),
    ("https://172.16.5.4/", "private"),
    ("https://192.168.1.1/", "private"),
    ("https://[fc00::1]/", "private"),
    # shared address space, reserved, multicast, unspecified, broadcast
    ("https://100.64.0.1/", "private"),
    ("https://100.127.255.254/", "private"),
    ("https://240.0.0.1/", "private"),
    ("https://224.0.0.1/", "private"),
    ("https://[ff02::1]/", "private"),
    ("https://0.0.0.0/", "private"),
    ("https://[::]/", "private"),
    ("https://255.255.255.255/", "private"),
    # other spellings of private addresses
    ("https://0xa9.0xfe.0xa9.0xfe/", "private"),
    ("https://2852039166/", "private"),
    ("https://0251.0376.0251.0376/", "private"),
    ("https://10.1/", "private"),
    ("https://[::ffff:169.254.169.254]/", "private"),
    ("https://[::ffff:a9fe:a9fe]/", "private"),
    ("https://[::ffff:10.0.0.1]/", "private"),
    ("https://[2002:a9fe:a9fe::]/", "private"),
    ("https://[64:ff9b::a9fe:a9fe]/", "private"),
    ("https://169.254.169.254./", "private"),
    ("https://\uff11\uff16\uff19.254.169.254/", "private"),  # full-width digits fold to ASCII
    ("https://" + "\u00fc" * 70 + ".example/", "not a valid domain name"),
]

LOOPBACK = [
    "http://127.0.0.1:8080/refund",
    "https://127.0.0.1/refund",
    "http://127.1/",
    "http://2130706433/",
    "http://0x7f.1/",
    "http://0x7f000001/",
    "http://0177.0.0.1/",
    "http://017700000001/",
    "http://127.255.255.254/",
    "http://[::1]:8080/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://localhost:8080/refund",
    "http://LOCALHOST/",
    "http://localhost./",
    "http://api.localhost/",
    "http://\uff11\uff12\uff17\uff0e\uff10\uff0e\uff10\uff0e\uff11/",  # full-width 127.0.0.1
    "http://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54/",  # full-width localhost
]


@pytest.mark.parametrize("url", SAFE)
def test_https_to_a_public_host_is_safe(url: str) -> None:
    check_endpoint_url(url, allow_loopback=False)


@pytest.mark.parametrize(("url", "reason"), UNSAFE)
def test_unsafe_urls_are_refused_with_a_reason(url: str, reason: str) -> None:
    for allow_loopback in (False, True):
        with pytest.raises(UnsafeEndpoint) as refused:
            check_endpoint_url(url, allow_loopback=allow_loopback)
        assert reason in str(refused.value)


@pytest.mark.parametrize("url", LOOPBACK)
def test_loopback_in_any_spelling_is_refused_unless_allowed(url: str) -> None:
    with pytest.raises(UnsafeEndpoint, match="loopback"):
        check_endpoint_url(url, allow_loopback=False)
    check_endpoint_url(url, allow_loopback=True)


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/", "http://user:pw@localhost/", "http://localhost/#x", "http://localhost:0/"]
)
def test_allowed_loopback_still_needs_http_and_a_clean_url(url: str) -> None:
    with pytest.raises(UnsafeEndpoint):
        check_endpoint_url(url, allow_loopback=True)


@pytest.mark.parametrize("junk", [None, 42, b"https://shop.example.com/", ["https://shop.example.com/"]])
def test_anything_but_a_string_is_refused(junk: Any) -> None:
    with pytest.raises(UnsafeEndpoint):
        check_endpoint_url(junk, allow_loopback=False)


def test_unsafe_endpoint_is_a_plain_exception() -> None:
    assert issubclass(UnsafeEndpoint, Exception)
    assert not issubclass(UnsafeEndpoint, ValueError)


def resolving_to(monkeypatch: pytest.MonkeyPatch, *addresses: str) -> list[tuple[str, int]]:
    asked: list[tuple[str, int]] = []

    def fake(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        asked.append((host, port))
        found: list[Any] = []
        for address in addresses:
            if ":" in address:
                found.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0)))
            else:
                found.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)))
        return found

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return asked


def test_a_name_resolving_to_public_addresses_is_safe(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = resolving_to(monkeypatch, "93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946")
    resolve_and_check("https://shop.example.com/refund", allow_loopback=False)
    assert asked == [("shop.example.com", 443)]


@pytest.mark.parametrize(
    "address",
    ["10.0.0.1", "169.254.169.254", "::1", "127.0.0.1", "100.64.0.1", "fe80::1%eth0", "::ffff:10.0.0.1"],
)
def test_a_name_resolving_to_a_private_address_is_refused(
    monkeypatch: pytest.MonkeyPatch, address: str
) -> None:
    resolving_to(monkeypatch, address)
    with pytest.raises(UnsafeEndpoint, match="resolves to a private"):
        resolve_and_check("https://shop.example.com/refund", allow_loopback=False)


def test_one_private_address_among_public_ones_is_enough_to_refuse(monkeypatch: pytest.MonkeyPatch) -> None:
    resolving_to(monkeypatch, "93.184.216.34", "10.0.0.1")
    with pytest.raises(UnsafeEndpoint):
        resolve_and_check("https://shop.example.com/refund", allow_loopback=False)


def test_loopback_resolution_passes_only_when_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = resolving_to(monkeypatch, "127.0.0.1", "::1")
    resolve_and_check("http://localhost:8080/refund", allow_loopback=True)
    assert asked == [("localhost", 8080)]
    with pytest.raises(UnsafeEndpoint):
        resolve_and_check("https://shop.example.com/refund", allow_loopback=False)
    resolving_to(monkeypatch, "169.254.169.254")
    with pytest.raises(UnsafeEndpoint):
        resolve_and_check("http://localhost:8080/refund", allow_loopback=True)


def test_a_name_that_does_not_resolve_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any, **kwargs: Any) -> list[Any]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    with pytest.raises(UnsafeEndpoint, match="does not resolve"):
        resolve_and_check("https://shop.example.com/refund", allow_loopback=False)


def test_no_addresses_at_all_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    resolving_to(monkeypatch)
    with pytest.raises(UnsafeEndpoint, match="does not resolve"):
        resolve_and_check("https://shop.example.com/refund", allow_loopback=False)


def test_resolution_is_not_attempted_for_a_url_refused_outright(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = resolving_to(monkeypatch, "93.184.216.34")
    with pytest.raises(UnsafeEndpoint):
        resolve_and_check("https://169.254.169.254/", allow_loopback=False)
    assert asked == []
