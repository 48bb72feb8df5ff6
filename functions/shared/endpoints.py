"""Addresses Aftercare may call on a store's behalf (its refund endpoint) or show (its logo).

A store-supplied URL must be ``https``, carry no credentials or fragment and point at a public host:
never a private, loopback, link-local (cloud metadata lives at 169.254.169.254), multicast, reserved,
unspecified or shared (100.64.0.0/10) address, however it is spelled (``0x7f.1``, ``2130706433``,
``[::ffff:127.0.0.1]``, 6to4 and NAT64 forms). ``localhost`` and ``*.localhost`` are loopback.

The URL is checked when the configuration is saved (``check_endpoint_url``) and again, after DNS
resolution, right before each call (``resolve_and_check``), because a name can be pointed elsewhere later.
Only the embedded local stack and the tests may use loopback (``allow_loopback``); plain http is then
accepted for loopback, and only for loopback.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
SHARED = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
MAX_URL = 2000
_NAME_PUNCTUATION = frozenset("-._")


class UnsafeEndpoint(Exception):
    """The URL may not be called; ``str(error)`` says why in a sentence a store owner understands."""


def _legacy_ipv4(host: str) -> IPAddress | None:
    """IPv4 in the spellings ``inet_aton`` accepts: ``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``127.1``."""
    if not host or not all(ch in "0123456789abcdefxABCDEFX." for ch in host):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def ip_of(host: str) -> IPAddress | None:
    """The address a host names literally, whatever the spelling; ``None`` for a DNS name."""
    host = host.strip("[]").rstrip(".")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return _legacy_ipv4(host)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """Whether an address is an ordinary public one (judging an embedded IPv4 address by itself)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            address = embedded
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv4Address) and address in SHARED)
    )


def _is_loopback(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return embedded.is_loopback
    return address.is_loopback


def _is_loopback_host(host: str) -> bool:
    address = ip_of(host)
    if address is not None:
        return _is_loopback(address)
    name = host.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


def _check_text(url: object) -> str:
    if not isinstance(url, str) or not url:
        raise UnsafeEndpoint("it must be a URL such as https://shop.example.com/refunds")
    if len(url) > MAX_URL:
        raise UnsafeEndpoint(f"it is longer than {MAX_URL} characters")
    if any(ord(ch) <= 32 or ord(ch) == 127 for ch in url):
        raise UnsafeEndpoint("it must be a single URL without spaces or control characters")
    return url


def _split(url: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError when not a number or above 65535
    except ValueError:
        raise UnsafeEndpoint("it is not a valid URL (check the host name and the port)") from None
    if port is not None and not 1 <= port <= 65535:
        raise UnsafeEndpoint("its port must be between 1 and 65535")
    return parts


def _ascii_host(host: str) -> str:
    """The host as it goes on the wire: international names in their ``xn--`` form, full-width
    characters folded (127.0.0.1 written in full-width digits is 127.0.0.1 to an HTTP client too)."""
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        raise UnsafeEndpoint("its host name is not a valid domain name") from None


def _check_host_name(host: str) -> None:
    if not host:
        raise UnsafeEndpoint("it has no host name")
    if ":" in host:  # an IPv6 literal, which must parse as one
        if ip_of(host) is None:
            raise UnsafeEndpoint("its IPv6 address is not valid")
        return
    if not all(ch.isascii() and (ch.isalnum() or ch in _NAME_PUNCTUATION) for ch in host):
        raise UnsafeEndpoint("its host name may only contain letters, digits, dots and hyphens")


def _parts(url: object) -> tuple[SplitResult, str]:
    """The URL split into parts and its ASCII host, if well formed and without credentials or fragment."""
    text = _check_text(url)
    parts = _split(text)
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UnsafeEndpoint("it must not contain a user name or password; the store's key goes in a header")
    if "#" in text:
        raise UnsafeEndpoint("it must not contain a #fragment")
    host = _ascii_host(parts.hostname or "")
    _check_host_name(host)
    return parts, host


def _check(url: object, allow_loopback: bool) -> tuple[SplitResult, str]:
    parts, host = _parts(url)
    if _is_loopback_host(host):
        if not allow_loopback:
            raise UnsafeEndpoint("it points at this machine (loopback), which only the local stack may use")
        if parts.scheme not in ("http", "https"):
            raise UnsafeEndpoint("it must start with https://")
        return parts, host
    address = ip_of(host)
    if address is not None and not is_public(address):
        raise UnsafeEndpoint("it points at a private, link-local or reserved address, not the internet")
    if parts.scheme != "https":
        raise UnsafeEndpoint("it must start with https://")
    return parts, host


def check_endpoint_url(url: str, *, allow_loopback: bool) -> None:
    """Refuse a URL that is not https to a public host (loopback only when allowed, then http too).

    Raises ``UnsafeEndpoint`` with the reason; never resolves the name (see ``resolve_and_check``).
    """
    _check(url, allow_loopback)


def _resolved(host: str, port: int) -> list[IPAddress]:
    try:
        found = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError, ValueError):
        raise UnsafeEndpoint(f"its host name {host!r} does not resolve") from None
    addresses = []
    for *_, sockaddr in found:
        try:
            addresses.append(ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]))
        except ValueError:
            raise UnsafeEndpoint(
                f"its host name {host!r} resolves to something that is not an address"
            ) from None
    if not addresses:
        raise UnsafeEndpoint(f"its host name {host!r} does not resolve")
    return addresses


def resolve_and_check(url: str, *, allow_loopback: bool) -> None:
    """``check_endpoint_url``, then resolve the host; refuse if any address it resolves to is not public.

    Loopback addresses pass only with ``allow_loopback``. A name that does not resolve is refused too.
    """
    parts, host = _check(url, allow_loopback)
    default_port = 443 if parts.scheme == "https" else 80
    for address in _resolved(host, parts.port or default_port):
        if is_public(address) or (allow_loopback and _is_loopback(address)):
            continue
        raise UnsafeEndpoint(f"its host name {host!r} resolves to a private, loopback or link-local address")
