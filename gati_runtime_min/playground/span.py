"""A trace's spans: `Span`, one timed step, and the compact form the recorder writes while a
request runs, turned into `Span`s when the trace is read (`spans_of`); their OTLP/JSON form (`otlp`).

While a request runs, each step the recorder times (a hook, the handler, a decoder, the encoder,
a transformer) is four items appended to the trace's `spans` list: the step's `(name,
attributes)`, the position of the enclosing step's record (None: the request itself), and its
start and end as `perf_counter()` readings. Nothing per step is built beyond those: the `Span`s,
their ids, the times since the request began and any failure's attributes come when the trace is
read. The rare spans that need an id while the request runs (a module call's `traceparent`, a
debug gate) are `Span` objects in the same list, their `parent` the enclosing record's position.
"""

from __future__ import annotations

from collections.abc import Mapping
from random import getrandbits
from typing import Any, Final

SERVER: Final = "server"
INTERNAL: Final = "internal"
CLIENT: Final = "client"
_OTLP_KIND: Final = {INTERNAL: 1, SERVER: 2, CLIENT: 3}
_TRACEPARENT: Final = b"traceparent"
_HEX: Final = frozenset("0123456789abcdef")

# one step's static part, made once per wrapped step at start-up
StepName = tuple[str, Mapping[str, Any]]
# a failed step: the HTTP status it answered with (an attribute), and its error text (None: not an error)
Failure = tuple[int | None, str | None]


def new_span_id() -> str:
    return f"{getrandbits(64) or 1:016x}"


def new_trace_id() -> str:
    return f"{getrandbits(128) or 1:032x}"


class Span:
    """One timed step. `start`/`end` are seconds since the request began (`Trace.t0`).

    `parent` is the enclosing `Span`, or the caller's span id (hex) for a request's server span
    (while the request runs: the position of the enclosing step's record, see `spans_of`).
    A span's id is drawn when first read (most spans of a trace are never exported)."""

    __slots__ = ("_id", "attributes", "end", "error", "kind", "name", "parent", "start", "status")

    def __init__(
        self,
        name: str,
        start: float,
        parent: Span | str | int | None,
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
        if isinstance(parent, Span):
            return parent.span_id
        return parent if isinstance(parent, str) else None

    def fail(self, error: BaseException) -> None:
        """The step raised `error`: an HTTP answer below 500 is its result, not its failure."""
        self.failed(failure(error))

    def failed(self, failure: Failure) -> None:
        status, error = failure
        if status is not None:
            self.attributes = {**(self.attributes or {}), "gati.http_status": status}
        if error is not None:
            self.status = "error"
            self.error = error

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


def failure(error: BaseException) -> Failure:
    """What a step that raised `error` shows: an HTTP answer's status (below 500 its result, not
    its failure), and the error's text when it failed."""
    status = getattr(error, "status", None)
    if isinstance(status, int):
        if status < 500:
            return status, None
    else:
        status = None
    code = getattr(error, "code", None)
    return status, f"{type(error).__name__}: {code or error}"


REFUSED: Final[Failure] = (422, None)  # a decoder's refusal: the request's 422, noted, not the step's failure


# the handler's span when its time comes from the `handler.start`/`handler.end` events rather
# than from a record: its name, its start and end (`perf_counter()` readings), its failure
Derived = tuple[StepName, float, float, Failure | None]


def from_events(
    step: StepName, events: list[Any], base: float, failed: tuple[float, Failure] | None, cut: float
) -> Derived | None:
    """The handler's span from the `handler.start` and `handler.end` events of `lctx.events`
    (seconds since `base`, `lctx.t0`); one that raised ends where the request met its `failed`,
    one cut short otherwise (the client left) at `cut`, the request's end."""
    start = end = None
    for t, name, _ in events:
        if name == "handler.start":
            if start is None:
                start = t
        elif name == "handler.end" and start is not None:
            end = t
            break
    if start is None:
        return None
    failure = None
    if end is not None:
        end_at = base + end
    elif failed is not None:
        end_at, failure = failed
    else:
        end_at = cut
    return step, base + start, end_at, failure


def spans_of(
    items: list[Any], t0: float, failures: Mapping[int, Failure] | None, handler: Derived | None = None
) -> list[Span]:
    """The `Span`s of a recorded request's `spans` list (see the module's docstring), in order;
    `t0` is the request's start, `failures` the failed records by position. `handler`: the
    handler's span, placed by its start among the others; what started while it ran and has no
    other parent is its child, as if recorded under it."""
    out: list[Span] = []
    at: dict[int, Span] = {}  # record position -> its span
    derived: Span | None = None  # the handler's span from its events, once placed
    pending: Span | None = None  # the same, until placed
    h_start = h_end = 0.0
    if handler is not None:
        (h_name, h_attrs), h_start, h_end, h_failure = handler
        pending = Span(h_name, h_start - t0, None, h_attrs)
        pending.end = h_end - t0
        if h_failure is not None:
            pending.failed(h_failure)
    i, n = 0, len(items)
    while i < n:
        item = items[i]
        record = not isinstance(item, Span)
        start = items[i + 2] if record else item.start + t0
        if pending is not None and start > h_start:
            out.append(pending)
            derived, pending = pending, None
        within = derived if derived is not None and start <= h_end else None
        if not record:
            parent = item.parent
            if isinstance(parent, int):
                item.parent = at[parent]
            elif parent is None and within is not None:
                item.parent = within
            out.append(item)
            i += 1
            continue
        name, attributes = item
        parent = items[i + 1]
        span = Span(name, start - t0, at[parent] if parent is not None else within, attributes)
        span.end = items[i + 3] - t0
        if failures is not None and i in failures:
            span.failed(failures[i])
        at[i] = span
        out.append(span)
        i += 4
    if pending is not None:
        out.append(pending)
    return out


def incoming(headers: list[tuple[bytes, bytes]]) -> tuple[str, str] | None:
    """The trace id and parent span id of a valid W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`)."""
    for name, value in headers:
        if name == _TRACEPARENT:
            parts = value.decode("latin-1").strip().lower().split("-")
            if (
                len(parts) >= 4
                and len(parts[1]) == 32
                and len(parts[2]) == 16
                and set(parts[1]) <= _HEX
                and set(parts[2]) <= _HEX
                and parts[1] != "0" * 32
                and parts[2] != "0" * 16
            ):
                return parts[1], parts[2]
            return None
    return None


def otlp(trace_id: str, started_at: float, spans: list[Span], service_name: str) -> dict[str, Any]:
    """`spans` (of the trace `trace_id`, begun at `started_at` unix seconds) as an OTLP/JSON
    `ExportTraceServiceRequest` (what an OTLP collector accepts)."""
    base = int(started_at * 1e9)

    def value(v: Any) -> dict[str, Any]:
        if isinstance(v, bool):
            return {"boolValue": v}
        if isinstance(v, int):
            return {"intValue": str(v)}
        if isinstance(v, float):
            return {"doubleValue": v}
        return {"stringValue": str(v)}

    out = []
    for s in spans:
        span: dict[str, Any] = {
            "traceId": trace_id,
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
        out.append(span)
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": service_name}}]}
    scope = {"scope": {"name": "gati_runtime_min.playground"}, "spans": out}
    return {"resourceSpans": [{"resource": resource, "scopeSpans": [scope]}]}
