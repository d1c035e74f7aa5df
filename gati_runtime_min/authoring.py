"""The authoring API: route, hook and module decorators.

The compiler reads these decorators from source; it never imports user code. At import time the
decorators only attach their arguments to the function (`__gati__`) and return it unchanged, so they
cost nothing. Their signatures make `mypy --strict` reject handlers and hooks with the wrong shape.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal, Protocol, TypeAlias, TypeVar, overload

from gati_runtime_min.context import GlobalContext, LocalContext
from gati_runtime_min.messages import Request, Response

HandlerFunc: TypeAlias = Callable[
    [Request[Any, Any, Any], Response[Any], LocalContext, GlobalContext], Awaitable[None] | None
]
HookFunc: TypeAlias = Callable[
    [Request[Any, Any, Any], Response[Any], LocalContext, GlobalContext], Awaitable[None] | None
]
CatchFunc: TypeAlias = Callable[
    [Exception, Request[Any, Any, Any], Response[Any], LocalContext, GlobalContext], Awaitable[None] | None
]

_H = TypeVar("_H", bound=HandlerFunc)
_K = TypeVar("_K", bound=HookFunc)
_C = TypeVar("_C", bound=CatchFunc)
_T = TypeVar("_T", bound=type[Any])


class _Route(Protocol):
    """The type of `get`, `post`, `put`, `patch` and `delete`."""

    def __call__(
        self,
        path: str,
        *,
        id: str | None = None,
        roles: Sequence[str] = (),
        rate_limit: str | None = None,
        timeout: float | None = None,
        modules: Sequence[str] = (),
        plugins: Sequence[str] = (),
        secrets: Sequence[str] = (),
        before: Sequence[HookFunc] = (),
        after: Sequence[HookFunc] = (),
        catch: Sequence[CatchFunc] = (),
        tags: Sequence[str] = (),
        status: int = 200,
        summary: str | None = None,
        description: str | None = None,
        deprecated: bool = False,
        sunset: str | None = None,
        stability: Literal["alpha", "beta", "stable"] | None = None,
        response_headers: Sequence[str] = (),
        consumes: Sequence[str] = (),
        produces: Sequence[str] = (),
        streaming: bool = False,
    ) -> Callable[[_H], _H]: ...


def _attach(obj: Any, meta: dict[str, Any]) -> None:
    with contextlib.suppress(AttributeError, TypeError):  # builtins and slotted callables take no attributes
        obj.__gati__ = meta


def handler(
    method: str,
    path: str,
    *,
    id: str | None = None,
    roles: Sequence[str] = (),
    rate_limit: str | None = None,
    timeout: float | None = None,
    modules: Sequence[str] = (),
    plugins: Sequence[str] = (),
    secrets: Sequence[str] = (),
    before: Sequence[HookFunc] = (),
    after: Sequence[HookFunc] = (),
    catch: Sequence[CatchFunc] = (),
    tags: Sequence[str] = (),
    status: int = 200,
    summary: str | None = None,
    description: str | None = None,
    deprecated: bool = False,
    sunset: str | None = None,
    stability: Literal["alpha", "beta", "stable"] | None = None,
    response_headers: Sequence[str] = (),
    consumes: Sequence[str] = (),
    produces: Sequence[str] = (),
    streaming: bool = False,
) -> Callable[[_H], _H]:
    """Declare a handler for `method` on `path` (`{name}`, `{name:int}`, ... converters).

    Parameters:
        method: the HTTP method, such as `"GET"`.
        path: the path template.
        id: the handler id; defaults to the function name.
        roles: the caller needs one of these roles (401 without credentials, 403 without the role).
        rate_limit: `"N/unit"` or `"N/K unit"` per client, such as `"100/minute"`.
        timeout: seconds before the runtime answers 504.
        secrets: the secret names the handler may read with `gctx.secrets.get` (others: GATI545).
        deprecated, sunset, stability: the endpoint's lifecycle (sunset is an ISO date), which
            Timescape's diff engine holds removals and changes against.
        response_headers: headers every response carries; a trailing `?` marks an optional one.
        consumes, produces: request and response media types (default: JSON).
        streaming: the response is a stream (SSE / NDJSON) rather than one document.

    Returns:
        A decorator that returns the function unchanged.
    """
    meta = {
        "kind": "handler",
        "method": method.upper(),
        "path": path,
        "id": id,
        "roles": tuple(roles),
        "rate_limit": rate_limit,
        "timeout": timeout,
        "modules": tuple(modules),
        "plugins": tuple(plugins),
        "secrets": tuple(secrets),
        "before": tuple(before),
        "after": tuple(after),
        "catch": tuple(catch),
        "tags": tuple(tags),
        "status": status,
        "summary": summary,
        "description": description,
        "deprecated": deprecated,
        "sunset": sunset,
        "stability": stability,
        "response_headers": tuple(response_headers),
        "consumes": tuple(consumes),
        "produces": tuple(produces),
        "streaming": streaming,
    }

    def decorate(fn: _H) -> _H:
        _attach(fn, meta)
        return fn

    return decorate


def _method(name: str) -> Any:
    # the keyword list is stated once for users, by `_Route`; this only forwards it
    def route(path: str, **options: Any) -> Callable[[Any], Any]:
        return handler(name, path, **options)

    route.__name__ = name.lower()
    route.__doc__ = f"`@handler({name!r}, path, ...)`."
    return route


# Typed as `handler` minus its first argument.
get: _Route = _method("GET")
post: _Route = _method("POST")
put: _Route = _method("PUT")
patch: _Route = _method("PATCH")
delete: _Route = _method("DELETE")


@overload
def before(fn: _K, /) -> _K: ...
@overload
def before(*, timeout: float | None = None, retries: int = 0) -> Callable[[_K], _K]: ...
def before(fn: Any = None, /, *, timeout: float | None = None, retries: int = 0) -> Any:
    """Mark a before hook `(req, res, lctx, gctx)`; bare (`@before`) or called (`@before(timeout=1)`)."""
    return _hook("before", fn, timeout, retries)


@overload
def after(fn: _K, /) -> _K: ...
@overload
def after(*, timeout: float | None = None, retries: int = 0) -> Callable[[_K], _K]: ...
def after(fn: Any = None, /, *, timeout: float | None = None, retries: int = 0) -> Any:
    """Mark an after hook `(req, res, lctx, gctx)`; bare or called."""
    return _hook("after", fn, timeout, retries)


@overload
def catch(fn: _C, /) -> _C: ...
@overload
def catch(*, timeout: float | None = None, retries: int = 0) -> Callable[[_C], _C]: ...
def catch(fn: Any = None, /, *, timeout: float | None = None, retries: int = 0) -> Any:
    """Mark a catch hook `(error, req, res, lctx, gctx)`; bare or called."""
    return _hook("catch", fn, timeout, retries)


def _hook(kind: str, fn: Any, timeout: float | None, retries: int) -> Any:
    meta = {"kind": kind, "timeout": timeout, "retries": retries}
    if fn is not None:
        _attach(fn, meta)
        return fn

    def decorate(f: Any) -> Any:
        _attach(f, meta)
        return f

    return decorate


def module(
    id: str,
    *,
    capabilities: Sequence[str] = (),
    egress: Sequence[str] = (),
    description: str | None = None,
) -> Callable[[_T], _T]:
    """Declare a class as module `id`; its public methods are the module's API (`gctx.modules[id]`)."""
    meta = {"kind": "module", "id": id, "capabilities": tuple(capabilities), "egress": tuple(egress)}
    if description is not None:
        meta["description"] = description

    def decorate(cls: _T) -> _T:
        _attach(cls, meta)
        return cls

    return decorate
