"""Debug gates and snapshots through a real server: an app built by the compiler, served by uvicorn
on 127.0.0.1 in this process (so the test can arm gates on `app.playground.gates`), requests sent
over TCP. A request paused at a gate waits while others are answered; its state, edited, changes
its answer when it resumes; an aborted one is a 503 GATI550; a timeout resumes it or answers 504
GATI551; the route's snapshots are in its trace, with the secrets the app read redacted."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn

from gati_runtime_min import GatiApp
from gati_runtime_min.middleware import build_asgi
from gati_runtime_min.playground import Gates, Paused
from tests.apps import build_files
from tests.e2e.test_examples_served import free_port

SECRET = "upstream-secret-0123456789"
FILES = {
    "pyproject.toml": """
        [project]
        name = "gated"
        version = "0.1.0"

        [tool.gati]
        name = "gated"
        sources = ["gated"]

        [tool.gati.secrets]
        providers = ["env"]
        env_prefix = "PGE_"

        [tool.gati.playground]
        snapshots = ["place_order"]
        gate_timeout = 5
    """,
    "gated/__init__.py": "",
    "gated/hooks.py": """
        from typing import Any

        from gati_runtime_min import GlobalContext, LocalContext, Request, Response, after, before


        @before
        async def load_user(req: Request[Any], res: Response[Any], lctx: LocalContext, gctx: GlobalContext) -> None:
            key = await gctx.secrets.get("upstream_key")
            lctx.set("user", {"name": "ada", "roles": ["reader"]})
            lctx.set("upstream", "Bearer " + key.reveal())  # what a snapshot must never show


        @after
        def stamp(req: Request[Any], res: Response[Any], lctx: LocalContext, gctx: GlobalContext) -> None:
            res.header("x-user", lctx.get("user")["name"])
    """,
    "gated/handlers.py": """
        from typing_extensions import TypedDict

        from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get, post

        from gated.hooks import load_user, stamp


        class Order(TypedDict):
            sku: str
            quantity: int


        class Placed(TypedDict):
            sku: str
            quantity: int
            approved: bool


        class Health(TypedDict):
            ok: bool


        @post("/orders", before=[load_user], after=[stamp], secrets=["upstream_key"])
        async def place_order(
            req: Request[Order], res: Response[Placed], lctx: LocalContext, gctx: GlobalContext
        ) -> None:
            approved = "admin" in lctx.get("user")["roles"]
            res.status(201).json({"sku": req.body["sku"], "quantity": req.body["quantity"], "approved": approved})


        @get("/health")
        async def health(req: Request[None], res: Response[Health], lctx: LocalContext, gctx: GlobalContext) -> None:
            res.json({"ok": True})


        @get("/quick", timeout=0.5)
        async def quick(req: Request[None], res: Response[Health], lctx: LocalContext, gctx: GlobalContext) -> None:
            import asyncio

            await asyncio.sleep(float(req.headers.get("x-work", "0")))
            res.json({"ok": True})
    """,
}


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_files(tmp_path_factory.mktemp("gated"), FILES)


@asynccontextmanager
async def served(app: GatiApp) -> AsyncIterator[httpx.AsyncClient]:
    """`app` under uvicorn on a free port of 127.0.0.1, and a client for it."""
    port = free_port()
    config = uvicorn.Config(build_asgi(app), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done(), "uvicorn stopped before it started"
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            yield client
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def paused(gates: Gates, request_id: str | None = None) -> Paused:
    end = time.perf_counter() + 5
    while True:
        waiting = [p for p in gates.paused() if request_id is None or p.request_id == request_id]
        if waiting:
            return waiting[0]
        assert time.perf_counter() < end, "no request paused"
        await asyncio.sleep(0.005)


def order(client: httpx.AsyncClient, quantity: int) -> Coroutine[Any, Any, httpx.Response]:
    return client.post("/orders", json={"sku": "b-1", "quantity": quantity})


def run(build: Path, monkeypatch: pytest.MonkeyPatch, fn: Callable[[GatiApp, httpx.AsyncClient, Gates], Any]) -> None:
    monkeypatch.setenv("PGE_UPSTREAM_KEY", SECRET)

    async def main() -> None:
        app = GatiApp(build, dev=True)
        assert app.playground is not None
        async with served(app) as client:
            await fn(app, client, app.playground.gates)

    asyncio.run(main())


def test_a_paused_request_waits_while_others_are_answered_then_resumes_with_edited_state(
    build: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario(app: GatiApp, client: httpx.AsyncClient, gates: Gates) -> None:
        gates.add({"id": "big", "when": "before", "target": "handler", "handlerId": "place_order",
                   "condition": {"path": "$.body.quantity", "op": "gt", "value": 10}})  # fmt: skip
        big = asyncio.create_task(order(client, 20))
        p = await paused(gates)
        assert p.position == "before handler" and p.gate.id == "big"
        assert p.snapshot.state["user"] == {"name": "ada", "roles": ["reader"]}
        assert p.snapshot.state["upstream"] == {"$type": "redacted"} and "$.state.upstream" in p.snapshot.redacted
        assert SECRET not in orjson.dumps(p.to_json()).decode()

        t0 = time.perf_counter()  # meanwhile, other requests are answered at once
        small, health = await asyncio.gather(order(client, 1), client.get("/health"))
        assert time.perf_counter() - t0 < 2
        assert small.status_code == 201 and small.json()["approved"] is False
        assert health.status_code == 200 and not big.done()

        state = {**p.snapshot.state, "user": {"name": "ada", "roles": ["admin"]}}
        assert gates.resume(p.id, state)
        answer = await asyncio.wait_for(big, 5)
        assert answer.status_code == 201 and answer.json() == {"sku": "b-1", "quantity": 20, "approved": True}
        assert answer.headers["x-user"] == "ada"

        assert app.playground is not None
        trace = app.playground.store.get(answer.headers["x-request-id"])
        assert trace is not None
        positions = [s["position"] for s in trace.snapshots]
        assert positions == [
            "before hook gated.hooks:load_user",
            "before handler",
            "before handler (edited)",
            "after handler",
            "after hook gated.hooks:stamp",
        ]
        assert trace.snapshots[2]["state"]["user"]["roles"] == ["admin"]
        assert trace.snapshots[-1]["request"]["body"] == {"sku": "b-1", "quantity": 20}
        assert any(s.name == "gate big" for s in trace.spans)
        events = [e["event"] for e in trace.to_json()["events"]]
        assert "gate.paused" in events and "gate.resumed" in events
        assert SECRET not in orjson.dumps(trace.to_json()).decode()
        health_trace = app.playground.store.get(health.headers["x-request-id"])
        assert health_trace is not None and health_trace.snapshots == []  # snapshots only where asked

    run(build, monkeypatch, scenario)


def test_abort_is_503_gati550_and_timeouts_resume_or_answer_504_gati551(
    build: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario(app: GatiApp, client: httpx.AsyncClient, gates: Gates) -> None:
        gates.add({"id": "stop", "when": "before", "target": "load_user"})
        pending = asyncio.create_task(order(client, 3))
        p = await paused(gates)
        assert p.position == "before hook gated.hooks:load_user" and p.snapshot.state == {}
        assert gates.abort(p.id)
        aborted = await asyncio.wait_for(pending, 5)
        assert aborted.status_code == 503
        error = aborted.json()["error"]
        assert error["code"] == "GATI550" and "stop" in error["message"]
        assert error["requestId"] == aborted.headers["x-request-id"]
        assert gates.remove("stop")

        gates.add({"id": "soft", "when": "after", "target": "stamp", "timeout": 0.2})
        t0 = time.perf_counter()
        late = await order(client, 4)
        assert late.status_code == 201 and 0.2 <= time.perf_counter() - t0 < 3
        assert gates.remove("soft")

        gates.add({"id": "hard", "when": "after", "target": "handler", "timeout": 0.2, "onTimeout": "abort"})
        timed_out = await order(client, 5)
        assert timed_out.status_code == 504 and timed_out.json()["error"]["code"] == "GATI551"
        assert gates.remove("hard") and not gates.armed and gates.paused() == []
        assert (await order(client, 6)).status_code == 201

    run(build, monkeypatch, scenario)


def test_a_pause_holds_the_routes_deadline_and_the_time_left_applies_after(
    build: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario(app: GatiApp, client: httpx.AsyncClient, gates: Gates) -> None:
        gates.add({"id": "look", "when": "before", "target": "handler", "handlerId": "quick"})
        waiting = asyncio.create_task(client.get("/quick"))
        p = await paused(gates)
        await asyncio.sleep(1.0)  # twice the route's 0.5 s timeout, spent at the gate
        assert not waiting.done()
        assert gates.resume(p.id)
        answer = await asyncio.wait_for(waiting, 5)
        assert answer.status_code == 200, answer.text
        # the time left still applies: work past it after the pause is the usual 504
        slow = asyncio.create_task(client.get("/quick", headers={"x-work": "0.8"}))
        p = await paused(gates)
        assert gates.resume(p.id)
        timed_out = await asyncio.wait_for(slow, 5)
        assert timed_out.status_code == 504 and timed_out.json()["error"]["code"] == "GATI504"

    run(build, monkeypatch, scenario)
