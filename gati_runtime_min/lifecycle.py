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
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

import orjson

from gati_runtime_min.context import GlobalContext, LocalContext, LocalHook, Thunk
from gati_runtime_min.deadlines import Deadlines
from gati_runtime_min.errors import GatiError, HTTPError
from gati_runtime_min.loader import HookSpec, RouteSpec
from gati_runtime_min.messages import Request, Response

_LOG: Final = logging.getLogger("gati.runtime")
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


class Lifecycle:
    """The per-route pipeline, with the global hooks split by kind once at start-up."""

    def __init__(self, global_hooks: Sequence[HookSpec], decode_error: type[Exception]) -> None:
        self.g_before = _specs(h for h in global_hooks if h.kind == "before")
        self.g_after = _specs(h for h in global_hooks if h.kind == "after")
        self.g_catch = _specs(h for h in global_hooks if h.kind == "catch")
        self.decode_error = decode_error
        self.deadlines = Deadlines()
        self._route_hooks: dict[str, tuple[list[HookTuple], list[HookTuple], list[HookTuple]]] = {}

    def hooks_for(self, route: RouteSpec) -> tuple[list[HookTuple], list[HookTuple], list[HookTuple]]:
        hooks = self._route_hooks.get(route.handler_id)
        if hooks is None:
            hooks = (
                self.g_before + _specs(route.before),
                _specs(route.after) + self.g_after,  # already the reverse of before's order, minus local
                _specs(route.catch) + self.g_catch,
            )
            self._route_hooks[route.handler_id] = hooks
        return hooks

    async def run(
        self, route: RouteSpec, req: Request[Any, Any, Any], res: Response[Any], lctx: LocalContext,
        gctx: GlobalContext, raw_body: Any,
    ) -> bytes | None:  # fmt: skip
        """Run the pipeline; returns the encoded body (None for no body) or raises an `HTTPError`."""
        before, after, catch = self.hooks_for(route)
        args = (req, res, lctx, gctx)
        task: Any = asyncio.current_task()
        key = self.deadlines.arm(task, route.timeout) if route.timeout else None
        try:
            try:
                for hook in before:
                    await run_hook(hook, args, lctx)
                if lctx._before:
                    i = 0
                    while i < len(lctx._before):  # a local hook may register another
                        await run_hook(_local([lctx._before[i]])[0], args, lctx)
                        i += 1
                self._decode(route, req, raw_body)
                detail = {"handler": route.handler_id}
                lctx.events.append((time.perf_counter() - lctx.t0, "handler.start", detail))
                if route.is_async:
                    await route.fn(*args)
                else:
                    await invoke(route.fn, args, False)
                lctx.events.append((time.perf_counter() - lctx.t0, "handler.end", detail))
                body = self._encode(route, res)
                if lctx._after or after:
                    for hook in [*reversed(_local(lctx._after or ())), *after]:
                        await run_hook(hook, args, lctx)
            finally:
                timed_out = key is not None and self.deadlines.disarm(task, key)
            if timed_out:  # the handler swallowed the cancellation: still a timeout
                raise asyncio.CancelledError
            return body
        except BaseException as exc:
            if timed_out and isinstance(exc, asyncio.CancelledError | Exception):
                task.uncancel()  # the cancellation was ours: it ends here as a 504
                lctx.event("timeout", handler=route.handler_id, seconds=route.timeout)
                error: HTTPError = GatiError("GATI504", f"{route.handler_id} timed out after {route.timeout:g}s")
                await self._cleanup(lctx, lctx._on_timeout, "cleanup")
            elif isinstance(exc, Exception):
                error = self._as_http_error(exc, route, req)
            else:
                raise
            error = await self._catch(exc, error, catch, args, lctx)
            await self._cleanup(lctx, lctx._compensations, "compensate")
            raise error from None

    def _decode(self, route: RouteSpec, req: Request[Any, Any, Any], raw_body: Any) -> None:
        codec = route.codec
        try:
            params = codec.decode_params(req.params)
        except self.decode_error as exc:
            raise validation_error("GATI513", exc, "$.params") from None
        if params is not None:
            req.params = params
        try:
            query = codec.decode_query(req.raw_query)
        except self.decode_error as exc:
            raise validation_error("GATI512", exc, "$.query") from None
        if query is not None:
            req.query = query
        if route.has_request:
            try:
                req.body = codec.decode_body(raw_body)
            except self.decode_error as exc:
                raise validation_error("GATI511", exc, "$.body") from None

    def _encode(self, route: RouteSpec, res: Response[Any]) -> bytes | None:
        if res.is_empty:
            return None
        if not res.has_body:
            if route.has_response:
                raise GatiError("GATI501", f"{route.handler_id} set no response body")
            res.empty()
            return None
        value = res.body
        if route.has_response and 200 <= res.status_code < 300:
            try:
                value = route.codec.encode_response(value)
            except self.decode_error as exc:
                err = validation_error("GATI501", exc, "$.response")
                _LOG.error("invalid response from %s: %s", route.handler_id, err.detail)
                raise GatiError("GATI501") from None
        try:
            return orjson.dumps(value)
        except TypeError as exc:
            _LOG.error("response of %s is not JSON-serialisable: %s", route.handler_id, exc)
            raise GatiError("GATI501") from None

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
        hooks = [*reversed(_local(lctx._catch or ())), *catch]
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
