"""Alert webhooks on the wire: which URLs may be called (SSRF guard) and one bounded POST.

A URL must be http(s), carry no credentials and name a host on the allow-list
(`AlertSettings.webhook_hosts`: `host`, `host:port`, a CIDR, or '*.example.org' for
subdomains). Whether it may then be reached is the one outbound rule of `server.outbound`,
with the same list: every address the host resolves to must be publicly routable unless an entry
admits it (`host:port` for that port only; a wildcard never admits an internal address). The
POST connects to the very address that was checked (no second look-up a DNS rebinding could
change), follows no redirect (a 3xx is a failed attempt), and is aborted when the whole exchange
outlasts `timeout`.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
from urllib.parse import urlsplit

from server import outbound
from server.errors import InvalidQueryError
from server.outbound import Resolver, Target

__all__ = ["Resolver", "Target", "WebhookRefused", "check_url", "post", "resolve_host"]


class WebhookRefused(InvalidQueryError):
    """A webhook URL this server will not call (a 400 when subscribing)."""


DNS_TIMEOUT_SECONDS = 3.0


def resolve_host(host: str, port: int) -> list[str]:
    """The addresses of `host`; TimeoutError after DNS_TIMEOUT_SECONDS."""
    return outbound.resolve(host, port, DNS_TIMEOUT_SECONDS)


def _named_host(url: str, allowed: outbound.AllowList, listed: list[str]) -> None:
    """WebhookRefused unless the URL is http(s), without credentials, to a listed host."""
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
    port = port or (443 if parts.scheme == "https" else 80)
    if not allowed.names(host, port):
        raise WebhookRefused(f"webhook host {host}:{port} is not in the allow-list "
                             "(TRUCE_ALERTS_WEBHOOK_HOSTS)", allowed=listed)


def check_url(url: str, allowed: list[str], resolve: Resolver | None = None) -> Target:
    """The target of a webhook URL this server may call; WebhookRefused (400) otherwise."""
    allow = outbound.AllowList.parse(allowed)
    _named_host(url, allow, allowed)
    try:
        return outbound.check(url, allow, resolve or resolve_host)
    except outbound.OutboundRefused as exc:
        if not exc.allowable:
            raise WebhookRefused(f"webhook host {exc.reason}") from None
        raise WebhookRefused(
            f"webhook host refused: {exc.reason} (an internal address); list "
            f"{exc.host}:{exc.port} in TRUCE_ALERTS_WEBHOOK_HOSTS to allow it",
            address=exc.address) from None


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
    conn = outbound.connection(target, timeout, context)
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
