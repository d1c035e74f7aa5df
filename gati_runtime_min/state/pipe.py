"""`ScriptPipe`: the rate-limit checks of every concurrent request, one script call per batch.

The request path queues its check and awaits a future. A writer task takes whatever was queued
by the time the event loop comes round (the checks of every request that started in that tick)
and sends them as ONE call of a script that runs each check in turn and answers a list, one
result per check; a reader task reads those replies in order and hands each future its own
result. Checks that queue while a batch is on the wire form the next batch, sent at once
without waiting for the earlier reply. So a request's check leaves as soon as the loop is free,
Redis parses one command and runs the script once for many checks, the worker reads one reply
for them, and none waits for another's round trip. The script runs atomically, each check on
its own key in the order queued: every request gets exactly the answer a call of its own would
have given, and the limit stays exact across workers.

The connection is redis-py's own (TLS, ACL user and password, database from the URL); only the
commands are packed and the replies read here. If the connection breaks, the batches in flight
are sent again once on a new connection (which covers a pooled connection that a restarted
Redis had closed), then fail (the caller reports the store lost).

Replies are read without a timeout each (redis-py's per-read timeout costs a timer per reply);
instead one timer per `socket_timeout` watches for a stall: batches in flight and no reply for
that long break the connection as a lost one would.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import math
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from redis.asyncio import Redis

# Checks per script call at most: a burst larger than this goes out as several calls in one write
# (each call holds Redis for its length: about 0.3 us per check).
MAX_BATCH: Final = 512

Batch = tuple[bytes, list["asyncio.Future[int]"]]  # the packed command and its callers, in order


def bulk(value: bytes) -> bytes:
    """One RESP bulk string: how a key or an argument is sent."""
    return b"$%d\r\n%s\r\n" % (len(value), value)


class ScriptPipe:
    """Runs a batch script (one key and `per_call` arguments per check, a list of integer replies),
    coalescing concurrent checks (see the module docstring)."""

    def __init__(self, client: Redis, script: str, per_call: int) -> None:
        self._client = client
        self._script = script
        self._per_call = 1 + per_call  # bulk strings per check: its key and its arguments
        sha = hashlib.sha1(script.encode(), usedforsecurity=False).hexdigest().encode()
        self._head = bulk(b"EVALSHA") + bulk(sha)
        self._loop = asyncio.get_running_loop()
        self._keys: list[bytes] = []  # the checks queued since the last batch went out
        self._args: list[bytes] = []
        self._futs: list[asyncio.Future[int]] = []
        self._resend: list[Batch] = []  # batches to send again (a new connection, a loaded script)
        self._inflight: collections.deque[Batch] = collections.deque()
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

    def call(self, key: bytes, args: bytes) -> asyncio.Future[int]:
        """Queue one check: `key` one bulk string (`bulk`), `args` the script's `per_call` arguments
        as bulk strings; the future gets this check's integer reply (or the connection error)."""
        if self._writer is None:  # the first check on this loop (after `close`, perhaps another loop)
            self._loop = asyncio.get_running_loop()
            self._wake = asyncio.Event()
            self._writer = self._loop.create_task(self._write(), name="gati-state-pipe-write")
        fut = self._loop.create_future()
        self._keys.append(key)
        self._args.append(args)
        self._futs.append(fut)
        self._wake.set()
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

    def _take(self) -> list[Batch]:
        """What to send now: the batches to resend, then the queued checks packed in script calls."""
        batches, self._resend = self._resend, []
        keys, args, futs = self._keys, self._args, self._futs
        if futs:
            self._keys, self._args, self._futs = [], [], []
            for at in range(0, len(futs), MAX_BATCH):
                n = len(futs[at : at + MAX_BATCH])
                command = b"".join(
                    (
                        b"*%d\r\n" % (3 + n * self._per_call),
                        self._head,
                        bulk(b"%d" % n),
                        *keys[at : at + n],
                        *args[at : at + n],
                    )
                )
                batches.append((command, futs[at : at + n]))
        return batches

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
            batches = self._take()
            if not batches:
                continue
            if not self._inflight:
                self._progress = self._loop.time()
            self._inflight.extend(batches)  # from here on `_broken` resends or fails them
            self._watch()
            generation, conn = self._generation, self._conn
            try:
                if conn is None:
                    conn = await self._client.connection_pool.get_connection()  # type: ignore[no-untyped-call]
                    if generation != self._generation:  # the batches were failed or requeued meanwhile
                        await self._discard(conn)
                        continue
                    self._conn = conn
                    self._reader = self._loop.create_task(self._read(conn), name="gati-state-pipe-read")
                data = b"".join(cmd for cmd, _ in batches)
                stream = getattr(conn, "_writer", None)  # redis-py's StreamWriter, once connected
                if stream is not None and not stream.transport.is_closing():
                    # Written here rather than by `send_packed_command`, whose write timeout costs a
                    # task and a timer per batch; the stall watchdog covers a write that never drains.
                    stream.write(data)
                    await stream.drain()  # at once, unless the socket's buffer is full
                else:
                    await conn.send_packed_command(data, check_health=False)
            except (RedisError, OSError) as exc:
                if generation == self._generation:  # else `_broken` ran meanwhile (the watchdog)
                    await self._broken(exc)

    async def _read(self, conn: Any) -> None:
        from redis.exceptions import NoScriptError, RedisError, ResponseError

        inflight = self._inflight
        while True:
            try:
                reply = await conn.read_response(disconnect_on_error=False, timeout=math.inf)
            except NoScriptError:  # a restarted or flushed Redis: load the script, send the batch again
                batch = inflight.popleft()
                try:
                    await self._client.script_load(self._script)
                except (RedisError, OSError) as exc:
                    inflight.appendleft(batch)
                    await self._broken(exc)
                    return
                self._resend.append(batch)
                self._wake.set()
                continue
            except ResponseError as exc:  # the script failed (e.g. no permission): this batch only
                for fut in inflight.popleft()[1]:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            except (RedisError, OSError) as exc:
                if self._conn is conn:
                    await self._broken(exc)
                return
            for fut, result in zip(inflight.popleft()[1], reply, strict=True):
                if not fut.done():  # a caller that gave up (its request was cancelled) is skipped
                    fut.set_result(result)
            self._retried = False
            self._progress = self._loop.time()

    def _watch(self) -> None:
        """Arm the stall timer (one at a time) while batches are in flight."""
        if self._timer is None and self._stall_after is not None:
            self._timer = self._loop.call_at(self._progress + self._stall_after, self._check)

    def _check(self) -> None:
        self._timer = None
        if not self._inflight or self._stall_after is None:
            return
        if self._loop.time() - self._progress < self._stall_after:
            self._watch()
            return
        from redis.exceptions import TimeoutError

        stalled = TimeoutError(f"no reply from Redis for {self._stall_after:g}s")
        self._stall_task = self._loop.create_task(self._broken(stalled), name="gati-state-pipe-stalled")

    async def _broken(self, exc: BaseException) -> None:
        """The connection failed: send what was in flight once more on a new one, else fail it."""
        self._generation += 1
        reader, self._reader = self._reader, None
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
        await self._drop()
        batches = [b for b in self._inflight if not all(f.done() for f in b[1])]
        self._inflight.clear()
        if not self._retried:
            self._retried = True
            self._resend[:0] = batches
            self._wake.set()
            return
        for _, futs in [*batches, *self._resend]:
            for fut in futs:
                if not fut.done():
                    fut.set_exception(exc)
        self._resend.clear()
        for fut in self._futs:
            if not fut.done():
                fut.set_exception(exc)
        self._keys.clear()
        self._args.clear()
        self._futs.clear()
