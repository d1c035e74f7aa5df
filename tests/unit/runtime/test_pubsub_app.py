"""Pub/sub through a real built app (`gatic build`, then `AppClient`): a message that does not
match its typed topic fails the request with GATI548 and reaches no subscriber; a publish held
back by a full queue fails the request with GATI547 (504) at its deadline, seen by the catch
hook; request/reply reaches a subscriber and back; request-scoped topics; the build's
`topics.json`; and `mypy --strict` checking what is published on a typed topic."""

from __future__ import annotations

import asyncio
import importlib
import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import gati_runtime_min
from gati_compiler.pipeline import build
from gati_runtime_min.testing import AppClient

REPO = Path(gati_runtime_min.__file__).resolve().parent.parent
_seq = itertools.count()

HANDLERS = """
from typing import Annotated, Any, TypedDict

from annotated_types import Ge

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, catch, post, topic


class OrderPlaced(TypedDict):
    order: str
    qty: Annotated[int, Ge(1)]


class Order(TypedDict):
    order: str
    qty: int


class Quote(TypedDict):
    sku: str


ORDER_PLACED = topic("orders.placed", OrderPlaced)
QUOTES = topic("quotes", Quote)
SEEN: list[Any] = []


@catch
def record(error: Exception, req: Request[Any], res: Response[Any], lctx: LocalContext, gctx: GlobalContext) -> None:
    SEEN.append(getattr(error, "code", type(error).__name__))


@post("/orders", catch=[record])
async def place(req: Request[Order], res: Response[Order], lctx: LocalContext, gctx: GlobalContext) -> None:
    await gctx.publish(ORDER_PLACED, OrderPlaced(order=req.body["order"], qty=req.body["qty"]))
    res.json(req.body)


@post("/flood", timeout=0.4, catch=[record])
async def flood(req: Request[Order], res: Response[Order], lctx: LocalContext, gctx: GlobalContext) -> None:
    sub = gctx.subscribe(ORDER_PLACED, maxsize=1)  # never read: full after one message
    try:
        for _ in range(3):
            await gctx.publish(ORDER_PLACED, OrderPlaced(order=req.body["order"], qty=1))
    finally:
        sub.close()
    res.json(req.body)


@post("/quote")
async def quote(req: Request[Quote], res: Response[dict[str, int]], lctx: LocalContext, gctx: GlobalContext) -> None:
    price = await gctx.request(QUOTES, req.body, timeout=2)
    res.json({"price": price})


@post("/quote_now", timeout=0.3, catch=[record])
async def quote_now(
    req: Request[Quote], res: Response[dict[str, int]], lctx: LocalContext, gctx: GlobalContext
) -> None:
    price = await gctx.request(QUOTES, req.body, timeout=5)
    res.json({"price": price})


@post("/by_name")
async def by_name(req: Request[Order], res: Response[Order], lctx: LocalContext, gctx: GlobalContext) -> None:
    await gctx.publish("orders.placed", {"order": req.body["order"], "qty": req.body["qty"]})
    await gctx.publish("audit", {"anything": "goes"})  # an untyped topic: no check
    res.json(req.body)


@post("/local", catch=[record])
async def local(req: Request[Order], res: Response[list[OrderPlaced]], lctx: LocalContext, gctx: GlobalContext) -> None:
    got: list[OrderPlaced] = []
    lctx.subscribe(ORDER_PLACED, got.append)
    lctx.publish(ORDER_PLACED, OrderPlaced(order=req.body["order"], qty=req.body["qty"]))
    res.json(got)
"""


def make(tmp_path: Path) -> tuple[Path, str]:
    module = f"shop_{next(_seq)}_{os.getpid()}"
    root = tmp_path / "app"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "shop"\nversion = "1.0.0"\n\n[tool.gati]\nname = "shop"\n')
    (root / f"{module}.py").write_text(HANDLERS, encoding="utf-8")
    result = build(root, jobs=1)
    assert result.ok, [(d.code, d.message) for d in result.diagnostics]
    return root / ".gati", module


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    return make(tmp_path_factory.mktemp("pubsub"))


