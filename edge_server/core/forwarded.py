"""Behind a reverse proxy: which address is the client, read from ``X-Forwarded-For`` or
``Forwarded`` (RFC 7239) only when the socket peer is a trusted proxy. Pure.

The rule (the one nginx's ``real_ip_recursive`` and Caddy's ``trusted_proxies`` follow): the
hops a request passed through are the header's list, left to right, then the socket peer.
Walking from the right, every trusted proxy is skipped; the first address that is not a
trusted proxy is the client. A client can write anything into the header it sends, but only
to the *left* of what the trusted proxies appended, so it cannot choose the address it is
counted as. When the peer is not trusted, the headers are ignored.

Which header is read is a setting (``proxy_header``), not a guess: a proxy that writes one of
them usually passes the other through from the client untouched, so reading both would let a
client choose its own address.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

PROXY_HEADERS = ("x-forwarded-for", "forwarded")
"""Values of the ``proxy_header`` setting: the header the trusted proxies write."""
MAX_HOPS = 64
"""Hops read from one header, from the right; more than any real chain of proxies."""
HEADER_NAMES = ("x-forwarded-for", "forwarded", "x-forwarded-proto", "x-forwarded-host")
"""The request headers :func:`client_view` reads (lower case)."""

_HOST = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$"
)
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


class ProxyListError(ValueError):
    """An entry of ``trusted_proxies`` is not an address or a network; the message says which."""


def parse_trusted_proxies(entries: Iterable[str]) -> tuple[IpNetwork, ...]:
    """Addresses and networks (``127.0.0.1``, ``10.0.0.0/8``, ``::1``, ``fd00::/8``) as networks.

    Raises :class:`ProxyListError` naming the first bad entry.
    """
    networks: list[IpNetwork] = []
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=True))
        except ValueError:
            try:
                loose = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ProxyListError(
                    f"{entry!r} is not an IP address or network (e.g. 127.0.0.1, 10.0.0.0/8, ::1)"
                ) from None
            raise ProxyListError(
                f"{entry!r} has bits set after the prefix length: did you mean {loose}?"
            ) from None
    return tuple(networks)


def parse_address(text: str) -> IpAddress | None:
    """An IP address from a socket peer or a header node (``192.0.2.1``, ``"[2001:db8::1]:80"``,
    ``192.0.2.1:4711``), IPv4-mapped IPv6 as IPv4; None for ``unknown``, an obfuscated
    identifier (``_hidden``) or anything else."""
    node = text.strip().strip('"').strip()
    if node.startswith("["):
        end = node.find("]")
        if end < 0:
            return None
        node = node[1:end]
    elif node.count(":") == 1:  # IPv4 with a port
        node = node.partition(":")[0]
    try:
        address = ipaddress.ip_address(node)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_trusted(address: IpAddress | None, trusted: Iterable[IpNetwork]) -> bool:
    """Whether ``address`` is in one of the ``trusted`` networks."""
    return address is not None and any(address in network for network in trusted)


@dataclass(frozen=True)
class Hop:
    """One element of a forwarding header: who the proxy received the request from."""

    node: str
    """The ``for=`` value or the ``X-Forwarded-For`` entry as written (unquoted)."""
    proto: str | None = None
    """``proto=`` of a ``Forwarded`` element (lower case), if any."""
    host: str | None = None
    """``host=`` of a ``Forwarded`` element, if any."""

    @property
    def address(self) -> IpAddress | None:
        """The node as an IP address; None for ``unknown`` or an obfuscated identifier."""
        return parse_address(self.node)


class HeaderError(ValueError):
    """A forwarding header is malformed."""


def parse_x_forwarded_for(value: str) -> list[Hop]:
    """``X-Forwarded-For: client, proxy1, proxy2`` as hops, left to right."""
    return [Hop(node.strip()) for node in value.split(",") if node.strip()][-MAX_HOPS:]


def parse_forwarded(value: str) -> list[Hop]:
    """``Forwarded: for=192.0.2.1;proto=https, for="[2001:db8::1]:80"`` as hops (RFC 7239),
    left to right. Elements without ``for=`` are hops of unknown origin.

    Raises :class:`HeaderError` for text that is not RFC 7239 syntax.
    """
    hops: list[Hop] = []
    for element in _split_outside_quotes(value, ","):
        if not element.strip():
            continue
        pairs: dict[str, str] = {}
        for pair in _split_outside_quotes(element, ";"):
            if not pair.strip():
                continue
            name, sep, raw = pair.strip().partition("=")
            name = name.strip().lower()
            if not sep or not _TOKEN.match(name):
                raise HeaderError(f"Forwarded: {pair.strip()[:40]!r} is not name=value")
            pairs[name] = _unquote(raw.strip())
        proto = pairs.get("proto")
        hops.append(
            Hop(
                node=pairs.get("for", "unknown"),
                proto=proto.lower() if proto else None,
                host=pairs.get("host"),
            )
        )
    return hops[-MAX_HOPS:]


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    if quoted:
        raise HeaderError("Forwarded: unterminated quoted string")
    parts.append("".join(current))
    return parts


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    if not _TOKEN.match(value):
        raise HeaderError(f"Forwarded: {value[:40]!r} must be quoted")
    return value


@dataclass(frozen=True)
class ClientView:
    """Who a request is from, as the server should count and log it."""

    address: str
    """The client's address (the socket peer's when no trusted proxy speaks for it)."""
    scheme: str | None = None
    """``http``/``https`` as the client used it, when a trusted proxy said so."""
    host: str | None = None
    """The ``Host`` the client asked for, when a trusted proxy said so."""
    problem: str | None = None
    """Why a trusted proxy's header was ignored (malformed), for a log line."""


