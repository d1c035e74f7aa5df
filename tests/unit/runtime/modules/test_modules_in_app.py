"""Modules inside a built app: a process module called by handlers through the generated codecs,
in-process modules limited to the modules their capabilities name (refusals audited), module
calls as spans whose trace context reaches the module process, and hot swap keeping or replacing
a process module by what it was made from.

The app is written to a temporary folder and built with the real compiler; the process module is a
real Python process speaking JSON-RPC on stdio.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gati_runtime_min import GatiApp, GlobalContext
from gati_runtime_min.loader import load_build
from gati_runtime_min.modules import ProcessModule
from gati_runtime_min.modules.wiring import instantiate
from gati_runtime_min.telemetry import Telemetry
from gati_runtime_min.testing import AppClient
from tests.apps import build_files

T = TypeVar("T")
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"

FILES = {
    "pyproject.toml": """
        [project]
        name = "modapp"
        version = "0.1.0"

        [tool.gati]
        name = "modapp"
        sources = ["modapp"]
    """,
    "modapp/__init__.py": "",
    "modapp/calc.py": """
        from typing import Protocol

        from gati_runtime_min import method, module


        @module("calc", command=["{python}", "modules/calc_server.py"], timeout=5.0)
        class Calc(Protocol):
            @method(idempotent=True, retries=1)
            async def add(self, a: int, b: int) -> int: ...

            async def traceparent(self) -> str: ...
    """,
    "modapp/local.py": """
        from gati_runtime_min import GlobalContext, module


        @module("counter")
        class Counter:
            def __init__(self) -> None:
                self.n = 0

            async def bump(self) -> int:
                self.n += 1
                return self.n


        @module("auditor", capabilities=["module:counter"])
        class Auditor:
            def __init__(self, gctx: GlobalContext) -> None:
                self.gctx = gctx

            async def via_counter(self) -> int:
                return int(await self.gctx.modules["counter"].bump())

            async def via_calc(self) -> int:
                return int(await self.gctx.modules["calc"].add(1, 2))
    """,
    "modapp/handlers.py": """
        from typing import Any

        from typing_extensions import TypedDict

        from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get


        class Sum(TypedDict):
            sum: int
            traceparent: str


        class Count(TypedDict):
            n: int


        @get("/sum", modules=["calc"])
        async def total(req: Request[None], res: Response[Sum], lctx: LocalContext, gctx: GlobalContext) -> None:
            calc = gctx.modules["calc"]
            res.json({"sum": await calc.add(2, 3), "traceparent": await gctx.modules.calc.traceparent()})


        @get("/bad-call", modules=["calc"])
        async def bad_call(req: Request[None], res: Response[Count], lctx: LocalContext, gctx: GlobalContext) -> None:
            wrong: Any = "two"
            res.json({"n": await gctx.modules["calc"].add(wrong, 3)})


        @get("/bump", modules=["counter"])
        async def bump(req: Request[None], res: Response[Count], lctx: LocalContext, gctx: GlobalContext) -> None:
            res.json({"n": await gctx.modules["counter"].bump()})


        @get("/audited", modules=["auditor"])
        async def audited(req: Request[None], res: Response[Count], lctx: LocalContext, gctx: GlobalContext) -> None:
            res.json({"n": await gctx.modules["auditor"].via_counter()})


        @get("/refused", modules=["auditor"])
        async def refused(req: Request[None], res: Response[Count], lctx: LocalContext, gctx: GlobalContext) -> None:
            res.json({"n": await gctx.modules["auditor"].via_calc()})
    """,
    "modules/calc_server.py": """
        from gati_runtime_min.modules.server import call_meta, serve


        class Calc:
            def add(self, a: int, b: int) -> int:
                return a + b

            def traceparent(self) -> str:
                return call_meta().get("traceparent", "")


        serve(Calc())
    """,
}


@pytest.fixture
def build(tmp_path: Path) -> Path:
    return build_files(tmp_path, FILES)


def run(app: GatiApp, fn: Callable[[AppClient], Awaitable[T]]) -> T:
    async def main() -> T:
        async with AppClient(app) as client:
            return await fn(client)

    return asyncio.run(main())


def test_process_module_answers_handlers_through_the_generated_codecs(build: Path) -> None:
    manifest = json.loads((build / "modules" / "calc.json").read_text())
    assert manifest["runtime"] == "process" and manifest["command"][0] == "{python}"

    async def calls(client: AppClient) -> tuple[Any, Any]:
        ok = await client.get("/sum")
        bad = await client.get("/bad-call")
        return (ok.status_code, ok.json()), (bad.status_code, bad.json())

    app = GatiApp(build)
    assert isinstance(app.instances["calc"], ProcessModule)
    (status, body), (bad_status, bad_body) = run(app, calls)
    assert status == 200 and body == {"sum": 5, "traceparent": ""}  # telemetry off: no trace context sent
    # the arguments are checked against `add(a: int, b: int)` before anything is sent
    assert bad_status == 500 and bad_body["error"]["code"] == "GATI543"
    assert "arguments do not match" in bad_body["error"]["message"]


def test_in_process_module_reaches_only_the_modules_its_capabilities_name_and_a_refusal_is_audited(
    build: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def calls(client: AppClient) -> list[Any]:
        return [(r.status_code, r.json()) for r in [await client.get(p) for p in ("/audited", "/audited", "/refused")]]

    with caplog.at_level(logging.WARNING, logger="gati.audit"):
        answers = run(GatiApp(build), calls)
    assert answers[:2] == [(200, {"n": 1}), (200, {"n": 2})]
    status, body = answers[2]
    assert status == 500 and body["error"]["code"] == "GATI505"
    assert body["error"]["message"] == "module 'auditor' does not declare the capability 'module:calc'"
    entries = [r.gati for r in caplog.records if r.name == "gati.audit" and hasattr(r, "gati")]
    refused = [e for e in entries if e["event"] == "capability.refused"]
    assert refused and refused[-1]["moduleId"] == "auditor" and refused[-1]["capability"] == "module:calc"


def test_module_calls_are_spans_of_their_request_and_the_process_gets_the_trace_context(build: Path) -> None:
    spans = InMemorySpanExporter()
    telemetry = Telemetry("modapp", version=None, span_exporter=spans)

    async def calls(client: AppClient) -> Any:
        await client.get("/bump")
        return (await client.get("/sum", headers={"traceparent": TRACEPARENT})).json()

    body = run(GatiApp(build, telemetry=telemetry), calls)
    telemetry.shutdown()
    finished = {s.name: s for s in spans.get_finished_spans()}
    add, bump = finished["module calc.add"], finished["module counter.bump"]
    assert add.context is not None and f"{add.context.trace_id:032x}" == TRACE_ID
    assert add.attributes is not None and add.attributes["gati.handler_id"] == "total"
    assert bump.attributes is not None and bump.attributes["gati.module_id"] == "counter"
    # the module process received the trace context of its own call's span
    sent = finished["module calc.traceparent"]
    assert sent.context is not None
    assert body["traceparent"] == f"00-{TRACE_ID}-{sent.context.span_id:016x}-01"


def test_hot_swap_keeps_an_unchanged_process_module_and_replaces_one_whose_files_changed(build: Path) -> None:
    loaded = load_build(build)
    root = loaded.project_root
    gctx = GlobalContext()
    first = instantiate(loaded.modules, root, loaded.validators, context=lambda spec: gctx)
    again = instantiate(loaded.modules, root, loaded.validators, first, context=lambda spec: gctx)
    assert again["calc"] is first["calc"] and again["counter"] is first["counter"]
    server = root / "modules" / "calc_server.py"
    server.write_text(server.read_text().replace("a + b", "b + a"))
    changed = instantiate(loaded.modules, root, loaded.validators, first, context=lambda spec: gctx)
    assert changed["calc"] is not first["calc"] and isinstance(changed["calc"], ProcessModule)
    assert changed["counter"] is first["counter"] and changed["auditor"] is first["auditor"]
