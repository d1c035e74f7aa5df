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
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
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

    def call(self, key: str, a: int, b: int) -> asyncio.Future[int]:
        """Queue one script call; the future gets its integer reply (or the connection error)."""
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.append((self._head + _bulk(key.encode()) + _bulk(b"%d" % a) + _bulk(b"%d" % b), fut))
        self._wake.set()
        if self._writer is None:
            self._writer = asyncio.create_task(self._write(), name="gati-state-pipe-write")
        return fut

    async def close(self) -> None:
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
            try:
                if self._conn is None:
                    self._conn = await self._client.connection_pool.get_connection()  # type: ignore[no-untyped-call]
                    self._reader = asyncio.create_task(self._read(self._conn), name="gati-state-pipe-read")
                self._inflight.extend(batch)
                await self._conn.send_packed_command(b"".join(cmd for cmd, _ in batch), check_health=False)
            except (RedisError, OSError) as exc:
                await self._broken(exc)

    async def _read(self, conn: Any) -> None:
        from redis.exceptions import NoScriptError, RedisError, ResponseError

        inflight = self._inflight
        while True:
            try:
                reply = await conn.read_response(disconnect_on_error=False)
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

    async def _broken(self, exc: BaseException) -> None:
        """The connection failed: retry what was in flight once on a new one, else fail it."""
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
