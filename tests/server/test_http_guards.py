"""Connection guards against a live uvicorn, with raw sockets: slow headers and stalled bodies are
cut off (408 or a closed connection), a chunked body over the cap is 413 JSON like one with
Content-Length, and one client address holds a bounded number of connections."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from server.main import create_app
from server.serving import uvicorn_options
from tests.conftest import make_settings, serving

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.0
PER_CLIENT = 3
MAX_BODY = 4096


@pytest.fixture(scope="module")
def guarded(database_url: str, sample_loaded: list[object]) -> Iterator[tuple[str, int]]:
    """The app served as `truce serve` serves it, with short timeouts and small caps."""
    settings = make_settings(database_url, header_timeout_seconds=HEADER_TIMEOUT,
                             body_timeout_seconds=BODY_TIMEOUT,
                             max_connections_per_client=PER_CLIENT)
    settings.security.max_body_bytes = MAX_BODY
    with serving(create_app(settings), **uvicorn_options(settings.api)) as base:
        host, port = base.removeprefix("http://").split(":")
        yield (host, int(port))


def _connect(address: tuple[str, int]) -> socket.socket:
    sock = socket.create_connection(address, timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes the connection (or 10 s pass: a test failure)."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def _response(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def _read_one(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One response with a Content-Length, the connection left open."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    status, headers, body = _response(data)
    while len(body) < int(headers["content-length"]):
        body += sock.recv(65536)
    return status, headers, body


def _trickle(sock: socket.socket, data: bytes, every: float = 0.25) -> float:
    """Send `data` a byte at a time until the server closes; the seconds it took."""
    start = time.monotonic()
    try:
        for byte in data:
            sock.sendall(bytes([byte]))
            time.sleep(every)
    except OSError:  # the server closed the connection (or the test did)
        pass
    return time.monotonic() - start


SLOW_HEADERS = b"GET /conformance HTTP/1.1\r\nHost: test\r\nX-Padding: " + b"a" * 80 + b"\r\n\r\n"


def test_headers_sent_a_byte_at_a_time_are_cut_off(guarded: tuple[str, int]) -> None:
    with _connect(guarded) as sock:
        start = time.monotonic()
        sender = threading.Thread(target=_trickle, args=(sock, SLOW_HEADERS), daemon=True)
        sender.start()
        raw = _read_all(sock)
        took = time.monotonic() - start
        sender.join()
    status, headers, body = _response(raw)
    assert status == 408 and json.loads(body)["code"] == "request_timeout"
    assert headers["connection"] == "close"
    assert HEADER_TIMEOUT * 0.9 < took < HEADER_TIMEOUT + 2


def test_a_connection_that_sends_nothing_is_closed(guarded: tuple[str, int]) -> None:
    with _connect(guarded) as sock:
        start = time.monotonic()
        raw = _read_all(sock)
        assert time.monotonic() - start < HEADER_TIMEOUT + 2
    assert _response(raw)[0] == 408


def test_slow_headers_of_a_second_request_on_a_kept_alive_connection(
        guarded: tuple[str, int]) -> None:
    with _connect(guarded) as sock:
        sock.sendall(b"GET /conformance HTTP/1.1\r\nHost: test\r\n\r\n")
        assert _read_one(sock)[0] == 200
        sender = threading.Thread(target=_trickle, args=(sock, SLOW_HEADERS), daemon=True)
        start = time.monotonic()
        sender.start()
        raw = _read_all(sock)
        assert time.monotonic() - start < HEADER_TIMEOUT + 2
        sender.join()
    assert _response(raw)[0] == 408


def test_a_stalled_body_gets_408_json_and_the_connection_closes(
        guarded: tuple[str, int]) -> None:
    with _connect(guarded) as sock:
        sock.sendall(b"POST /analysis/deconfliction HTTP/1.1\r\nHost: test\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"features\"")
        start = time.monotonic()
        raw = _read_all(sock)
        took = time.monotonic() - start
    status, headers, body = _response(raw)
    assert status == 408, raw
    assert json.loads(body)["code"] == "request_timeout"
    assert headers["content-type"] == "application/json"
    assert BODY_TIMEOUT * 0.8 < took < BODY_TIMEOUT + 2


def test_a_trickled_body_the_app_does_not_read_is_cut_off(guarded: tuple[str, int]) -> None:
    with _connect(guarded) as sock:
        sock.sendall(b"GET /conformance HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\n")
        assert _read_one(sock)[0] == 200  # answered without reading the body
        took = _trickle(sock, b"x" * 99)  # ~25 s if nothing cuts it off
    assert took < BODY_TIMEOUT + 3


def test_an_oversized_chunked_body_is_413_json(guarded: tuple[str, int]) -> None:
    chunk = b"x" * 1000
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(6)) + b"0\r\n\r\n"
    with _connect(guarded) as sock:
        sock.sendall(b"POST /analysis/deconfliction HTTP/1.1\r\nHost: test\r\n"
                     b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                     + body)
        status, headers, payload = _response(_read_all(sock))
    assert status == 413
    assert json.loads(payload)["code"] == "payload_too_large"
    assert headers["content-type"] == "application/json"


def test_a_body_over_the_cap_by_content_length_is_413_json(guarded: tuple[str, int]) -> None:
    with _connect(guarded) as sock:
        sock.sendall(b"POST /analysis/deconfliction HTTP/1.1\r\nHost: test\r\n"
                     b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                     % (MAX_BODY + 1))
        status, _, payload = _response(_read_all(sock))
    assert status == 413 and json.loads(payload)["code"] == "payload_too_large"


def test_a_chunked_body_under_the_cap_is_read(guarded: tuple[str, int]) -> None:
    chunk = b'{"features": []}'
    with _connect(guarded) as sock:
        sock.sendall(b"POST /analysis/deconfliction HTTP/1.1\r\nHost: test\r\n"
                     b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                     b"Connection: close\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(chunk), chunk))
        status, _, payload = _response(_read_all(sock))
    assert status not in (408, 413) and status < 500, payload


def test_connections_per_client_address_are_capped(guarded: tuple[str, int]) -> None:
    held = [_connect(guarded) for _ in range(PER_CLIENT)]
    try:
        time.sleep(0.1)
        with _connect(guarded) as extra:
            status, _, payload = _response(_read_all(extra))
        assert status == 429 and json.loads(payload)["code"] == "too_many_connections"
        held.pop().close()
        time.sleep(0.1)
        with _connect(guarded) as again:
            again.sendall(b"GET /conformance HTTP/1.1\r\nHost: test\r\n\r\n")
            assert _read_one(again)[0] == 200
    finally:
        for sock in held:
            sock.close()
