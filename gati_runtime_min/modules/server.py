"""Write an out-of-process module in Python: `serve(instance)` answers JSON-RPC calls on stdio.

    class Pricing:
        async def quote(self, sku: str, qty: int) -> dict[str, object]: ...

    if __name__ == "__main__":
        serve(Pricing())

Every public method of `instance` is callable; async methods run concurrently, sync ones run in
the loop (pass `threads=True` to run them in a thread pool when they block). A method that raises
answers a JSON-RPC error with the exception's message (the traceback goes to stderr, never to the
caller); raise `ModuleError` to choose the code and data. The process exits when its stdin closes.
Anything the module prints goes to stderr: stdout carries the protocol only.

This file imports nothing from Gati but the protocol constants, so a module needs only the runtime
package (or a copy of this file and `protocol.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import errno
import inspect
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final

try:
    import orjson

    def _dumps(obj: Any) -> bytes:
        return orjson.dumps(obj)

    _loads: Callable[[bytes], Any] = orjson.loads
except ImportError:  # pragma: no cover - the runtime depends on orjson; a copied helper may not have it
    import json

    def _dumps(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()

    _loads = json.loads

from gati_runtime_min.modules import protocol

_NO_NETWORK: Final = frozenset({errno.ENETUNREACH, errno.EACCES, errno.EPERM})


class ModuleError(Exception):
    """Raise from a method to answer a JSON-RPC error with this `code`, `message` and optional `data`."""

    def __init__(self, message: str, code: int = protocol.APPLICATION_ERROR, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


def _methods(instance: object) -> dict[str, Callable[..., Any]]:
    found: dict[str, Callable[..., Any]] = {}
    for name in dir(instance):
        if name.startswith("_"):
            continue
        attr = getattr(instance, name)
        if callable(attr):
            found[name] = attr
    return found


_NO_META: Final[Mapping[str, str]] = MappingProxyType({})
_META: Final[contextvars.ContextVar[Mapping[str, str]]] = contextvars.ContextVar(
    "gati_module_call_meta", default=_NO_META
)


def call_meta() -> Mapping[str, str]:
    """The `meta` member of the request being served (such as the caller's W3C `traceparent`), or {}.

    Call it from a module method to continue the caller's trace."""
    return _META.get()


class _Server:
    def __init__(self, instance: object, threads: bool) -> None:
        self.methods = _methods(instance)
        self.is_async = {n: inspect.iscoroutinefunction(f) for n, f in self.methods.items()}
        self.threads = threads
        self.tasks: dict[Any, asyncio.Task[None]] = {}
        self.isolated = os.environ.get(protocol.ENV_ISOLATED) == "1"
        self.out: asyncio.WriteTransport | None = None

    def send(self, msg: dict[str, Any]) -> None:
        assert self.out is not None
        self.out.write(_dumps(msg) + b"\n")

    def error(self, rid: Any, code: int, message: str, data: Any = None) -> None:
        err: dict[str, Any] = {"code": code, "message": message}
        if data is not None:
            err["data"] = data
        self.send({"jsonrpc": "2.0", "id": rid, "error": err})

    def dispatch(self, line: bytes) -> None:
        try:
            msg = _loads(line)
        except ValueError:
            self.error(None, protocol.PARSE_ERROR, "parse error")
            return
        if not isinstance(msg, dict) or not isinstance(msg.get("method"), str):
            self.error(msg.get("id") if isinstance(msg, dict) else None, protocol.INVALID_REQUEST, "invalid request")
            return
        method: str = msg["method"]
        rid = msg.get("id")
        if rid is None:  # a notification
            if method == protocol.CANCEL:
                task = self.tasks.get((msg.get("params") or {}).get("id"))
                if task is not None:
                    task.cancel()
            elif method == protocol.SHUTDOWN:
                os._exit(0)
            return
        fn = self.methods.get(method)
        if fn is None:
            self.error(rid, protocol.METHOD_NOT_FOUND, f"method not found: {method}")
            return
        params = msg.get("params")
        if params is None:
            params = {}
        if not isinstance(params, dict | list):
            self.error(rid, protocol.INVALID_PARAMS, "params must be an object or an array")
            return
        meta = msg.get("meta")
        token = _META.set(meta if isinstance(meta, dict) else _NO_META)  # what `call_meta()` returns during the call
        try:
            if not self.is_async[method] and not self.threads:
                self.finish(rid, method, fn, params)  # a sync method answers in this loop turn
                return
            # the task (and `to_thread`) copy the context, so the call sees its own meta
            self.tasks[rid] = asyncio.ensure_future(self.run(rid, method, fn, params))
        finally:
            _META.reset(token)

    def call(self, fn: Callable[..., Any], params: dict[str, Any] | list[Any]) -> Any:
        return fn(**params) if isinstance(params, dict) else fn(*params)

    def finish(self, rid: Any, method: str, fn: Callable[..., Any], params: dict[str, Any] | list[Any]) -> None:
        try:
            result = self.call(fn, params)
        except Exception as exc:
            self.fail(rid, method, fn, params, exc)
            return
        self.answer(rid, method, result)

    def answer(self, rid: Any, method: str, result: Any) -> None:
        try:
            line = _dumps({"jsonrpc": "2.0", "id": rid, "result": result})
        except (TypeError, ValueError) as exc:
            self.error(rid, protocol.INTERNAL_ERROR, f"the result of {method} has no JSON form: {exc}")
            return
        assert self.out is not None
        self.out.write(line + b"\n")

    async def run(self, rid: Any, method: str, fn: Callable[..., Any], params: dict[str, Any] | list[Any]) -> None:
        try:
            if self.is_async[method]:
                result = await self.call(fn, params)
            else:
                result = await asyncio.to_thread(self.call, fn, params)
        except asyncio.CancelledError:
            return  # the caller stopped waiting: no answer
        except Exception as exc:
            self.fail(rid, method, fn, params, exc)
            return
        finally:
            self.tasks.pop(rid, None)
        self.answer(rid, method, result)

    def fail(
        self, rid: Any, method: str, fn: Callable[..., Any], params: dict[str, Any] | list[Any], exc: Exception
    ) -> None:
        if isinstance(exc, ModuleError):
            self.error(rid, exc.code, exc.message, exc.data)
            return
        if isinstance(exc, TypeError) and not _binds(fn, params):
            self.error(rid, protocol.INVALID_PARAMS, f"invalid params for {method}: {exc}")
            return
        if self.isolated and isinstance(exc, OSError) and exc.errno in _NO_NETWORK:
            detail = f"{method} tried to open a network connection, but the module declares no egress ({exc})"
            self.error(rid, protocol.CAPABILITY_REFUSED, detail, {"capability": "egress"})
            return
        traceback.print_exception(exc, file=sys.stderr)
        self.error(rid, protocol.APPLICATION_ERROR, str(exc) or type(exc).__name__, {"type": type(exc).__name__})


def _binds(fn: Callable[..., Any], params: dict[str, Any] | list[Any]) -> bool:
    try:
        sig = inspect.signature(fn)
        if isinstance(params, dict):
            sig.bind(**params)
        else:
            sig.bind(*params)
    except (TypeError, ValueError):
        return False
    return True


class _Lines(asyncio.Protocol):
    """Splits stdin into lines and hands each to the server; the end of input ends the process."""

    def __init__(self, server: _Server, done: asyncio.Future[None]) -> None:
        self.server = server
        self.done = done
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data
        *lines, self.buffer = buffer.split(b"\n")
        for line in lines:
            if line.strip():
                self.server.dispatch(line)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def _main(instance: object, threads: bool) -> None:
    loop = asyncio.get_running_loop()
    # the protocol owns the original stdout; anything printed (fd 1 included) goes to stderr
    out_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    server = _Server(instance, threads)
    out_transport, _ = await loop.connect_write_pipe(asyncio.Protocol, os.fdopen(out_fd, "wb", buffering=0))
    server.out = out_transport
    done: asyncio.Future[None] = loop.create_future()
    await loop.connect_read_pipe(lambda: _Lines(server, done), sys.stdin.buffer)
    server.send(
        {"jsonrpc": "2.0", "method": protocol.READY, "params": {"methods": sorted(server.methods), "pid": os.getpid()}}
    )
    await done


def serve(instance: object, *, threads: bool = False) -> None:
    """Serve `instance`'s public methods over stdio until stdin closes (then exit 0)."""
    try:
        import uvloop  # what uvicorn runs on too, when installed: a shorter round trip

        run: Callable[[Any], Any] = uvloop.run
    except ImportError:  # pragma: no cover - uvicorn[standard] installs it on Linux
        run = asyncio.run
    with contextlib.suppress(KeyboardInterrupt):
        run(_main(instance, threads))
    sys.stderr.flush()
    os._exit(0)  # do not wait for calls still running: the runtime has stopped waiting for them
