"""The playground's recorder: a `Trace` of every request, put together as it runs.

Installed once at start-up, like `telemetry.Telemetry.instrument`: `instrument` wraps each route
plan's handler, hooks, decoders and encoder, `instrument_served` each served version's
transformers, `module_call` is the span factory of module calls, and `serve` wraps the whole
request (`GatiApp.__call__` hands it each request once; `RECORDED` marks the second entry). With
tracing off none of this is installed and the request path is as it was.

A wrapped step finds the trace of its request in the `ACTIVE` context variable (the one lookup a
step pays) and appends its record to the trace: its name, the enclosing step's record, and two
clock readings (`span.py`); a leaf (a decoder, the encoder, a transformer: nothing starts while it
runs) appends it once it is over, in one go. The handler appends none: its span comes from the `handler.start` and
`handler.end` events the app records around it (wrapped in a record of its own only when its
route takes snapshots or a debug gate is armed). The work that is not on the answer's critical
path (the `Span` objects, reading the bodies back as JSON, redaction, the event list, the ids) is
left to `Trace.complete`, which the store's readers call, not the request.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from time import perf_counter
from typing import TYPE_CHECKING, Any, Final

from gati_runtime_min.lifecycle import invoke
from gati_runtime_min.playground.active import ACTIVE, RECORDED
from gati_runtime_min.playground.snapshot import take
from gati_runtime_min.playground.span import CLIENT, REFUSED, Failure, Span, failure
from gati_runtime_min.playground.trace import Trace

if TYPE_CHECKING:
    from gati_runtime_min.errors import HTTPError
    from gati_runtime_min.lifecycle import HookTuple, RoutePlan
    from gati_runtime_min.playground import Playground
    from gati_runtime_min.served import ServedVersion

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

REPLAY_HEADER: Final = b"x-gati-replay-of"
_recording: Final = Trace.recording
_set: Final = ACTIVE.set
_reset: Final = ACTIVE.reset
_get: Final = ACTIVE.get


def _otel_trace_id() -> str | None:
    """The trace id of the current OpenTelemetry span (telemetry on: the same trace, one id)."""
    from opentelemetry.trace import get_current_span

    ctx = get_current_span().get_span_context()
    return f"{ctx.trace_id:032x}" if ctx.is_valid else None


def _failed(trace: Trace, at: int, what: Failure) -> None:
    """The step recorded at `at` failed (or, a decoder, refused the request)."""
    failures = trace.failures
    if failures is None:
        failures = trace.failures = {}
    failures[at] = what


class Recorder:
    """Records each request of `playground.app` into `playground.store`."""

    def __init__(self, playground: Playground, *, with_telemetry: bool = False) -> None:
        self.playground = playground
        self.store = playground.store
        self.max_body = playground.settings.max_body_bytes
        self.with_telemetry = with_telemetry
        self._noting = False  # `Lifecycle.fail` notes failures (`_note_failures`)

    # the request
    async def serve(self, app: App, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request through `app`, recording it. Only what the answer needs happens here:
        the trace's `_received` and `_sent` stand for the server's `receive` and `send` (the
        status, headers and the bytes of the bodies, their first `max_body`, kept as they are), and
        once it is over `Trace._end` packs what the trace keeps; the spans, the route's name, the
        headers and bodies' JSON, the ids come when the trace is read (`Trace.complete`)."""
        path: str = scope["path"]
        if path.startswith("/_gati/"):  # probes and the playground itself: not recorded
            await app({**scope, RECORDED: True}, receive, send)
            return
        trace = _recording(scope, receive, send, self.max_body)
        if self.with_telemetry:  # the caller's trace, else the one OpenTelemetry started
            trace._continued()
            if trace._trace_id is None:
                trace._trace_id = _otel_trace_id()
        token = _set(trace)
        scope[RECORDED] = True  # the request's own scope (the server makes one per request)
        try:
            await app(scope, trace._received, trace._sent)
        except BaseException as exc:
            trace.error = exc
            raise
        finally:
            _reset(token)
            trace._end(scope)
            self.store.add(trace)

    # the steps: wrapped once, at start-up
    def instrument(self, plan: RoutePlan) -> None:
        """Spans around `plan`'s handler, hooks, decoders and encoder."""
        handler_id = plan.handler_id
        plan.fn = self._handler(plan.fn, plan.is_async, handler_id)
        plan.is_async = True
        plan.before = tuple(self._hook(h, handler_id, "before", 2) for h in plan.before)
        plan.after = tuple(self._hook(h, handler_id, "after", 2) for h in plan.after)
        plan.catch = tuple(self._hook(h, handler_id, "catch", 3) for h in plan.catch)
        refused = self.playground.app.lifecycle.decode_error  # a decoder's refusal is the request's 422
        if plan.dec_params is not None:
            plan.dec_params = _timed(plan.dec_params, "decode params", handler_id, refused=refused)
        if plan.dec_query is not None:
            plan.dec_query = _timed(plan.dec_query, "decode query", handler_id, refused=refused)
        if plan.dec_body is not None:
            plan.dec_body = _timed(plan.dec_body, "decode body", handler_id, refused=refused)
        if plan.encode is not None:
            plan.encode = _timed(plan.encode, "encode response", handler_id)

    def local_hook(self, hook: HookTuple, kind: str, at: int) -> HookTuple:
        """A hook registered at run time (`lctx.before(...)`) in a span (`Lifecycle.trace_local`)."""
        trace = ACTIVE.get()
        return self._hook(hook, (trace.handler_id if trace is not None else None) or "", kind, at)

    def _handler(self, fn: Callable[..., Any], is_async: bool, handler_id: str) -> Callable[..., Awaitable[None]]:
        """The handler, recorded. Its span comes from the `handler.start`/`handler.end` events the
        app records around it (`Trace.complete`), so the usual call only notes the request's `lctx`
        and returns the handler's own awaitable. With snapshots on its route, or while a debug gate
        is armed, the call goes through `_step` (the snapshots and gates around it, a record)."""
        snap = self.playground.settings.snapshots_for(handler_id)
        name, attrs = f"handler {handler_id}", {"gati.handler_id": handler_id}
        full = self._step(
            fn,
            is_async,
            name,
            attrs,
            handler_id,
            at=2,
            target="handler",
            snapshots=("before handler" if snap else None, "after handler" if snap else None),
        )
        full.__qualname__ = getattr(fn, "__qualname__", full.__qualname__)
        if snap:
            return full
        self._note_failures()
        pg = self.playground  # its gates: a hot swap's app takes over the old one's (`carry_over`)
        step = (name, attrs)

        def recorded(*args: Any) -> Awaitable[None]:
            trace = _get()
            if trace is not None:
                if pg.gates.armed:
                    return full(*args)
                trace.lctx = args[2]
                trace.handler = step
            return fn(*args) if is_async else invoke(fn, args, False)

        recorded.__qualname__ = full.__qualname__
        return recorded

    def _note_failures(self) -> None:
        """The app's `Lifecycle.fail` notes what a recorded request failed with, and when (the end of
        a handler span that comes from the events); once per app, on the error path only."""
        lifecycle = self.playground.app.lifecycle
        if self._noting:
            return
        self._noting = True
        fail = lifecycle.fail

        async def noted(
            plan: RoutePlan, exc: BaseException, timed_out: bool, task: Any, req: Any, args: Any, lctx: Any
        ) -> HTTPError | None:
            trace = ACTIVE.get()
            if trace is not None and trace.handler is not None and trace.handler_failure is None:
                trace.handler_failure = (perf_counter(), failure(exc))
            return await fail(plan, exc, timed_out, task, req, args, lctx)

        lifecycle.fail = noted  # type: ignore[method-assign]

    def _hook(self, hook: HookTuple, handler_id: str, kind: str, at: int) -> HookTuple:
        hook_id, fn, is_async, timeout, retries = hook
        snap = self.playground.settings.snapshots_for(handler_id)
        # snapshots before each before-hook and after each after-hook; gates on both sides of either
        recorded = self._step(
            fn,
            is_async,
            f"hook {kind} {hook_id}",
            {"gati.hook": hook_id, "gati.hook.kind": kind, "gati.handler_id": handler_id},
            handler_id,
            at=at,
            target=hook_id if kind != "catch" else None,
            snapshots=(
                f"before hook {hook_id}" if snap and kind == "before" else None,
                f"after hook {hook_id}" if snap and kind == "after" else None,
            ),
        )
        return (hook_id, recorded, True, timeout, retries)

    def _step(
        self,
        fn: Callable[..., Any],
        is_async: bool,
        name: str,
        attrs: Mapping[str, Any],
        handler_id: str,
        *,
        at: int,
        target: str | None,
        snapshots: tuple[str | None, str | None],
    ) -> Callable[..., Awaitable[None]]:
        """`fn` (the handler, or a hook: `lctx` is its argument `at`) in a span; the snapshots at the
        positions named, and the debug gates on `target` (None: none) before and after it."""
        pg = self.playground
        snap_before, snap_after = snapshots
        step = (name, attrs)

        async def recorded(*args: Any) -> None:
            trace = ACTIVE.get()
            if trace is None:  # called outside a recorded request
                await invoke(fn, args, is_async)
                return
            lctx = args[at]
            trace.lctx = lctx
            if snap_before is not None:
                _snapshot(pg, trace, snap_before, args[0], lctx, handler_id)
            if target is not None and pg.gates.armed:
                await self._gate("before", target, handler_id, args[0], lctx, trace)
            spans: list[Any] = trace.spans
            parent = trace.current
            pos = len(spans)
            start = perf_counter()
            spans.extend((step, parent, start, start))
            trace.current = pos
            try:
                if is_async:
                    await fn(*args)
                else:
                    await invoke(fn, args, False)
            except BaseException as exc:
                _failed(trace, pos, failure(exc))
                raise
            finally:
                spans[pos + 3] = perf_counter()
                trace.current = parent
            if snap_after is not None:
                _snapshot(pg, trace, snap_after, args[0], lctx, handler_id)
            if target is not None and pg.gates.armed:
                await self._gate("after", target, handler_id, args[0], lctx, trace)

        return recorded

    async def _gate(self, when: str, target: str, handler_id: str, req: Any, lctx: Any, trace: Trace) -> None:
        """The debug gates at this point, with the route's deadline held while the request waits
        there (a person looking at a paused request is not the handler being slow)."""
        deadlines = self.playground.app.lifecycle.deadlines
        task = asyncio.current_task()
        left = deadlines.hold(task) if task is not None else None
        try:
            await self.playground.gates.check(when, target, handler_id, req, lctx, trace)
        finally:
            if left is not None and task is not None:
                deadlines.release(task, left)

    def instrument_served(self, served: ServedVersion) -> ServedVersion:
        """The version's transformer chains with a span around each transformer."""
        return served.with_transformers(
            lambda fn, step, kind, attrs: _timed(
                fn, f"transformer {step.names.get(kind, kind)}", served.handler_id, attrs
            )
        )

    @contextlib.contextmanager
    def module_call(self, module_id: str, method: str) -> Iterator[dict[str, str]]:
        """A client span around one module call; yields the `traceparent` to send with it."""
        trace = ACTIVE.get()
        if trace is None:
            yield {}
            return
        parent = trace.current
        attrs = {"gati.module_id": module_id, "rpc.system": "jsonrpc", "rpc.service": module_id, "rpc.method": method}
        span = Span(
            f"module {module_id}.{method}",
            perf_counter() - trace.t0,
            parent,
            attrs,
            CLIENT,
        )
        trace.spans.append(span)
        try:
            yield {"traceparent": f"00-{trace.trace_id}-{span.span_id}-01"}
        except BaseException as exc:
            span.fail(exc)
            raise
        finally:
            span.end = perf_counter() - trace.t0