def test_the_build_lists_each_typed_topic_with_its_message_type(shop: tuple[Path, str]) -> None:
    gati, module = shop
    index = json.loads((gati / "manifest.json").read_text())
    assert index["topics"] == "topics.json" and "topics.json" in index["artifacts"]
    topics = json.loads((gati / "topics.json").read_text())
    assert sorted(topics) == ["orders.placed", "quotes"]
    assert topics["orders.placed"]["type"] == {"kind": "ref", "ref": "OrderPlaced"}
    assert topics["orders.placed"]["module"] == module and topics["orders.placed"]["variable"] == "ORDER_PLACED"
    validators = (gati / "validators" / "__init__.py").read_text()
    assert "TOPIC_CHECKS" in validators and '"orders.placed"' in validators


def test_a_message_not_matching_its_topic_fails_the_request_with_gati548_and_is_not_delivered(
    shop: tuple[Path, str],
) -> None:
    gati, module = shop

    async def main() -> None:
        async with AppClient(gati) as client:
            sub = client.app.gctx.subscribe("orders.placed")
            ok = await client.post("/orders", json={"order": "a1", "qty": 2})
            assert ok.status_code == 200
            bad = await client.post("/orders", json={"order": "a2", "qty": 0})  # qty >= 1 on the topic
            assert bad.status_code == 500
            error = bad.json()["error"]
            assert error["code"] == "GATI548" and "orders.placed" in error["message"]
            assert error["issues"][0]["path"] == "$.qty"
            assert await asyncio.wait_for(sub.get(), 1) == {"order": "a1", "qty": 2}
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(sub.get(), 0.1)  # the refused message reached nobody
            sub.close()

    asyncio.run(main())
    assert "GATI548" in importlib.import_module(module).SEEN


def test_a_publish_held_back_past_the_deadline_is_a_504_gati547_seen_by_the_catch_hook(
    shop: tuple[Path, str],
) -> None:
    gati, module = shop

    async def main() -> None:
        async with AppClient(gati) as client:
            t0 = time.perf_counter()
            r = await client.post("/flood", json={"order": "f", "qty": 1})
            took = time.perf_counter() - t0
            assert r.status_code == 504, r.text
            assert r.json()["error"]["code"] == "GATI547"
            assert 0.3 < took < 2  # it waited for the request's deadline (0.4 s), no longer

    asyncio.run(main())
    assert "GATI547" in importlib.import_module(module).SEEN


def test_request_reply_through_the_app(shop: tuple[Path, str]) -> None:
    gati, _ = shop

    async def main() -> None:
        async with AppClient(gati) as client:
            sub = client.app.gctx.subscribe("quotes", group="pricing")

            async def serve() -> None:
                async for delivery in sub.deliveries():
                    await delivery.reply(len(delivery.data["sku"]) * 10)

            server = asyncio.create_task(serve())
            try:
                r = await client.post("/quote", json={"sku": "abcd"})
                assert r.status_code == 200 and r.json() == {"price": 40}
            finally:
                server.cancel()
                sub.close()

    asyncio.run(main())


def test_request_scoped_topics_are_checked_too(shop: tuple[Path, str]) -> None:
    gati, _ = shop

    async def main() -> None:
        async with AppClient(gati) as client:
            ok = await client.post("/local", json={"order": "l", "qty": 3})
            assert ok.status_code == 200 and ok.json() == [{"order": "l", "qty": 3}]
            bad = await client.post("/local", json={"order": "l", "qty": -1})
            assert bad.status_code == 500 and bad.json()["error"]["code"] == "GATI548"

    asyncio.run(main())


TYPED = """
from typing import Any, TypedDict

from gati_runtime_min import Delivery, GlobalContext, LocalContext, Request, Response, post, topic


class OrderPlaced(TypedDict):
    order: str
    qty: int


ORDER_PLACED = topic("orders.placed", OrderPlaced)


@post("/orders")
async def place(req: Request[OrderPlaced], res: Response[OrderPlaced], lctx: LocalContext, gctx: GlobalContext) -> None:
    await gctx.publish(ORDER_PLACED, OrderPlaced(order="a", qty=1))
    await gctx.publish("untyped.topic", {"anything": object()})
    sub = gctx.subscribe(ORDER_PLACED)
    got: OrderPlaced = await sub.get()
    delivery: Delivery[OrderPlaced] = await sub.receive()
    qty: int = delivery.data["qty"]
    delivery.ack()
    lctx.publish(ORDER_PLACED, got)
    res.json(got)
    del qty
"""

