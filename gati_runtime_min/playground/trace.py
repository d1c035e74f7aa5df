"""What the playground records of a request: its `Trace` (the request, the answer, the spans of
each step, the lifecycle events, the snapshots) and the bounded `TraceStore` that keeps them.

The spans are the ones `telemetry.py` sends to OpenTelemetry, with the same names and attributes
(`GET /books/{id}`, `hook before auth`, `handler get_book`, `transformer ...`, `module db.get`),
plus the steps only the playground times (`route`, `decode body`, `encode response`); a trace
continues the caller's W3C `traceparent`, so its `trace_id` is the one the OpenTelemetry exporter
uses for the same request. `Trace.to_otlp()` gives the spans in the OTLP/JSON form.

The store keeps the newest `capacity` traces in memory; with a `path` it also appends each one to
a JSON Lines file (written in batches, flushed by `flush()` and at `close()`), which `load`
reads back, for `gatic replay` and for the page after a restart. A line that does not parse is
reported (`TraceFileError` names the file and line), never skipped in silence.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from random import getrandbits
from typing import Any, Final

import orjson

FORMAT: Final = 1  # the `format` of a trace's JSON form (`Trace.to_json`)
SERVER: Final = "server"
INTERNAL: Final = "internal"
CLIENT: Final = "client"
_OTLP_KIND: Final = {INTERNAL: 1, SERVER: 2, CLIENT: 3}


def new_span_id() -> str:
    return f"{getrandbits(64) or 1:016x}"


def new_trace_id() -> str:
    return f"{getrandbits(128) or 1:032x}"


class Span:
    """One timed step. `start`/`end` are seconds since the request began (`Trace.t0`).

    `parent` is the enclosing `Span`, or the caller's span id (hex) for a request's server span.
    A span's id is drawn when first read (most spans of a trace are never exported)."""

    __slots__ = ("_id", "attributes", "end", "error", "kind", "name", "parent", "start", "status")

    def __init__(
        self,
        name: str,
        start: float,
        parent: Span | str | None,
        attributes: Mapping[str, Any] | None = None,
        kind: str = INTERNAL,
        span_id: str | None = None,
    ) -> None:
        self.name = name
        self.kind = kind
        self._id = span_id
        self.parent = parent
        self.start = start
        self.end = start
        self.attributes = attributes
        self.status = "ok"  # "ok" | "error"
        self.error: str | None = None

    @property
    def span_id(self) -> str:
        found = self._id
        if found is None:
            found = self._id = new_span_id()
        return found

    @property
    def parent_id(self) -> str | None:
        parent = self.parent
        return parent.span_id if isinstance(parent, Span) else parent

    def fail(self, error: BaseException) -> None:
        """The step raised `error`: an HTTP answer below 500 is its result, not its failure."""
        status = getattr(error, "status", None)
        if isinstance(status, int):
            self.attributes = {**(self.attributes or {}), "gati.http_status": status}
            if status < 500:
                return
        self.status = "error"
        code = getattr(error, "code", None)
        self.error = f"{type(error).__name__}: {code or error}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "spanId": self.span_id,
            "parentId": self.parent_id,
            "startMs": round(self.start * 1000, 3),
            "durationMs": round((self.end - self.start) * 1000, 3),
            "status": self.status,
            "attributes": dict(self.attributes or {}),
        }
        if self.error is not None:
            out["error"] = self.error
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Span:
        span = cls(
            data["name"],
            data["startMs"] / 1000,
            data.get("parentId"),
            dict(data.get("attributes") or {}),
            data.get("kind", INTERNAL),
            data["spanId"],
        )
        span.end = span.start + data["durationMs"] / 1000
        span.status = data.get("status", "ok")
        span.error = data.get("error")
        return span


