"""OpenTelemetry through the real app: spans per request, hook and handler with W3C trace context
in and out, `gctx.metrics` and the runtime's request metrics, module-call spans, and nothing at
all when telemetry is off. Spans and metrics go to the SDK's in-memory exporter and reader."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from rt_fixture import ROUTES, Route, make_build  # type: ignore[import-not-found, unused-ignore]  # a sibling module

from gati_runtime_min import GatiApp
from gati_runtime_min.telemetry import Telemetry, module_call, outgoing_headers
from gati_runtime_min.testing import AppClient
from tests.otlp import Collector

T = TypeVar("T")
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"

HANDLERS = """

@get("/metered")
async def metered(req, res, lctx, gctx):
    gctx.metrics.counter("orders", description="orders taken").add(2, {"kind": "book"})
    gctx.metrics.histogram("basket.size").record(3)
    from gati_runtime_min.telemetry import outgoing_headers
    res.json({"outgoing": outgoing_headers()})
"""


class Sink:
    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.metrics = InMemoryMetricReader()
        self.telemetry = Telemetry("rtapp", version="v1", span_exporter=self.spans, metric_reader=self.metrics)

    def finished(self) -> tuple[ReadableSpan, ...]:
        return tuple(self.spans.get_finished_spans())

    def points(self, name: str) -> list[tuple[dict[str, Any], Any]]:
        data = self.metrics.get_metrics_data()
        out: list[tuple[dict[str, Any], Any]] = []
        for rm in data.resource_metrics if data is not None else ():
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if metric.name == name:
                        out.extend((dict(p.attributes or {}), p) for p in metric.data.data_points)
        return out


def build_with_metered(root: Path) -> Path:
    build: Path = make_build(root, routes=(*ROUTES, Route("metered", "GET", "/metered")))
    module = json.loads((build / "handlers" / "metered.json").read_text())["module"]
    with (build.parent / (module.replace(".", "/") + ".py")).open("a", encoding="utf-8") as f:
        f.write(HANDLERS)
    return build


@pytest.fixture
def build(tmp_path: Path) -> Path:
    return build_with_metered(tmp_path)


def run(build: Path, fn: Callable[[AppClient], Awaitable[T]], telemetry: Telemetry | None) -> T:
    async def main() -> T:
        async with AppClient(GatiApp(build, telemetry=telemetry)) as client:
            return await fn(client)

    return asyncio.run(main())


def by_name(spans: tuple[ReadableSpan, ...], prefix: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name.startswith(prefix)]


def test_request_hook_and_handler_spans_continue_the_callers_trace(build: Path) -> None:
    sink = Sink()
    r = run(build, lambda c: c.get("/users/7", headers={"traceparent": TRACEPARENT}), sink.telemetry)
    assert r.status_code == 200
    spans = sink.finished()
    (server,) = by_name(spans, "GET /users/{id:int}")
    (handler,) = by_name(spans, "handler get_user")
    hooks = by_name(spans, "hook ")
    assert {h.name.split()[1] for h in hooks} == {"before", "after"}
    assert server.kind is SpanKind.SERVER
    assert server.context is not None and handler.context is not None
    # one trace: the caller's; the server span's parent is the caller's span
    assert {format(s.context.trace_id, "032x") for s in spans if s.context} == {TRACE_ID}
    assert server.parent is not None and format(server.parent.span_id, "016x") == PARENT_ID
    assert handler.parent is not None and handler.parent.span_id == server.context.span_id
    rid = r.headers["x-request-id"]
    for span in (server, handler, *hooks):
        attrs = span.attributes or {}
        assert attrs["gati.request_id"] == rid
        assert attrs["gati.handler_id"] == "get_user"
        assert "gati.api_version" in attrs
    assert (server.attributes or {})["http.response.status_code"] == 200
    assert str((hooks[0].attributes or {})["gati.hook"]).endswith(":g_before")
    # the answer carries the trace on: same trace id, the server span as parent
    version, trace_id, span_id, flags = r.headers["traceparent"].split("-")
    assert (version, trace_id, span_id, flags) == ("00", TRACE_ID, format(server.context.span_id, "016x"), "01")


def test_a_request_without_traceparent_starts_a_trace_and_answers_it(build: Path) -> None:
    sink = Sink()
    r = run(build, lambda c: c.get("/users/me"), sink.telemetry)
    (server,) = by_name(sink.finished(), "GET /users/me")
    assert server.parent is None and server.context is not None
    assert r.headers["traceparent"].split("-")[1] == format(server.context.trace_id, "032x")


def test_failed_request_marks_its_spans_with_the_error_status(build: Path) -> None:
    sink = Sink()
    r = run(build, lambda c: c.get("/users/500"), sink.telemetry)
    assert r.status_code == 500
    (server,) = by_name(sink.finished(), "GET /users/{id:int}")
    (handler,) = by_name(sink.finished(), "handler get_user")
    assert not server.status.is_ok and (server.attributes or {})["http.response.status_code"] == 500
    assert any(e.name == "exception" for e in handler.events)


def test_route_hook_retries_and_local_hooks_each_get_a_span(build: Path) -> None:
    sink = Sink()
    r = run(build, lambda c: c.post("/orders", json={"item": "book"}), sink.telemetry)
    assert r.status_code == 201
    hooks = [(s.name.split()[1], s.name.split()[2].rsplit(":", 1)[-1]) for s in by_name(sink.finished(), "hook ")]
    assert hooks.count(("before", "flaky")) == 2  # the failed attempt and its retry
    assert ("before", "local_before") in hooks and ("after", "local_after") in hooks
    flaky = [s for s in by_name(sink.finished(), "hook before") if s.name.endswith("flaky")]
    assert [s.status.is_ok for s in flaky] == [False, True]
    for span in by_name(sink.finished(), "hook "):
        assert (span.attributes or {})["gati.handler_id"] == "create_order"
        assert (span.attributes or {})["gati.request_id"] == r.headers["x-request-id"]


def test_a_handlers_4xx_answer_is_noted_not_an_error_and_probes_are_not_traced(build: Path) -> None:
    sink = Sink()

    async def go(c: AppClient) -> tuple[httpx.Response, httpx.Response]:
        return await c.get("/users/404"), await c.get("/_gati/ready")

    missing, ready = run(build, go, sink.telemetry)
    assert missing.status_code == 404 and ready.status_code == 200 and "traceparent" not in ready.headers
    spans = sink.finished()
    assert not [s for s in spans if "_gati" in s.name or (s.attributes or {}).get("url.path") == "/_gati/ready"]
    (handler,) = by_name(spans, "handler get_user")
    (server,) = by_name(spans, "GET /users/{id:int}")
    assert handler.status.is_unset and server.status.is_unset
    assert (handler.attributes or {})["gati.http_status"] == 404


def test_gctx_metrics_and_the_request_metrics_reach_the_reader(build: Path) -> None:
    sink = Sink()

    async def go(c: AppClient) -> httpx.Response:
        await c.get("/users/1")
        await c.get("/users/404")
        return await c.get("/metered")

    r = run(build, go, sink.telemetry)
    assert r.json()["outgoing"]["traceparent"].split("-")[1] == r.headers["traceparent"].split("-")[1]
    ((attrs, point),) = sink.points("orders")
    assert attrs == {"kind": "book"} and point.value == 2
    ((_, basket),) = sink.points("basket.size")
    assert basket.count == 1 and basket.sum == 3
    requests = {
        (a["gati.handler_id"], a["http.response.status_code"]): p.value for a, p in sink.points("gati.server.requests")
    }
    assert requests == {("get_user", 200): 1, ("get_user", 404): 1, ("metered", 200): 1}
    durations = sink.points("http.server.request.duration")
    assert sum(p.count for _, p in durations) == 3 and all(p.sum > 0 for _, p in durations)


def test_sync_handler_span_and_timeout_are_traced(build: Path) -> None:
    sink = Sink()

    async def go(c: AppClient) -> tuple[httpx.Response, httpx.Response]:
        return await c.get("/users", params={"limit": "1"}), await c.get("/slow")

    listed, slow = run(build, go, sink.telemetry)
    assert listed.status_code == 200 and slow.status_code == 504
    assert by_name(sink.finished(), "handler list_users")
    (server,) = by_name(sink.finished(), "GET /slow")
    assert (server.attributes or {})["http.response.status_code"] == 504


def test_module_call_span_is_a_child_and_hands_out_its_traceparent() -> None:
    sink = Sink()
    tracer = sink.telemetry.tracer
    with tracer.start_as_current_span("handler") as parent, module_call(sink.telemetry, "pricing", "quote") as headers:
        inner = outgoing_headers()
    (span,) = by_name(sink.finished(), "module pricing.quote")
    assert span.kind is SpanKind.CLIENT and span.context is not None
    assert span.parent is not None and span.parent.span_id == parent.get_span_context().span_id
    assert (span.attributes or {})["gati.module_id"] == "pricing" and (span.attributes or {})["rpc.method"] == "quote"
    _, trace_id, span_id, _ = headers["traceparent"].split("-")
    assert trace_id == format(span.context.trace_id, "032x") and span_id == format(span.context.span_id, "016x")
    assert inner == headers
    with module_call(None, "pricing", "quote") as off:
        assert off == {}


def test_telemetry_off_leaves_the_request_path_as_built(build: Path) -> None:
    app = GatiApp(build)
    assert app.telemetry is None and not app.gctx.metrics.enabled
    # no span wrappers; this build has modules, so its steps only set `current.CURRENT` (for the
    # audit entries of refused module reaches, `secrets.bind_request`)
    for plan in app.plans.values():
        assert plan.fn.__wrapped__ is plan.route.fn  # type: ignore[attr-defined]
        hooks = (*app.build.global_hooks, *plan.route.before, *plan.route.after, *plan.route.catch)
        steps = (*plan.before, *plan.after, *plan.catch)
        unwrapped = {getattr(h[1], "__wrapped__", None) for h in steps}
        assert unwrapped <= {h.fn for h in hooks}
    assert app._new_id == app.ids.new and app.lifecycle.trace_local is None
    r = asyncio.run(_get(app, "/metered"))
    assert r.status_code == 200 and "traceparent" not in r.headers and r.json()["outgoing"] == {}


async def _get(app: GatiApp, path: str) -> httpx.Response:
    async with AppClient(app) as client:
        return await client.get(path)


def test_exporter_settings_choose_the_exporter(tmp_path: Path) -> None:
    console = make_build(tmp_path / "c", settings={"telemetry": {"exporter": "console", "serviceName": "shop"}})
    app = GatiApp(console)
    assert app.telemetry is not None
    assert app.telemetry.tracer_provider.resource.attributes["service.name"] == "shop"
    app.telemetry.shutdown()
    none = make_build(tmp_path / "n", settings={"telemetry": {"exporter": "none"}})
    assert GatiApp(none).telemetry is None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def uvicorn_app(build: Path) -> Iterator[tuple[str, Sink]]:
    import uvicorn

    sink = Sink()
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(GatiApp(build, telemetry=sink.telemetry), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}", sink
    finally:
        server.should_exit = True
        thread.join(10)


def test_traceparent_in_same_trace_in_spans_traceparent_out_over_uvicorn(uvicorn_app: tuple[str, Sink]) -> None:
    base, sink = uvicorn_app
    r = httpx.get(f"{base}/users/3", headers={"traceparent": TRACEPARENT, "tracestate": "vendor=1"}, timeout=5)
    assert r.status_code == 200
    assert r.headers["traceparent"].split("-")[1] == TRACE_ID
    assert r.headers["tracestate"] == "vendor=1"
    spans = sink.finished()
    (server,) = by_name(spans, "GET /users/{id:int}")
    assert server.context is not None and format(server.context.trace_id, "032x") == TRACE_ID
    assert r.headers["traceparent"].split("-")[2] == format(server.context.span_id, "016x")
    assert (server.attributes or {})["gati.request_id"] == r.headers["x-request-id"]
    assert by_name(spans, "handler get_user")


def test_otlp_exporter_posts_spans_and_metrics_to_the_configured_endpoint(tmp_path: Path) -> None:
    """A real OTLP/HTTP receiver on 127.0.0.1: the spans and metrics arrive as protobuf posts."""
    collector = Collector()
    try:
        endpoint = collector.url
        settings = {"telemetry": {"exporter": "otlp", "endpoint": endpoint, "serviceName": "shop-otlp"}}
        build = make_build(tmp_path, settings=settings)
        r = asyncio.run(_get(GatiApp(build), "/users/me"))  # the shutdown flushes both exporters
        assert r.status_code == 200 and "traceparent" in r.headers
    finally:
        collector.close()
    paths = {path for path, _ in collector.received}
    assert paths == {"/v1/traces", "/v1/metrics"}
    traces = collector.body("/v1/traces")
    assert b"shop-otlp" in traces and b"GET /users/me" in traces


def test_sample_ratio_drops_new_traces_but_keeps_a_sampled_callers_decision(build: Path) -> None:
    spans = InMemorySpanExporter()
    telemetry = Telemetry("rtapp", span_exporter=spans, sample_ratio=0.0)

    async def go(c: AppClient) -> tuple[httpx.Response, httpx.Response]:
        return await c.get("/users/1"), await c.get("/users/2", headers={"traceparent": TRACEPARENT})

    fresh, continued = run(build, go, telemetry)
    # the sampled bit of the flags: off for a new trace (and it says so downstream), on when the caller's was
    assert int(fresh.headers["traceparent"].rsplit("-", 1)[1], 16) & 1 == 0
    assert int(continued.headers["traceparent"].rsplit("-", 1)[1], 16) & 1 == 1
    assert {format(s.context.trace_id, "032x") for s in spans.get_finished_spans() if s.context} == {TRACE_ID}
