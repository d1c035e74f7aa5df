"""OpenTelemetry: spans per request, hook, handler, transformer and module call; `gctx.metrics`.

Configured by `[tool.gati.telemetry]` (the build's `settings.telemetry`): `exporter` is `"none"`
(the default), `"console"` or `"otlp"` (HTTP/protobuf; `pip install gati[otlp]`), with
`endpoint`, `service_name`, `sample_ratio` and `metric_interval`. Off, nothing here runs on the
request path: `GatiApp.__call__` checks one attribute, and the route plans are left as built.
On, `Telemetry.instrument` wraps each plan's handler and hooks (and each served version's
transformers) once at start-up, and `Telemetry.serve` wraps each request in a server span that
continues the caller's W3C trace context (`traceparent`/`tracestate`) and answers with its own
`traceparent`.

Every span carries `gati.request_id`, `gati.handler_id` and `gati.api_version`; hook spans add
`gati.hook`, transformer spans `gati.transformer.step`/`gati.transformer.kind`, module-call spans
`gati.module_id`/`rpc.method`. Module calls:

```python
with module_call(app.telemetry, "pricing", "quote") as headers:   # a client span (or nothing, off)
    await send_request({"jsonrpc": "2.0", ..., "meta": headers})  # headers: {"traceparent": ...}
```

`outgoing_headers()` gives the `traceparent`/`tracestate` of whatever span is current, for code
that does not start its own span. The SDK providers are the app's own (never the global ones),
so several apps in one process keep their telemetry apart.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from time import perf_counter
from typing import TYPE_CHECKING, Any, Final, Protocol

from gati_runtime_min.current import CURRENT, RequestInfo

if TYPE_CHECKING:
    from opentelemetry.metrics import Meter
    from opentelemetry.sdk.metrics.export import MetricReader
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer

    from gati_runtime_min.lifecycle import HookTuple, RoutePlan
    from gati_runtime_min.served import ServedVersion, StepSpec

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
AttrValue = str | bool | int | float
Attributes = Mapping[str, AttrValue]

ENV_EXPORTER: Final = "GATI_TELEMETRY_EXPORTER"  # "otlp" | "console" | "none": wins over the build's settings
ENV_ENDPOINT: Final = "GATI_TELEMETRY_ENDPOINT"  # the OTLP/HTTP base URL: wins over `endpoint`
EXPORTERS: Final = ("none", "console", "otlp")
SCOPE_NAME: Final = "gati_runtime_min"
TRACED: Final = "gati.traced"  # the scope key of a request already inside its server span
_TRACE_HEADERS: Final = (b"traceparent", b"tracestate")


# -- metrics -------------------------------------------------------------------------------------


class Counter(Protocol):
    def add(self, amount: int | float, attributes: Attributes | None = None) -> None: ...


class Histogram(Protocol):
    def record(self, amount: int | float, attributes: Attributes | None = None) -> None: ...


class _Noop:
    __slots__ = ()

    def add(self, amount: int | float, attributes: Attributes | None = None) -> None:
        pass

    def record(self, amount: int | float, attributes: Attributes | None = None) -> None:
        pass


_NOOP: Final = _Noop()


class Metrics:
    """`gctx.metrics`: `counter("orders").add(1, {"kind": "book"})`, `histogram("basket").record(3)`.

    Instruments are created once per name and reused; with telemetry off they do nothing."""

    __slots__ = ("_instruments", "_meter")

    def __init__(self, meter: Meter | None) -> None:
        self._meter = meter
        self._instruments: dict[tuple[str, str], Any] = {}

    @property
    def enabled(self) -> bool:
        return self._meter is not None

    def counter(self, name: str, unit: str = "", description: str = "") -> Counter:
        """A monotonic counter (`add` a non-negative amount)."""
        return self._get("counter", name, unit, description)  # type: ignore[no-any-return]

    def histogram(self, name: str, unit: str = "", description: str = "") -> Histogram:
        """A distribution (`record` one measurement), such as a duration in seconds."""
        return self._get("histogram", name, unit, description)  # type: ignore[no-any-return]

    def _get(self, kind: str, name: str, unit: str, description: str) -> Any:
        meter = self._meter
        if meter is None:
            return _NOOP
        found = self._instruments.get((kind, name))
        if found is None:
            make = meter.create_counter if kind == "counter" else meter.create_histogram
            found = self._instruments[(kind, name)] = make(name, unit=unit, description=description)
        return found


# -- settings ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class TelemetrySettings:
    """The build's `settings.telemetry` (absent: exporter "none", telemetry off)."""

    exporter: str = "none"
    endpoint: str | None = None  # OTLP/HTTP base URL (`/v1/traces`, `/v1/metrics` appended); None: OTEL_* env
    service_name: str | None = None  # default: the app's name
    sample_ratio: float = 1.0
    metric_interval: float = 60.0  # seconds between metric exports

    @classmethod
    def resolve(cls, settings: Mapping[str, Any] | None) -> TelemetrySettings:
        s = dict(settings or {})
        # the environment wins (a deployment turns tracing on or points it elsewhere without a rebuild)
        for key, var in (("exporter", ENV_EXPORTER), ("endpoint", ENV_ENDPOINT)):
            if os.environ.get(var):
                s[key] = os.environ[var]
        exporter = str(s.get("exporter") or "none")
        if exporter not in EXPORTERS:
            from gati_runtime_min.errors import ManifestError

            raise ManifestError("manifest.json", f"unknown telemetry exporter {exporter!r}; one of {EXPORTERS}")
        ratio = s.get("sampleRatio")
        interval = s.get("metricInterval")
        return cls(
            exporter=exporter,
            endpoint=s.get("endpoint") or None,
            service_name=s.get("serviceName") or None,
            sample_ratio=1.0 if ratio is None else float(ratio),
            metric_interval=60.0 if interval is None else float(interval),
        )


