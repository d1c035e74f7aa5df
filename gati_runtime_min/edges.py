"""The edges of `GatiApp`: lifespan, the `/_gati/` endpoints, unmatched routes, error answers, the audit line.

`GatiApp` (in `app.py`) keeps the request path; what is not on it lives here, as the base class
`AppEdges`, which reads the state `GatiApp.__init__` sets up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any, Final

import orjson

from gati_runtime_min.context import LocalContext
from gati_runtime_min.docs_page import DocsEndpoints
from gati_runtime_min.errors import GatiError, HTTPError, envelope
from gati_runtime_min.loader import Build
from gati_runtime_min.routing import Match
from gati_runtime_min.state import StateBackend, StateError
from gati_runtime_min.telemetry import Telemetry
from gati_runtime_min.versions import UsageWindow, VersionResolver, temperature

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

if TYPE_CHECKING:
    from gati_runtime_min.playground import Playground

AUDIT: Final = logging.getLogger("gati.audit")
_LOG: Final = logging.getLogger("gati.runtime")
JSON_HEADER: Final = (b"content-type", b"application/json")
NO_BODY_STATUS: Final = frozenset({204, 304})


class AppEdges:
    """Everything of the app off the request path. State comes from `GatiApp.__init__`."""

    build: Build
    docs: DocsEndpoints | None
    instances: dict[str, Any]
    versions: VersionResolver
    state: StateBackend
    window: UsageWindow
    ready: bool
    wait_for_state: bool
    telemetry: Telemetry | None
    playground: Playground | None
    _owns_telemetry: bool
    _started: bool
    _start_lock: asyncio.Lock
    _hangup: asyncio.AbstractEventLoop | None  # where SIGHUP reloads the process modules
    _reloads: set[asyncio.Task[None]]  # SIGHUP reloads under way

    async def _other(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1000})

    # lifespan
    async def startup(self) -> None:
        """Connect the state backend (a `StateError` if it is not there, unless `wait_for_state`:
        then the app starts not ready until it is), enter the modules that are async context
        managers; then the app is ready."""
        async with self._start_lock:
            if self._started:
                return
            await self.state.start(wait=self.wait_for_state)
            if self.versions.known:  # the start of the first `/_gati/versions` window
                try:
                    await self._version_requests()
                except Exception as exc:  # only the first window gets longer; serving goes on
                    _LOG.warning("cannot read the usage counters at start-up: %s", exc)
            for module_id, inst in self.instances.items():
                enter = getattr(inst, "__aenter__", None)
                if enter is not None:
                    _LOG.info("starting module %s", module_id)
                    await enter()
            self._hangup = self._reload_on_hangup()
            self._started = True
            self.ready = True

    def _reload_on_hangup(self) -> asyncio.AbstractEventLoop | None:
        """In a server's main thread: SIGHUP reloads every out-of-process module (fresh processes;
        the calls in flight finish on the old ones; handlers are not restarted). The loop it is
        installed on, or None (no process module, another thread, no signals on the platform)."""
        modules = {m: inst for m, inst in self.instances.items() if hasattr(inst, "reload")}
        if not modules or threading.current_thread() is not threading.main_thread():
            return None

        async def reload(module_id: str, inst: Any) -> None:
            try:
                await inst.reload()
            except Exception as exc:  # the old processes keep serving
                _LOG.warning("SIGHUP: module %r not reloaded: %s", module_id, exc)
            else:
                _LOG.info("SIGHUP: module %r reloaded", module_id)

        def hangup() -> None:
            for module_id, inst in modules.items():
                task = asyncio.ensure_future(reload(module_id, inst))
                self._reloads.add(task)
                task.add_done_callback(self._reloads.discard)

        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGHUP, hangup)
        except (NotImplementedError, RuntimeError, ValueError, AttributeError):
            return None
        return loop

    async def shutdown(self) -> None:
        self.ready = False
        if not self._started:
            return
        if self._hangup is not None:
            with contextlib.suppress(Exception):
                self._hangup.remove_signal_handler(signal.SIGHUP)
            self._hangup = None
        for inst in reversed(list(self.instances.values())):
            leave = getattr(inst, "__aexit__", None)
            if leave is not None:
                await leave(None, None, None)
        await self.state.close()
        if self.telemetry is not None:  # what the exporters still hold
            if self._owns_telemetry:
                self.telemetry.shutdown()
            else:
                self.telemetry.flush()
        if self.playground is not None:  # the trace file's last batch
            self.playground.close()
        self._started = False

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except StateError as exc:  # a clear message is enough: no traceback
                    _LOG.error("start-up failed: %s", exc)
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
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

    async def _serve_docs(self, scope: Scope, path: str, rid: str, send: Send, t0: float) -> None:
        """`/openapi.json`, `/docs` and its assets (`docs_page.DocsEndpoints`)."""
        assert self.docs is not None
        head = scope["method"] == "HEAD"
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        try:
            status, body, extra = await self.docs.answer(path, headers, scope.get("query_string", b""), self.versions)
        except HTTPError as exc:
            await self._error(send, exc, path, rid, head)
            self._audit(rid, None, scope["method"], path, exc.status, t0, None)
            return
        await _send(send, status, [*extra, (b"x-request-id", rid.encode())], body, head)
        self._audit(rid, None, scope["method"], path, status, t0, None)

    async def _internal(self, path: str, rid: str, send: Send) -> None:
        if path == "/_gati/health":
            body: dict[str, Any] = {"status": "ok", "app": self.build.app, "manifestHash": self.build.manifest_hash}
            await _send(send, 200, [JSON_HEADER, (b"x-request-id", rid.encode())], orjson.dumps(body), False)
        elif path == "/_gati/ready" and self.ready and await self.state.check():
            ready: dict[str, Any] = {
                "status": "ready",
                "handlers": len(self.build.routes),
                "modules": sorted(self.instances),
                # out-of-process modules: processes up, restarts, last exit code, network isolation
                "processes": {
                    module_id: _health(inst)
                    for module_id, inst in sorted(self.instances.items())
                    if hasattr(inst, "health")
                },
                "state": self.state.kind,
            }
            await _send(send, 200, [JSON_HEADER, (b"x-request-id", rid.encode())], orjson.dumps(ready), False)
        elif path == "/_gati/ready":
            message = None if self.state.healthy else f"the {self.state.kind} state store is unavailable"
            await self._error(send, GatiError("GATI503", message), path, rid, False)
        elif path == "/_gati/usage":
            await self._usage_answer(path, rid, send)
        elif path == "/_gati/versions":
            await self._versions_answer(path, rid, send)
        else:
            await self._error(send, GatiError("GATI520", f"no route for {path}"), path, rid, False)

    async def _usage_answer(self, path: str, rid: str, send: Send) -> None:
        """Requests per handler and version, and per version requests, 5xx answers and the last
        request (what the operator reads): across workers and replicas with a shared backend."""
        try:
            usage = await self.state.usage()
            versions = await self.state.versions(usage)
        except Exception as exc:
            await self._error(send, GatiError("GATI506", f"usage counters unavailable: {exc}"), path, rid, False)
            return
        body = {"state": self.state.kind, "shared": self.state.shared, "usage": usage, "versions": versions}
        await _send(send, 200, [JSON_HEADER, (b"x-request-id", rid.encode())], orjson.dumps(body), False)

    async def _version_requests(self) -> tuple[dict[str, dict[str, Any]], dict[str, int], float]:
        """Per version the `/_gati/usage` row, the requests in the last window, and the window."""
        per_version = await self.state.versions(await self.state.usage())
        totals = {v: int(row.get("requests", 0)) for v, row in per_version.items()}
        recent, seconds = self.window.observe(time.monotonic(), totals)
        return per_version, recent, seconds

    async def _versions_answer(self, path: str, rid: str, send: Send) -> None:
        """Each recorded version with its status, successor, sunset, requests in the last window
        and temperature (`settings.timescape.hot` / `warm`, requests per hour)."""
        try:
            per_version, recent, seconds = await self._version_requests()
        except Exception as exc:
            await self._error(send, GatiError("GATI506", f"usage counters unavailable: {exc}"), path, rid, False)
            return
        limits = self.build.settings.get("timescape") or {}
        hot, warm = float(limits.get("hot", 60.0)), float(limits.get("warm", 1.0))
        versions = []
        for entry in self.versions.describe():
            tsv = entry["tsv"]
            row = per_version.get(tsv) or {}
            n = recent.get(tsv, 0)
            versions.append(
                {
                    **entry,
                    "requests": n,
                    "requestsTotal": int(row.get("requests", 0)),
                    "errors": int(row.get("errors", 0)),
                    "lastSeen": row.get("lastSeen"),
                    "temperature": temperature(n, seconds, hot, warm),
                }
            )
        body = {
            "current": self.versions.current,
            "window": round(seconds, 3),
            "thresholds": {"hot": hot, "warm": warm},
            "versions": versions,
        }
        await _send(send, 200, [JSON_HEADER, (b"x-request-id", rid.encode())], orjson.dumps(body), False)

    async def _error(
        self,
        send: Send,
        exc: HTTPError,
        path: str,
        rid: str,
        head: bool,
        extra: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        headers = [JSON_HEADER, (b"x-request-id", rid.encode())]
        headers.extend((k.encode("latin-1"), v.encode("latin-1")) for k, v in exc.headers.items())
        if extra:  # an error answer to a deprecated version warns like a success does
            headers.extend(extra)
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
        if not AUDIT.isEnabledFor(logging.INFO):
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
        # `default=str`: a value orjson cannot write (a `Secret` a handler logged) as its `str`, "***"
        AUDIT.info(orjson.dumps(line, default=str).decode())


def answer_headers(
    body: bytes | None, status: int, rid: str, extra: dict[str, str] | None
) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The body to send and the header list, in general: no body for 204/304, the handler's headers."""
    if body is None or status in NO_BODY_STATUS:
        out = [(b"x-request-id", rid.encode())]
        body = b""
    else:
        out = [JSON_HEADER, (b"x-request-id", rid.encode())]
    if extra:
        out.extend([(k.encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()])
    out.append((b"content-length", str(len(body)).encode()))
    return body, out


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes | None, head: bool) -> None:
    if body is None or status in NO_BODY_STATUS:
        body = b""
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


def _health(module: Any) -> dict[str, Any]:
    h = module.health()
    return {
        "ready": h.ready,
        "processes": h.processes,
        "readyProcesses": h.ready_processes,
        "restarts": h.restarts,
        "lastExitCode": h.last_exit_code,
        "isolated": h.isolated,
        "pids": list(h.pids),
    }
