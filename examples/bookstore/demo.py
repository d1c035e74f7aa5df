"""Build the bookstore, serve it on uvicorn (127.0.0.1, a free port) and call it with the generated SDK.

Run from anywhere: `python examples/bookstore/demo.py`. The server is a child process started
with this interpreter and stopped by its PID when the demo ends.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

HERE = Path(__file__).resolve().parent
API_KEY = "demo-key"
RECEIPT_KEY = "demo-receipt-signing-key"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_ready(base: str, server: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"server exited with code {server.returncode}")
        try:
            if httpx.get(f"{base}/_gati/ready", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("server did not become ready in time")


def show(title: str, value: object) -> None:
    print(f"\n== {title}")
    print(json.dumps(value, indent=2, default=str, ensure_ascii=False))


def _eventually(call: Callable[[], T], errors: Any, timeout: float = 5.0) -> T:
    """`call()` once it stops answering 404 (a consumer of a topic runs after the publish)."""
    until = time.monotonic() + timeout
    while True:
        try:
            return call()
        except errors.APIStatusError as exc:
            if exc.status_code != 404 or time.monotonic() > until:
                raise
            time.sleep(0.02)


def main() -> int:
    from gati_compiler import build
    from gati_compiler.diagnostics.render import render_text

    result = build(HERE)
    if not result.ok:
        print(render_text(result.diagnostics, result.sources))
        return 1
    assert result.program is not None
    print(f"built {len(result.program.handlers)} handlers into {HERE / '.gati'}")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "BOOKSTORE_API_KEYS": f"{API_KEY}=editor,admin,clerk",
        "BOOKSTORE_SECRET_RECEIPT_KEY": RECEIPT_KEY,  # the `receipt_key` secret (`[tool.gati.secrets]`)
    }
    cmd = [sys.executable, "-m", "gati_runtime_min", str(HERE / ".gati"), "--port", str(port)]
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_ready(base, server)
        print(f"serving on {base} (pid {server.pid})")
        sys.path.insert(0, str(HERE / ".gati" / "sdk" / "python"))
        from bookstore_client import Client, errors

        with Client(base, api_key=API_KEY) as client:
            author = client.create_author(body={"name": "Ursula K. Le Guin", "born": "1929-10-21"})
            show("created author", author)
            book = client.create_book(
                body={
                    "title": "The Dispossessed",
                    "isbn": "9780061054884",
                    "author_id": author["id"],
                    "genre": "fiction",
                    "price": {"amount": 1299, "currency": "EUR"},
                    "tags": ["utopia", "classic"],
                }
            )
            show("created book", book)
            show("books in fiction", client.list_books(genre="fiction", limit=5))
            order = client.place_order(
                body={
                    "lines": [{"book_id": book["id"], "quantity": 2}],
                    "ship_to": {
                        "name": "Ada",
                        "street": "1 Main St",
                        "city": "Lyon",
                        "postcode": "69001",
                        "country": "FR",
                    },
                }
            )
            show("placed order", order)
            show("order fetched back", client.get_order(order["id"]))
            # the in-process mailer got the typed `orders.placed` message and confirmed the order
            show("order confirmation", _eventually(lambda: client.order_confirmation(order["id"]), errors))
            # signed with a secret the handler declares (`secrets=["receipt_key"]`)
            show("signed receipt", client.order_receipt(order["id"]))
            # the out-of-process Node module `shipping` (JSON-RPC over stdio, no network access)
            show("shipping quote", client.shipping_quote(country="DE", items=2))
            # the out-of-process Python module `isbn`
            show("ISBN-10 normalised", client.normalize_isbn("0-06-105488-7"))
            try:
                client.create_book(body={"title": "", "isbn": "nope"})  # type: ignore[typeddict-item]
            except errors.APIStatusError as exc:
                issues = [dataclasses.asdict(issue) for issue in exc.issues]  # each an `errors.Issue`
                show(f"rejected a bad book: {exc.status_code} {exc.code} (request {exc.request_id})", issues)
            show("stats", client.stats())
        # Timescape: the committed timescape.lock deprecates v1.0.0; its clients are told so
        old = httpx.get(f"{base}/books", headers={"x-api-key": API_KEY, "x-gati-version": "v1.0.0"})
        show(
            f"GET /books as v1.0.0: {old.status_code}",
            {h: old.headers.get(h) for h in ("deprecation", "sunset", "link")},
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
