"""The authoring API: route, hook and module decorators.

The compiler reads these decorators from source; it never imports user code. At import time the
decorators only attach their arguments to the function (`__gati__`) and return it unchanged, so they
cost nothing. Their signatures make `mypy --strict` reject handlers and hooks with the wrong shape.
"""

from __future__ import annotations

import contextlib
import re
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
    return _mark(fn, {"kind": kind, "timeout": timeout, "retries": retries})


def _mark(fn: Any, meta: dict[str, Any]) -> Any:
    """Attach `meta` to `fn` (a bare decorator) or return a decorator that does (a called one)."""
    if fn is not None:
        _attach(fn, meta)
        return fn

    def decorate(f: Any) -> Any:
        _attach(f, meta)
        return f

    return decorate


_MODULE_ID = re.compile(r"[^\W\d][\w-]*(?:\.[^\W\d][\w-]*)*")
_M = TypeVar("_M", bound=Callable[..., Any])


def _strings(value: Sequence[str] | set[str] | frozenset[str], what: str) -> tuple[str, ...]:
    if isinstance(value, str) or not all(isinstance(v, str) and v.strip() for v in value):
        raise TypeError(f"`{what}` must be a list, tuple or set of non-empty strings, got {value!r}")
    return tuple(value)


def _policy(timeout: float | None, retries: int | None) -> None:
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0):
        raise ValueError(f"`timeout` must be a positive number of seconds, got {timeout!r}")
    if retries is not None and (isinstance(retries, bool) or not isinstance(retries, int) or retries < 0):
        raise ValueError(f"`retries` must be an integer of at least 0, got {retries!r}")


def module(
    id: str,
    *,
    capabilities: Sequence[str] | set[str] | frozenset[str] = (),
    egress: Sequence[str] | set[str] | frozenset[str] = (),
    description: str | None = None,
    command: Sequence[str] | None = None,
    pool: int | None = None,
    timeout: float | None = None,
    retries: int = 0,
) -> Callable[[_T], _T]:
    """Declare a class as module `id`; its public methods are the module's API (`gctx.modules[id]`).

    Parameters:
        id: the module id (positional or `id=`): letters, digits, `_`, `.`, `-`.
        capabilities: what the module may use; egress: the hosts (`host:port`) it may connect to.
        description: overrides the class docstring.
        command: argv of an out-of-process module (run with the project root as working
            directory); the class is then only the typed interface, its method bodies `...`.
        pool: how many processes of an out-of-process module run (default 1; needs `command`).
        timeout: default seconds per call; retries: default retries of idempotent methods.

    Raises:
        TypeError, ValueError: an option has the wrong type or value (the compiler reports the
            same mistakes as GATI113 / GATI112 at build time).
    """
    if not isinstance(id, str) or not _MODULE_ID.fullmatch(id):
        raise ValueError(f"module id {id!r} is not a dotted identifier")
    argv: tuple[str, ...] | None = None
    if command is not None:
        if isinstance(command, set | frozenset):
            raise TypeError("`command` is an argv: a list or tuple of strings, in order")
        argv = _strings(command, "command")
        if not argv:
            raise ValueError("`command` must name a program")
    if pool is not None:
        if isinstance(pool, bool) or not isinstance(pool, int) or pool < 1:
            raise ValueError(f"`pool` must be an integer of at least 1, got {pool!r}")
        if argv is None:
            raise ValueError("`pool` is the number of processes of an out-of-process module; it needs `command=`")
    if retries is None:
        raise ValueError("`retries` must be an integer of at least 0, got None")
    _policy(timeout, retries)
    meta: dict[str, Any] = {
        "kind": "module",
        "id": id,
        "capabilities": tuple(sorted(set(_strings(capabilities, "capabilities")))),
        "egress": tuple(sorted(set(_strings(egress, "egress")))),
        "runtime": "python" if argv is None else "process",
        "command": argv,
        "pool": 1 if pool is None else pool,
        "timeout": None if timeout is None else float(timeout),
        "retries": retries,
    }
    if description is not None:
        meta["description"] = description

    def decorate(cls: _T) -> _T:
        _attach(cls, meta)
        return cls

    return decorate


@overload
def method(fn: _M, /) -> _M: ...
@overload
def method(
    *, timeout: float | None = None, retries: int | None = None, idempotent: bool = False
) -> Callable[[_M], _M]: ...
def method(
    fn: Any = None, /, *, timeout: float | None = None, retries: int | None = None, idempotent: bool = False
) -> Any:
    """The call policy of one module method; bare (`@method`) or called (`@method(timeout=2)`).

    Parameters:
        timeout: seconds per call (default: the module's `timeout`).
        retries: retries after a failure (default: the module's `retries`); only an
            `idempotent` method is retried, with exponential backoff and jitter.
        idempotent: calling it twice has the effect of calling it once.
    """
    _policy(timeout, retries)
    meta = {
        "kind": "method",
        "timeout": None if timeout is None else float(timeout),
        "retries": retries,
        "idempotent": bool(idempotent),
    }
    return _mark(fn, meta)
