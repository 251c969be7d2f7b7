"""Which address is the client behind trusted proxies: the header parsers and the decision, as
tables."""

from __future__ import annotations

import ipaddress

import pytest

from edge_server.core.forwarded import (
    ClientView,
    HeaderError,
    Hop,
    ProxyListError,
    client_view,
    parse_address,
    parse_forwarded,
    parse_trusted_proxies,
    parse_x_forwarded_for,
)

PROXIES = parse_trusted_proxies(["127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8"])


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        (["127.0.0.1"], ["127.0.0.1/32"]),
        (["10.0.0.0/8", " 192.168.1.0/24 "], ["10.0.0.0/8", "192.168.1.0/24"]),
        (["::1", "fd00::/8"], ["::1/128", "fd00::/8"]),
        (["", "  "], []),
    ],
)
def test_trusted_proxies(entries: list[str], expected: list[str]) -> None:
    assert [str(n) for n in parse_trusted_proxies(entries)] == expected


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("nginx", "'nginx' is not an IP address or network (e.g. 127.0.0.1"),
        (
            "10.0.0.1/8",
            "'10.0.0.1/8' has bits set after the prefix length: did you mean 10.0.0.0/8",
        ),
        ("10.0.0.0/33", "'10.0.0.0/33' is not an IP address or network"),
        ("localhost", "'localhost' is not an IP address"),
    ],
)
def test_bad_trusted_proxies_are_named(entry: str, message: str) -> None:
    with pytest.raises(ProxyListError, match="^" + message.replace("(", r"\(").replace(".", r"\.")):
        parse_trusted_proxies(["127.0.0.1", entry])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("192.0.2.1", "192.0.2.1"),
        ("192.0.2.1:4711", "192.0.2.1"),
        ('"192.0.2.1:4711"', "192.0.2.1"),
        ("2001:db8::1", "2001:db8::1"),
        ('"[2001:db8::1]:4711"', "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("::ffff:192.0.2.7", "192.0.2.7"),  # IPv4-mapped: counted as the IPv4 address
        ("unknown", None),
        ("_hidden", None),
        ("[2001:db8::1", None),
        ("", None),
        ("999.1.1.1", None),
    ],
)
def test_parse_address(text: str, expected: str | None) -> None:
    address = parse_address(text)
    assert (str(address) if address is not None else None) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("203.0.113.7", [Hop("203.0.113.7")]),
        ("203.0.113.7, 10.0.0.2 ,10.0.0.3", [Hop("203.0.113.7"), Hop("10.0.0.2"), Hop("10.0.0.3")]),
        ("", []),
        (" , ", []),
    ],
)
def test_parse_x_forwarded_for(value: str, expected: list[Hop]) -> None:
    assert parse_x_forwarded_for(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("for=192.0.2.60;proto=HTTPS;by=203.0.113.43", [Hop("192.0.2.60", "https")]),
        ('For="[2001:db8:cafe::17]:4711"', [Hop("[2001:db8:cafe::17]:4711")]),
        (
            'for=192.0.2.43, for="[2001:db8:cafe::17]";host=example.org',
            [Hop("192.0.2.43"), Hop("[2001:db8:cafe::17]", host="example.org")],
        ),
        ("for=unknown", [Hop("unknown")]),
        ("proto=https", [Hop("unknown", "https")]),  # an element without for=
        ('for="a,b;c"', [Hop("a,b;c")]),  # separators inside quotes
        ('for="\\"x\\""', [Hop('"x"')]),  # quoted-pair
        ("", []),
    ],
)
def test_parse_forwarded(value: str, expected: list[Hop]) -> None:
    assert parse_forwarded(value) == expected


@pytest.mark.parametrize(
    "value",
    ["for", "for=[2001:db8::1]", 'for="192.0.2.1', "=x", "for=a b"],
)
def test_malformed_forwarded(value: str) -> None:
    with pytest.raises(HeaderError):
        parse_forwarded(value)


def xff(value: str, **more: str) -> dict[str, str]:
    return {"x-forwarded-for": value, **more}


