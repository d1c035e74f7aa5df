"""Every example, served by real uvicorn on 127.0.0.1 in a child process, exercised through its generated SDK.

For each `examples/*` app: copy it to a temporary folder, build it with `gati_compiler.pipeline.build`,
start `python -m gati_runtime_min <build> --port N` (API keys for every role the handlers name, from
the build's own `settings.auth.apiKeys`), wait for `/_gati/ready`, then call EVERY handler through
the generated Python SDK (`Client` and `AsyncClient`), checking the results and the typed errors,
and stop the server by its PID. A recording httpx event hook maps each call to its handler with the
runtime's own router, so an example whose scenario misses a handler fails.

The helpers here (`build_copy`, `serve_build`) are shared with `test_schemathesis.py`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p for p in (ROOT / "examples").iterdir() if (p / "pyproject.toml").is_file())

ALL_ROLES_KEY = "e2e-all-roles"  # every role any handler asks for
NO_ROLES_KEY = "e2e-no-roles"  # authenticates, holds no role


@dataclass
class Served:
    name: str
    app_dir: Path
    build_dir: Path
    base_url: str
    pid: int
    log: Path
    manifest: dict[str, Any]
    handlers: dict[str, dict[str, Any]]
    api_key_header: str | None
    roles: frozenset[str]
    env: dict[str, str] = field(default_factory=dict)

    def server_log(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-4000:]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def build_copy(example: Path, dest: Path, edit: Callable[[Path], None] | None = None) -> Path:
    """Copy `example` to `dest` (without its build), let `edit` change the copy, build it; the build dir."""
    from gati_compiler.diagnostics.render import render_text
    from gati_compiler.pipeline import build

    shutil.copytree(example, dest, ignore=shutil.ignore_patterns(".gati", "__pycache__", "*.pyc"))
    if edit is not None:
        edit(dest)
    result = build(dest)
    assert result.ok, render_text(result.diagnostics, result.sources)
    build_dir = dest / ".gati"
    assert (build_dir / "manifest.json").is_file()
    return build_dir


def _read(build_dir: Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    manifest = json.loads((build_dir / "manifest.json").read_text(encoding="utf-8"))
    handlers = {
        e["handlerId"]: json.loads((build_dir / e["file"]).read_text(encoding="utf-8")) for e in manifest["handlers"]
    }
    return manifest, handlers


def _wait_ready(base: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}:\n{log.read_text(errors='replace')[-4000:]}")
        try:
            if httpx.get(f"{base}/_gati/ready", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"server not ready after {timeout}s:\n{log.read_text(errors='replace')[-4000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def secret_value(name: str) -> str:
    """The value `serve_build` gives the secret `name`."""
    return f"e2e-secret-{name}"


@contextmanager
def serve_build(name: str, app_dir: Path, build_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[Served]:
    """Serve `build_dir` until the block ends; API keys for every role come from the build's own
    settings, and every secret a handler declares from the environment (`secret_value`)."""
    manifest, handlers = _read(build_dir)
    roles = frozenset(r for h in handlers.values() for r in (h.get("policies") or {}).get("roles") or ())
    keys_cfg = ((manifest.get("settings") or {}).get("auth") or {}).get("apiKeys") or {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATI_")}
    header: str | None = None
    if keys_cfg.get("keysEnv"):
        header = str(keys_cfg.get("header") or "x-api-key")
        env[keys_cfg["keysEnv"]] = f"{ALL_ROLES_KEY}={','.join(sorted(roles))};{NO_ROLES_KEY}="
    secrets_cfg = (manifest.get("settings") or {}).get("secrets") or {}
    for h in handlers.values():
        for secret in (h.get("dependencies") or {}).get("secrets") or ():
            variable = str(secrets_cfg.get("envPrefix") or "") + secret.upper().replace("-", "_").replace(".", "_")
            env[variable] = secret_value(secret)
    env.update(extra_env or {})
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = app_dir.parent / f"{name}-server.log"
    cmd = [sys.executable, "-m", "gati_runtime_min", str(build_dir), "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=app_dir, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    try:
        _wait_ready(base, proc, log)
        yield Served(name, app_dir, build_dir, base, proc.pid, log, manifest, handlers, header, roles, env)
    finally:
        _stop(proc)


# ---------------------------------------------------------------- the SDK of a served build
def import_sdk(served: Served) -> Any:
    """Import the generated Python client package of `served` (fresh, from its build folder)."""
    import importlib

    sdk_root = served.build_dir / "sdk" / "python"
    packages = [p for p in sdk_root.iterdir() if (p / "__init__.py").is_file()]
    assert len(packages) == 1, f"one client package expected in {sdk_root}: {packages}"
    name = packages[0].name
    for mod in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[mod]
    sys.path.insert(0, str(sdk_root))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(sdk_root))


class Recorder:
    """Which handlers the calls reached: (method, path) of every response, mapped by the runtime's router."""

    def __init__(self, served: Served) -> None:
        from gati_runtime_min.routing import Router

        self.router: Router[str] = Router((e["method"], e["path"], e["handlerId"]) for e in served.manifest["handlers"])
        self.reached: dict[str, set[int]] = {}

    def record(self, method: str, path: str, status: int) -> None:
        hit = self.router.resolve(method, path)
        if hit is not None:
            self.reached.setdefault(hit[0], set()).add(status)

    def sync_hook(self, response: httpx.Response) -> None:
        self.record(response.request.method, response.request.url.path, response.status_code)

    async def async_hook(self, response: httpx.Response) -> None:
        self.sync_hook(response)


