"""The Local Context Controller: hooks, decoding, the handler, encoding, compensation.

Order for one request: before hooks (global, route, local) → decode params, query, body → handler
→ encode and validate the response → after hooks in reverse (local, route, global). On an error:
catch hooks in reverse, then compensating actions in reverse. On a timeout the `lctx.on_timeout`
cleanups run first. Everything inside runs under the handler's timeout.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final
from uuid import UUID

import orjson

from gati_runtime_min.context import GlobalContext, LocalContext, LocalHook, Thunk
from gati_runtime_min.deadlines import Deadlines
from gati_runtime_min.errors import GatiError, HTTPError
from gati_runtime_min.ingress import dump_json, unjsonable
from gati_runtime_min.loader import HookSpec, RouteSpec
from gati_runtime_min.messages import _UNSET, Request, Response

_LOG: Final = logging.getLogger("gati.runtime")
_dumps: Final = orjson.dumps
CLEANUP_TIMEOUT: Final = 10.0


class HookFailed(Exception):
    def __init__(self, hook_id: str, cause: BaseException) -> None:
        super().__init__(f"hook {hook_id} failed: {type(cause).__name__}: {cause}")
        self.hook_id = hook_id
        self.cause = cause


async def invoke(fn: Callable[..., Any], args: Sequence[Any], is_async: bool) -> None:
    """Await `fn(*args)`; sync functions run in a worker thread so they never block the loop."""
    if is_async:
        await fn(*args)
        return
    result = await asyncio.to_thread(fn, *args)
    if inspect.isawaitable(result):
        await result


HookTuple = tuple[str, Callable[..., Any], bool, float | None, int]  # id, fn, is_async, timeout, retries


async def run_hook(hook: HookTuple, args: Sequence[Any], lctx: LocalContext) -> None:
    """Run one hook with its timeout and retries; an `HTTPError` is the hook's answer, not a failure."""
    hook_id, fn, is_async, timeout, retries = hook
    for attempt in range(retries + 1):
        lctx.event("hook.start", hook=hook_id, attempt=attempt)
        try:
            if timeout is None:
                await invoke(fn, args, is_async)
            else:
                async with asyncio.timeout(timeout):
                    await invoke(fn, args, is_async)
        except HTTPError:
            lctx.event("hook.end", hook=hook_id, outcome="http_error")
            raise
        except Exception as exc:
            lctx.event("hook.error", hook=hook_id, attempt=attempt, error=type(exc).__name__)
            if attempt == retries:
                raise HookFailed(hook_id, exc) from exc
        else:
            lctx.event("hook.end", hook=hook_id)
            return


def _local(hooks: Iterable[LocalHook]) -> list[HookTuple]:
    return [
        (getattr(h.fn, "__qualname__", "local"), h.fn, inspect.iscoroutinefunction(h.fn), h.timeout, h.retries)
        for h in hooks
    ]


def _specs(hooks: Iterable[HookSpec]) -> list[HookTuple]:
    return [(h.id, h.fn, h.is_async, h.timeout, h.retries) for h in hooks]


