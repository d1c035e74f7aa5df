"""The generated Python SDK against a real ASGI app on uvicorn: calls, credentials, retries, async."""

from __future__ import annotations

import asyncio
import datetime
import importlib
import json
import socket
import sys
import threading
import time
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from gati_compiler.emit.sdk_python import emit_python_sdk
from tests.unit.emit.sdk_sample import HEADER, sample_program, write_files


@pytest.fixture(scope="module")
def sdk_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_files(emit_python_sdk(sample_program(), header=HEADER), tmp_path_factory.mktemp("sdk"))


# -- behaviour against a real ASGI app ------------------------------------------------------------

USER = {"id": 1, "name": "Ada", "role": "admin", "created": "2026-01-02T03:04:05Z"}


class ShopApp:
    """A tiny ASGI app speaking the runtime's wire format, recording what it received."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.seen: list[tuple[str, str, dict[str, str]]] = []

    def _count(self, key: str) -> int:
        self.calls[key] = self.calls.get(key, 0) + 1
        return self.calls[key]

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        method, path = scope["method"], scope["path"]
        query = scope["query_string"].decode()
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.seen.append((method, path + ("?" + query if query else ""), headers))
        status, payload, extra = self.route(method, path, query, headers, body)
        out = b"" if payload is None else json.dumps(payload).encode()
        raw_headers = [(b"x-request-id", b"req-1"), *((k.encode(), v.encode()) for k, v in extra.items())]
        if payload is not None:
            raw_headers.append((b"content-type", b"application/json"))
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": out})

    def route(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, object, dict[str, str]]:
        def error(status: int, code: str, message: str, **more: object) -> tuple[int, object, dict[str, str]]:
            return status, {"error": {"code": code, "message": message, "requestId": "req-1", **more}}, {}

        if (method, path) == ("GET", "/users"):
            return 200, [USER], {}
        if (method, path) == ("POST", "/users"):
            if headers.get("authorization") != "Bearer t0k":
                return error(401, "GATI520", "no credentials")
            sent = json.loads(body)
            if not isinstance(sent.get("name"), str):
                issue = {"path": "$.name", "code": "type", "expected": "str", "actual": "int", "message": "bad"}
                return error(422, "GATI510", "invalid body", path="$.name", issues=[issue])
            return 201, {**USER, "name": sent["name"], "role": sent.get("role", "member")}, {}
        if path.startswith("/users/"):
            if path == "/users/404":
                return error(404, "GATI504", "no such user")
            return (204, None, {}) if method == "DELETE" else (200, {**USER, "id": int(path[7:])}, {})
        if path.startswith("/files/"):
            return 200, {"path": path[7:]}, {}
        if path == "/flaky":
            n = self._count("flaky")
            if n == 1:
                return (
                    429,
                    {"error": {"code": "GATI530", "message": "slow down", "requestId": "r"}},
                    {"retry-after": "0"},
                )
            return (503, None, {}) if n == 2 else (200, "ok", {})
        if path == "/close":
            self._count("close")
            return error(500, "GATI500", "crash")
        if path == "/profile":
            return 200, {"bad": True}, {}
        return error(404, "GATI504", "not found")


@pytest.fixture(scope="module")
def shop_client(sdk_dir: Path) -> Iterator[Any]:
    sys.path.insert(0, str(sdk_dir))
    try:
        yield importlib.import_module("shop_client")
    finally:
        sys.path.remove(str(sdk_dir))
        for name in [m for m in sys.modules if m == "shop_client" or m.startswith("shop_client.")]:
            del sys.modules[name]


@pytest.fixture
def server() -> Iterator[tuple[str, ShopApp]]:
    app = ShopApp()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", ws="none", log_level="error")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120  # a ceiling for a loaded machine; the loop ends once it is up
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        srv.should_exit = True
        thread.join(10)


def test_sync_client_against_a_real_server(shop_client: Any, server: tuple[str, ShopApp]) -> None:
    url, app = server
    with shop_client.Client(url, token="t0k", backoff_base=0.001) as client:
        users = client.list_users(limit=2, name_prefix="A b", role=[shop_client.models.Role.ADMIN])
        assert users[0]["name"] == "Ada"
        # the generated decoders build the SDK's own types
        assert users[0]["role"] is shop_client.models.Role.ADMIN
        assert users[0]["created"] == datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
        assert app.seen[-1][1] == "/users?limit=2&name-prefix=A+b&role=admin"
        assert app.seen[-1][2]["x-gati-version"] == "2026-11-21T10:30:00Z"
        created = client.create_user(body={"name": "Bo", "role": shop_client.models.Role.MEMBER})
        assert created["name"] == "Bo" and created["role"] == "member"
        assert client.delete_user(7) is None
        assert client.get_file("a b/c.txt") == {"path": "a b/c.txt"}
        assert app.seen[-1][1] == "/files/a b/c.txt"  # percent-decoded by the server, slash kept
        raw = client.with_raw_response.get_user(5)
        assert (raw.status_code, raw.request_id, raw.parse()["id"]) == (200, "req-1", 5)
        with pytest.raises(shop_client.NotFoundError) as not_found:
            client.get_user(404)
        assert (not_found.value.code, not_found.value.request_id, not_found.value.status_code) == (
            "GATI504",
            "req-1",
            404,
        )
        with pytest.raises(shop_client.UnprocessableEntityError) as invalid:
            client.create_user(body={"name": 1})
        assert invalid.value.issues[0].path == "$.name"
        assert invalid.value.path == "$.name"
        with pytest.raises(shop_client.ResponseValidationError):
            client.profile()


def test_sync_client_without_credentials_gets_401(shop_client: Any, server: tuple[str, ShopApp]) -> None:
    url, _ = server
    with shop_client.Client(url, api_version="v1") as client, pytest.raises(shop_client.AuthenticationError) as exc:
        client.create_user(body={"name": "x"})
    assert exc.value.message == "no credentials"


def test_retries_429_then_5xx_on_idempotent_methods(shop_client: Any, server: tuple[str, ShopApp]) -> None:
    url, app = server
    with shop_client.Client(url, backoff_base=0.001, max_retries=2) as client:
        assert client.flaky() == "ok"
    assert app.calls["flaky"] == 3


def test_no_5xx_retry_for_post_unless_asked(shop_client: Any, server: tuple[str, ShopApp]) -> None:
    url, app = server
    with shop_client.Client(url, backoff_base=0.001, max_retries=2) as client:
        with pytest.raises(shop_client.InternalServerError):
            client.call_close()
        assert app.calls["close"] == 1
        with pytest.raises(shop_client.ServerError):
            client.call_close(request_options={"retry_non_idempotent": True})
        assert app.calls["close"] == 4


def test_retries_run_out(shop_client: Any, server: tuple[str, ShopApp]) -> None:
    url, app = server
    with shop_client.Client(url, backoff_base=0.001, max_retries=1) as client, pytest.raises(shop_client.ServerError):
        client.flaky()  # 429, then 503 with no retries left
    assert app.calls["flaky"] == 2


def test_connection_errors_are_retried_then_raised(shop_client: Any) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once closed
    client = shop_client.Client(f"http://127.0.0.1:{port}", backoff_base=0.001, max_retries=2)
    with client, pytest.raises(shop_client.APIConnectionError):
        client.get_user(1)


def test_async_client_over_asgi_transport(shop_client: Any) -> None:
    app = ShopApp()

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport) as http:
            client = shop_client.AsyncClient("http://shop", http_client=http, backoff_base=0.001, api_version="v9")
            assert (await client.get_user(3))["id"] == 3
            assert app.seen[-1][2]["x-gati-version"] == "v9"
            assert await client.flaky() == "ok"
            raw = await client.with_raw_response.list_users()
            assert raw.http_response.status_code == 200
            with pytest.raises(shop_client.NotFoundError):
                await client.get_user(404)
            await client.aclose()  # does not close a client it did not create
            assert not http.is_closed

    asyncio.run(scenario())