@dataclass
class Ctx:
    served: Served
    sdk: Any
    recorder: Recorder
    _sync: list[httpx.Client] = field(default_factory=list)
    _async: list[httpx.AsyncClient] = field(default_factory=list)

    def client(self, key: str | None = ALL_ROLES_KEY, **kwargs: Any) -> Any:
        """An SDK `Client` over an httpx client that records the calls (closed by `close`)."""
        http = httpx.Client(timeout=10.0, event_hooks={"response": [self.recorder.sync_hook]})
        self._sync.append(http)
        return self.sdk.Client(self.served.base_url, api_key=key, http_client=http, **kwargs)

    def async_client(self, key: str | None = ALL_ROLES_KEY, **kwargs: Any) -> Any:
        """An SDK `AsyncClient` over a recording httpx client (closed by `aclose`, in its loop)."""
        http = httpx.AsyncClient(timeout=10.0, event_hooks={"response": [self.recorder.async_hook]})
        self._async.append(http)
        return self.sdk.AsyncClient(self.served.base_url, api_key=key, http_client=http, **kwargs)

    def close(self) -> None:
        for http in self._sync:
            http.close()
        self._sync.clear()

    async def aclose(self) -> None:
        for http in self._async:
            await http.aclose()
        self._async.clear()


def expect_error(ctx: Ctx, cls_name: str, status: int, call: Callable[[], Any], code: str | None = None) -> Any:
    """`call()` raises the SDK's `cls_name` with `status`, a request id and (if given) `code`."""
    cls = getattr(ctx.sdk.errors, cls_name)
    try:
        call()
    except cls as exc:
        assert exc.status_code == status, (exc.status_code, exc.message)
        assert isinstance(exc.request_id, str) and len(exc.request_id) == 26, exc.request_id
        assert exc.response.headers["x-request-id"] == exc.request_id
        if code is not None:
            assert exc.code == code, (exc.code, exc.message)
        return exc
    raise AssertionError(f"expected {cls_name} ({status})")


async def expect_error_async(ctx: Ctx, cls_name: str, status: int, call: Callable[[], Any]) -> Any:
    cls = getattr(ctx.sdk.errors, cls_name)
    try:
        await call()
    except cls as exc:
        assert exc.status_code == status and exc.request_id
        return exc
    raise AssertionError(f"expected {cls_name} ({status})")


