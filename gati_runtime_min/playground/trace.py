"""What the playground records of a request: its `Trace` (the request, the answer, the spans of
each step, the lifecycle events, the snapshots); `store.py` keeps them.

The spans are the ones `telemetry.py` sends to OpenTelemetry, with the same names and attributes
(`GET /books/{id}`, `hook before auth`, `handler get_book`, `transformer ...`, `module db.get`),
plus the steps only the playground times (`route`, `decode body`, `encode response`); a trace
continues the caller's W3C `traceparent`, so its `trace_id` is the one the OpenTelemetry exporter
uses for the same request. `Trace.to_otlp()` gives the spans in the OTLP/JSON form.

A trace is filled in raw while its request runs and made compact once it is over (`Trace._end`):
the store keeps a thousand of them, and what each holds on to is what every later request pays
for in the allocator and the caches. `Trace.complete` turns the raw parts into the fields the
page, the file and `gatic replay` read, when first read.
"""

from __future__ import annotations

import marshal
from collections.abc import Callable
from time import perf_counter, time
from typing import Any, Final

import orjson

from gati_runtime_min.playground.span import (
    CLIENT,
    INTERNAL,
    SERVER,
    Failure,
    Span,
    StepName,
    from_events,
    incoming,
    new_span_id,
    new_trace_id,
    otlp,
    spans_of,
)

__all__ = [
    "CLIENT",
    "FORMAT",
    "INTERNAL",
    "SERVER",
    "Span",
    "Trace",
    "body_value",
    "events_json",
    "new_span_id",
    "new_trace_id",
]

FORMAT: Final = 1  # the `format` of a trace's JSON form (`Trace.to_json`)
_new_object: Final = object.__new__
_now: Final = perf_counter
_time: Final = time
_pack: Final = marshal.dumps  # exact for lists of pairs of bytes; ValueError for what it cannot hold
_unpack: Final = marshal.loads
_NONE_SENT: Final[list[tuple[bytes, bytes]]] = []  # no answer's headers (never appended to)
_PACKED: Final[list[tuple[bytes, bytes]]] = []  # the answer's headers are in `_headers_raw` (never appended to)
_NO_SNAPSHOTS: Final[list[dict[str, Any]]] = []  # a recording trace's, until it takes one (never appended to)


