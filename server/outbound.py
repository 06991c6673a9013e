"""Outbound HTTP, one rule for every caller (`truce etl load URL`, the alert webhooks): may this
URL be reached, a connection pinned to the address that was checked, and the URL as it may be
stored or shown (secrets redacted).

The rule: http or https only; the host is resolved and every address it resolves to is
classified; an address that is not publicly routable (loopback, private incl. fc00::/7,
link-local incl. the cloud metadata address, shared/CGNAT 100.64/10, unspecified, multicast,
reserved, and the IPv4-mapped / NAT64 / 6to4 forms of these) is refused unless an allow-list
entry admits it: the URL's host as `host` (any port) or `host:port` / `[v6]:port` (that port
only), or a CIDR (`10.20.0.0/16`) holding the address. A `*.example.org` wildcard names hosts
but never admits an internal address.
The caller connects to the very address that was checked (no second look-up a DNS rebinding
could change), with the URL's host in the Host header and as the TLS server name.

Pure: no settings, no database, no routes (an import-linter contract keeps it so).
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit

#: (host, port) -> the addresses it resolves to
Resolver = Callable[[str, int], list[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SCHEMES = ("http", "https")
REDACTED = "REDACTED"


class OutboundRefused(ValueError):
    """A URL that may not be reached; the message is one clause ("127.0.0.1 is a loopback
    address"). `allowable`: an allow-list entry would admit it (an internal address)."""

    def __init__(self, reason: str, *, host: str = "", port: int = 0, address: str = "",
                 allowable: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.host, self.port = reason, host, port
        self.address, self.allowable = address, allowable


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent in the request line
    address: str  # the checked address the connection goes to


# -- addresses ----------------------------------------------------------------------------------

_PRIVATE = tuple(ipaddress.ip_network(n) for n in
                 ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"))
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


def _embedded(ip: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 form carries (mapped, NAT64, 6to4), else `ip` itself."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if ip.sixtofour is not None:
            return ip.sixtofour
    return ip


def internal_kind(address: str) -> str | None:
    """What kind of non-public address `address` is ("a loopback address"), or None for a
    publicly routable one."""
    ip = _embedded(ipaddress.ip_address(address.split("%", 1)[0]))
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip in _METADATA:
        return "the cloud metadata address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip in _SHARED:
        return "a shared (CGNAT) address"
    if any(ip in net for net in _PRIVATE):
        return "a private address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private or not ip.is_global:
        return "a non-public address"
    return None


def is_internal(address: str) -> bool:
    return internal_kind(address) is not None


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


# -- the allow-list -----------------------------------------------------------------------------

_NAME = re.compile(r"[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?")


@dataclass(frozen=True)
class AllowList:
    hosts: frozenset[str] = frozenset()  # names and literal addresses, any port
    host_ports: frozenset[tuple[str, int]] = frozenset()
    networks: tuple[IPNetwork, ...] = ()
    wildcards: tuple[str, ...] = ()  # ".example.org" for '*.example.org': names only

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        """ValueError names the first entry that is none of host, host:port, [v6]:port, CIDR,
        *.domain."""
        hosts: set[str] = set()
        host_ports: set[tuple[str, int]] = set()
        networks: list[IPNetwork] = []
        wildcards: list[str] = []
        for raw in entries:
            entry = raw.strip().lower().rstrip(".")
            if entry.startswith("*.") and _NAME.fullmatch(entry[2:]):
                wildcards.append(entry[1:])
            elif "/" in entry:
                try:
                    networks.append(ipaddress.ip_network(entry, strict=False))
                except ValueError:
                    raise ValueError(f"{raw!r} is not a CIDR network") from None
            elif (literal := _literal(entry)) is not None and not entry.startswith("["):
                hosts.add(literal)
            else:
                host, port = _host_port(raw, entry)
                if port is None:
                    hosts.add(host)
                else:
                    host_ports.add((host, port))
        return cls(frozenset(hosts), frozenset(host_ports), tuple(networks), tuple(wildcards))

    def names(self, host: str, port: int) -> bool:
        """Whether an entry names this host (and port): exactly, by a wildcard, or a literal
        address inside a listed network."""
        literal = _literal(host)
        host = literal or host.lower().rstrip(".")
        return (host in self.hosts or (host, port) in self.host_ports
                or any(host.endswith(w) for w in self.wildcards)
                or (literal is not None
                    and any(ipaddress.ip_address(literal) in n for n in self.networks)))

    def admits(self, host: str, port: int, address: str) -> bool:
        """Whether an entry admits an internal `address` that `host` resolved to: the URL's
        own host listed (any port, or this port), or the address inside a listed network. A
        listed address does not admit another name resolving to it (a name an attacker points
        there); a wildcard never admits one."""
        host = _literal(host) or host.lower().rstrip(".")
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        return (host in self.hosts or (host, port) in self.host_ports
                or any(ip in n for n in self.networks))


def _host_port(raw: str, entry: str) -> tuple[str, int | None]:
    bracketed = re.fullmatch(r"\[([0-9a-f:.]+)\](?::(\d+))?", entry)
    if bracketed:
        host, port_text = _literal(bracketed[1]), bracketed[2]
    elif entry.count(":") == 1:
        host, port_text = entry.split(":")
    else:
        host, port_text = entry, None
    if not host or not (_literal(host) or _NAME.fullmatch(host)):
        raise ValueError(f"{raw!r} is not a host, host:port, [IPv6]:port, CIDR or *.domain")
    if port_text is None:
        return _literal(host) or host, None
    if not port_text.isdecimal() or not 0 < int(port_text) < 65536:
        raise ValueError(f"{raw!r}: the port must be 1-65535")
    return _literal(host) or host, int(port_text)


# -- resolution and the check -------------------------------------------------------------------

def resolve(host: str, port: int, timeout: float) -> list[str]:
    """The addresses of `host`; TimeoutError after `timeout` s (getaddrinfo has no timeout of
    its own: it runs in a daemon thread that is left to finish on its own)."""
    literal = _literal(host)
    if literal is not None:
        return [literal]  # no look-up
    found: list[str] = []
    failed: list[BaseException] = []

    def look_up() -> None:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            found.extend(dict.fromkeys(str(info[4][0]) for info in infos))
        except (OSError, UnicodeError) as exc:
            failed.append(exc)

    thread = threading.Thread(target=look_up, name="truce-outbound-dns", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"no DNS answer within {timeout:g} s")
    if failed:
        raise failed[0]
    return found


def check(url: str, allow: AllowList, resolve: Resolver) -> Target:
    """The target of `url` if it may be reached; OutboundRefused otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise OutboundRefused(f"not a valid URL ({exc})") from None
    if parts.scheme.lower() not in SCHEMES:
        raise OutboundRefused(f"{parts.scheme or 'schemeless'}:// URLs are not fetched (http "
                              "and https only)")
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise OutboundRefused("the URL has no host")
    port = port or (443 if scheme == "https" else 80)
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError) as exc:
        raise OutboundRefused(f"{host} does not resolve ({exc})", host=host, port=port) from None
    if not addresses:
        raise OutboundRefused(f"{host} does not resolve", host=host, port=port)
    for address in addresses:
        kind = internal_kind(address)
        if kind and not allow.admits(host, port, address):
            said = (f"{address} is {kind}" if _literal(host) == address
                    else f"{host} resolves to {address}, {kind}")
            raise OutboundRefused(said, host=host, port=port, address=address, allowable=True)
    path = quote(parts.path or "/", safe=_URL_SAFE) + (
        f"?{quote(parts.query, safe=_URL_SAFE + '?')}" if parts.query else "")
    return Target(scheme, host, port, path, addresses[0])


#: left as they are in a request path or query (RFC 3986 reserved and unreserved, and `%` of
#: what is encoded already); anything else (spaces, non-ASCII) is percent-encoded, as browsers do
_URL_SAFE = "/%:@!$&'()*+,;=-._~"


# -- connections to the checked address ---------------------------------------------------------

class _Pinned(http.client.HTTPConnection):
    """Plain HTTP to the checked address (Host header from the URL)."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedTLS(http.client.HTTPSConnection):
    """HTTPS to the checked address; the certificate is verified against the URL's host."""

    def __init__(self, target: Target, timeout: float, context: ssl.SSLContext | None) -> None:
        super().__init__(target.host, target.port, timeout=timeout,
                         context=context or ssl.create_default_context())
        self.address = target.address

    def connect(self) -> None:
        raw = socket.create_connection((self.address, self.port), self.timeout)
        tls = self._context.wrap_socket(raw, server_hostname=self.host,  # type: ignore[attr-defined]
                                        do_handshake_on_connect=False)
        self.sock = tls  # assigned before the handshake, so a deadline can abort it
        tls.do_handshake()


def connection(target: Target, timeout: float,
               context: ssl.SSLContext | None = None) -> http.client.HTTPConnection:
    """An HTTP(S) connection to `target.address` (not yet opened); `timeout` per socket call."""
    if target.scheme == "https":
        return _PinnedTLS(target, timeout, context)
    return _Pinned(target, timeout)


# -- what may be stored or shown ----------------------------------------------------------------

SECRET_NAMES = frozenset({
    "token", "access_token", "refresh_token", "id_token", "key", "api_key", "apikey", "password",
    "passwd", "pwd", "pass", "secret", "client_secret", "sig", "signature", "auth",
    "authorization", "session", "sid", "code", "credential", "credentials",
})
SECRET_PARTS = ("token", "secret", "passw", "signature", "credential", "apikey", "api_key",
                "api-key", "accesskey", "access_key", "private_key", "session")


def is_secret_name(name: str) -> bool:
    """Whether a query parameter's name looks like it carries a secret (case-insensitive)."""
    n = unquote_plus(name).strip().lower()
    return (n in SECRET_NAMES or any(part in n for part in SECRET_PARTS)
            or n.endswith(("_key", "-key", ".key")))


def _redact_pairs(text: str) -> str:
    pairs = []
    for pair in text.split("&"):
        name, sep, _ = pair.partition("=")
        pairs.append(f"{name}={REDACTED}" if sep and is_secret_name(name) else pair)
    return "&".join(pairs)


def redact_url(url: str) -> str:
    """`url` as it may be stored, logged or shown: no `user:password@`, and the values of query
    (and fragment) parameters that look like secrets replaced by REDACTED."""
    try:
        parts = urlsplit(url)
    except ValueError:  # not even a URL: strip what looks like credentials all the same
        return _redact_pairs(re.sub(r"//[^/?#]*@", "//", url))
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, _redact_pairs(parts.query),
                       _redact_pairs(parts.fragment)))
