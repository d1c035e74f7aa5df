"""`ScriptPipe`: the rate-limit script of every concurrent request, pipelined on one connection.

The request path puts its call in a queue and awaits a future; one task per worker writes all
calls queued so far as one batch of EVALSHA commands (one write, one round trip) and reads the
integer replies in order. Under load a batch holds every request that arrived while the
previous batch was on the wire, so the cost per request is a few hundred bytes and one parsed
integer, not a pool checkout and a round trip of its own. Each request still runs the script
once, atomically: the limit stays exact.

The connection is redis-py's own (TLS, ACL user and password, database from the URL); only the
commands are packed and written here.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redis.asyncio import Redis


def _bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


class ScriptPipe:
    """Runs one script with one key and two integer arguments, pipelined (see the module docstring)."""

    def __init__(self, client: Redis, script: str) -> None:
        self._client = client
        self._script = script.encode()
        sha = hashlib.sha1(self._script, usedforsecurity=False).hexdigest().encode()
        self._head = b"*6\r\n" + _bulk(b"EVALSHA") + _bulk(sha) + _bulk(b"1")
        self._queue: list[tuple[bytes, asyncio.Future[int]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._conn: Any = None

    def call(self, key: str, a: int, b: int) -> asyncio.Future[int]:
        """Queue one script call; the future gets its integer reply (or the connection error)."""
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.append((self._head + _bulk(key.encode()) + _bulk(b"%d" % a) + _bulk(b"%d" % b), fut))
        self._wake.set()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="gati-state-pipe")
        return fut

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._drop()

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.disconnect()
            await self._client.connection_pool.release(conn)

    async def _send(self, batch: list[tuple[bytes, asyncio.Future[int]]], retry: list[Any]) -> None:
        """Write the batch at once, then read its replies in order."""
        from redis.exceptions import NoScriptError, ResponseError

        if self._conn is None:
            self._conn = await self._client.connection_pool.get_connection()  # type: ignore[no-untyped-call]
        conn = self._conn
        await conn.send_packed_command(b"".join(cmd for cmd, _ in batch), check_health=False)
        for cmd, fut in batch:
            try:
                reply = await conn.read_response(disconnect_on_error=False)
            except NoScriptError:  # a restarted or flushed Redis: load, then run again
                retry.append((cmd, fut))
                continue
            except ResponseError as exc:  # the script failed (e.g. no permission): this call only
                if not fut.done():
                    fut.set_exception(exc)
                continue
            if not fut.done():
                fut.set_result(int(reply))

    async def _run(self) -> None:
        from redis.exceptions import RedisError

        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._queue = self._queue, []
            if not batch:
                continue
            retry: list[tuple[bytes, asyncio.Future[int]]] = []
            try:
                fresh = self._conn is None
                try:
                    await self._send(batch, retry)
                except (RedisError, OSError):
                    if fresh:
                        raise
                    # a pooled connection Redis closed (a restart): once more on a new one
                    await self._drop()
                    retry.clear()
                    await self._send([(c, f) for c, f in batch if not f.done()], retry)
                if retry:
                    await self._client.script_load(self._script.decode())
                    self._queue[:0] = retry
                    self._wake.set()
            except (RedisError, OSError) as exc:
                await self._drop()
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
