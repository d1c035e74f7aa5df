"""One module process: spawn it, multiplex JSON-RPC calls over its stdio by request id, stop it by PID.

The pipes are read by a `SubprocessProtocol` (no reader task): a response line resolves its
caller's future in the same loop turn the bytes arrive, and the per-call timeout is one timer
handle. Both keep the client's share of a round trip small (benchmarks/modules).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import signal
import time
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any, Final, cast

import orjson

from gati_runtime_min.errors import ModuleContractError, ModuleTimeout, ModuleUnavailable
from gati_runtime_min.modules import protocol
from gati_runtime_min.modules.sandbox import PARENT_DEATH_GUARD

_LOG: Final = logging.getLogger("gati.modules")
_dumps: Final = orjson.dumps
_loads: Final = orjson.loads


class _Expired(Exception):
    """Set on a call's future by its timer."""


class Worker(asyncio.SubprocessProtocol):
    """A running module process. `pending` maps request ids to the futures of calls waiting for an answer."""

    def __init__(self, module_id: str, argv: Sequence[str], cwd: str | None, env: Mapping[str, str]) -> None:
        self.module_id = module_id
        self.argv = list(argv)
        self.cwd = cwd
        self.env = dict(env)
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.ready = False
        self.closing = False
        self.pid = 0
        self.started_at = 0.0
        self.tail: deque[str] = deque(maxlen=20)  # last stderr lines, for start-up failure messages
        loop = asyncio.get_running_loop()
        self._loop = loop
        self.exited: asyncio.Future[int] = loop.create_future()  # the exit status, once it is known
        self._closed: asyncio.Future[None] = loop.create_future()  # every pipe closed too
        self._ready: asyncio.Future[None] = loop.create_future()
        self._ids = itertools.count(1)
        self._transport: asyncio.SubprocessTransport | None = None
        self._stdin: asyncio.WriteTransport | None = None
        self._out = b""
        self._err = b""
        self._writable: asyncio.Future[None] | None = None  # set while the stdin pipe is full
        self._down_reason = "its process exited"

    # ------------------------------------------------------------------ lifecycle
    async def spawn(self, timeout: float) -> None:
        """Start the process and wait for its `$/ready`; ModuleUnavailable if it exits or stays silent."""
        try:
            transport, _ = await self._loop.subprocess_exec(
                lambda: self,
                *self.argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=self.cwd,
                env=self.env,
                start_new_session=True,  # a terminal's Ctrl-C reaches the server, which stops its modules in order
                preexec_fn=PARENT_DEATH_GUARD,
            )
        except OSError as exc:
            self.exited.set_result(-1)
            raise ModuleUnavailable(self.module_id, f"cannot start {self.argv[0]!r}: {exc}") from None
        self._transport = transport
        self.pid = transport.get_pid()
        self.started_at = time.perf_counter()
        self._stdin = cast(asyncio.WriteTransport, transport.get_pipe_transport(0))  # uvloop's is not a subclass
        try:
            async with asyncio.timeout(timeout):
                await self._ready
        except asyncio.CancelledError:  # stopped while starting: leave nothing behind
            self.closing = True
            self._signal(signal.SIGKILL)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.exited), 2.0)
            transport.close()
            raise
        except TimeoutError:
            await self.stop(0.5)
            raise ModuleUnavailable(self.module_id, f"its process did not report ready within {timeout:g}s") from None
        except ModuleUnavailable:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.exited), 1.0)
            code = await self.stop(0.5)  # at once when it exited; else it closed stdout and lingers
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._closed), 0.5)  # the last stderr lines
            tail = " | ".join(self.tail)
            raise ModuleUnavailable(
                self.module_id,
                f"its process exited with status {code} before it was ready" + (f" (stderr: {tail})" if tail else ""),
            ) from None
        self.ready = True

    def _signal(self, sig: int) -> None:
        if self._transport is None or self.exited.done():
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)  # its own session: the group holds whatever it started
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, sig)

    async def stop(self, grace: float) -> int:
        """Close its input, SIGTERM, and SIGKILL after `grace` seconds; returns the exit status."""
        self.closing = True
        self.ready = False
        if self._transport is None:
            if not self.exited.done():
                self.exited.set_result(-1)
            return self.exited.result()
        if not self.exited.done():
            self.notify(protocol.SHUTDOWN, {})
            if self._stdin is not None:
                self._stdin.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.exited), grace / 2)
            if not self.exited.done():
                self._signal(signal.SIGTERM)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(self.exited), grace / 2)
            if not self.exited.done():
                self._signal(signal.SIGKILL)
        code = await asyncio.shield(self.exited)
        self._fail("module stopped")
        self._transport.close()
        return code

    # ------------------------------------------------------------------ calls
    async def call(
        self, method: str, params: dict[str, Any], timeout: float, meta: Mapping[str, str] | None
    ) -> dict[str, Any]:
        """Send one request and wait for its response object (`result` or `error`)."""
        if not self.ready:
            raise ModuleUnavailable(self.module_id, "its process is not running")
        rid = next(self._ids)
        fut: asyncio.Future[dict[str, Any]] = self._loop.create_future()
        request: dict[str, Any] = {"jsonrpc": "2.0", "id": rid, "method": method, "params": params}
        if meta:
            request["meta"] = meta
        stdin = self._stdin
        assert stdin is not None
        if self._writable is not None:
            await asyncio.shield(self._writable)  # the pipe is full: wait until the module reads
            if not self.ready:
                raise ModuleUnavailable(self.module_id, self._down_reason)
        try:
            line = _dumps(request)
        except TypeError as exc:  # e.g. an int beyond 64 bits: no JSON form orjson can write
            raise ModuleContractError(self.module_id, method, f"arguments have no JSON form: {exc}") from None
        self.pending[rid] = fut
        stdin.write(line + b"\n")
        timer = self._loop.call_later(timeout, self._expire, rid, fut)
        try:
            return await fut
        except _Expired:
            raise ModuleTimeout(self.module_id, method, timeout) from None
        except asyncio.CancelledError:
            self.cancel(rid)  # the caller gave up (its request's deadline): the module may stop working on it
            raise
        finally:
            timer.cancel()
            self.pending.pop(rid, None)

    def _expire(self, rid: int, fut: asyncio.Future[dict[str, Any]]) -> None:
        if not fut.done():
            fut.set_exception(_Expired())
            self.cancel(rid)

    def cancel(self, rid: int) -> None:
        """Tell the module the caller stopped waiting for `rid` (its late answer will be dropped)."""
        self.pending.pop(rid, None)
        self.notify(protocol.CANCEL, {"id": rid})

    def notify(self, method: str, params: dict[str, Any]) -> None:
        stdin = self._stdin
        if stdin is not None and not stdin.is_closing() and not self.exited.done():
            stdin.write(_dumps({"jsonrpc": "2.0", "method": method, "params": params}) + b"\n")

    # ------------------------------------------------------------------ SubprocessProtocol
    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if fd == 2:
            self._stderr_data(data)
            return
        if self._out:
            data = self._out + data
        start = 0
        find = data.find
        while (end := find(b"\n", start)) >= 0:
            self._line(data[start:end])
            start = end + 1
        self._out = data[start:]
        if len(self._out) > protocol.LINE_LIMIT:  # the stream cannot be resynchronised
            self._out = b""
            self._fail("its process wrote a frame longer than the limit")
            _LOG.error("module %r (pid %d) wrote a frame longer than the limit; killing it", self.module_id, self.pid)
            self._signal(signal.SIGKILL)

    def _line(self, line: bytes) -> None:
        try:
            msg = _loads(line)
            rid = msg.get("id")
        except (orjson.JSONDecodeError, AttributeError):
            if line.strip():
                _LOG.warning(
                    "module %r (pid %d) wrote a non-protocol line to stdout: %.200r", self.module_id, self.pid, line
                )
            return
        if rid is not None:
            fut = self.pending.pop(rid, None)
            if fut is not None and not fut.done():
                fut.set_result(msg)
            # else: a late answer to a call that timed out or was cancelled: dropped
        elif msg.get("method") == protocol.READY and not self._ready.done():
            self._ready.set_result(None)

    def _stderr_data(self, data: bytes) -> None:
        *lines, self._err = (self._err + data).split(b"\n")
        for raw in lines:
            self._stderr_line(raw)
        if len(self._err) > 64 * 1024:
            self._stderr_line(self._err)
            self._err = b""

    def _stderr_line(self, raw: bytes) -> None:
        text = raw.decode(errors="replace").rstrip()
        self.tail.append(text)
        _LOG.info("[%s %d] %s", self.module_id, self.pid, text)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd == 1:
            self._fail(self._down_reason)
        elif fd == 2 and self._err:
            self._stderr_line(self._err)
            self._err = b""

    def process_exited(self) -> None:
        assert self._transport is not None
        code = self._transport.get_returncode()
        if not self.exited.done():
            self.exited.set_result(code if code is not None else -1)
        if self._closed.done() or self.closing:
            self._fail(self._down_reason)
        else:
            # answers written just before the exit may still be in the pipe: read them first, but
            # fail the rest soon even if a child of the module still holds the pipe open
            self._loop.call_later(0.05, self._fail, self._down_reason)
            self._loop.call_later(1.0, self._release)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(self._down_reason)
        if not self._closed.done():
            self._closed.set_result(None)
        self._release()

    def _release(self) -> None:
        if self._transport is not None and self.exited.done():
            self._transport.close()

    def pause_writing(self) -> None:
        if self._writable is None:
            self._writable = self._loop.create_future()

    def resume_writing(self) -> None:
        writable, self._writable = self._writable, None
        if writable is not None and not writable.done():
            writable.set_result(None)

    def _fail(self, reason: str) -> None:
        """The process is gone (or unusable): every call waiting on it fails at once with GATI540."""
        self.ready = False
        error = ModuleUnavailable(self.module_id, "module stopped" if self.closing else reason)
        pending, self.pending = self.pending, {}
        for fut in pending.values():
            if not fut.done():
                fut.set_exception(error)
        if not self._ready.done():
            self._ready.set_exception(error)
            self._ready.exception()  # retrieved: nobody may be waiting any more
        self.resume_writing()
