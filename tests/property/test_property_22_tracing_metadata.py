"""Property 22, tracing metadata: with telemetry on (the SDK's in-memory exporter), for generated
sequences of concurrent requests over an app built by the real compiler (global and route hooks,
handlers, in-process modules, one of which calls another through its own `gctx`), every span of
a request carries `gati.request_id` (the `x-request-id` of its answer), `gati.handler_id` and
`gati.api_version` of that request; all its spans are in one trace, the caller's when it sent a
`traceparent` (the server span a child of the caller's span), and the answer's `traceparent`
names that trace; every module-call span is a client span whose parent is a span of the same
request (the handler's, or the module call it was made from), one span per call.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from gati_compiler.diagnostics.render import render_text
from gati_compiler.pipeline import build
from gati_runtime_min import GatiApp
from gati_runtime_min.telemetry import Telemetry
from gati_runtime_min.testing import AppClient
from tests.property.propapp import BuiltApp
from tests.unit.conftest import write_project

MODULES = """
import asyncio
import shutil
import sys

from gati_runtime_min import GlobalContext, module


@module("inner")
class Inner:
    async def ping(self, n: int) -> int:
        await asyncio.sleep(0)
        return n + 1


@module("outer", capabilities=["module:inner"])
class Outer:
    def __init__(self, gctx: GlobalContext) -> None:
        self.gctx = gctx

    async def relay(self, n: int) -> int:
        await asyncio.sleep(0)
        return int(await self.gctx.modules["inner"].ping(n)) * 2
"""

HOOKS = """
import asyncio
import shutil
import sys
from typing import Any

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, after, before, catch


@before
async def r_before(req: Request[Any], res: Response[Any], lctx: LocalContext, gctx: GlobalContext) -> None:
    await asyncio.sleep(0)


@after
def r_after(req: Request[Any], res: Response[Any], lctx: LocalContext, gctx: GlobalContext) -> None:
    pass


@catch
def r_catch(error: Exception, req: Request[Any], res: Response[Any], lctx: LocalContext, gctx: GlobalContext) -> None:
    pass
"""

GLOBAL_HOOKS = """
from typing import Any

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, after, before


@before
def g_before(req: Request[Any], res: Response[Any], lctx: LocalContext, gctx: GlobalContext) -> None:
    pass


@after
async def g_after(req: Request[Any], res: Response[Any], lctx: LocalContext, gctx: GlobalContext) -> None:
    pass
"""

HANDLERS = """
import asyncio
import shutil
import sys

from typing_extensions import TypedDict

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get

from {pkg}.hooks import r_after, r_before, r_catch


class Total(TypedDict):
    total: int


@get("/calls/{{n:int}}", modules=["outer", "inner"], before=[r_before], after=[r_after], catch=[r_catch])
async def calls(req: Request[None], res: Response[Total], lctx: LocalContext, gctx: GlobalContext) -> None:
    total = 0
    for i in range(req.params["n"]):
        total += await gctx.modules["outer"].relay(i)
        total += await gctx.modules.inner.ping(i)
        await asyncio.sleep(0)
    if req.headers.get("x-fail"):
        raise RuntimeError("failed after the module calls")
    res.json({{"total": total}})


@get("/plain", before=[r_before])
def plain(req: Request[None], res: Response[Total], lctx: LocalContext, gctx: GlobalContext) -> None:
    if req.headers.get("x-fail"):
        raise ValueError("plain failed")
    res.json({{"total": 0}})
