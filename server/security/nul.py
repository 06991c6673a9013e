"""NUL characters (U+0000) are refused at the door: PostgreSQL text cannot hold them, and a value
carrying one (`%00` in a query value, `\\u0000` in a JSON body) used to reach the driver and end
as a 500 ("A string literal cannot contain NUL"). `NulCharacterMiddleware` answers 400 with the
project's JSON error body naming the parameter or body field, for every route at once: query
parameters (property filters, CQL2 filters, tile and analysis parameters), the path, and JSON
or form bodies (Part 4 item writes, /reports, alerts, analysis POSTs). `nul_path` is the same
check for a JSON document parsed elsewhere (a CQL2-JSON filter given in a query value)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import TruceError
from server.security.limits import send_json

NUL = "\x00"
_BODY_TYPES = (b"json", b"application/x-www-form-urlencoded")


def nul_path(doc: Any, path: str = "") -> str | None:
    """Where in a JSON document (dotted keys, [i] for list items) a string holds a NUL; None
    if nowhere. Iterative: a deeply nested document cannot exhaust the stack."""
    stack: list[tuple[Any, str]] = [(doc, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, str):
            if NUL in node:
                return where or "(the document)"
        elif isinstance(node, dict):
            for key, value in node.items():
                name = f"{where}.{key}" if where else str(key)
                if NUL in str(key):
                    return name.replace(NUL, "\\u0000")
                stack.append((value, name))
        elif isinstance(node, list):
            stack.extend((item, f"{where}[{i}]") for i, item in enumerate(node))
    return None


def _form_field(raw: bytes) -> str | None:
    """The first form / query field whose name or value holds a NUL, if any."""
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True, encoding="utf-8",
                      errors="replace")
    return next((name.replace(NUL, "%00") for name, value in pairs
                 if NUL in name or NUL in value), None)


def _refusal(what: str, name: str) -> dict[str, Any]:
    """The JSON error body: `what` is "parameter" or "field", `name` which one."""
    where = "query parameter" if what == "parameter" else "body field"
    return {"code": "invalid_parameter",
            "description": f"{where} {name!r} contains a NUL character (%00, \\u0000); text "
                           "may not hold one", what: name}


class NulCharacterMiddleware:
    """400 for a NUL in the path, a query parameter, or a JSON / form body (read whole: bodies
    are capped by BodyLimitMiddleware, which runs outside this one)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if NUL in scope.get("path", ""):
            await send_json(send, 400, {"code": "invalid_parameter", "description":
                                        "the path contains a NUL character (%00)"})
            return
        query = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query:
            name = _form_field(query)
            if name is not None:
                await send_json(send, 400, _refusal("parameter", name))
                return
        content_type = next((v.lower() for k, v in scope.get("headers", [])
                             if k == b"content-type"), b"")
        if not content_type and scope.get("method") in ("POST", "PUT", "PATCH"):
            content_type = b"json"  # /reports reads an untyped body as JSON
        if not any(kind in content_type for kind in _BODY_TYPES):
            await self.app(scope, receive, send)
            return
        try:
            body, rest = await _read_body(receive)
        except TruceError as exc:  # the body cap, raised while reading
            await send_json(send, exc.status_code, {"code": exc.code, "description": exc.detail})
            return
        field = _body_field(body, form=b"json" not in content_type)
        if field is not None:
            await send_json(send, 400, _refusal("field", field))
            return
        await self.app(scope, _replay(body, rest, receive), send)


async def _read_body(receive: Receive) -> tuple[bytes, list[Message]]:
    """The whole body, and any other message read on the way (a disconnect)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), [message]
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), []


def _body_field(body: bytes, *, form: bool) -> str | None:
    """Which body field holds a NUL ("(the body)" for a raw NUL byte in JSON), or None."""
    if form:
        if b"%00" not in body and b"\x00" not in body:
            return None
        return _form_field(body)
    if b"\x00" in body:
        return "(the body)"
    if b"\\u0000" not in body:
        return None
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None  # the route says what is wrong with it
    return nul_path(doc)


def _replay(body: bytes, rest: list[Message], receive: Receive) -> Receive:
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}, *rest]

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