@pytest.mark.parametrize(
    ("peer", "headers", "header", "expected"),
    [
        # An untrusted peer: the headers are ignored whatever they say.
        ("198.51.100.9", xff("203.0.113.7"), "x-forwarded-for", ClientView("198.51.100.9")),
        (
            "198.51.100.9",
            {"forwarded": "for=203.0.113.7;proto=https"},
            "forwarded",
            ClientView("198.51.100.9"),
        ),
        # A trusted peer with no header: the peer is the client (a health check on the proxy).
        ("127.0.0.1", {}, "x-forwarded-for", ClientView("127.0.0.1")),
        # One proxy.
        ("127.0.0.1", xff("203.0.113.7"), "x-forwarded-for", ClientView("203.0.113.7")),
        ("::1", xff("2001:db8::5"), "x-forwarded-for", ClientView("2001:db8::5")),
        ("::ffff:127.0.0.1", xff("203.0.113.7"), "x-forwarded-for", ClientView("203.0.113.7")),
        # The client wrote its own X-Forwarded-For; the proxy appended the real address.
        ("127.0.0.1", xff("1.2.3.4, 203.0.113.7"), "x-forwarded-for", ClientView("203.0.113.7")),
        # Two trusted proxies: the rightmost untrusted address.
        (
            "127.0.0.1",
            xff("1.2.3.4, 203.0.113.7, 10.1.2.3"),
            "x-forwarded-for",
            ClientView("203.0.113.7"),
        ),
        # Everything trusted (a client on the proxies' own network): the leftmost.
        ("127.0.0.1", xff("10.9.9.9, 10.1.2.3"), "x-forwarded-for", ClientView("10.9.9.9")),
        # A proxy that cannot tell: counted as that proxy.
        ("127.0.0.1", xff("unknown"), "x-forwarded-for", ClientView("127.0.0.1")),
        ("127.0.0.1", xff("unknown, 10.1.2.3"), "x-forwarded-for", ClientView("10.1.2.3")),
        ("127.0.0.1", xff("garbage!"), "x-forwarded-for", ClientView("127.0.0.1")),
        # Scheme and host from the nearest proxy.
        (
            "127.0.0.1",
            xff("203.0.113.7", **{"x-forwarded-proto": "HTTPS", "x-forwarded-host": "cap.example"}),
            "x-forwarded-for",
            ClientView("203.0.113.7", "https", "cap.example"),
        ),
        (
            "127.0.0.1",
            xff("203.0.113.7", **{"x-forwarded-proto": "http, https", "x-forwarded-host": "a b"}),
            "x-forwarded-for",
            ClientView("203.0.113.7", "https", None),
        ),
        (
            "127.0.0.1",
            xff("203.0.113.7", **{"x-forwarded-proto": "gopher"}),
            "x-forwarded-for",
            ClientView("203.0.113.7"),
        ),
        # The proxy writes Forwarded; X-Forwarded-For from the client is not read.
        (
            "127.0.0.1",
            {
                "forwarded": 'for="[2001:db8::7]:5000";proto=https;host="cap.example:8443"',
                "x-forwarded-for": "1.2.3.4",
            },
            "forwarded",
            ClientView("2001:db8::7", "https", "cap.example:8443"),
        ),
        (
            "127.0.0.1",
            {"forwarded": "for=1.2.3.4, for=203.0.113.7;proto=https, for=10.0.0.2;proto=http"},
            "forwarded",
            ClientView("203.0.113.7", "https"),
        ),
        # ... and the other way round.
        (
            "127.0.0.1",
            {"forwarded": "for=1.2.3.4", "x-forwarded-for": "203.0.113.7"},
            "x-forwarded-for",
            ClientView("203.0.113.7"),
        ),
        # A malformed header from a trusted proxy: ignored, and said why.
        (
            "127.0.0.1",
            {"forwarded": 'for="1.2.3.4'},
            "forwarded",
            ClientView("127.0.0.1", problem="Forwarded: unterminated quoted string"),
        ),
        # No trusted proxies configured: never read.
        ("127.0.0.1", xff("203.0.113.7"), "none-configured", ClientView("127.0.0.1")),
    ],
)
def test_client_view(peer: str, headers: dict[str, str], header: str, expected: ClientView) -> None:
    trusted = () if header == "none-configured" else PROXIES
    assert client_view(peer, headers, trusted, header if trusted else "x-forwarded-for") == expected


def test_a_long_chain_is_read_from_the_right_only() -> None:
    chain = ", ".join(["10.0.0.1"] * 10_000 + ["203.0.113.7"])
    assert client_view("127.0.0.1", xff(chain), PROXIES) == ClientView("203.0.113.7")


def test_unknown_proxy_header_is_refused() -> None:
    with pytest.raises(ValueError, match="proxy_header 'x-real-ip'"):
        client_view("127.0.0.1", {}, PROXIES, "x-real-ip")


def test_networks_are_ip_networks() -> None:
    assert PROXIES[1] == ipaddress.ip_network("10.0.0.0/8")
