"""A real OTLP/HTTP receiver on 127.0.0.1 that records what an exporter posts, for tests."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Collector:
    """Serves until `close()`; `received` holds (path, body) of every post, `url` is the base URL."""

    def __init__(self) -> None:
        received: list[tuple[str, bytes]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                received.append((self.path, self.rfile.read(int(self.headers["content-length"]))))
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def body(self, path: str) -> bytes:
        """Everything posted to `path` (such as `/v1/traces`), concatenated."""
        return b"".join(body for p, body in self.received if p == path)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