def client_view(
    peer: str,
    headers: Mapping[str, str],
    trusted: tuple[IpNetwork, ...],
    proxy_header: str = "x-forwarded-for",
) -> ClientView:
    """Decide who sent a request that arrived from socket peer ``peer``.

    ``headers`` maps the lower-case names of :data:`HEADER_NAMES` to their values (repeated
    headers joined with ``", "``). Only when ``peer`` is in ``trusted`` is ``proxy_header``
    read (the rightmost address that is not a trusted proxy is the client), and the scheme and
    host with it (``proto=``/``host=`` of that client's ``Forwarded`` element, or the nearest
    proxy's ``X-Forwarded-Proto``/``X-Forwarded-Host``).
    """
    if not trusted or not is_trusted(parse_address(peer), trusted):
        return ClientView(peer)
    if proxy_header not in PROXY_HEADERS:
        raise ValueError(f"proxy_header {proxy_header!r} is not one of {PROXY_HEADERS}")
    value = headers.get(proxy_header, "")
    try:
        hops = (
            parse_forwarded(value) if proxy_header == "forwarded" else parse_x_forwarded_for(value)
        )
    except HeaderError as exc:
        return ClientView(peer, problem=str(exc))
    address, hop = _rightmost_untrusted(peer, hops, trusted)
    if proxy_header == "forwarded":
        scheme, host = (hop.proto, hop.host) if hop is not None else (None, None)
    else:
        scheme = _last(headers.get("x-forwarded-proto", "")).lower() or None
        host = _last(headers.get("x-forwarded-host", "")) or None
    return ClientView(
        address,
        scheme=scheme if scheme in ("http", "https") else None,
        host=host if host is not None and _HOST.match(host) else None,
    )


def _rightmost_untrusted(
    peer: str, hops: list[Hop], trusted: tuple[IpNetwork, ...]
) -> tuple[str, Hop | None]:
    """The client's address and the hop that named it (None: the peer itself)."""
    address, named_by = peer, None
    for hop in reversed(hops):
        hop_address = hop.address
        if hop_address is None:
            # "unknown" or an obfuscated name: the proxy that wrote it cannot say who the
            # client is, so the client is counted as that proxy.
            return address, named_by
        address, named_by = str(hop_address), hop
        if not is_trusted(hop_address, trusted):
            break
    return address, named_by


def _last(value: str) -> str:
    return value.rpartition(",")[2].strip()
