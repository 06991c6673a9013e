"""A local HTTP server that records every request it gets: the loader must make none. It answers
with `body` (a CSV holding a canary text), so a request that got through would also show in the
data."""

from __future__ import annotations

import http.server
import threading


class Listener:
    def __init__(self, canary: str) -> None:
        self.hits: list[str] = []
        hits = self.hits
        body = f"id,name,lon,lat\n1,{canary},36.7,34.7\n".encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_HEAD = do_GET  # noqa: N815
            do_POST = do_GET  # noqa: N815

            def log_message(self, *args: object) -> None:
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