class Trace:
    """One request as served: what came in, what went out, and the path between.

    Filled in while the request runs (`recorder.py`); complete once `duration` is set."""

    __slots__ = (
        "_trace_id",
        "body",
        "caller",
        "current",
        "duration",
        "error",
        "events",
        "handler_id",
        "headers",
        "lctx",
        "method",
        "outcome",
        "path",
        "pending",
        "query",
        "replay_of",
        "request_id",
        "response",
        "response_headers",
        "route",
        "snapshots",
        "spans",
        "started_at",
        "status",
        "t0",
        "version",
    )

    def __init__(
        self, method: str, path: str, query: str, started_at: float, t0: float, trace_id: str | None = None
    ) -> None:
        self.request_id = ""
        self._trace_id = trace_id  # drawn when first read, unless the caller's
        self.method = method
        self.path = path
        self.query = query
        self.headers: list[tuple[str, str]] = []  # as received, secrets redacted
        self.body: Any = None  # the request body: its JSON value, or {"$text": ...} when it is not JSON
        self.handler_id: str | None = None
        self.route: str | None = None
        self.version: str | None = None  # the API version the client asked for (None: current)
        self.status = 0
        self.outcome = "ok"  # "ok" | "client_error" | "server_error" | "aborted" | "disconnected"
        self.started_at = started_at  # unix seconds
        self.t0 = t0  # perf_counter at the start
        self.duration: float | None = None  # seconds; None while running
        self.spans: list[Span] = []
        self.events: list[dict[str, Any]] = []  # `lctx.events_json()` at the end
        self.snapshots: list[dict[str, Any]] = []  # `StateSnapshot.to_json()` of each one taken
        self.response: dict[str, Any] = {}  # {"status", "headers", "body"}
        self.replay_of: str | None = None  # the request id this one replays
        self.current: Span | None = None  # the span new steps nest under (while running)
        self.lctx: Any = None  # the request's `LocalContext`, until `complete`
        self.response_headers: list[tuple[bytes, bytes]] = []  # as sent, until `complete`
        self.caller: str | None = None  # the caller's span id (its `traceparent`): the server span's parent
        self.error: BaseException | None = None  # what the request raised past the app, if anything
        # what `complete` turns into the JSON form: (request headers, request body, its full
        # length, response body, its full length, query string), kept raw so that the request
        # does not wait for it
        self.pending: tuple[list[tuple[bytes, bytes]], bytes, int, bytes, int, bytes] | None = None

    @property
    def trace_id(self) -> str:
        found = self._trace_id
        if found is None:
            found = self._trace_id = new_trace_id()
        return found

    def complete(
        self, redactor: Any = None, route_of: Callable[[str, str], tuple[str, str] | None] | None = None
    ) -> Trace:
        """Fill in what the request left raw: the headers, bodies, response and events (secrets
        redacted by `redactor`, a `snapshot.Redactor`), the route (`route_of(method, path)` gives
        the handler id and route template), and the server and ingress spans; once, then a no-op."""
        pending = self.pending
        if pending is None:
            return self
        self.pending = None
        raw_headers, request_body, request_length, response_body, response_length, query = pending
        self.query = query.decode("latin-1")
        if self.handler_id is None and route_of is not None:
            found = route_of(self.method, self.path)
            if found is not None:
                self.handler_id, self.route = found
        self._server_spans()
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw_headers]
        response_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self.response_headers]
        self.response_headers = []
        for name, value in headers:
            if name == "x-gati-replay-of":
                self.replay_of = value
        body = body_value(request_body, request_length, headers)
        answer = body_value(response_body, response_length, response_headers)
        if redactor is not None:
            headers = redactor.headers(headers)
            response_headers = redactor.headers(response_headers)
            body = redactor.value(body)[0]
            answer = redactor.value(answer)[0]
        self.headers = headers
        self.body = body
        self.response = {"status": self.status, "headers": [list(h) for h in response_headers], "body": answer}
        lctx = self.lctx
        if lctx is not None:
            self.events = lctx.events_json()
            self.lctx = None
        if self.status >= 500:
            self.outcome = "server_error"
        elif self.status >= 400:
            self.outcome = "client_error"
        elif self.status == 0:
            self.outcome = "disconnected"
        return self

    def _server_spans(self) -> None:
        """The request's own spans, first: the server span (the whole request; the parent of every
        step that ran outside another) and `ingress` (route, policies, version, body: from the
        start to the first step)."""
        end = self.duration or 0.0
        attrs: dict[str, Any] = {"http.request.method": self.method, "url.path": self.path}
        if self.route is not None:
            attrs["http.route"] = self.route
        if self.handler_id is not None:
            attrs["gati.handler_id"] = self.handler_id
        attrs["http.response.status_code"] = self.status
        if self.version is not None:
            attrs["gati.api_version"] = self.version
        server = Span(f"{self.method} {self.route}" if self.route else self.method, 0.0, self.caller, attrs, SERVER)
        server.end = end
        if self.error is not None:
            server.fail(self.error)
            self.error = None
        elif self.status >= 500:
            server.status = "error"
        steps = self.spans
        ingress = Span("ingress", 0.0, server, {k: v for k, v in attrs.items() if k != "http.response.status_code"})
        ingress.end = min((s.start for s in steps), default=end)
        for step in steps:
            if step.parent is None:
                step.parent = server
        self.spans = [server, ingress, *steps]

    # the JSON form (the store's file, the page's API, `gatic replay`)
    def summary(self) -> dict[str, Any]:
        """The request list's row."""
        return {
            "requestId": self.request_id,
            "traceId": self.trace_id,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "handlerId": self.handler_id,
            "route": self.route,
            "version": self.version,
            "status": self.status,
            "outcome": self.outcome,
            "startedAt": self.started_at,
            "durationMs": None if self.duration is None else round(self.duration * 1000, 3),
            "snapshots": len(self.snapshots),
            "replayOf": self.replay_of,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            **self.summary(),
            "request": {"headers": [list(h) for h in self.headers], "body": self.body},
            "response": self.response,
            "spans": [s.to_json() for s in self.spans],
            "events": self.events,
            "snapshots": self.snapshots,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Trace:
        if data.get("format") != FORMAT:
            raise ValueError(f"trace format {data.get('format')!r} is not {FORMAT}")
        trace = cls(data["method"], data["path"], data.get("query") or "", data["startedAt"], 0.0, data["traceId"])
        trace.request_id = data["requestId"]
        trace.handler_id = data.get("handlerId")
        trace.route = data.get("route")
        trace.version = data.get("version")
        trace.status = data["status"]
        trace.outcome = data.get("outcome", "ok")
        duration = data.get("durationMs")
        trace.duration = None if duration is None else duration / 1000
        request = data.get("request") or {}
        trace.headers = [(str(k), str(v)) for k, v in request.get("headers") or ()]
        trace.body = request.get("body")
        trace.response = dict(data.get("response") or {})
        trace.spans = [Span.from_json(s) for s in data.get("spans") or ()]
        trace.events = list(data.get("events") or ())
        trace.snapshots = list(data.get("snapshots") or ())
        trace.replay_of = data.get("replayOf")
        return trace

    def to_otlp(self, service_name: str) -> dict[str, Any]:
        """The spans as an OTLP/JSON `ExportTraceServiceRequest` (what an OTLP collector accepts)."""
        base = int(self.started_at * 1e9)

        def value(v: Any) -> dict[str, Any]:
            if isinstance(v, bool):
                return {"boolValue": v}
            if isinstance(v, int):
                return {"intValue": str(v)}
            if isinstance(v, float):
                return {"doubleValue": v}
            return {"stringValue": str(v)}

        spans = []
        for s in self.spans:
            span: dict[str, Any] = {
                "traceId": self.trace_id,
                "spanId": s.span_id,
                "name": s.name,
                "kind": _OTLP_KIND.get(s.kind, 1),
                "startTimeUnixNano": str(base + int(s.start * 1e9)),
                "endTimeUnixNano": str(base + int(s.end * 1e9)),
                "attributes": [{"key": k, "value": value(v)} for k, v in (s.attributes or {}).items()],
                "status": {"code": 2, "message": s.error or ""} if s.status == "error" else {"code": 1},
            }
            if s.parent_id:
                span["parentSpanId"] = s.parent_id
            spans.append(span)
        resource = {"attributes": [{"key": "service.name", "value": {"stringValue": service_name}}]}
        scope = {"scope": {"name": "gati_runtime_min.playground"}, "spans": spans}
        return {"resourceSpans": [{"resource": resource, "scopeSpans": [scope]}]}


def body_value(data: bytes, length: int, headers: list[tuple[str, str]]) -> Any:
    """A body's JSON value; `{"$text": ...}` when it is not JSON; `{"$truncated": n, "$text": ...}`
    when only its start was kept (`n` is its full length); None when there was none."""
    if not length:
        return None
    if len(data) < length:
        return {"$truncated": length, "$text": data.decode("utf-8", "replace")}
    content_type = next((v for k, v in headers if k == "content-type"), "")
    if "json" in content_type or not content_type:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return {"$text": data.decode("utf-8", "replace")}


class TraceFileError(Exception):
    """A trace file that cannot be read: its path, the line, and why."""


class TraceStore:
    """The newest `capacity` traces by request id, and (with `path`) a JSON Lines file of all of them.

    Safe to use from the event loop and from other threads (`gatic replay` reads while a server writes
    the file only through the file)."""

    def __init__(self, capacity: int = 1000, path: str | Path | None = None, *, batch: int = 64) -> None:
        if capacity < 1:
            raise ValueError("a trace store keeps at least one trace")
        self.capacity = capacity
        self.path = Path(path) if path is not None else None
        # a ring of the newest `capacity` traces (oldest overwritten) and an index by request id
        self._ring: list[Trace | None] = [None] * capacity
        self._next = 0
        self._index: dict[str, Trace] = {}
        self._pending: list[bytes] = []
        self._batch = batch
        self._lock = threading.Lock()
        self.added = 0  # traces added since the start (the page polls it)
        self.redactor: Any = None  # a `snapshot.Redactor`: what `Trace.complete` redacts with
        self.route_of: Callable[[str, str], tuple[str, str] | None] | None = None  # the app's routes, for it too

    def __len__(self) -> int:
        return min(self.added, self.capacity)

    def __iter__(self) -> Iterator[Trace]:
        """The oldest first."""
        return iter(reversed(self._newest()))

    def _newest(self) -> list[Trace]:
        ring, at = self._ring, self._next
        out = [t for t in (*reversed(ring[:at]), *reversed(ring[at:])) if t is not None]
        for trace in out:
            trace.complete(self.redactor, self.route_of)
        return out

    def add(self, trace: Trace) -> None:
        at = self._next
        ring = self._ring
        old = ring[at]
        index = self._index
        if old is not None and index.get(old.request_id) is old:
            del index[old.request_id]
        ring[at] = trace
        index[trace.request_id] = trace
        at += 1
        self._next = at if at < self.capacity else 0
        self.added += 1
        if self.path is not None:
            trace.complete(self.redactor, self.route_of)
            self._pending.append(orjson.dumps(trace.to_json(), default=str) + b"\n")
            if len(self._pending) >= self._batch:
                self.flush()

    def get(self, request_id: str) -> Trace | None:
        trace = self._index.get(request_id)
        return trace.complete(self.redactor, self.route_of) if trace is not None else None

    def recent(self, limit: int = 100, *, handler_id: str | None = None, include_replays: bool = True) -> list[Trace]:
        """The newest first."""
        out: list[Trace] = []
        for trace in self._newest():
            if handler_id is not None and trace.handler_id != handler_id:
                continue
            if not include_replays and trace.replay_of is not None:
                continue
            out.append(trace)
            if len(out) >= limit:
                break
        return out

    def clear(self) -> None:
        self._ring = [None] * self.capacity
        self._next = 0
        self._index.clear()

    def flush(self) -> None:
        """Append what is pending to the file (one write, then fsync-free: a crash loses at most a batch)."""
        if self.path is None:
            return
        with self._lock:
            pending, self._pending = self._pending, []
            if not pending:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("ab") as f:
                f.write(b"".join(pending))

    def close(self) -> None:
        self.flush()

    @classmethod
    def load(cls, path: str | Path, capacity: int | None = None) -> TraceStore:
        """The traces of a JSON Lines file (the newest `capacity`, all by default); no file attached."""
        traces = list(read_traces(path))
        store = cls(capacity or max(1, len(traces)))
        for trace in traces:
            store.add(trace)
        return store


def read_traces(path: str | Path) -> Iterable[Trace]:
    """Each trace of a JSON Lines trace file, in the order written. A last line cut short by a crash
    mid-write is left out (the file says so by having no newline); any other bad line is an error."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise TraceFileError(f"{p}: cannot read the trace file: {exc.strerror or exc}") from exc
    lines = data.split(b"\n")
    complete = data.endswith(b"\n") or not data
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if number == len(lines) and not complete:
            break  # a torn last line
        try:
            yield Trace.from_json(orjson.loads(line))
        except (ValueError, KeyError, TypeError) as exc:
            raise TraceFileError(f"{p}:{number}: not a trace: {exc}") from None
