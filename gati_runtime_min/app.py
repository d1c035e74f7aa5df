"""`GatiApp`: the ASGI 3 application built from a `.gati/` folder.

Per request: request id → match → authenticate, roles, rate limit → read body → contexts → the
lifecycle (hooks, decoding, handler, encoding) → send → one audit line.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from time import perf_counter
from types import MappingProxyType
from typing import Any, Final

import orjson

from gati_runtime_min.bus import Bus
from gati_runtime_min.context import GlobalContext, LocalContext, Modules, RequestMeta
from gati_runtime_min.errors import GatiError, HTTPError, ManifestError, envelope
from gati_runtime_min.ids import RequestIds
from gati_runtime_min.ingress import ClientDisconnected, Headers, parse_query, raw_headers, read_json_body
from gati_runtime_min.lifecycle import Lifecycle, RoutePlan
from gati_runtime_min.loader import Build, RouteSpec, load_build
from gati_runtime_min.messages import Request, Response
from gati_runtime_min.policies import Authenticator, RateLimiter, check_roles
from gati_runtime_min.routing import Match, Router
from gati_runtime_min.versions import VersionResolver

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_AUDIT: Final = logging.getLogger("gati.audit")
_LOG: Final = logging.getLogger("gati.runtime")
_JSON: Final = (b"content-type", b"application/json")
_NO_BODY_STATUS: Final = frozenset({204, 304})
_INFO: Final = logging.INFO
_request: Final = Request._new
_tuple_new: Final[Any] = tuple.__new__  # RequestMeta without its Python-level __new__
_GET_FLAGS: Final = MappingProxyType({"head": False})
_HEAD_FLAGS: Final = MappingProxyType({"head": True})


class GatiApp:
    """Serve the build in `build_dir` (the `.gati/` folder). Raises `ManifestError` if it is unusable.

    Parameters:
        build_dir: the build folder written by `gatic build`.
        max_body_bytes: overrides `server.maxBodyBytes` of the build settings.
        request_timeout: overrides `server.requestTimeout` for handlers without their own timeout.
    """

    def __init__(
        self, build_dir: str | Path, *, max_body_bytes: int | None = None, request_timeout: float | None = None
    ) -> None:
        self.build: Build = load_build(build_dir)
        server = self.build.settings.get("server") or {}
        self.max_body_bytes = int(max_body_bytes or server.get("maxBodyBytes") or 1_048_576)
        routes = self.build.routes
        if request_timeout is not None:
            routes = tuple(_with_timeout(r, request_timeout) for r in routes)
        self.auth = Authenticator(self.build.settings.get("auth") or {}, self.build.project_root)
        self.limiter = RateLimiter()
        self.ids = RequestIds()
        self.versions = VersionResolver(self.build.manifest.get("versions") or ())
        self.lifecycle = Lifecycle(self.build.global_hooks, self.build.validators.DecodeError)
        self.instances: dict[str, Any] = {}
        for spec in self.build.modules:
            try:
                self.instances[spec.module_id] = spec.cls()
            except Exception as exc:
                raise ManifestError(
                    f"modules/{spec.module_id}.json", f"cannot instantiate {spec.cls.__name__}: {exc}"
                ) from exc
        self.modules = Modules(self.instances)
        self.gctx = GlobalContext(
            config=self.build.settings.get("config") or {},
            modules=self.modules,
            bus=Bus(),
            app=self.build.app,
            version=self.versions.current,
            versions=self.versions.known,
            manifest_hash=self.build.manifest_hash,
        )
        self._gctx_by_route = {
            r.handler_id: self.gctx.with_modules(self.modules.restrict(r.modules, r.handler_id)) for r in routes
        }
        # the router's targets are per-route plans: hooks, policies and decoders decided once
        self.plans = {r.handler_id: self.lifecycle.plan(r, self._gctx_by_route[r.handler_id]) for r in routes}
        self.router: Router[RoutePlan] = Router((r.method, r.path, self.plans[r.handler_id]) for r in routes)
        self._new_id = self.ids.new
        self._resolve = self.router.resolve
        self._versioned = bool(self.versions.known)
        self.ready = False
        self._started = False
        self._start_lock = asyncio.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1000})

    # lifespan
    async def startup(self) -> None:
        """Enter the modules that are async context managers; then the app is ready."""
        async with self._start_lock:
            if self._started:
                return
            for module_id, inst in self.instances.items():
                enter = getattr(inst, "__aenter__", None)
                if enter is not None:
                    _LOG.info("starting module %s", module_id)
                    await enter()
            self._started = True
            self.ready = True

    async def shutdown(self) -> None:
        self.ready = False
        if not self._started:
            return
        for inst in reversed(list(self.instances.values())):
            leave = getattr(inst, "__aexit__", None)
            if leave is not None:
                await leave(None, None, None)
        self._started = False

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    _LOG.exception("start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": f"{type(exc).__name__}: {exc}"})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    await self.shutdown()
                except Exception as exc:
                    await send({"type": "lifespan.shutdown.failed", "message": f"{type(exc).__name__}: {exc}"})
                    return
                await send({"type": "lifespan.shutdown.complete"})
                return

    # requests
    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        t0 = perf_counter()
        rid = self._new_id()
        method: str = scope["method"]
        path: str = scope["path"]
        if not self._started:
            await self.startup()
        if path.startswith("/_gati/"):
            await self._internal(path, rid, send)
            return
        hit = self._resolve(method, path)
        head = False
        if hit is None:
            if method == "HEAD":
                hit = self._resolve("GET", path)
                head = True
            if hit is None:
                found = self.router.match(method, path)
                await self._unmatched(send, found.match, found.allow, method, path, rid, t0)
                return
        plan, params = hit
        hdrs = raw_headers(scope["headers"])
        headers = Headers(hdrs)
        client_addr = scope.get("client")
        client = client_addr[0] if client_addr else None
        qs: bytes = scope.get("query_string", b"")
        lctx: LocalContext | None = None
        try:
            user = self.auth.authenticate(headers) if self.auth.enabled else None
            if plan.roles:
                check_roles(plan.roles, user)
            if plan.rate_limit is not None:
                who = (user.subject if user is not None else None) or client or "anonymous"
                self.limiter.hit(who, plan.handler_id, *plan.rate_limit)
            if self._versioned or b"x-gati-version" in hdrs or (qs and b"version=" in qs):
                version = self.versions.resolve(headers, qs)
            else:
                version = None  # no versions recorded and none asked for: the current one
            raw_body = await read_json_body(hdrs, receive, self.max_body_bytes) if plan.has_request else None
            raw_query = parse_query(qs) if qs else {}
            req = _request(raw_body, raw_query, params, headers, method, path, rid, client, user, raw_query)
            res: Response[Any] = Response(plan.status)
            lctx = LocalContext(_tuple_new(RequestMeta, (rid, path, version, _HEAD_FLAGS if head else _GET_FLAGS)), t0)
            body = await self.lifecycle.run(plan, req, res, lctx, raw_body)
        except ClientDisconnected:
            if _AUDIT.isEnabledFor(_INFO):
                self._audit(rid, plan.handler_id, method, path, 499, t0, lctx)
            return
        except HTTPError as exc:
            await self._error(send, exc, path, rid, head)
            if _AUDIT.isEnabledFor(_INFO):
                self._audit(rid, plan.handler_id, method, path, exc.status, t0, lctx)
            return
        status = res._status
        if body is None or status in _NO_BODY_STATUS:
            out = [(b"x-request-id", rid.encode())]
            body = b""
        else:
            out = [_JSON, (b"x-request-id", rid.encode())]
        if res._headers:
            out.extend([(k.encode("latin-1"), v.encode("latin-1")) for k, v in res._headers.items()])
        out.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": b"" if head else body})
        if _AUDIT.isEnabledFor(_INFO):
            self._audit(rid, plan.handler_id, method, path, status, t0, lctx)

    async def _unmatched(
        self, send: Send, match: Match, allow: tuple[str, ...], method: str, path: str, rid: str, t0: float
    ) -> None:
        """404, 405 with `Allow`, or 204 with `Allow` for OPTIONS on a known path."""
        if match is Match.PARTIAL and method == "OPTIONS":
            allow_header = [(b"allow", ", ".join(allow).encode()), (b"x-request-id", rid.encode())]
            await _send(send, 204, allow_header, None, False)
        elif match is Match.PARTIAL:
            err = GatiError("GATI521", f"{method} is not allowed on {path}", headers={"allow": ", ".join(allow)})
            await self._error(send, err, path, rid, head=False)
        else:
            await self._error(send, GatiError("GATI520", f"no route for {path}"), path, rid, head=method == "HEAD")
        self._audit(rid, None, method, path, 405 if match is Match.PARTIAL else 404, t0, None)

    async def _internal(self, path: str, rid: str, send: Send) -> None:
        if path == "/_gati/health":
            body: dict[str, Any] = {"status": "ok", "app": self.build.app, "manifestHash": self.build.manifest_hash}
            await _send(send, 200, [_JSON, (b"x-request-id", rid.encode())], orjson.dumps(body), False)
        elif path == "/_gati/ready" and self.ready:
            ready: dict[str, Any] = {
                "status": "ready",
                "handlers": len(self.build.routes),
                "modules": sorted(self.instances),
            }
            await _send(send, 200, [_JSON, (b"x-request-id", rid.encode())], orjson.dumps(ready), False)
        elif path == "/_gati/ready":
            await self._error(send, GatiError("GATI503"), path, rid, False)
        else:
            await self._error(send, GatiError("GATI520", f"no route for {path}"), path, rid, False)

    async def _error(self, send: Send, exc: HTTPError, path: str, rid: str, head: bool) -> None:
        headers = [_JSON, (b"x-request-id", rid.encode())]
        headers.extend((k.encode("latin-1"), v.encode("latin-1")) for k, v in exc.headers.items())
        await _send(send, exc.status, headers, envelope(exc, path, rid), head)

    def _audit(
        self,
        rid: str,
        handler_id: str | None,
        method: str,
        path: str,
        status: int,
        t0: float,
        lctx: LocalContext | None,
    ) -> None:
        if not _AUDIT.isEnabledFor(logging.INFO):
            return
        line = {
            "requestId": rid,
            "handlerId": handler_id,
            "method": method,
            "path": path,
            "status": status,
            "durationMs": round((time.perf_counter() - t0) * 1000, 3),
            "version": lctx.meta.version if lctx else self.versions.current,
            "manifestHash": self.build.manifest_hash,
            "events": lctx.events_json() if lctx else [],
        }
        _AUDIT.info(orjson.dumps(line).decode())


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes | None, head: bool) -> None:
    if body is None or status in _NO_BODY_STATUS:
        body = b""
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


def _with_timeout(route: RouteSpec, timeout: float) -> RouteSpec:
    from dataclasses import replace

    return replace(route, timeout=route.manifest.get("policies", {}).get("timeout") or timeout)