def _issues(exc: Exception, prefix: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for issue in getattr(exc, "issues", ()):
        item = dict(issue.to_json()) if hasattr(issue, "to_json") else {"message": str(issue)}
        path = str(item.get("path", "$"))
        item["path"] = prefix + path[1:] if path.startswith("$") else prefix
        out.append(item)
    return out


def validation_error(code: str, exc: Exception, prefix: str) -> GatiError:
    issues = _issues(exc, prefix)
    if issues:
        first = issues[0]
        message = f"{first.get('message', 'invalid value')} - at `{first['path']}`"
        if len(issues) > 1:
            message += f" (and {len(issues) - 1} more)"
    else:
        message = f"{exc} - at `{prefix}`"
    return GatiError(code, message, issues=issues)


class RoutePlan:
    """Everything the request path needs about one route, worked out once at start-up."""

    __slots__ = (
        "after",
        "before",
        "body_only",
        "catch",
        "codec",
        "dec_body",
        "dec_params",
        "dec_query",
        "decodes",
        "detail",
        "encode",
        "fn",
        "gctx",
        "handler_id",
        "has_request",
        "has_response",
        "is_async",
        "params_only",
        "rate_limit",
        "roles",
        "route",
        "status",
        "timeout",
    )

    def __init__(self, route: RouteSpec, gctx: GlobalContext, lifecycle: Lifecycle) -> None:
        gtypes = route.manifest.get("gtypes") or {}
        codec = route.codec
        self.route = route
        self.handler_id = route.handler_id
        self.fn = route.fn
        self.is_async = route.is_async
        self.status = route.status
        self.codec = codec
        self.gctx = gctx
        self.before: tuple[HookTuple, ...] = (*lifecycle.g_before, *_specs(route.before))
        self.after: tuple[HookTuple, ...] = (*_specs(route.after), *lifecycle.g_after)  # reverse of before's order
        self.catch: tuple[HookTuple, ...] = (*_specs(route.catch), *lifecycle.g_catch)
        self.has_request = route.has_request
        self.has_response = route.has_response
        # the generated decoders as bound methods; absent parts decode to None (build-format.md
        # section 5), so their decoders need not run
        self.dec_params: Callable[[Any], Any] | None = codec.decode_params if gtypes.get("params") is not None else None
        if self.dec_params is not None:
            self.dec_params = _direct_params(route.path) or self.dec_params
        self.dec_query: Callable[[Any], Any] | None = codec.decode_query if gtypes.get("query") is not None else None
        self.dec_body: Callable[[Any], Any] | None = codec.decode_body if route.has_request else None
        self.decodes = self.dec_params is not None or self.dec_query is not None or self.dec_body is not None
        self.body_only = self.dec_body is not None and self.dec_params is None and self.dec_query is None
        self.params_only = self.dec_params is not None and self.dec_body is None and self.dec_query is None
        self.encode: Callable[[Any], Any] | None = codec.encode_response if route.has_response else None
        self.roles = route.roles
        self.rate_limit = route.rate_limit
        self.timeout = route.timeout
        self.detail: Mapping[str, Any] = MappingProxyType({"handler": route.handler_id})


_DIRECT: Final[dict[str, Callable[[str], Any]]] = {"int": int, "str": str, "path": str, "uuid": UUID}
_PLACEHOLDER: Final = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([a-z]+))?\}")


def _direct_params(path: str) -> Callable[[Mapping[str, str]], dict[str, Any]] | None:
    """A params decoder that converts directly, when the router's regexes already guarantee success.

    The params type is built from the path converters alone (a declared params type must agree
    with them), and for `int`, `str`, `path` and `uuid` a string the route matched always
    converts; `float` and `date` keep the generated decoder for its range and calendar checks.
    """
    table = tuple((name, conv or "str") for name, conv in _PLACEHOLDER.findall(path))
    if not table or any(conv not in _DIRECT for _, conv in table):
        return None
    pairs = tuple((name, _DIRECT[conv]) for name, conv in table)
    if len(pairs) == 1:  # the usual `/things/{id}`: no loop
        ((only, convert_only),) = pairs

        def decode_one(params: Mapping[str, str]) -> dict[str, Any]:
            return {only: convert_only(params[only])}

        return decode_one

    def decode(params: Mapping[str, str]) -> dict[str, Any]:
        return {name: convert(params[name]) for name, convert in pairs}

    return decode