# -- the app's telemetry -------------------------------------------------------------------------


class Telemetry:
    """The app's tracer and meter, and the wrappers that put spans around its steps.

    Parameters:
        service_name: `service.name` of the resource.
        version: the app's current API version (`gati.api_version` when a request names none).
        span_exporter, metric_reader: where spans and metrics go (tests pass the SDK's
            `InMemorySpanExporter` and `InMemoryMetricReader`; `from_settings` builds these).
        batch: export spans in batches (OTLP) rather than one at a time.
        sample_ratio: the share of new traces recorded; a caller's sampling decision is kept.
    """

    def __init__(
        self,
        service_name: str,
        *,
        version: str | None = None,
        span_exporter: SpanExporter | None = None,
        metric_reader: MetricReader | None = None,
        batch: bool = False,
        sample_ratio: float = 1.0,
    ) -> None:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
        from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        resource = Resource.create({"service.name": service_name, **({"service.version": version} if version else {})})
        self.tracer_provider = TracerProvider(resource=resource, sampler=ParentBased(TraceIdRatioBased(sample_ratio)))
        if span_exporter is not None:
            processor = BatchSpanProcessor(span_exporter) if batch else SimpleSpanProcessor(span_exporter)
            self.tracer_provider.add_span_processor(processor)
        self.meter_provider = MeterProvider(resource=resource, metric_readers=[metric_reader] if metric_reader else [])
        self.tracer: Tracer = self.tracer_provider.get_tracer(SCOPE_NAME)
        self.meter: Meter = self.meter_provider.get_meter(SCOPE_NAME)
        self.metrics = Metrics(self.meter)
        self.propagator = TraceContextTextMapPropagator()
        self.version = version or ""
        self.requests = self.meter.create_counter(
            "gati.server.requests", unit="{request}", description="HTTP requests served, by handler and status"
        )
        self.duration = self.meter.create_histogram(
            "http.server.request.duration", unit="s", description="time from the request's start to its answer"
        )

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None, app: str, version: str | None) -> Telemetry | None:
        """The telemetry `[tool.gati.telemetry]` asks for; None when its exporter is "none"."""
        s = TelemetrySettings.resolve(settings)
        if s.exporter == "none":
            return None
        from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, MetricExporter
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader as Periodic

        span_exporter: SpanExporter
        metric_exporter: MetricExporter
        if s.exporter == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            span_exporter, metric_exporter = ConsoleSpanExporter(), ConsoleMetricExporter()
        else:
            try:
                from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            except ImportError as exc:
                from gati_runtime_min.errors import ManifestError

                raise ManifestError(
                    "manifest.json", "telemetry exporter `otlp` needs `opentelemetry-exporter-otlp-proto-http`"
                ) from exc
            base = s.endpoint.rstrip("/") if s.endpoint else None
            span_exporter = OTLPSpanExporter(endpoint=f"{base}/v1/traces" if base else None)
            metric_exporter = OTLPMetricExporter(endpoint=f"{base}/v1/metrics" if base else None)
        reader = Periodic(metric_exporter, export_interval_millis=s.metric_interval * 1000)
        return cls(
            s.service_name or app,
            version=version,
            span_exporter=span_exporter,
            metric_reader=reader,
            batch=s.exporter == "otlp",
            sample_ratio=s.sample_ratio,
        )

    def flush(self) -> None:
        """Export what is buffered (at shutdown)."""
        self.tracer_provider.force_flush()
        self.meter_provider.force_flush()

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()

    # the request: a server span around the whole of `GatiApp.__call__`
    async def serve(
        self,
        app: Callable[[Scope, Receive, Send], Awaitable[None]],
        resolve: Callable[[str, str], tuple[RoutePlan, Any] | None],
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        from opentelemetry import context as otel_context
        from opentelemetry import trace
        from opentelemetry.trace import SpanKind, StatusCode

        method: str = scope["method"]
        path: str = scope["path"]
        if path.startswith("/_gati/"):  # probes and the operator's endpoints: no trace
            await app({**scope, TRACED: True}, receive, send)
            return
        hit = resolve(method, path)
        if hit is None and method == "HEAD":
            hit = resolve("GET", path)
        handler_id = hit[0].handler_id if hit is not None else None
        route = hit[0].route.path if hit is not None else None
        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"] if k in _TRACE_HEADERS}
        parent = self.propagator.extract(carrier) if carrier else None
        attrs: dict[str, AttrValue] = {"http.request.method": method, "url.path": path}
        if hit is not None:
            attrs["http.route"] = route or path
            attrs["gati.handler_id"] = handler_id or ""
        span = self.tracer.start_span(
            f"{method} {route}" if route else method, context=parent, kind=SpanKind.SERVER, attributes=attrs
        )
        ctx = trace.set_span_in_context(span, parent)
        # the W3C form, written directly (what the propagator's `inject` writes, for less)
        sc = span.get_span_context()
        trace_headers = [(b"traceparent", b"00-%032x-%016x-%02x" % (sc.trace_id, sc.span_id, sc.trace_flags))]
        if sc.trace_state:
            trace_headers.append((b"tracestate", sc.trace_state.to_header().encode("latin-1")))
        info = RequestInfo(None, handler_id, None)
        status = 500

        async def traced_send(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), *trace_headers]}
            await send(message)

        token = otel_context.attach(ctx)
        current = CURRENT.set(info)
        t0 = perf_counter()
        try:
            await app({**scope, TRACED: True}, receive, traced_send)
        except BaseException as exc:
            span.record_exception(exc)
            span.set_status(StatusCode.ERROR, type(exc).__name__)
            raise
        finally:
            elapsed = perf_counter() - t0
            CURRENT.reset(current)
            otel_context.detach(token)
            version = info.version or self.version
            span.set_attribute("http.response.status_code", status)
            span.set_attribute("gati.api_version", version)
            if info.request_id is not None:
                span.set_attribute("gati.request_id", info.request_id)
            if status >= 500:
                span.set_status(StatusCode.ERROR)
            span.end()
            labels: dict[str, AttrValue] = {
                "gati.handler_id": handler_id or "",
                "http.request.method": method,
                "http.response.status_code": status,
                "gati.api_version": version,
            }
            self.requests.add(1, labels)
            self.duration.record(elapsed, labels)

    def request_ids(self, new: Callable[[], str]) -> Callable[[], str]:
        """`new` (the app's request id source) also telling the request's `RequestInfo` its id."""

        def new_id() -> str:
            rid = new()
            info = CURRENT.get()
            if info is not None:
                info.request_id = rid
            return rid

        return new_id

    # the steps: wrapped once, at start-up
    def instrument(self, plan: RoutePlan) -> None:
        """Spans around `plan`'s handler and its before, after and catch hooks."""
        plan.fn = self._handler(plan.fn, plan.is_async, plan.handler_id)
        plan.is_async = True
        plan.before = tuple(self._hook(h, plan.handler_id, "before", 2) for h in plan.before)
        plan.after = tuple(self._hook(h, plan.handler_id, "after", 2) for h in plan.after)
        plan.catch = tuple(self._hook(h, plan.handler_id, "catch", 3) for h in plan.catch)

    def local_hook(self, hook: HookTuple, kind: str, at: int) -> HookTuple:
        """A hook registered at run time (`lctx.before(...)`) in a span (`Lifecycle.trace_local`)."""
        info = CURRENT.get()
        return self._hook(hook, (info.handler_id if info is not None else None) or "", kind, at)

    def _attributes(self, lctx: Any, handler_id: str) -> dict[str, AttrValue]:
        return {
            "gati.request_id": lctx._rid,
            "gati.handler_id": handler_id,
            "gati.api_version": lctx._version or self.version,
        }

    def _handler(self, fn: Callable[..., Any], is_async: bool, handler_id: str) -> Callable[..., Awaitable[None]]:
        from gati_runtime_min.lifecycle import invoke

        tracer = self.tracer
        name = f"handler {handler_id}"

        async def traced(*args: Any) -> None:
            lctx = args[2]
            info = CURRENT.get()
            if info is not None:
                info.version = lctx._version
            with _step(tracer, name, self._attributes(lctx, handler_id)):
                if is_async:
                    await fn(*args)
                else:
                    await invoke(fn, args, False)

        traced.__qualname__ = getattr(fn, "__qualname__", name)
        return traced

    def _hook(self, hook: HookTuple, handler_id: str, kind: str, at: int) -> HookTuple:
        from gati_runtime_min.lifecycle import invoke

        hook_id, fn, is_async, timeout, retries = hook
        tracer = self.tracer
        name = f"hook {kind} {hook_id}"

        async def traced(*args: Any) -> None:
            attrs = self._attributes(args[at], handler_id)
            attrs["gati.hook"] = hook_id
            attrs["gati.hook.kind"] = kind
            with _step(tracer, name, attrs):
                await invoke(fn, args, is_async)

        return (hook_id, traced, True, timeout, retries)

    def instrument_served(self, served: ServedVersion) -> ServedVersion:
        """The version's transformer chains with a span around each transformer."""
        return served.with_transformers(self._transformer)

    def _transformer(
        self, fn: Callable[[Any], Any], step: StepSpec, kind: str, static: dict[str, AttrValue]
    ) -> Callable[[Any], Any]:
        tracer = self.tracer
        name = f"transformer {step.names.get(kind, kind)}"

        def traced(value: Any) -> Any:
            info = CURRENT.get()
            rid = info.request_id if info is not None else None
            attrs = static if rid is None else {**static, "gati.request_id": rid}
            with _step(tracer, name, attrs):
                return fn(value)

        return traced

    # module calls
    @contextlib.contextmanager
    def module_call(self, module_id: str, method: str) -> Iterator[dict[str, str]]:
        """A client span around one module call; yields the headers to send with it."""
        from opentelemetry.trace import SpanKind

        info = CURRENT.get()
        attrs: dict[str, AttrValue] = {
            "gati.module_id": module_id,
            "rpc.system": "jsonrpc",
            "rpc.service": module_id,
            "rpc.method": method,
            "gati.api_version": (info.version if info is not None else None) or self.version,
        }
        if info is not None:
            if info.request_id is not None:
                attrs["gati.request_id"] = info.request_id
            if info.handler_id is not None:
                attrs["gati.handler_id"] = info.handler_id
        with self.tracer.start_as_current_span(f"module {module_id}.{method}", kind=SpanKind.CLIENT, attributes=attrs):
            headers: dict[str, str] = {}
            self.propagator.inject(headers)
            yield headers