"""


@pytest.fixture(scope="module")
def traced_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltApp]:
    pkg = "traceapp_" + uuid.uuid4().hex[:10]
    files = {
        f"{pkg}/__init__.py": "",
        f"{pkg}/mods.py": MODULES,
        f"{pkg}/hooks.py": HOOKS,
        f"{pkg}/global_hooks.py": GLOBAL_HOOKS,
        f"{pkg}/handlers.py": HANDLERS.format(pkg=pkg),
    }
    config = f'sources = ["{pkg}"]\nglobal_hooks = ["{pkg}.global_hooks"]\n'
    project = write_project(tmp_path_factory.mktemp("p22"), files, config)
    result = build(project, jobs=1)
    assert result.ok and result.program is not None, render_text(result.diagnostics, result.sources)
    built = BuiltApp(project / ".gati", project.resolve(), pkg, result.program.gtypes)
    try:
        yield built
    finally:
        built.forget()


traceparents = st.one_of(
    st.none(),
    st.tuples(st.integers(1, 2**128 - 1), st.integers(1, 2**64 - 1)).map(lambda t: f"00-{t[0]:032x}-{t[1]:016x}-01"),
)
requests = st.lists(
    st.tuples(st.sampled_from(["calls", "plain"]), st.integers(0, 3), traceparents, st.booleans()),
    min_size=1,
    max_size=6,
)


def hexid(span: ReadableSpan) -> tuple[str, str]:
    assert span.context is not None
    return f"{span.context.trace_id:032x}", f"{span.context.span_id:016x}"


@settings(max_examples=25)
@given(plan=requests)
def test_property_22_tracing_metadata(traced_app: BuiltApp, plan: list[tuple[str, int, str | None, bool]]) -> None:
    exporter = InMemorySpanExporter()
    app = GatiApp(traced_app.build_dir)
    version = app.versions.current
    telemetry = Telemetry("traceapp", version=version, span_exporter=exporter)
    app = GatiApp(traced_app.build_dir, telemetry=telemetry)

    async def send(client: AppClient, route: str, n: int, traceparent: str | None, fail: bool) -> Any:
        headers = {"x-fail": "1"} if fail else {}
        if traceparent is not None:
            headers["traceparent"] = traceparent
        r = await client.get(f"/calls/{n}" if route == "calls" else "/plain", headers=headers)
        return r.status_code, r.headers["x-request-id"], r.headers["traceparent"]

    async def run() -> list[Any]:
        async with AppClient(app) as client:
            return list(await asyncio.gather(*(send(client, *req) for req in plan)))

    answers = asyncio.run(run())
    telemetry.shutdown()
    spans = exporter.get_finished_spans()
    by_request: dict[str, list[ReadableSpan]] = {}
    for span in spans:
        attrs = span.attributes or {}
        assert "gati.request_id" in attrs, f"span {span.name} has no request id"
        by_request.setdefault(str(attrs["gati.request_id"]), []).append(span)
    assert set(by_request) == {rid for _, rid, _ in answers}
    for (route, n, traceparent, fail), (status, rid, answered) in zip(plan, answers, strict=True):
        assert status == (500 if fail else 200)
        mine = by_request[rid]
        for span in mine:
            attrs = span.attributes or {}
            assert attrs["gati.handler_id"] == route, span.name
            assert attrs.get("gati.api_version") == (version or ""), span.name
        trace_ids = {hexid(s)[0] for s in mine}
        (server,) = [s for s in mine if s.kind is SpanKind.SERVER]
        trace_id, server_id = hexid(server)
        assert trace_ids == {trace_id}
        assert server.context is not None
        assert answered == f"00-{trace_id}-{server_id}-{server.context.trace_flags:02x}"
        if traceparent is None:
            assert server.parent is None
        else:
            _, caller_trace, caller_span, _ = traceparent.split("-")
            assert trace_id == caller_trace
            assert server.parent is not None and f"{server.parent.span_id:016x}" == caller_span
        ids = {hexid(s)[1]: s for s in mine}
        (handler,) = [s for s in mine if s.name == f"handler {route}"]
        module_spans = [s for s in mine if s.name.startswith("module ")]
        calls = n if route == "calls" else 0
        names = sorted(s.name for s in module_spans)
        want = sorted(["module outer.relay"] * calls + ["module inner.ping"] * 2 * calls)
        assert names == want
        relays = {hexid(s)[1] for s in module_spans if s.name == "module outer.relay"}
        parents = []
        for span in module_spans:
            assert span.kind is SpanKind.CLIENT
            assert span.parent is not None
            parent = f"{span.parent.span_id:016x}"
            parents.append(parent)
            if span.name == "module outer.relay":
                assert parent == hexid(handler)[1]
            else:
                assert parent in relays or parent == hexid(handler)[1]
        # each relay made exactly one inner call, and the handler the other `calls`
        assert sorted(p for p in parents if p in relays) == sorted(relays)
        assert parents.count(hexid(handler)[1]) == 2 * calls
        for span in mine:  # every span but the server span hangs under a span of this request
            if span is not server:
                assert span.parent is not None and f"{span.parent.span_id:016x}" in ids, span.name
        hooks = [s.name.split()[1] for s in mine if s.name.startswith("hook ")]
        assert hooks.count("before") == 2  # the global hook and the route's


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "accounts"
TSV = {"v1.0.0": "2026-09-01T09:00:00Z", "v2.0.0": "2026-10-01T09:00:00Z", "v3.0.0": "2026-11-02T09:00:00Z"}


@pytest.fixture(scope="module")
def accounts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("p22v") / "accounts"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".gati", "__pycache__"))
    sys.modules.pop("accounts", None)
    result = build(root, jobs=1)
    assert result.ok, render_text(result.diagnostics, result.sources)
    yield root / ".gati"
    for name in [m for m in sys.modules if m.split(".")[0] == "accounts"]:
        del sys.modules[name]


@settings(max_examples=15)
@given(
    plan=st.lists(
        st.tuples(st.sampled_from([None, *sorted(TSV)]), st.sampled_from(["create_user", "get_user"]), traceparents),
        min_size=1,
        max_size=5,
    )
)
def test_property_22_tracing_metadata_names_the_version_each_request_asked_for(
    accounts: Path, plan: list[tuple[str | None, str, str | None]]
) -> None:
    exporter = InMemorySpanExporter()
    current = GatiApp(accounts).versions.current
    telemetry = Telemetry("accounts", version=current, span_exporter=exporter)
    app = GatiApp(accounts, telemetry=telemetry)

    async def send(client: AppClient, tag: str | None, handler: str, traceparent: str | None) -> Any:
        headers = {} if tag is None else {"x-gati-version": tag}
        if traceparent is not None:
            headers["traceparent"] = traceparent
        if handler == "create_user":
            r = await client.post("/users", headers=headers, json={"name": "Ada Lovelace", "email": "ada@example.org"})
        else:
            r = await client.get("/users/1", headers=headers)
        return r.status_code, r.headers["x-request-id"]

    async def run() -> list[Any]:
        async with AppClient(app) as client:
            return list(await asyncio.gather(*(send(client, *req) for req in plan)))

    answers = asyncio.run(run())
    telemetry.shutdown()
    by_request: dict[str, list[ReadableSpan]] = {}
    for span in exporter.get_finished_spans():
        by_request.setdefault(str((span.attributes or {}).get("gati.request_id")), []).append(span)
    assert set(by_request) == {rid for _, rid in answers}
    for (tag, handler, traceparent), (status, rid) in zip(plan, answers, strict=True):
        assert status < 500
        mine = by_request[rid]
        want = TSV[tag] if tag is not None else current
        for span in mine:
            attrs = span.attributes or {}
            assert (attrs.get("gati.handler_id"), attrs.get("gati.api_version")) == (handler, want), span.name
        assert len({hexid(s)[0] for s in mine}) == 1
        if traceparent is not None:
            assert {hexid(s)[0] for s in mine} == {traceparent.split("-")[1]}
        if tag in ("v1.0.0", "v2.0.0") and status < 400:  # an older client's answer went through its transformers
            assert any(s.name.startswith("transformer ") for s in mine)