# ---------------------------------------------------------------- checks every example gets
def generic_checks(ctx: Ctx) -> None:
    base = ctx.served.base_url
    health = httpx.get(f"{base}/_gati/health", timeout=5.0)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert health.json()["manifestHash"] == ctx.served.manifest["contentHash"]
    ready = httpx.get(f"{base}/_gati/ready", timeout=5.0).json()
    assert ready["handlers"] == len(ctx.served.handlers)
    # 404: an unknown path, with the error envelope and the request id
    missing = httpx.get(f"{base}/no/such/path/e2e", timeout=5.0)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "GATI520"
    assert missing.json()["error"]["requestId"] == missing.headers["x-request-id"]
    # 405 with Allow, and OPTIONS, on every route path, with a method it does not have (raw httpx)
    by_path: dict[str, set[str]] = {}
    for h in ctx.served.handlers.values():
        by_path.setdefault(h["path"], set()).add(h["method"])
    for template, methods in by_path.items():
        path = _concrete(template, ctx.served.handlers)
        wrong = next(m for m in ("PUT", "PATCH", "DELETE", "POST", "GET") if m not in methods)
        r = httpx.request(wrong, f"{base}{path}", timeout=5.0)
        assert r.status_code == 405, (wrong, path, r.status_code, r.text)
        assert r.json()["error"]["code"] == "GATI521"
        allow = {m.strip() for m in r.headers["allow"].split(",")}
        assert methods <= allow and "OPTIONS" in allow
        opt = httpx.request("OPTIONS", f"{base}{path}", timeout=5.0)
        assert opt.status_code == 204 and {m.strip() for m in opt.headers["allow"].split(",")} == allow


_SAMPLE = {"int": "1", "float": "1.5", "uuid": "00000000-0000-4000-8000-000000000000", "date": "2024-01-02"}


def _concrete(template: str, handlers: dict[str, dict[str, Any]]) -> str:
    """A path that matches `template`, with a sample value for each parameter."""
    import re

    return re.sub(
        r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([a-z]+))?\}", lambda m: _SAMPLE.get(m.group(2) or "str", "x"), template
    )


# ---------------------------------------------------------------- the bookstore
def _eventually(call: Callable[[], Any], timeout: float = 10.0) -> Any:
    """`call()` once it stops raising a 404 (what a topic's consumer writes lands after the publish)."""
    until = time.monotonic() + timeout
    while True:
        try:
            return call()
        except Exception as exc:
            if getattr(exc, "status_code", None) != 404 or time.monotonic() > until:
                raise
            time.sleep(0.02)