class Lifecycle:
    """The steps of the LCC for one route plan, with the global hooks split by kind once at start-up.

    `GatiApp` runs them in this order (inline, on its request path): `before` (only if the route
    has before hooks), `decode`, the handler between the `handler.start`/`handler.end` events,
    `encoded` and `to_json`, `after` (only if there are after hooks), all under the route's deadline; on any
    error, `fail` (timeout cleanups, catch hooks, compensations) gives the HTTP error to answer.
    """

    def __init__(self, global_hooks: Sequence[HookSpec], decode_error: type[Exception]) -> None:
        self.g_before = _specs(h for h in global_hooks if h.kind == "before")
        self.g_after = _specs(h for h in global_hooks if h.kind == "after")
        self.g_catch = _specs(h for h in global_hooks if h.kind == "catch")
        self.decode_error = decode_error
        self.deadlines = Deadlines()
        # telemetry on: (hook, kind, index of lctx) -> the hook in a span, for the local hooks
        # (`lctx.before(...)`), which only exist at run time; None: they run as registered
        self.trace_local: Callable[[HookTuple, str, int], HookTuple] | None = None

    def plan(self, route: RouteSpec, gctx: GlobalContext) -> RoutePlan:
        return RoutePlan(route, gctx, self)

    async def before(self, plan: RoutePlan, args: tuple[Any, ...], lctx: LocalContext) -> None:
        """The before hooks: global, route, then the local ones they registered (`lctx.before`)."""
        for hook in plan.before:
            await run_hook(hook, args, lctx)
        if lctx._before:
            i = 0
            while i < len(lctx._before):  # a local hook may register another
                await run_hook(self._traced(_local([lctx._before[i]])[0], "before", 2), args, lctx)
                i += 1

    def decode(self, plan: RoutePlan, req: Request[Any, Any, Any], raw_body: Any) -> None:
        """Params, query and body through the generated decoders (422 with the issues)."""
        if plan.dec_params is not None:
            try:
                params = plan.dec_params(req.params)
            except self.decode_error as exc:
                raise validation_error("GATI513", exc, "$.params") from None
            if params is not None:
                req.params = params
        if plan.dec_query is not None:
            try:
                query = plan.dec_query(req.raw_query)
            except self.decode_error as exc:
                raise validation_error("GATI512", exc, "$.query") from None
            if query is not None:
                req.query = query
        if plan.dec_body is not None:
            try:
                req.body = plan.dec_body(raw_body)
            except self.decode_error as exc:
                raise validation_error("GATI511", exc, "$.body") from None

    async def after(self, plan: RoutePlan, args: tuple[Any, ...], lctx: LocalContext) -> None:
        """The after hooks in reverse: local, route, global."""
        local: Iterable[HookTuple] = reversed(_local(lctx._after or ()))
        if self.trace_local is not None:
            local = [self._traced(h, "after", 2) for h in local]
        for hook in [*local, *plan.after]:
            await run_hook(hook, args, lctx)

    async def fail(
        self,
        plan: RoutePlan,
        exc: BaseException,
        timed_out: bool,
        task: Any,
        req: Request[Any, Any, Any],
        args: tuple[Any, ...],
        lctx: LocalContext,
    ) -> HTTPError | None:
        """The error to answer with, after the cleanups, catch hooks and compensations; None: re-raise `exc`."""
        if timed_out and isinstance(exc, asyncio.CancelledError | Exception):
            task.uncancel()  # the cancellation was ours: it ends here as a 504
            lctx.event("timeout", handler=plan.handler_id, seconds=plan.timeout)
            error: HTTPError = GatiError("GATI504", f"{plan.handler_id} timed out after {plan.timeout:g}s")
            await self._cleanup(lctx, lctx._on_timeout, "cleanup")
        elif isinstance(exc, Exception):
            error = self._as_http_error(exc, plan.route, req)
        else:
            return None
        error = await self._catch(exc, error, list(plan.catch), args, lctx)
        await self._cleanup(lctx, lctx._compensations, "compensate")
        return error

    def encoded(self, plan: RoutePlan, res: Response[Any]) -> Any:
        """The response body's JSON value, checked by the generated encoder (2xx only); `_UNSET`
        for no body (an empty answer, or none set where the handler declares none)."""
        if res._empty:
            return _UNSET
        value = res._body
        if value is _UNSET:
            if plan.has_response:
                raise GatiError("GATI501", f"{plan.handler_id} set no response body")
            res.empty()
            return _UNSET
        if plan.encode is not None and 200 <= res._status < 300:
            try:
                value = plan.encode(value)
            except self.decode_error as exc:
                raise self.invalid_response(plan, exc) from None
        return value

    def to_json(self, plan: RoutePlan, value: Any) -> bytes:
        """A response value as JSON bytes: orjson, else `dump`'s slower and explaining path."""
        try:
            return _dumps(value)
        except TypeError:
            return self.dump(plan, value)

    def invalid_response(self, plan: RoutePlan, exc: Exception) -> GatiError:
        """The response failed the generated encoder: logged, answered as a bare GATI501."""
        err = validation_error("GATI501", exc, "$.response")
        _LOG.error("invalid response from %s: %s", plan.handler_id, err.detail)
        return GatiError("GATI501")

    def dump(self, plan: RoutePlan, value: Any) -> bytes:
        """JSON for what orjson alone refuses: integers beyond 64 bits; anything else is a GATI501."""
        try:
            return dump_json(value)
        except TypeError as exc:
            found = unjsonable(value)
            where = f"`{found[0]}` holds a `{found[1]}`" if found else str(exc)
            message = f"the response of {plan.handler_id} cannot be written as JSON: {where}"
            _LOG.error("%s", message)
            raise GatiError("GATI507", f"{message}, which has no JSON form") from None

    def _as_http_error(self, exc: Exception, route: RouteSpec, req: Request[Any, Any, Any]) -> HTTPError:
        if isinstance(exc, HTTPError):
            return exc
        if isinstance(exc, HookFailed):
            if isinstance(exc.cause, HTTPError):  # pragma: no cover - HTTPError is never wrapped
                return exc.cause
            _LOG.error("request %s: %s", req.request_id, exc, exc_info=exc.cause)
            if isinstance(exc.cause, TimeoutError):
                return GatiError("GATI504", f"hook {exc.hook_id} timed out")
            return GatiError("GATI502", f"hook {exc.hook_id} failed")
        _LOG.error("request %s: handler %s crashed", req.request_id, route.handler_id, exc_info=exc)
        return GatiError("GATI500")

    async def _catch(
        self, exc: BaseException, error: HTTPError, catch: list[HookTuple], args: tuple[Any, ...], lctx: LocalContext,
    ) -> HTTPError:  # fmt: skip
        hooks = [*(self._traced(h, "catch", 3) for h in reversed(_local(lctx._catch or ()))), *catch]
        if not hooks:
            return error
        cause = exc.cause if isinstance(exc, HookFailed) else exc
        cargs = (cause if isinstance(cause, Exception) else error, *args)
        for hook in hooks:
            try:
                async with asyncio.timeout(CLEANUP_TIMEOUT):
                    await run_hook(hook, cargs, lctx)
            except HTTPError as replaced:  # a catch hook may translate the error
                error = replaced
            except Exception as failed:
                _LOG.error("request %s: catch hook failed: %s", lctx.meta.request_id, failed)
        return error

    def _traced(self, hook: HookTuple, kind: str, at: int) -> HookTuple:
        return hook if self.trace_local is None else self.trace_local(hook, kind, at)

    async def _cleanup(self, lctx: LocalContext, thunks: list[Thunk] | None, name: str) -> None:
        for fn in reversed(thunks or ()):
            lctx.event(f"{name}.start", fn=getattr(fn, "__qualname__", "?"))
            try:
                async with asyncio.timeout(CLEANUP_TIMEOUT):
                    await invoke(fn, (), inspect.iscoroutinefunction(fn))
                lctx.event(f"{name}.end")
            except Exception as exc:
                lctx.event(f"{name}.error", error=type(exc).__name__)
                _LOG.error("request %s: %s action failed: %s", lctx.meta.request_id, name, exc)