class Trace:
    """One request as served: what came in, what went out, and the path between.

    Filled in while the request runs (`recorder.py`, through `recording`), raw: the steps in their
    compact form (`span.py`), the headers, bodies and answer as bytes. `complete` (the store's
    readers call it, not the request) turns that into the fields below, once."""

    # What every request sets is a slot; the rest starts as the class attribute and lands in the
    # instance `__dict__` only when set (most are set by `complete`, off the request path).
    __slots__ = (
        "__dict__",
        "_answer_length",
        "_answer_raw",
        "_body_length",
        "_body_raw",
        "_events",
        "_events_t0",
        "_headers_raw",
        "_max",
        "_query_raw",
        "_raw",
        "_receive",
        "_send",
        "_traceparent",
        "current",
        "duration",
        "handler",
        "lctx",
        "method",
        "path",
        "response_headers",
        "spans",
        "started_at",
        "status",
        "t0",
    )

    request_id = ""
    _trace_id: str | None = None  # drawn when first read, unless the caller's
    query = ""
    body: Any = None  # the request body: its JSON value, or {"$text": ...} when it is not JSON
    handler_id: str | None = None
    route: str | None = None
    version: str | None = None  # the API version the client asked for (None: current)
    outcome = "ok"  # "ok" | "client_error" | "server_error" | "aborted" | "disconnected"
    replay_of: str | None = None  # the request id this one replays
    caller: str | None = None  # the caller's span id (its `traceparent`): the server span's parent
    error: BaseException | None = None  # what the request raised past the app, if anything
    failures: dict[int, Failure] | None = None  # the failed steps' records (while running)
    # the handler's failure and when the request met it (its span then ends there; `Recorder`)
    handler_failure: tuple[float, Failure] | None = None
    snapshots = _NO_SNAPSHOTS  # `StateSnapshot.to_json()` of each one taken (`add_snapshot`)

    def __init__(
        self, method: str, path: str, query: str, started_at: float, t0: float, trace_id: str | None = None
    ) -> None:
        self._trace_id = trace_id
        self.method = method
        self.path = path
        self.query = query
        self.started_at = started_at  # unix seconds
        self.t0 = t0  # perf_counter at the start
        self.duration: float | None = None  # seconds; None while running
        self.status = 0
        self.headers: list[tuple[str, str]] = []  # as received, secrets redacted
        self.spans: list[Span] = []
        self.events: list[dict[str, Any]] = []  # `lctx.events_json()` at the end
        self.snapshots = []
        self.response: dict[str, Any] = {}  # {"status", "headers", "body"}
        self._raw = False  # the raw parts below wait for `complete`
        self.current: int | None = None  # the record new steps nest under (while running; `span.py`)
        self.lctx: Any = None  # the request's `LocalContext`, until `complete`
        # the handler's step, when its span is to come from the `handler.start`/`handler.end`
        # events of `lctx` (`recorder.py`) rather than from a record
        self.handler: StepName | None = None
        # the raw parts (`recording` and the recorder set them): the request's headers (also where
        # the caller's `traceparent` is read, when first needed), query string and body (the part
        # kept, its full length), the answer's headers and body (the same)
        # (once the request is over, packed with the answer's in one `bytes` value: `_raw_headers`)
        self._headers_raw: list[tuple[bytes, bytes]] | bytes | None = None
        self._traceparent: list[tuple[bytes, bytes]] | bytes | None = None  # the headers, until the caller is read
        # once the request is over, its `lctx`'s events and their base (`lctx.t0`), not `lctx` itself
        self._events: list[Any] | None = None
        self._events_t0 = 0.0
        self._query_raw = b""
        self._body_raw = b""
        self._body_length = 0
        self.response_headers: list[tuple[bytes, bytes]] = []  # as sent, until `complete`
        self._answer_raw = b""
        self._answer_length = 0
        # while the request runs: the server's `receive` and `send` (`_received` and `_sent` stand
        # for them), and how much of each body is kept
        self._receive: Any = None
        self._send: Any = None
        self._max = 0

    @classmethod
    def recording(cls, scope: Any, receive: Any, send: Any, max_body: int) -> Trace:
        """The trace of a request starting now, to be filled in raw by the recorder: `_received`
        and `_sent` stand for the server's `receive` and `send` until `_finish`."""
        trace: Trace = _new_object(cls)
        trace.t0 = _now()
        trace.started_at = _time()
        trace.method = scope["method"]
        trace.path = scope["path"]
        trace._headers_raw = trace._traceparent = scope["headers"]
        trace._receive = receive
        trace._send = send
        trace._max = max_body
        trace.spans = []
        trace._raw = True
        trace.current = None
        trace.lctx = None
        trace._events = None
        trace.handler = None
        trace.status = 0
        trace.response_headers = _NONE_SENT
        trace._body_raw = trace._answer_raw = b""
        trace._body_length = trace._answer_length = 0
        return trace

    async def _received(self) -> Any:
        """The server's `receive`, the request body's first `_max` bytes kept."""
        message = await self._receive()
        chunk = message.get("body")
        if chunk:
            kept = self._body_length
            if kept < self._max:
                self._body_raw += chunk[: self._max - kept]
                self._body_length = kept + len(chunk)
        return message

    def _sent(self, message: Any) -> Any:
        """The server's `send`: the status and headers kept as sent, the body's first `_max`
        bytes; returns the server's own awaitable (no coroutine of ours per message)."""
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.response_headers = message.get("headers") or _NONE_SENT
        else:
            chunk = message.get("body")
            if chunk:
                kept = self._answer_length
                if kept < self._max:
                    self._answer_raw += chunk[: self._max - kept]
                    self._answer_length = kept + len(chunk)
        return self._send(message)

    def _end(self, scope: Any) -> None:
        """The request is over: its duration and query string noted, and what the trace keeps
        made compact (a kept trace lives on for a thousand requests): the server's `receive` and
        `send` let go, the headers packed in one `bytes` value rather than the server's list of
        pairs, `lctx` reduced to its events."""
        self.duration = _now() - self.t0
        self._query_raw = scope.get("query_string", b"")
        self._receive = self._send = None
        try:  # the request's headers and the answer's, as one value
            packed = _pack((self._headers_raw, self.response_headers))
        except ValueError:  # not bytes pairs (an in-process caller's own values): kept as they are
            pass
        else:
            self._headers_raw = packed
            self.response_headers = _PACKED
            if self._traceparent is not None:
                self._traceparent = packed
        lctx = self.lctx
        if lctx is not None:
            self.lctx = None
            self._events = lctx.events
            self._events_t0 = lctx.t0

    def add_snapshot(self, snapshot: dict[str, Any]) -> None:
        if self.snapshots is _NO_SNAPSHOTS:
            self.snapshots = []
        self.snapshots.append(snapshot)

    @property
    def trace_id(self) -> str:
        found = self._trace_id
        if found is None:
            self._continued()
            found = self._trace_id
            if found is None:
                found = self._trace_id = new_trace_id()
        return found

    def _continued(self) -> None:
        """The caller's trace id and span id, from its `traceparent` (read once, when first needed)."""
        headers = self._traceparent
        if headers is not None:
            self._traceparent = None
            caller = incoming(_unpack(headers)[0] if isinstance(headers, bytes) else headers)
            if caller is not None:
                self._trace_id, self.caller = caller

    def _raw_headers(self) -> tuple[list[tuple[bytes, bytes]] | None, list[tuple[bytes, bytes]]]:
        """The request's headers and the answer's as received and sent (unpacked if packed)."""
        raw = self._headers_raw
        if isinstance(raw, bytes):
            request, answer = _unpack(raw)
            return request, answer
        return raw, self.response_headers

    def identify(self) -> str:
        """The request id (`x-request-id` of the answer; its trace id when no answer went out)."""
        if not self.request_id:
            for name, value in self._raw_headers()[1]:
                if name == b"x-request-id":
                    self.request_id = value.decode("latin-1")
                    break
            else:  # no answer went out (the client left): named by its trace
                self.request_id = self.trace_id
        return self.request_id

    def complete(
        self, redactor: Any = None, route_of: Callable[[str, str], tuple[str, str] | None] | None = None
    ) -> Trace:
        """Fill in what the request left raw: the headers, bodies, response and events (secrets
        redacted by `redactor`, a `snapshot.Redactor`), the route (`route_of(method, path)` gives
        the handler id and route template), and the spans (with the server and ingress spans
        first); once, then a no-op."""
        if not self._raw:
            return self
        self._raw = False
        self._continued()
        self.identify()
        self.query = self._query_raw.decode("latin-1")
        if self.handler_id is None and route_of is not None:
            found = route_of(self.method, self.path)
            if found is not None:
                self.handler_id, self.route = found
        lctx = self.lctx
        if lctx is not None:  # still running (read while paused at a gate, say)
            events, events_t0 = lctx.events, lctx.t0
        else:
            events = self._events
            events_t0 = self._events_t0 if events is not None else 0.0
        handler = None
        if self.handler is not None and events is not None:  # the handler's span from its events
            end = self.t0 + (self.duration or 0.0)
            handler = from_events(self.handler, events, events_t0, self.handler_failure, end)
        self.spans = spans_of(self.spans, self.t0, self.failures, handler)
        self.failures = None
        self._server_spans()
        raw, raw_answer = self._raw_headers()
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw or ()]
        response_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw_answer]
        self.response_headers = []
        for name, value in headers:
            if name == "x-gati-replay-of":
                self.replay_of = value
        body = body_value(self._body_raw, self._body_length, headers)
        answer = body_value(self._answer_raw, self._answer_length, response_headers)
        self._headers_raw = None
        self._body_raw = self._answer_raw = b""
        if redactor is not None:
            headers = redactor.headers(headers)
            response_headers = redactor.headers(response_headers)
            body = redactor.value(body)[0]
            answer = redactor.value(answer)[0]
        self.headers = headers
        self.body = body
        self.response = {"status": self.status, "headers": [list(h) for h in response_headers], "body": answer}
        self.events = events_json(events) if events is not None else []
        self.lctx = self._events = None
        if self.snapshots is _NO_SNAPSHOTS:
            self.snapshots = []
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
        return otlp(self.trace_id, self.started_at, self.spans, service_name)


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


def events_json(events: list[Any]) -> list[dict[str, Any]]:
    """A request's events (`lctx.events`: its time in seconds, name, detail) as the trace shows
    them (`LocalContext.events_json`)."""
    out: list[dict[str, Any]] = []
    for t, name, detail in events:
        item: dict[str, Any] = {"event": name, "ms": round(t * 1000, 3)}
        if detail:
            item.update(detail)
        out.append(item)
    return out