@contextlib.contextmanager
def _step(tracer: Tracer, name: str, attributes: Attributes) -> Iterator[None]:
    """A span around one step, current while it runs. An `HTTPError` below 500 is the step's
    answer, not its failure: noted (`gati.http_status`), not an error status."""
    from opentelemetry.trace import StatusCode

    from gati_runtime_min.errors import HTTPError

    with tracer.start_as_current_span(
        name, attributes=attributes, record_exception=False, set_status_on_exception=False
    ) as span:
        try:
            yield
        except HTTPError as exc:
            span.set_attribute("gati.http_status", exc.status)
            if exc.status >= 500:
                span.set_status(StatusCode.ERROR, exc.code)
            raise
        except BaseException as exc:
            span.record_exception(exc)
            span.set_status(StatusCode.ERROR, type(exc).__name__)
            raise


def module_call(
    telemetry: Telemetry | None, module_id: str, method: str
) -> contextlib.AbstractContextManager[dict[str, str]]:
    """`telemetry.module_call(...)`, or, with telemetry off, nothing but empty headers."""
    if telemetry is None:
        return contextlib.nullcontext({})
    return telemetry.module_call(module_id, method)


def outgoing_headers() -> dict[str, str]:
    """`traceparent` (and `tracestate`) of the current span, to send with an outgoing call; {} when
    no span is current (telemetry off)."""
    from opentelemetry.trace import get_current_span
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    if not get_current_span().get_span_context().is_valid:
        return {}
    headers: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(headers)
    return headers
