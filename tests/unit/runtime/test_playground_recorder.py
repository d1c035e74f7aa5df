"""The playground's recorder through the real app: a trace per request with a span per step (the
names telemetry gives them), the caller's W3C trace continued, one trace id with telemetry on,
the request and the answer kept, the store bounded, its file read back, and nothing installed
when tracing is off."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any, TypeVar

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from rt_fixture import make_build  # type: ignore[import-not-found, unused-ignore]  # a sibling module

from gati_runtime_min import GatiApp, ManifestError
from gati_runtime_min.playground import Span, Trace, TraceFileError, TraceStore, read_traces
from gati_runtime_min.playground.settings import PlaygroundSettings
from gati_runtime_min.telemetry import Telemetry
from gati_runtime_min.testing import AppClient

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[3]
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


@pytest.fixture
def build(tmp_path: Path) -> Path:
    return Path(make_build(tmp_path))


def run(app: GatiApp, fn: Callable[[AppClient], Awaitable[T]]) -> T:
    async def main() -> T:
        async with AppClient(app) as client:
            return await fn(client)

    return asyncio.run(main())


def names(trace: Trace) -> list[str]:
    return [s.name for s in trace.spans]


def the_trace(app: GatiApp, request_id: str) -> Trace:
    assert app.playground is not None
    trace = app.playground.store.get(request_id)
    assert trace is not None, f"no trace for {request_id}"
    return trace


def test_tracing_off_installs_nothing_and_records_nothing(build: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATI_DEV", raising=False)
    monkeypatch.delenv("GATI_TRACE", raising=False)
    app = GatiApp(build)
    assert app.playground is None and app._recorder is None
    recorder = "gati_runtime_min.playground.recorder"
    for plan in app.plans.values():  # no step wrapped by the recorder
        steps = (plan.fn, plan.dec_params, plan.dec_query, plan.dec_body, plan.encode, *(h[1] for h in plan.before))
        assert all(getattr(step, "__module__", None) != recorder for step in steps if step is not None)
    assert run(app, lambda c: c.get("/users/7")).status_code == 200


def test_every_step_of_a_request_is_a_span_named_as_telemetry_names_it(build: Path) -> None:
    app = GatiApp(build, trace=True)
    r = run(app, lambda c: c.post("/orders", json={"item": "book"}))
    assert r.status_code == 201
    trace = the_trace(app, r.headers["x-request-id"])
    got = names(trace)
    assert got[0] == "POST /orders" and got[1] == "ingress"
    # the global hook, the flaky route hook twice (its retry), its local hook, decoding, the handler, after hooks
    hooks_before = [n for n in got if n.startswith("hook before")]
    assert hooks_before[0].endswith(":g_before")
    assert sum(n.endswith(":flaky") for n in hooks_before) == 2
    assert any(n.startswith("hook before") and "local_before" in n for n in got)
    assert got.index("decode body") < got.index("handler create_order")
    assert any(n.startswith("hook after") and n.endswith(":r_after") for n in got)
    server = trace.spans[0]
    assert server.kind == "server" and server.parent_id is None
    handler = trace.spans[got.index("handler create_order")]
    assert handler.parent_id == server.span_id
    flaky = [s for s in trace.spans if s.name.endswith(":flaky")]
    assert flaky[0].status == "error" and "ConnectionError" in (flaky[0].error or "")
    assert flaky[1].status == "ok"
    for span in trace.spans:  # each inside the request's time
        assert 0 <= span.start <= span.end <= server.end
    assert trace.handler_id == "create_order" and trace.route == "/orders"
    assert trace.status == 201 and trace.outcome == "ok"
    assert trace.body == {"item": "book"}
    assert trace.response["status"] == 201 and trace.response["body"] == {"item": "book"}
    assert [e["event"] for e in trace.events].count("handler.start") == 1


def test_a_refused_request_is_recorded_with_its_answer_and_the_decoder_span_noting_the_422(build: Path) -> None:
    app = GatiApp(build, trace=True)
    r = run(app, lambda c: c.post("/users", json={"name": 3}))
    assert r.status_code == 422
    trace = the_trace(app, r.headers["x-request-id"])
    decode = next(s for s in trace.spans if s.name == "decode body")
    # a refusal is the step's answer (noted), not its failure
    assert decode.status == "ok" and decode.attributes is not None and decode.attributes["gati.http_status"] == 422
    assert trace.outcome == "client_error"
    assert trace.response["body"]["error"]["code"] == "GATI511"
    assert "handler create_user" not in names(trace)


def span_shape(trace: Trace) -> list[tuple[str, str | None, str, dict[str, Any], str | None]]:
    """Each span's name, its parent's name, status, attributes and error (no times, no ids)."""
    by_id = {s.span_id: s.name for s in trace.spans}
    return [(s.name, by_id.get(s.parent_id or ""), s.status, dict(s.attributes or {}), s.error) for s in trace.spans]


def test_the_handler_span_from_its_events_is_the_one_a_wrapped_handler_records(build: Path) -> None:
    """The handler's span comes from the `handler.start`/`handler.end` events unless a gate is
    armed (then the handler runs wrapped, as with snapshots): the same spans either way, for a
    handler that answers, one that raises an HTTP error, one that crashes, one whose deadline
    passes, and one whose module call is its child."""
    app = GatiApp(build, trace=True)
    assert app.playground is not None
    gates = app.playground.gates
    requests: list[tuple[str, str, Any]] = [
        ("GET", "/users/7", None),
        ("GET", "/users/404", None),
        ("GET", "/users/500", None),
        ("GET", "/slow", None),
        ("POST", "/users", {"name": "Ada", "role": "reader"}),
    ]

    async def calls(c: AppClient) -> list[str]:
        return [(await c.request(m, p, json=body)).headers["x-request-id"] for m, p, body in requests]

    derived = [the_trace(app, rid) for rid in run(app, calls)]
    gates.add({"id": "elsewhere", "when": "before", "target": "handler", "handlerId": "get_me"})  # armed, never met
    wrapped = [the_trace(app, rid) for rid in run(app, calls)]
    assert [span_shape(t) for t in derived] == [span_shape(t) for t in wrapped]
    ok, not_found, crashed, slow, created = ({s.name: s for s in t.spans} for t in derived)  # the handler spans of each
    assert ok["handler get_user"].status == "ok"
    assert not_found["handler get_user"].status == "ok"
    assert not_found["handler get_user"].attributes == {"gati.handler_id": "get_user", "gati.http_status": 404}
    assert crashed["handler get_user"].error == "RuntimeError: secret internal detail"
    assert slow["handler slow"].status == "error" and (slow["handler slow"].error or "").startswith("CancelledError")
    assert slow["handler slow"].end - slow["handler slow"].start >= 0.15  # it ran until its deadline
    assert created["module db.insert"].parent_id == created["handler create_user"].span_id
    for trace in derived:
        handler = next(s for s in trace.spans if s.name.startswith("handler "))
        assert 0 < handler.start <= handler.end <= trace.spans[0].end


def test_a_callers_traceparent_is_continued(build: Path) -> None:
    app = GatiApp(build, trace=True)
    r = run(app, lambda c: c.get("/users/7", headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"}))
    trace = the_trace(app, r.headers["x-request-id"])
    assert trace.trace_id == TRACE_ID
    assert trace.spans[0].parent_id == PARENT_ID
    assert trace.spans[0].name == "GET /users/{id:int}"
    bad = run(app, lambda c: c.get("/users/7", headers={"traceparent": "00-nothex-00f067aa0ba902b7-01"}))
    other = the_trace(app, bad.headers["x-request-id"])
    assert other.trace_id != TRACE_ID and len(other.trace_id) == 32 and other.spans[0].parent_id is None


def test_with_telemetry_on_the_trace_is_the_one_opentelemetry_exports(build: Path) -> None:
    exporter = InMemorySpanExporter()
    telemetry = Telemetry("rtapp", version="v1", span_exporter=exporter)
    app = GatiApp(build, trace=True, telemetry=telemetry)
    r = run(app, lambda c: c.get("/users/7"))
    trace = the_trace(app, r.headers["x-request-id"])
    exported = {format(s.context.trace_id, "032x") for s in exporter.get_finished_spans() if s.context}
    assert exported == {trace.trace_id}
    otel_names = {s.name for s in exporter.get_finished_spans()}
    assert {"GET /users/{id:int}", "handler get_user"} <= otel_names
    assert {"GET /users/{id:int}", "handler get_user"} <= set(names(trace))


def test_module_calls_are_client_spans_under_the_handler(build: Path) -> None:
    app = GatiApp(build, trace=True)
    r = run(app, lambda c: c.post("/users", json={"name": "Ada", "role": "reader"}))
    assert r.status_code == 201, r.text
    trace = the_trace(app, r.headers["x-request-id"])
    (call,) = [s for s in trace.spans if s.name == "module db.insert"]
    handler = next(s for s in trace.spans if s.name == "handler create_user")
    assert call.kind == "client" and call.parent_id == handler.span_id
    assert call.attributes is not None and call.attributes["rpc.method"] == "insert"


def test_the_store_keeps_the_newest_capacity_traces(build: Path) -> None:
    app = GatiApp(build, trace=True)
    assert app.playground is not None
    app.playground.store = app.playground.recorder.store = TraceStore(3)

    async def calls(c: AppClient) -> list[str]:
        return [(await c.get(f"/users/{i}")).headers["x-request-id"] for i in range(5)]

    ids = run(app, calls)
    store = app.playground.store
    assert len(store) == 3 and store.added == 5
    assert [t.request_id for t in store.recent()] == ids[:1:-1]  # newest first
    assert store.get(ids[0]) is None


def test_the_store_finds_a_request_by_its_id_however_it_was_read_before(build: Path) -> None:
    """The store indexes a recorded request by its id when first read, not on the request path:
    found after a listing, after more requests, and gone once the ring has moved past it."""
    app = GatiApp(build, trace=True)
    assert app.playground is not None
    store = app.playground.store = app.playground.recorder.store = TraceStore(4)

    async def calls(c: AppClient, n: int) -> list[str]:
        return [(await c.get(f"/users/{i}")).headers["x-request-id"] for i in range(n)]

    first = run(app, lambda c: calls(c, 2))
    assert [t.request_id for t in store.recent()] == first[::-1]  # listed (completed) before any lookup
    found = store.get(first[0])
    assert found is not None and found.request_id == first[0] and found.path == "/users/0"
    more = run(app, lambda c: calls(c, 3))  # five in all: the first one has left the ring
    assert store.get(first[0]) is None
    for rid in [first[1], *more]:
        trace = store.get(rid)
        assert trace is not None and trace.request_id == rid and trace.status == 200


def test_a_trace_read_long_after_its_request_has_its_headers_events_and_handler_span(build: Path) -> None:
    """What a finished request keeps is made compact (its headers packed, `lctx` reduced to its
    events); read back, a trace shows the same headers, events and spans: for a request its handler
    answered, one no route matched (no `lctx`), and one sent by an in-process caller whose header
    pairs are lists rather than tuples."""
    app = GatiApp(build, trace=True)
    sent = {"x-one": "1", "x-two": "two words", "traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"}

    async def calls(c: AppClient) -> list[str]:
        ok = await c.get("/users/7", headers=sent)
        missing = await c.get("/nowhere", headers={"x-one": "1"})
        for i in range(20):  # more requests after them
            await c.get(f"/users/{i}")
        return [ok.headers["x-request-id"], missing.headers["x-request-id"]]

    ok_id, missing_id = run(app, calls)
    ok = the_trace(app, ok_id)
    assert all((k, v) in ok.headers for k, v in sent.items())
    assert ok.trace_id == TRACE_ID and ok.spans[0].parent_id == PARENT_ID
    events = [e["event"] for e in ok.events]
    assert events.count("handler.start") == events.count("handler.end") == 1
    assert "handler get_user" in names(ok)
    missing = the_trace(app, missing_id)
    assert ("x-one", "1") in missing.headers and missing.status == 404 and missing.events == []

    async def listed_pairs() -> int:
        scope = {
            "type": "http",
            "method": "GET",
            "path": "/users/3",
            "query_string": b"",
            "headers": [[b"x-list", b"yes"]],
        }
        answer: list[Any] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            answer.append(message)

        await app(scope, receive, send)
        assert app.playground is not None
        (trace,) = app.playground.store.recent(1)
        assert trace.headers == [("x-list", "yes")] and trace.path == "/users/3"
        return int(answer[0]["status"])

    assert asyncio.run(listed_pairs()) == 200


def test_bodies_past_the_limit_are_kept_cut_short_and_say_so(build: Path, tmp_path: Path) -> None:
    app = GatiApp(build, trace=True)
    assert app.playground is not None
    app.playground.recorder.max_body = 10
    r = run(app, lambda c: c.post("/orders", json={"item": "a rather long book title"}))
    trace = the_trace(app, r.headers["x-request-id"])
    assert trace.body["$truncated"] == len(b'{"item":"a rather long book title"}')
    assert len(trace.body["$text"]) == 10


def test_the_trace_file_reads_back_every_trace_and_reports_a_bad_line(build: Path, tmp_path: Path) -> None:
    file = tmp_path / "traces.jsonl"
    app = GatiApp(build, trace=True)
    assert app.playground is not None
    app.playground.store = app.playground.recorder.store = TraceStore(10, file, batch=2)

    async def calls(c: AppClient) -> list[str]:
        return [(await c.get(f"/users/{i}")).headers["x-request-id"] for i in range(3)]

    ids = run(app, calls)  # the app's shutdown flushes the last batch
    read = list(read_traces(file))
    assert [t.request_id for t in read] == ids
    first = read[0]
    live = app.playground.store.get(ids[0])
    assert live is not None and first.to_json() == live.to_json()
    assert TraceStore.load(file).get(ids[2]) is not None
    # a line cut short by a crash at the end is left out; a bad line elsewhere is an error naming it
    data = file.read_bytes()
    file.write_bytes(data + b'{"format": 1, "requ')
    assert len(list(read_traces(file))) == 3
    lines = data.split(b"\n")
    file.write_bytes(b"\n".join([lines[0], b"{not json", *lines[1:]]))
    with pytest.raises(TraceFileError, match=r"traces\.jsonl:2: not a trace"):
        list(read_traces(file))


def test_the_otlp_form_carries_every_span_with_its_parent() -> None:
    trace = Trace("GET", "/x", "", 1_700_000_000.0, 0.0, TRACE_ID)
    server = Span("GET /x", 0.0, None, {"url.path": "/x"}, "server")
    server.end = 0.002
    child = Span("handler x", 0.0005, server.span_id, {"gati.handler_id": "x", "n": 3, "ok": True})
    child.end = 0.001
    child.fail(ValueError("boom"))
    trace.spans = [server, child]
    (rs,) = trace.to_otlp("app")["resourceSpans"]
    spans = rs["scopeSpans"][0]["spans"]
    assert [s["name"] for s in spans] == ["GET /x", "handler x"]
    assert spans[1]["parentSpanId"] == server.span_id and spans[1]["traceId"] == TRACE_ID
    assert spans[0]["kind"] == 2 and spans[1]["status"]["code"] == 2
    assert int(spans[1]["endTimeUnixNano"]) - int(spans[1]["startTimeUnixNano"]) == 500_000
    assert {"key": "n", "value": {"intValue": "3"}} in spans[1]["attributes"]


def test_dev_and_trace_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("GATI_DEV", "GATI_TRACE", "GATI_TRACE_FILE", "GATI_SNAPSHOTS"):
        monkeypatch.delenv(var, raising=False)
    assert PlaygroundSettings.resolve(None, tmp_path) == PlaygroundSettings()
    on = PlaygroundSettings.resolve({"store": "t.jsonl", "snapshots": ["a"]}, tmp_path, dev=True)
    assert on.dev and on.tracing and on.store == tmp_path / "t.jsonl" and on.snapshots_for("a")
    assert not on.snapshots_for("b")
    monkeypatch.setenv("GATI_SNAPSHOTS", "1")  # every route, without a rebuild
    assert PlaygroundSettings.resolve({"snapshots": ["a"]}, tmp_path).snapshots_for("b")
    monkeypatch.setenv("GATI_SNAPSHOTS", "0")
    assert not PlaygroundSettings.resolve({"snapshots": True}, tmp_path).snapshots_for("a")
    monkeypatch.delenv("GATI_SNAPSHOTS")
    monkeypatch.setenv("GATI_TRACE", "0")
    assert not PlaygroundSettings.resolve(None, tmp_path, dev=True).tracing
    monkeypatch.setenv("GATI_TRACE", "1")
    quiet = PlaygroundSettings.resolve(None, tmp_path)
    assert quiet.tracing and not quiet.dev  # traces without the page
    monkeypatch.setenv("GATI_DEV", "maybe")
    with pytest.raises(ManifestError, match="GATI_DEV='maybe' is neither 1 nor 0"):
        PlaygroundSettings.resolve(None, tmp_path)


@pytest.mark.slow
def test_an_older_versions_request_records_its_transformers(tmp_path: Path) -> None:
    project = tmp_path / "bookstore"
    shutil.copytree(ROOT / "examples" / "bookstore", project, ignore=shutil.ignore_patterns(".gati"))
    done = subprocess.run([str(Path(sys.executable).parent / "gatic"), "build", str(project)], capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    app = GatiApp(project / ".gati", trace=True)

    async def calls(c: AppClient) -> Any:
        return await c.get("/books", headers={"x-gati-version": "v1.0.0"})

    r = run(app, calls)
    assert r.status_code == 200, r.text
    trace = the_trace(app, r.headers["x-request-id"])
    assert trace.version == "2026-09-01T09:00:00Z"
    transformers = [s for s in trace.spans if s.name.startswith("transformer ")]
    assert transformers, names(trace)
    assert all(s.attributes and s.attributes["gati.api_version"] == trace.version for s in transformers)


def test_an_app_with_the_playground_off_does_not_load_it() -> None:
    """`GatiApp` needs only the playground's settings and its context variable; the rest (recorder,
    gates, snapshots, the page) is loaded when an app turns it on. Every public name still resolves."""
    code = (
        "import sys, gati_runtime_min.app, gati_runtime_min.playground as pg\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('gati_runtime_min.playground.'))\n"
        "print(loaded)\n"
        "assert all(getattr(pg, name) is not None for name in pg.__all__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['gati_runtime_min.playground.active', 'gati_runtime_min.playground.settings']"
