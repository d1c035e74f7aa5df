"""Test helpers: the whole app in-process (`AppClient`) and one handler alone (`run_handler`).

```python
async with AppClient(".gati") as client:        # lifespan runs; no network
    r = await client.get("/users/1")

result = await run_handler(create_user, body={"name": "Ada", "role": "reader"},
                           modules={"db": MockModule(insert={"id": "1"})})
assert result.status == 201 and result.modules["db"].calls[0].method == "insert"
```
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from gati_runtime_min.app import GatiApp
from gati_runtime_min.context import GlobalContext, LocalContext, RequestMeta
from gati_runtime_min.errors import HTTPError
from gati_runtime_min.ids import RequestIds
from gati_runtime_min.lifecycle import invoke
from gati_runtime_min.messages import Principal, Request, Response
from gati_runtime_min.middleware import build_asgi
from gati_runtime_min.secrets import MemoryProvider, Secrets, SecretStore

__all__ = ["AppClient", "Call", "HandlerResult", "MockModule", "run_handler", "run_handler_sync"]


class AppClient(httpx.AsyncClient):
    """An `httpx.AsyncClient` bound to a `GatiApp` in-process; as a context manager it runs the lifespan."""

    def __init__(self, app: GatiApp | str | Path, *, base_url: str = "http://testserver", **kwargs: Any) -> None:
        self.app = app if isinstance(app, GatiApp) else GatiApp(app)
        # the app as served: wrapped in the middleware of its build settings (`cors`, `middleware`)
        transport = httpx.ASGITransport(app=build_asgi(self.app), client=("127.0.0.1", 50000))
        super().__init__(transport=transport, base_url=base_url, **kwargs)

    async def __aenter__(self) -> AppClient:
        await super().__aenter__()
        await self.app.startup()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        await self.app.shutdown()
        await super().__aexit__(exc_type, exc, tb)


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]


class MockModule:
    """A stand-in for a module that records every call.

    Each keyword is a method: a value to return, or a callable computing it from the arguments.
    Methods are async unless named in `sync`. Calling a method that was not given raises
    `AttributeError`, as the real module would for a typo.
    """

    def __init__(self, *, sync: tuple[str, ...] = (), **methods: Any) -> None:
        self.calls: list[Call] = []
        self._methods = methods
        self._sync = frozenset(sync)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in self._methods:
            raise AttributeError(name)
        spec = self._methods[name]

        def compute(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(Call(name, args, kwargs))
            return spec(*args, **kwargs) if callable(spec) else spec

        if name in self._sync:
            return compute

        async def acall(*args: Any, **kwargs: Any) -> Any:
            result = compute(*args, **kwargs)
            return await result if inspect.isawaitable(result) else result

        return acall

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]


@dataclass
class HandlerResult:
    """What a handler did: status, headers and body it set (or the error it raised), and its contexts."""

    status: int
    body: Any
    headers: Mapping[str, str]
    error: HTTPError | None
    lctx: LocalContext
    gctx: GlobalContext
    modules: Mapping[str, Any] = field(default_factory=dict)


async def run_handler(
    fn: Callable[..., Any],
    *,
    body: Any = None,
    query: Any = None,
    params: Any = None,
    headers: Mapping[str, str] | None = None,
    method: str = "GET",
    path: str = "/",
    user: Principal | None = None,
    modules: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    status: int = 200,
    state: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
) -> HandlerResult:
    """Run one handler (sync or async) with a fresh `LocalContext` and a `GlobalContext` of `modules`.

    No hooks, decoding or encoding run: `body`, `query` and `params` reach the handler as given. An
    `HTTPError` becomes `result.error` (and `result.status`); any other exception propagates.
    `secrets` are what `gctx.secrets.get` finds (the handler still reads only those its
    `secrets=` declares, GATI545 otherwise); without them it reads the environment.
    """
    rid = RequestIds().new()
    lctx = LocalContext(RequestMeta(rid, path, None, {}))
    for key, value in (state or {}).items():
        lctx.set(key, value)
    gctx = GlobalContext(config=config, modules=dict(modules or {}), secrets=_secrets_of(fn, secrets))
    req: Request[Any, Any, Any] = Request(
        body=body,
        query=query if query is not None else {},
        params=params if params is not None else {},
        headers={k.lower(): v for k, v in (headers or {}).items()},
        method=method.upper(),
        path=path,
        request_id=rid,
        client="127.0.0.1",
        user=user,
    )
    res: Response[Any] = Response(status)
    error: HTTPError | None = None
    try:
        await invoke(fn, (req, res, lctx, gctx), inspect.iscoroutinefunction(fn))
    except HTTPError as exc:
        error = exc
    return HandlerResult(
        status=error.status if error else res.status_code,
        body=None if error else res.body,
        headers=dict(res.headers),
        error=error,
        lctx=lctx,
        gctx=gctx,
        modules=dict(modules or {}),
    )


def _secrets_of(fn: Callable[..., Any], values: Mapping[str, str] | None) -> Secrets:
    store = SecretStore([MemoryProvider(values)]) if values is not None else SecretStore.from_settings(None)
    meta = getattr(fn, "__gati__", None)
    if isinstance(meta, dict) and meta.get("kind") == "handler":
        return Secrets(store).restrict(frozenset(meta.get("secrets") or ()), meta.get("id") or fn.__name__)
    return Secrets(store)


def run_handler_sync(fn: Callable[..., Any], **kwargs: Any) -> HandlerResult:
    """`run_handler` from synchronous code (a fresh event loop)."""
    return asyncio.run(run_handler(fn, **kwargs))
