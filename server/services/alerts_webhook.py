"""Alert webhooks on the wire: which URLs may be called (SSRF guard) and one bounded POST.

A URL must be http(s), carry no credentials and name a host on the allow-list
(`AlertSettings.webhook_hosts`: exact names, or '*.example.org' for subdomains). The host is then
resolved; if any address it resolves to is not globally routable (private, loopback, link-local,
shared, multicast, reserved, unspecified; IPv4-mapped IPv6 included), the URL is refused unless
that exact host is on the list (a wildcard never admits an internal address). The POST connects
to the very address that was checked (no second look-up a DNS rebinding could change), follows no
redirect (a 3xx is a failed attempt), and is aborted when the whole exchange outlasts `timeout`.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from server.errors import InvalidQueryError

#: (host, port) -> the addresses it resolves to
Resolver = Callable[[str, int], list[str]]


class WebhookRefused(InvalidQueryError):
    """A webhook URL this server will not call (a 400 when subscribing)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str  # the checked address the POST connects to


DNS_TIMEOUT_SECONDS = 3.0


def resolve_host(host: str, port: int) -> list[str]:
    """The addresses of `host`; TimeoutError after DNS_TIMEOUT_SECONDS (getaddrinfo has no
    timeout of its own: it runs in a daemon thread that is left to finish on its own)."""
    try:
        return [str(ipaddress.ip_address(host))]  # a literal address: no look-up
    except ValueError:
        pass
    found: list[str] = []
    failed: list[BaseException] = []

    def look_up() -> None:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            found.extend(dict.fromkeys(str(info[4][0]) for info in infos))
        except (OSError, UnicodeError) as exc:
            failed.append(exc)

    thread = threading.Thread(target=look_up, name="truce-webhook-dns", daemon=True)
    thread.start()
    thread.join(DNS_TIMEOUT_SECONDS)
    if thread.is_alive():
        raise TimeoutError(f"no DNS answer within {DNS_TIMEOUT_SECONDS:g} s")
    if failed:
        raise failed[0]
    return found


def is_internal(address: str) -> bool:
    """True for an address that is not globally routable."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (not ip.is_global or ip.is_private or ip.is_loopback or ip.is_link_local
            or ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def _named_host(url: str, allowed: list[str]) -> tuple[str, str, int, str, bool]:
    """(scheme, host, port, path, listed exactly) of an allowed URL; WebhookRefused otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookRefused(f"webhook_url is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookRefused("webhook_url must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise WebhookRefused("webhook_url must not carry credentials")
    host = parts.hostname.lower().rstrip(".")
    patterns = [p.lower().rstrip(".") for p in allowed]
    exact = host in patterns
    if not exact and not any(p.startswith("*.") and host.endswith(p[1:]) for p in patterns):
        raise WebhookRefused(f"webhook host {host!r} is not in the allow-list "
                             "(TRUCE_ALERTS_WEBHOOK_HOSTS)", allowed=allowed)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path, exact


def check_url(url: str, allowed: list[str], resolve: Resolver | None = None) -> Target:
    """The target of a webhook URL this server may call; WebhookRefused (400) otherwise."""
    scheme, host, port, path, exact = _named_host(url, allowed)
    try:
        addresses = (resolve or resolve_host)(host, port)
    except (OSError, UnicodeError) as exc:
        raise WebhookRefused(f"webhook host {host!r} does not resolve ({exc})") from None
    if not addresses:
        raise WebhookRefused(f"webhook host {host!r} does not resolve")
    internal = [a for a in addresses if is_internal(a)]
    if internal and not exact:
        raise WebhookRefused(
            f"webhook host {host!r} resolves to an internal address ({internal[0]}): only a "
            "host listed exactly in TRUCE_ALERTS_WEBHOOK_HOSTS may", address=internal[0])
    return Target(scheme, host, port, path, addresses[0])


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
        self.sock = tls  # assigned before the handshake, so the deadline can abort it
        tls.do_handshake()


def _abort(conn: http.client.HTTPConnection, fired: threading.Event) -> None:
    fired.set()
    if conn.sock is not None:
        try:  # the plain socket's shutdown wakes a blocked read, TLS or not
            socket.socket.shutdown(conn.sock, socket.SHUT_RDWR)
        except OSError:
            pass


def post(target: Target, body: bytes, headers: dict[str, str], timeout: float,
         context: ssl.SSLContext | None = None) -> int:
    """POST `body`; the HTTP status. Raises OSError (TimeoutError when the whole exchange took
    longer than `timeout`; ssl.SSLError for a certificate the system does not trust, or `context`
    when given) or http.client.HTTPException when no usable answer came."""
    conn: http.client.HTTPConnection = (_PinnedTLS(target, timeout, context)
                                        if target.scheme == "https" else _Pinned(target, timeout))
    fired = threading.Event()
    timer = threading.Timer(timeout, _abort, (conn, fired))
    timer.daemon = True
    timer.start()
    try:
        conn.request("POST", target.path, body=body, headers=headers)
        return int(conn.getresponse().status)
    except (OSError, http.client.HTTPException):
        if fired.is_set():
            raise TimeoutError(f"no answer within {timeout:g} s") from None
        raise
    finally:
        timer.cancel()
        conn.close()
