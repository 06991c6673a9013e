"""Browser security headers on every response, as plain ASGI middleware.

Every answer (JSON, tiles, static files, HTML) gets `X-Content-Type-Options: nosniff`,
`Referrer-Policy: no-referrer` and a Content-Security-Policy. The default policy allows only the
server's own scripts and styles (no inline code, no eval), MapLibre's worker (`worker-src blob:`)
and its images (`img-src data: blob:`), and forbids framing (`frame-ancestors 'none'`). A page with
inline code of its own (the viewer's early fetches, folium's maps) sets its own policy naming
each inline script and style by its sha256 hash (`page_policy`); the middleware keeps it.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from functools import lru_cache
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_COMMON = ("img-src 'self' data: blob:; worker-src blob:; child-src blob:; connect-src 'self'; "
           "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
           "frame-ancestors 'none'")
DEFAULT_POLICY = f"default-src 'self'; script-src 'self'; style-src 'self'; {_COMMON}"
_INLINE = re.compile(r"<(script|style)\b([^>]*)>(.*?)</\1\s*>", re.IGNORECASE | re.DOTALL)
_HEADERS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"))
# For answers sent from outside the middleware (Starlette's 500 page is built by the outermost
# ServerErrorMiddleware): the same headers, the default policy.
ERROR_HEADERS = {**{n.decode(): v.decode() for n, v in _HEADERS},
                 "content-security-policy": DEFAULT_POLICY}


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def inline_hashes(html: str) -> tuple[list[str], list[str]]:
    """The CSP hash sources of a document's inline scripts and of its <style> elements."""
    scripts: list[str] = []
    styles: list[str] = []
    for tag, attrs, body in _INLINE.findall(html):
        if tag.lower() == "style":
            styles.append(_sha256(body))
        elif not re.search(r"\bsrc\s*=", attrs, re.IGNORECASE):
            scripts.append(_sha256(body))
    return sorted(set(scripts)), sorted(set(styles))


def page_policy(html: str, *, own_files: bool = True) -> str:
    """The policy of a page with inline code: its inline scripts and styles by hash, nothing
    else inline. `own_files=False` (a standalone document such as the situation-report map)
    allows no file from the server either."""
    scripts, styles = inline_hashes(html)
    own = ["'self'"] if own_files else []
    script_src = " ".join(own + scripts) or "'none'"
    style_src = " ".join(own + styles) or "'none'"
    default = "'self'" if own_files else "'none'"
    return f"default-src {default}; script-src {script_src}; style-src {style_src}; {_COMMON}"


@lru_cache(maxsize=32)
def _file_policy(path: str, size: int, mtime_ns: int) -> str:
    return page_policy(Path(path).read_text(encoding="utf-8"))


def file_policy(path: str) -> str:
    """`page_policy` of an HTML file, read again only when the file changes."""
    stat = os.stat(path)
    return _file_policy(path, stat.st_size, stat.st_mtime_ns)


class SecurityHeadersMiddleware:
    """Add the headers to every HTTP response; a response's own Content-Security-Policy wins."""

    def __init__(self, app: ASGIApp, policy: str = DEFAULT_POLICY) -> None:
        self.app = app
        self.policy = policy.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in _HEADERS if n not in present]
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", self.policy))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
