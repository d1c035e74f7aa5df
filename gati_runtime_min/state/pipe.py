"""`ScriptPipe`: the rate-limit script of every concurrent request, pipelined on one connection.

The request path queues its call and awaits a future. A writer task sends whatever is queued as
one write without waiting for earlier replies; a reader task reads the integer replies in order
and resolves the futures. So a request's script call leaves as soon as the event loop is free,
many calls share one write and one read, and none waits for another's round trip. Each request
still runs the script once, atomically: the limit stays exact.

The connection is redis-py's own (TLS, ACL user and password, database from the URL); only the
commands are packed and the replies read here. If the connection breaks, the calls in flight
fail (the caller reports the store lost) after one retry on a new connection, which covers a
pooled connection that a restarted Redis had closed.

Replies are read without a timeout each (redis-py's per-read timeout costs a timer per reply);
instead one timer per `socket_timeout` watches for a stall: calls in flight and no reply for that
long break the connection as a lost one would.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redis.asyncio import Redis

Call = tuple[bytes, "asyncio.Future[int]"]


def _bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


class ScriptPipe:
    """Runs one script with one key and two integer arguments, pipelined (see the module docstring)."""

    def __init__(self, client: Redis, script: str) -> None:
        self._client = client
        self._script = script
        sha = hashlib.sha1(script.encode(), usedforsecurity=False).hexdigest().encode()
        self._head = b"*6\r\n" + _bulk(b"EVALSHA") + _bulk(sha) + _bulk(b"1")
        self._queue: list[Call] = []
        self._inflight: collections.deque[Call] = collections.deque()
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._conn: Any = None
        self._retried = False
        timeout = client.connection_pool.connection_kwargs.get("socket_timeout")
        self._stall_after: float | None = float(timeout) if timeout else None
        self._progress = 0.0  # loop time of the last reply, or of a send to an idle connection
        self._timer: asyncio.TimerHandle | None = None
        self._stall_task: asyncio.Task[None] | None = None
        self._generation = 0  # counts `_broken`: a connection made across one is not used

    def call(self, key: str, a: int, b: int) -> asyncio.Future[int]:
        """Queue one script call; the future gets its integer reply (or the connection error)."""
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.append((self._head + _bulk(key.encode()) + _bulk(b"%d" % a) + _bulk(b"%d" % b), fut))
        self._wake.set()
        if self._writer is None:
            self._writer = asyncio.create_task(self._write(), name="gati-state-pipe-write")
        return fut

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for task in (self._writer, self._reader):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._writer = self._reader = None
        await self._drop()

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await self._discard(conn)

    async def _discard(self, conn: Any) -> None:
        with contextlib.suppress(Exception):
            await conn.disconnect()
        await self._client.connection_pool.release(conn)

    async def _write(self) -> None:
        from redis.exceptions import RedisError

        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._queue = self._queue, []
            if not batch:
                continue
            if not self._inflight:
                self._progress = asyncio.get_running_loop().time()
            self._inflight.extend(batch)  # from here on `_broken` retries or fails them
            self._watch()
            try:
                if self._conn is None:
                    generation = self._generation
                    conn = await self._client.connection_pool.get_connection()  # type: ignore[no-untyped-call]
                    if generation != self._generation:  # the batch was failed or requeued meanwhile
                        await self._discard(conn)
                        continue
                    self._conn = conn
                    self._reader = asyncio.create_task(self._read(conn), name="gati-state-pipe-read")
                await self._conn.send_packed_command(b"".join(cmd for cmd, _ in batch), check_health=False)
            except (RedisError, OSError) as exc:
                await self._broken(exc)

    async def _read(self, conn: Any) -> None:
        from redis.exceptions import NoScriptError, RedisError, ResponseError

        inflight = self._inflight
        loop = asyncio.get_running_loop()
        while True:
            try:
                reply = await conn.read_response(disconnect_on_error=False, timeout=math.inf)
            except NoScriptError:  # a restarted or flushed Redis: load the script, run the call again
                call = inflight.popleft()
                try:
                    await self._client.script_load(self._script)
                except (RedisError, OSError) as exc:
                    inflight.appendleft(call)
                    await self._broken(exc)
                    return
                self._queue.append(call)
                self._wake.set()
                continue
            except ResponseError as exc:  # the script failed (e.g. no permission): this call only
                _, fut = inflight.popleft()
                if not fut.done():
                    fut.set_exception(exc)
                continue
            except (RedisError, OSError) as exc:
                if self._conn is conn:
                    await self._broken(exc)
                return
            _, fut = inflight.popleft()
            if not fut.done():
                fut.set_result(int(reply))
            self._retried = False
            self._progress = loop.time()

    def _watch(self) -> None:
        """Arm the stall timer (one at a time) while calls are in flight."""
        if self._timer is None and self._stall_after is not None:
            self._timer = asyncio.get_running_loop().call_at(self._progress + self._stall_after, self._check)

    def _check(self) -> None:
        self._timer = None
        if not self._inflight or self._stall_after is None:
            return
        loop = asyncio.get_running_loop()
        if loop.time() - self._progress < self._stall_after:
            self._watch()
            return
        from redis.exceptions import TimeoutError

        stalled = TimeoutError(f"no reply from Redis for {self._stall_after:g}s")
        self._stall_task = loop.create_task(self._broken(stalled), name="gati-state-pipe-stalled")

    async def _broken(self, exc: BaseException) -> None:
        """The connection failed: retry what was in flight once on a new one, else fail it."""
        self._generation += 1
        reader, self._reader = self._reader, None
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
        await self._drop()
        calls = [c for c in self._inflight if not c[1].done()]
        self._inflight.clear()
        if not self._retried:
            self._retried = True
            self._queue[:0] = calls
            self._wake.set()
            return
        for _, fut in [*calls, *self._queue]:
            if not fut.done():
                fut.set_exception(exc)
        self._queue.clear()