WRONG = """
async def wrong(gctx: GlobalContext) -> None:
    await gctx.publish(ORDER_PLACED, {"order": 1, "qty": 1})
"""


@pytest.mark.slow
def test_mypy_checks_what_is_published_on_a_typed_topic(tmp_path: Path) -> None:
    (tmp_path / "good.py").write_text(TYPED, encoding="utf-8")
    (tmp_path / "bad.py").write_text(TYPED + WRONG, encoding="utf-8")
    (tmp_path / "mypy.ini").write_text("[mypy]\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--config-file", "mypy.ini", "--cache-dir", str(tmp_path / "c"),
         "good.py", "bad.py"],
        cwd=tmp_path, env={**os.environ, "MYPYPATH": str(REPO)}, capture_output=True, text=True, timeout=280,
        check=False,
    )  # fmt: skip
    errors = [line for line in proc.stdout.splitlines() if ": error:" in line]
    assert errors and all(line.startswith("bad.py:") for line in errors), proc.stdout
    wrong_line = (TYPED + WRONG).splitlines().index('    await gctx.publish(ORDER_PLACED, {"order": 1, "qty": 1})') + 1
    assert [line.split(":")[1] for line in errors] == [str(wrong_line)], proc.stdout


def test_a_reply_that_does_not_come_before_the_deadline_is_a_504_gati547(shop: tuple[Path, str]) -> None:
    gati, _ = shop

    async def main() -> None:
        async with AppClient(gati) as client:
            sub = client.app.gctx.subscribe("quotes")  # takes the request, never replies
            r = await client.post("/quote_now", json={"sku": "x"})
            assert r.status_code == 504 and r.json()["error"]["code"] == "GATI547"
            sub.close()

    asyncio.run(main())


def test_publishing_on_a_typed_topic_by_its_name_is_checked_and_untyped_names_are_not(
    shop: tuple[Path, str],
) -> None:
    gati, _ = shop

    async def main() -> None:
        async with AppClient(gati) as client:
            audit = client.app.gctx.subscribe("audit")
            ok = await client.post("/by_name", json={"order": "n", "qty": 1})
            assert ok.status_code == 200
            assert await asyncio.wait_for(audit.get(), 1) == {"anything": "goes"}
            bad = await client.post("/by_name", json={"order": "n", "qty": 0})
            assert bad.status_code == 500 and bad.json()["error"]["code"] == "GATI548"
            audit.close()

    asyncio.run(main())


@pytest.mark.slow
def test_on_redis_a_reply_crosses_workers_and_a_mistyped_message_is_refused(
    shop: tuple[Path, str], redis_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two apps (two workers) on one redis-server: a handler on the first requests a quote that
    a subscriber on the second answers; a mistyped message is still GATI548 and never reaches
    the stream."""
    gati, _ = shop
    monkeypatch.setenv("GATI_STATE_URL", str(redis_server.url))

    async def main() -> None:
        async with AppClient(gati) as first, AppClient(gati) as second:
            assert first.app.state.kind == "redis"
            quotes = second.app.gctx.subscribe("quotes", group="pricing")
            placed = second.app.gctx.subscribe("orders.placed")
            await quotes.ready()
            await placed.ready()

            async def serve() -> None:
                async for delivery in quotes.deliveries():
                    await delivery.reply(len(delivery.data["sku"]) * 10)

            server = asyncio.create_task(serve())
            try:
                r = await first.post("/quote", json={"sku": "abc"})
                assert r.status_code == 200 and r.json() == {"price": 30}
                bad = await first.post("/orders", json={"order": "r", "qty": 0})
                assert bad.status_code == 500 and bad.json()["error"]["code"] == "GATI548"
                ok = await first.post("/orders", json={"order": "r", "qty": 5})
                assert ok.status_code == 200
                assert await asyncio.wait_for(placed.get(), 10) == {"order": "r", "qty": 5}
            finally:
                server.cancel()
                quotes.close()
                placed.close()

    asyncio.run(main())
