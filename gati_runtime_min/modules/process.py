"""One module process: spawn it, multiplex JSON-RPC calls over its stdio by request id, stop it by PID."""

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
from typing import Any, Final

import orjson

from gati_runtime_min.errors import ModuleTimeout, ModuleUnavailable
from gati_runtime_min.modules import protocol
from gati_runtime_min.modules.sandbox import PARENT_DEATH_GUARD

_LOG: Final = logging.getLogger("gati.modules")
_HIGH_WATER: Final = 256 * 1024  # bytes queued to a module's stdin before a caller waits for the pipe
_dumps: Final = orjson.dumps
_loads: Final = orjson.loads


class Worker:
    """A running module process. `pending` maps request ids to the futures of calls waiting for an answer."""

    __slots__ = (
        "_ids",
        "_proc",
        "_reader",
        "_stderr",
        "_stdin",
        "argv",
        "closing",
        "cwd",
        "env",
        "exited",
        "module_id",
        "pending",
        "pid",
        "ready",
        "started_at",
        "tail",
    )

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
        self.exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._ids = itertools.count(1)
        self._proc: asyncio.subprocess.Process | None = None
        self._stdin: asyncio.StreamWriter | None = None
        self._reader: asyncio.Task[None] | None = None
        self._stderr: asyncio.Task[None] | None = None

    async def spawn(self, timeout: float) -> None:
        """Start the process and wait for its `$/ready`; ModuleUnavailable if it exits or stays silent."""
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=self.cwd,
                env=self.env,
                limit=protocol.LINE_LIMIT,
                start_new_session=True,  # a terminal's Ctrl-C reaches the server, which stops its modules in order
                preexec_fn=PARENT_DEATH_GUARD,
            )
        except OSError as exc:
            self.exited.set_result(-1)
            raise ModuleUnavailable(self.module_id, f"cannot start {self.argv[0]!r}: {exc}") from None
        self._proc = proc
        self.pid = proc.pid
        self.started_at = time.monotonic()
        assert proc.stdin is not None
        self._stdin = proc.stdin
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read(ready))
        self._stderr = asyncio.create_task(self._pump_stderr())
        try:
            async with asyncio.timeout(timeout):
                await ready
        except TimeoutError:
            await self.stop(0.5)
            raise ModuleUnavailable(self.module_id, f"its process did not report ready within {timeout:g}s") from None
        except ModuleUnavailable:
            await self.exited
            await asyncio.sleep(0)  # let the stderr pump read the last lines
            tail = " | ".join(self.tail)
            raise ModuleUnavailable(
                self.module_id,
                f"its process exited with status {self.exited.result()} before it was ready"
                + (f" (stderr: {tail})" if tail else ""),
            ) from None
        self.ready = True

    async def call(
        self, method: str, params: dict[str, Any], timeout: float, meta: Mapping[str, str] | None
    ) -> dict[str, Any]:
        """Send one request and wait for its response object (`result` or `error`)."""
        if not self.ready:
            raise ModuleUnavailable(self.module_id, "its process is not running")
        rid = next(self._ids)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[rid] = fut
        request: dict[str, Any] = {"jsonrpc": "2.0", "id": rid, "method": method, "params": params}
        if meta:
            request["meta"] = meta
        stdin = self._stdin
        assert stdin is not None
        try:
            stdin.write(_dumps(request) + b"\n")
            if stdin.transport.get_write_buffer_size() > _HIGH_WATER:
                await stdin.drain()
        except (ConnectionError, RuntimeError):
            self.pending.pop(rid, None)
            raise ModuleUnavailable(self.module_id, "its process closed its input") from None
        try:
            async with asyncio.timeout(timeout):
                return await fut
        except TimeoutError:
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                return fut.result()  # answered in the same loop turn the timer fired
            self.cancel(rid)
            raise ModuleTimeout(self.module_id, method, timeout) from None
        except asyncio.CancelledError:
            self.cancel(rid)  # the caller gave up (its request's deadline): the module may stop working on it
            raise
        finally:
            self.pending.pop(rid, None)

    def cancel(self, rid: int) -> None:
        """Tell the module the caller stopped waiting for `rid` (its late answer will be dropped)."""
        self.pending.pop(rid, None)
        self.notify(protocol.CANCEL, {"id": rid})

    def notify(self, method: str, params: dict[str, Any]) -> None:
        stdin = self._stdin
        if stdin is None or stdin.is_closing():
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            stdin.write(_dumps({"jsonrpc": "2.0", "method": method, "params": params}) + b"\n")

    async def _read(self, ready: asyncio.Future[None]) -> None:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        stdout = proc.stdout
        pending = self.pending
        reason = "its process exited"
        try:
            while True:
                try:
                    line = await stdout.readline()
                except ValueError:  # a frame longer than LINE_LIMIT: the stream cannot be resynchronised
                    reason = "its process wrote a frame longer than the limit"
                    _LOG.error("module %r (pid %d): %s; killing it", self.module_id, self.pid, reason)
                    self._signal(signal.SIGKILL)
                    break
                if not line:
                    break
                try:
                    msg = _loads(line)
                    rid = msg.get("id")
                except (orjson.JSONDecodeError, AttributeError):
                    _LOG.warning("module %r (pid %d) wrote a non-protocol line to stdout: %.200r", *self._who(), line)
                    continue
                if rid is not None:
                    fut = pending.pop(rid, None)
                    if fut is not None and not fut.done():
                        fut.set_result(msg)
                    # else: a late answer to a call that timed out or was cancelled: dropped
                elif msg.get("method") == protocol.READY and not ready.done():
                    ready.set_result(None)
        finally:
            self.ready = False
            error = ModuleUnavailable(self.module_id, "module stopped" if self.closing else reason)
            for fut in pending.values():
                if not fut.done():
                    fut.set_exception(error)
            pending.clear()
            if not ready.done():
                ready.set_exception(error)
            code = await proc.wait()
            if self._stderr is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(asyncio.shield(self._stderr), 0.2)
            if not self.exited.done():
                self.exited.set_result(code)

    def _who(self) -> tuple[str, int]:
        return self.module_id, self.pid

    async def _pump_stderr(self) -> None:
        proc = self._proc
        assert proc is not None and proc.stderr is not None
        stderr = proc.stderr
        while True:
            try:
                line = await stderr.readline()
            except ValueError:
                continue
            if not line:
                return
            text = line.decode(errors="replace").rstrip()
            self.tail.append(text)
            _LOG.info("[%s %d] %s", self.module_id, self.pid, text)

    def _signal(self, sig: int) -> None:
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)  # its own session: the group holds whatever it started
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)

    async def stop(self, grace: float) -> int:
        """Close its input, SIGTERM, and SIGKILL after `grace` seconds; returns the exit status."""
        self.closing = True
        self.ready = False
        proc = self._proc
        if proc is None:
            if not self.exited.done():
                self.exited.set_result(-1)
            return self.exited.result()
        if proc.returncode is None:
            self.notify(protocol.SHUTDOWN, {})
            stdin = self._stdin
            if stdin is not None:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    stdin.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.exited), grace / 2)
            if proc.returncode is None:
                self._signal(signal.SIGTERM)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(self.exited), grace / 2)
            if proc.returncode is None:
                self._signal(signal.SIGKILL)
        code = await asyncio.shield(self.exited)
        if self._stderr is not None and not self._stderr.done():
            self._stderr.cancel()
        return code