def _snapshot(pg: Playground, trace: Trace, position: str, req: Any, lctx: Any, handler_id: str) -> None:
    """Append the request's snapshot at `position` to its trace; a value that breaks the snapshot
    (a mapping that raises while read) costs the snapshot, never the request."""
    try:
        snapshot = take(position, req, lctx, pg.redactor, handler_id)
    except Exception as exc:
        lctx.event("snapshot.failed", position=position, error=f"{type(exc).__name__}: {exc}")
        return
    trace.add_snapshot(snapshot.to_json())


def _timed(
    fn: Callable[[Any], Any],
    name: str,
    handler_id: str,
    attributes: Mapping[str, Any] | None = None,
    *,
    refused: type[Exception] | None = None,
) -> Callable[[Any], Any]:
    """`fn` (a decoder, an encoder, a transformer: one value in, one out) in a span. A decoder's
    `refused` error is the request's 422, noted (`gati.http_status`), not the step's failure."""
    attrs = attributes if attributes is not None else {"gati.handler_id": handler_id}
    step = (name, attrs)

    def timed(value: Any) -> Any:
        trace = _get()
        if trace is None:
            return fn(value)
        start = perf_counter()
        try:
            return fn(value)
        except BaseException as exc:  # its record comes next, at the list's end
            what = REFUSED if refused is not None and isinstance(exc, refused) else failure(exc)
            _failed(trace, len(trace.spans), what)
            raise
        finally:  # a leaf: nothing starts while it runs, so appending it now keeps the order
            spans: list[Any] = trace.spans
            spans += (step, trace.current, start, perf_counter())

    return timed


def both(
    first: Callable[[str, str], contextlib.AbstractContextManager[Mapping[str, str]]],
    second: Callable[[str, str], contextlib.AbstractContextManager[Mapping[str, str]]],
) -> Callable[[str, str], contextlib.AbstractContextManager[Mapping[str, str]]]:
    """Two module-call span factories as one (telemetry and the recorder): the first's headers are sent."""

    @contextlib.contextmanager
    def span(module_id: str, method: str) -> Iterator[Mapping[str, str]]:
        with first(module_id, method) as headers, second(module_id, method):
            yield headers

    return span
