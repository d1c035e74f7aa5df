"""`StreamBus`: the `MessageBus` on Redis Streams with consumer groups.

Each topic is a stream `<namespace>:stream:<topic>`. A subscription is a consumer of a group:
a fan-out subscription has a group of its own (`~<worker>:<n>`), subscriptions that name a
group share it across workers and replicas. A reader task per subscription moves messages
from the stream into a local queue of `maxsize` (and stops reading while it is full). A
`receive()`d `Delivery` is acknowledged (XACK) by `delivery.ack()`; the data `get()` returns is
acknowledged when the subscriber takes the next one, calls `ack()` or closes.

At-least-once: what a consumer read but did not acknowledge stays pending in its group; after
`claim_idle` seconds a member (another one, or the same for a fan-out group) claims it
(XAUTOCLAIM) and delivers it again with `attempt` = the entry's delivery count, so a worker that
crashed loses nothing. A live worker keeps what it holds from being claimed by touching it
(XCLAIM ... JUSTID) more often than that, except a delivery past its `ack_timeout`, one
`nack()`ed (handed back marked long idle) or, when the subscription closes, every delivery it
had not acknowledged. Backpressure: the publish script refuses while a group has
`stream_maxlen` unacknowledged messages, and `publish` waits (up to `timeout`).

Request/reply: the entry carries the reply key (field `r`); `delivery.reply(value)` pushes the
value on that list (RPUSH, expiring), and `request` waits for it (BLPOP).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

import orjson

from gati_runtime_min.bus import DEFAULT_ACK_TIMEOUT, Delivery, NoSubscriber, Receiving, SubscriptionClosed
from gati_runtime_min.state.scripts import PUBLISH

if TYPE_CHECKING:
    from gati_runtime_min.state.redis_state import RedisState

_LOG: Final = logging.getLogger("gati.state")
BLOCK_MS: Final = 1000
BATCH: Final = 100
ALIVE_TTL_MS: Final = 15_000
REPLY_TTL_MS: Final = 60_000
# what the local queue holds: (entry id, data, reply key, attempt)
Entry = tuple[str, Any, str | None, int]
_CLOSED: Final[Entry] = ("", None, None, 0)  # wakes a `receive` waiting on a closed subscription


class StreamSubscription(Receiving):
    """One consumer of a group (see the module docstring)."""

    def __init__(
        self,
        bus: StreamBus,
        topic: str,
        maxsize: int,
        group: str | None,
        start_id: str,
        ack_timeout: float | None = DEFAULT_ACK_TIMEOUT,
        decode: Callable[[Any], Any] | None = None,
    ) -> None:
        self.topic = topic
        self.group = group
        self.queue: asyncio.Queue[Entry] = asyncio.Queue(max(1, maxsize))
        self.dropped = 0
        self.delivered = 0
        self.ack_timeout = ack_timeout
        self._decode = decode
        # handed out, not acknowledged: id -> (delivery, when its ack deadline passes)
        self._out: dict[str, tuple[Delivery[Any], float]] = {}
        self._current: Delivery[Any] | None = None  # what `get` returned last
        self._bus = bus
        n = next(bus.serial)
        self._group_name = group if group is not None else f"~{bus.worker}:{n}"
        self._consumer = f"{bus.worker}:{n}"
        self._stream = bus.stream(topic)
        self._start_id = start_id
        self._closed = False
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    def _start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._read(), name=f"gati-sub-{self.topic}")

    async def ready(self) -> None:
        """Wait until the consumer group exists (messages published from now on are delivered)."""
        self._start()
        await self._ready.wait()

    async def receive(self) -> Delivery[Any]:
        """The next delivery; it is delivered again unless acknowledged within `ack_timeout`
        (give or take `claim_idle`: another claim has to find it idle)."""
        if self._closed:
            raise SubscriptionClosed(f"subscription to {self.topic!r} is closed")
        self._start()
        entry = await self.queue.get()
        if entry is _CLOSED:
            raise SubscriptionClosed(f"subscription to {self.topic!r} is closed")
        msg_id, data, reply_to, attempt = entry
        if self._decode is not None:
            data = self._decode(data)
        delivery: Delivery[Any] = Delivery(self, msg_id, self.topic, data, attempt, reply_to)
        expires = time.monotonic() + self.ack_timeout if self.ack_timeout is not None else float("inf")
        self._out[msg_id] = (delivery, expires)
        return delivery

    # what deliveries call back
    def _ack(self, delivery: Delivery[Any]) -> None:
        self._out.pop(delivery.id, None)
        self._bus.ack(self._stream, self._group_name, delivery.id)

    def _nack(self, delivery: Delivery[Any]) -> None:
        self._out.pop(delivery.id, None)
        self._hand_back([delivery.id])

    async def _reply(self, reply_to: str, value: Any) -> None:
        await self._bus.reply(reply_to, value)

    def _hand_back(self, ids: list[Any]) -> None:
        """Mark entries long idle: the next claim of a member (another one first) takes them."""
        idle = int(self._bus.state.settings.claim_idle * 1000) * 10
        self._bus.spawn(
            self._bus.state.client.xclaim(
                self._stream, self._group_name, self._consumer, 0, ids, idle=idle, justid=True
            )
        )

    def close(self) -> None:
        """Acknowledge the message `get` returned; hand what is still queued here and every delivery
        not acknowledged back to the group (marked long idle, so the next claim of another member
        takes it at once)."""
        if self._closed:
            return
        self.ack()
        held = self.held(everything=True)
        self._out.clear()
        if held and self.group is not None:
            self._hand_back(held)
        self._closed = True
        with contextlib.suppress(asyncio.QueueFull):  # full: nobody is waiting to be woken
            self.queue.put_nowait(_CLOSED)
        if self._task is not None:
            self._task.cancel()
            self._bus.track(self._task)  # the bus's `close` waits for it to end
        self._bus.forget(self)
        if self.group is None:  # a fan-out group serves this subscription alone
            self._bus.spawn(self._bus.destroy(self._stream, self._group_name))

    def held(self, everything: bool = False) -> list[Any]:
        """What this consumer keeps: its queue and the deliveries within their ack deadline (the
        others are let go: once idle for `claim_idle`, a claim delivers them again)."""
        ids: list[Any] = [entry[0] for entry in list(self.queue._queue)]  # type: ignore[attr-defined]
        now = time.monotonic()
        for msg_id, (_, expires) in list(self._out.items()):
            if everything or expires > now:
                ids.append(msg_id)
            else:
                del self._out[msg_id]
        return ids

    async def _ensure_group(self) -> None:
        from redis.exceptions import ResponseError

        try:
            await self._bus.blocking.xgroup_create(self._stream, self._group_name, id=self._start_id, mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _read(self) -> None:
        from redis.exceptions import ResponseError

        from gati_runtime_min.state.redis_state import BACKOFF_FIRST, BACKOFF_MAX, connection_errors

        errors = connection_errors()
        delay = BACKOFF_FIRST
        claim_every = self._bus.state.settings.claim_idle / 3
        next_claim = 0.0
        client = self._bus.blocking
        while not self._closed:
            try:
                await self._ensure_group()
                self._ready.set()
                while not self._closed:
                    if time.monotonic() >= next_claim:
                        await self._claim()
                        next_claim = time.monotonic() + claim_every
                    room = self.queue.maxsize - self.queue.qsize()
                    if room <= 0:
                        await asyncio.sleep(0.005)
                        continue
                    reply = await client.xreadgroup(
                        self._group_name,
                        self._consumer,
                        {self._stream: ">"},
                        count=min(room, BATCH),
                        block=BLOCK_MS,
                    )
                    for _, entries in reply or ():
                        for msg_id, fields in entries:
                            await self._deliver(msg_id, fields)
                    delay = BACKOFF_FIRST
            except asyncio.CancelledError:
                raise
            except ResponseError as exc:
                if "NOGROUP" in str(exc):  # the stream or group went away (a flushed Redis): recreate
                    continue
                _LOG.exception("subscription to %s failed", self.topic)
                await asyncio.sleep(BACKOFF_MAX)
            except errors as exc:
                self._bus.state.lost(exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)

    async def _deliver(self, msg_id: bytes | str, fields: dict[bytes, bytes] | None, attempt: int = 1) -> None:
        ident = msg_id.decode() if isinstance(msg_id, bytes) else msg_id
        if not fields:  # deleted while pending (never here: trimming keeps pending entries)
            self._bus.ack(self._stream, self._group_name, ident)
            return
        reply = fields.get(b"r")
        await self.queue.put((ident, orjson.loads(fields[b"m"]), reply.decode() if reply else None, attempt))
        self.delivered += 1

    async def _claim(self) -> None:
        """Keep what this consumer holds; take over what crashed consumers of the group held."""
        client = self._bus.blocking
        idle_ms = int(self._bus.state.settings.claim_idle * 1000)
        held = self.held()
        if held:
            await client.xclaim(self._stream, self._group_name, self._consumer, 0, held, justid=True)
        start = "0-0"  # a fan-out group's own consumer claims what it let go (its only member)
        while True:
            room = self.queue.maxsize - self.queue.qsize()
            if room <= 0:
                return
            nxt, entries, *_ = await client.xautoclaim(
                self._stream, self._group_name, self._consumer, idle_ms, start, count=min(room, BATCH)
            )
            counts = await self._attempts(entries)
            for msg_id, fields in entries:
                await self._deliver(msg_id, fields, counts.get(msg_id, 2))
            start = nxt.decode() if isinstance(nxt, bytes) else str(nxt)
            if start == "0-0" or not entries:
                return

    async def _attempts(self, entries: list[Any]) -> dict[Any, int]:
        """How many times each claimed entry has been delivered (its XPENDING count)."""
        if not entries:
            return {}
        first, last = entries[0][0], entries[-1][0]
        rows = await self._bus.blocking.xpending_range(
            self._stream, self._group_name, min=first, max=last, count=len(entries) + 10
        )
        return {row["message_id"]: int(row["times_delivered"]) for row in rows}


class StreamBus:
    """The Redis `MessageBus` of one worker (see the module docstring)."""

    def __init__(self, state: RedisState) -> None:
        self.state = state
        self.worker = uuid.uuid4().hex[:12]
        self.serial = itertools.count(1)
        self._subs: list[StreamSubscription] = []
        self._receivers: dict[str, int] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._publish: Any = None
        self._blocking: Any = None
        self._alive: asyncio.Task[None] | None = None
        self.dropped = 0

    @property
    def blocking(self) -> Any:
        """A client for blocking reads (no command timeout shorter than the BLOCK time)."""
        if self._blocking is None:
            from gati_runtime_min.state.redis_state import client_for

            self._blocking = client_for(self.state.url, socket_timeout=BLOCK_MS / 1000 + 5)
        return self._blocking

    def stream(self, topic: str) -> str:
        return self.state.key("stream", topic)

    def _alive_key(self) -> str:
        return self.state.key("alive", self.worker)

    def prepare(self) -> None:
        """What needs no round trip (the publish script's handle), before Redis is reached."""
        self._publish = self.state.client.register_script(PUBLISH)

    async def start(self) -> None:
        await self.state.client.set(self._alive_key(), b"1", px=ALIVE_TTL_MS)
        self._alive = asyncio.create_task(self._keep_alive(), name="gati-bus-alive")

    async def close(self) -> None:
        readers = [sub._task for sub in self._subs if sub._task is not None]
        for sub in list(self._subs):
            sub.close()
        if self._alive is not None:
            self._alive.cancel()
            readers.append(self._alive)
        for task in readers:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._background:
            await asyncio.wait(list(self._background), timeout=2)
        if self._blocking is not None:
            await self._blocking.aclose()
            self._blocking = None

    async def _keep_alive(self) -> None:
        from gati_runtime_min.state.redis_state import connection_errors

        errors = connection_errors()
        while True:
            await asyncio.sleep(ALIVE_TTL_MS / 3000)
            try:
                await self.state.client.set(self._alive_key(), b"1", px=ALIVE_TTL_MS)
            except errors as exc:
                self.state.lost(exc)

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._done)

    def track(self, task: asyncio.Task[Any]) -> None:
        self._background.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _LOG.warning("state bus: %s", task.exception())

    def ack(self, stream: str, group: str, msg_id: str) -> None:
        self.spawn(self.state.client.xack(stream, group, msg_id))

    async def destroy(self, stream: str, group: str) -> None:
        await self.state.client.xgroup_destroy(stream, group)

    def forget(self, sub: StreamSubscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)

    def subscribe(
        self,
        topic: str,
        maxsize: int = 100,
        group: str | None = None,
        ack_timeout: float | None = DEFAULT_ACK_TIMEOUT,
        decode: Callable[[Any], Any] | None = None,
    ) -> StreamSubscription:
        """Subscribe from now on: a new group starts at the current time (a millisecond back), so a
        message published after this call is delivered even before the reader task has run."""
        start_id = f"{max(0, int(time.time() * 1000) - 1)}-0"
        sub = StreamSubscription(self, topic, maxsize, group, start_id, ack_timeout, decode)
        self._subs.append(sub)
        with contextlib.suppress(RuntimeError):  # no running loop yet: starts on first `get`/`ready`
            sub._start()
        return sub

    async def publish(self, topic: str, message: Any, timeout: float | None = None, reply_to: str | None = None) -> int:
        """Append to the topic's stream once every group has room; returns the receiving groups.
        Raises `TimeoutError` after `timeout` seconds of backpressure."""
        payload = orjson.dumps(message)
        delay = 0.002
        async with asyncio.timeout(timeout):
            while True:
                receivers = await self._run(topic, payload, reply_to)
                if receivers >= 0:
                    return receivers
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.1)

    def publish_nowait(self, topic: str, message: Any) -> int:
        """Publish in the background without waiting; dropped (counted in `dropped`) if a group is
        full. Returns the number of receivers the topic had at its last publish."""
        payload = orjson.dumps(message)

        async def run() -> None:
            if await self._run(topic, payload) < 0:
                self.dropped += 1

        self.spawn(run())
        return self._receivers.get(topic, 0)

    async def request(self, topic: str, message: Any, timeout: float) -> Any:
        """Publish with a reply key; the first `delivery.reply(value)` pushed on it is the result."""
        key = self.state.key("reply", uuid.uuid4().hex)
        end = time.monotonic() + timeout
        async with asyncio.timeout(timeout):
            if await self.publish(topic, message, None, key) == 0:
                raise NoSubscriber(f"no subscriber on topic {topic!r}")
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no reply on {topic!r} within {timeout:g}s")
            got = await self.blocking.blpop([key], timeout=min(left, BLOCK_MS / 1000))
            if got is not None:
                return orjson.loads(got[1])

    async def reply(self, key: str, value: Any) -> None:
        async with self.state.client.pipeline(transaction=True) as pipe:
            pipe.rpush(key, orjson.dumps(value))
            pipe.pexpire(key, REPLY_TTL_MS)
            await pipe.execute()

    async def _run(self, topic: str, payload: bytes, reply_to: str | None = None) -> int:
        prefix = self.state.key("alive", "")
        args: tuple[Any, ...] = (self.state.settings.stream_maxlen, payload, prefix)
        if reply_to is not None:
            args = (*args, reply_to)
        receivers = int(await self._publish(keys=(self.stream(topic),), args=args))
        if receivers >= 0:
            self._receivers[topic] = receivers
        return receivers