def scenario_bookstore(ctx: Ctx) -> None:
    import asyncio
    import uuid

    new_book = {
        "title": "The Dispossessed",
        "isbn": "9780061054884",
        "genre": "fiction",
        "price": {"amount": 1299, "currency": "EUR"},
        "tags": ["utopia"],
    }
    ship_to = {"name": "Ada", "street": "1 Main St", "city": "Lyon", "postcode": "69001", "country": "FR"}
    with ctx.client() as c:
        assert c.list_authors() == []
        author = c.create_author(body={"name": "Ursula K. Le Guin", "born": "1929-10-21"})
        assert author["name"] == "Ursula K. Le Guin" and isinstance(author["id"], int)
        assert c.get_author(author["id"]) == author
        assert c.list_authors() == [author]
        exc = expect_error(ctx, "NotFoundError", 404, lambda: c.get_author(999_999), "author_not_found")
        assert "999999" in exc.message

        raw = c.with_raw_response.create_book(body={**new_book, "author_id": author["id"]})
        assert raw.status_code == 201 and raw.headers["location"] == f"/books/{raw.parse()['id']}"
        assert raw.headers["server-timing"].startswith("app;dur=")  # the global after hook ran
        book = raw.parse()
        assert book["title"] == new_book["title"] and book["in_stock"] == 0
        assert c.get_book(book["id"]) == book
        page = c.list_books(genre="fiction", limit=5)
        assert page["total"] == 1 and page["items"] == [book] and page["next_offset"] is None
        assert c.list_books(genre="science")["items"] == []
        # "1.0" is an integer in JSON Schema's sense: the query decoder accepts it like the body one does
        as_float = httpx.get(f"{ctx.served.base_url}/books", params={"author_id": f"{author['id']}.0"}, timeout=5.0)
        assert as_float.status_code == 200 and as_float.json()["total"] == 1
        updated = c.update_book(book["id"], body={"in_stock": 3, "price": {"amount": 999, "currency": "EUR"}})
        assert updated["in_stock"] == 3 and updated["price"]["amount"] == 999
        expect_error(ctx, "NotFoundError", 404, lambda: c.update_book(999_999, body={"in_stock": 1}))
        # an integer beyond 64 bits round-trips (orjson cannot write it: the runtime falls back)
        big = c.update_book(book["id"], body={"price": {"amount": 2**70, "currency": "EUR"}})
        assert big["price"]["amount"] == 2**70
        c.update_book(book["id"], body={"price": {"amount": 999, "currency": "EUR"}})

        tree = c.category_tree()
        assert tree["slug"] == "all" and tree["children"]
        assert c.get_category("crime")["name"] == "Crime"
        expect_error(ctx, "NotFoundError", 404, lambda: c.get_category("no-such-shelf"), "category_not_found")

        order = c.place_order(body={"lines": [{"book_id": book["id"], "quantity": 2}], "ship_to": ship_to})
        assert order["status"] == "pending" and order["total"] == {"amount": 1998, "currency": "EUR"}
        assert isinstance(order["id"], uuid.UUID)
        assert c.get_order(order["id"]) == order
        # the mailer module consumed the typed `orders.placed` message the order published
        confirmation = _eventually(lambda: c.order_confirmation(order["id"]))
        assert confirmation["order_id"] == order["id"] and confirmation["to"] == ship_to["name"]
        assert "2 book(s)" in confirmation["subject"]
        expect_error(ctx, "NotFoundError", 404, lambda: c.order_confirmation(uuid.uuid4()), "not_confirmed_yet")
        # the out-of-process Python module
        assert c.normalize_isbn("0-06-105488-7") == {"isbn13": "9780061054884", "prefix": "978", "was_isbn10": True}
        assert c.normalize_isbn("9780061054884")["was_isbn10"] is False
        expect_error(ctx, "UnprocessableEntityError", 422, lambda: c.normalize_isbn("0-06-105488-0"), "invalid_isbn")
        # signed with the declared secret `receipt_key`, which the server read from its environment
        receipt = c.order_receipt(order["id"])
        signed = f"{order['id']}:{order['total']['amount']}:{order['total']['currency']}".encode()
        receipt_key = secret_value("receipt_key").encode()
        assert receipt["signature"] == hmac.new(receipt_key, signed, hashlib.sha256).hexdigest()
        expect_error(ctx, "NotFoundError", 404, lambda: c.order_receipt(uuid.uuid4()), "order_not_found")
        # the out-of-process Node module, through the typed client and the generated codecs
        quote = c.shipping_quote(country="DE", items=3)
        assert quote == {"country": "DE", "zone": "eu", "items": 3, "cents": 890 + 2 * 150, "days": 4}
        expect_error(
            ctx, "UnprocessableEntityError", 422, lambda: c.shipping_quote(country="AQ", items=1), "no_carrier"
        )
        expect_error(ctx, "UnprocessableEntityError", 422, lambda: c.shipping_quote(country="de", items=1), "GATI512")
        assert [o["id"] for o in c.list_orders(status="pending")] == [order["id"]]
        expect_error(ctx, "NotFoundError", 404, lambda: c.get_order(uuid.uuid4()), "order_not_found")
        cancelled = c.cancel_order(order["id"])
        assert cancelled["status"] == "cancelled" and cancelled["id"] == order["id"]
        expect_error(ctx, "NotFoundError", 404, lambda: c.cancel_order(uuid.uuid4()))
        stats = c.stats()
        assert stats["books"] == 1 and stats["authors"] == 1 and stats["orders_by_status"] == {"cancelled": 1}

        # 422 with structured issues: the body, the query
        bad = expect_error(ctx, "UnprocessableEntityError", 422, lambda: c.create_book(body={"title": "", "isbn": "x"}))
        assert bad.code == "GATI511" and bad.issues
        assert all(i.path.startswith("$.body") and i.code and i.message for i in bad.issues)
        assert {"$.body.title", "$.body.isbn"} <= {i.path for i in bad.issues}
        badq = expect_error(ctx, "UnprocessableEntityError", 422, lambda: c.list_books(limit=1000), "GATI512")
        assert [i.path for i in badq.issues] == ["$.query.limit"]
        unknown = expect_error(
            ctx, "UnprocessableEntityError", 422, lambda: c.create_book(body={**new_book, "author_id": 4242})
        )
        assert unknown.code == "unknown_author"  # the route's before hook
        expect_error(
            ctx, "UnprocessableEntityError", 422,
            lambda: c.place_order(body={"lines": [{"book_id": 999_999, "quantity": 1}], "ship_to": ship_to}),
            "book_not_found",
        )  # fmt: skip

        c.delete_book(book["id"])
        expect_error(ctx, "NotFoundError", 404, lambda: c.get_book(book["id"]), "book_not_found")
        expect_error(ctx, "NotFoundError", 404, lambda: c.delete_book(book["id"]), "book_not_found")

    # 400: an unknown API version, through the SDK, and malformed JSON through raw httpx
    with ctx.client(api_version="1999-01-01-nope") as c:
        exc = expect_error(ctx, "BadRequestError", 400, lambda: c.list_books(), "GATI516")
    malformed = httpx.post(
        f"{ctx.served.base_url}/authors",
        content=b'{"name": "x",',
        headers={"content-type": "application/json", "x-api-key": ALL_ROLES_KEY},
        timeout=5.0,
    )
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "GATI510"
    assert "line 1" in malformed.json()["error"]["message"]

    # Timescape over real uvicorn: the committed lock's deprecated v1.0.0 answers with RFC 9745 /
    # RFC 8594 headers, /stats did not exist in it (404), the `stable` label is served plainly
    base, key = ctx.served.base_url, {"x-api-key": ALL_ROLES_KEY}
    old = httpx.get(f"{base}/books", headers={**key, "x-gati-version": "v1.0.0"}, timeout=5.0)
    assert old.status_code == 200, old.text
    assert old.headers["deprecation"].startswith("@") and old.headers["sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"
    assert "successor-version" in old.headers["link"]
    missing = httpx.get(f"{base}/stats", headers={**key, "x-gati-version": "v1.0.0"}, timeout=5.0)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "GATI522"
    stable = httpx.get(f"{base}/stats?version=stable", headers=key, timeout=5.0)
    assert stable.status_code == 200 and "deprecation" not in stable.headers

    # 401 without credentials or with a wrong key, 403 without the role
    with ctx.client(key=None) as anon, ctx.client(key=NO_ROLES_KEY) as nobody, ctx.client(key="wrong") as wrong:
        expect_error(ctx, "AuthenticationError", 401, lambda: anon.create_author(body={"name": "A"}), "GATI530")
        expect_error(ctx, "AuthenticationError", 401, lambda: wrong.list_books(), "GATI530")
        expect_error(ctx, "PermissionDeniedError", 403, lambda: nobody.create_author(body={"name": "A"}), "GATI531")
        expect_error(ctx, "PermissionDeniedError", 403, lambda: nobody.stats(), "GATI531")
        expect_error(ctx, "PermissionDeniedError", 403, lambda: nobody.delete_book(1), "GATI531")
        assert anon.list_authors()  # public routes need no key

    async def with_async_client() -> None:
        try:
            await async_calls()
        finally:
            await ctx.aclose()

    async def async_calls() -> None:
        async with ctx.async_client() as ac:
            author2 = await ac.create_author(body={"name": "Octavia E. Butler"})
            book2 = await ac.create_book(body={**new_book, "isbn": "0446675504", "author_id": author2["id"]})
            got = await asyncio.gather(ac.get_book(book2["id"]), ac.get_author(author2["id"]), ac.list_books())
            assert got[0] == book2 and got[1] == author2 and got[2]["total"] == 1
            await expect_error_async(ctx, "NotFoundError", 404, lambda: ac.get_book(987_654))
            # 429 on the rate-limited route (POST /orders, 10/hour), hammered a bounded number of times.
            # The window is far longer than the test, so no window rolls over while the requests are
            # in flight however slow the machine is: at most 10 are placed (fewer, counting the
            # orders above), and every other one is refused.
            line = {"lines": [{"book_id": book2["id"], "quantity": 1}], "ship_to": ship_to}
            outcomes = await asyncio.gather(
                *(ac.place_order(body=line, request_options={"max_retries": 0}) for _ in range(25)),
                return_exceptions=True,
            )
            limited = [o for o in outcomes if isinstance(o, ctx.sdk.errors.RateLimitError)]
            placed = [o for o in outcomes if isinstance(o, dict)]
            assert limited and placed and len(limited) + len(placed) == len(outcomes), outcomes
            assert len(placed) <= 10 and len(limited) >= 15
            assert all(e.status_code == 429 and e.code == "GATI532" for e in limited)
            assert all(e.retry_after is not None and e.retry_after >= 1 for e in limited)

    asyncio.run(with_async_client())


# ---------------------------------------------------------------- the accounts example
def scenario_accounts(ctx: Ctx) -> None:
    """The current version through the SDK; the older versions are `test_timescape_clients.py`'s."""
    with ctx.client(key=None) as c:
        ada = c.create_user(body={"name": "Ada Lovelace", "email": "ada@example.org"})
        assert ada == {"id": ada["id"], "name": "Ada Lovelace", "email": "ada@example.org", "status": "active",
                       "balance_cents": 0}  # fmt: skip
        grace = c.create_user(body={"name": "Grace Hopper", "email": "grace@example.org", "status": "suspended"})
        assert c.deposit(ada["id"], body={"amount_cents": 1234})["balance_cents"] == 1234
        assert c.get_user(ada["id"])["balance_cents"] == 1234
        assert [u["id"] for u in c.list_users(status="suspended")] == [grace["id"]]
        assert [u["id"] for u in c.list_users(limit=1)] == [ada["id"]]
        expect_error(ctx, "NotFoundError", 404, lambda: c.get_user(999_999), "user_not_found")
        expect_error(ctx, "NotFoundError", 404, lambda: c.deposit(999_999, body={"amount_cents": 1}), "user_not_found")
        bad = expect_error(
            ctx, "UnprocessableEntityError", 422, lambda: c.create_user(body={"name": "", "email": "x"}), "GATI511"
        )
        assert {i.path for i in bad.issues} == {"$.body.name", "$.body.email"}


SCENARIOS: dict[str, Callable[[Ctx], None]] = {"accounts": scenario_accounts, "bookstore": scenario_bookstore}


# ---------------------------------------------------------------- the test
@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_example_served_through_its_sdk(example: Path, tmp_path: Path) -> None:
    scenario = SCENARIOS.get(example.name)
    assert scenario is not None, f"add a scenario for examples/{example.name} to SCENARIOS"
    build_dir = build_copy(example, tmp_path / example.name)
    with serve_build(example.name, tmp_path / example.name, build_dir) as served:
        ctx = Ctx(served, import_sdk(served), Recorder(served))
        try:
            generic_checks(ctx)
            scenario(ctx)
        except BaseException:
            print(served.server_log())
            raise
        finally:
            ctx.close()
        missed = sorted(set(served.handlers) - {h for h, codes in ctx.recorder.reached.items() if codes})
        assert not missed, f"handlers never called: {missed}"
        succeeded = {h for h, codes in ctx.recorder.reached.items() if any(200 <= c < 300 for c in codes)}
        assert succeeded == set(served.handlers), f"no successful call: {sorted(set(served.handlers) - succeeded)}"
        # the server never answered 5xx along the way
        assert all(c < 500 for codes in ctx.recorder.reached.values() for c in codes), ctx.recorder.reached
