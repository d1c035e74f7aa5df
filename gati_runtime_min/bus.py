"""Publish/subscribe across requests (`gctx.publish` / `gctx.subscribe`) with bounded queues.

`MessageBus` is the interface every state backend implements: `Bus` here keeps messages in this
process (the memory backend); `gati_runtime_min.state.streams.StreamBus` carries them across
workers and replicas on Redis Streams. Both have the same semantics:

- `subscribe(topic)` alone: the subscription receives every message published on `topic` after
  it subscribed (fan-out).
- `subscribe(topic, group="name")`: the subscriptions that share a group share the work; each
  message goes to one of them (and, on Redis, to another one if its consumer crashed before it
  acknowledged it).
- `await sub.ready()` returns once messages published from then on will be delivered (on
  Redis: the consumer group exists).
- A message is acknowledged when the subscriber asks for the next one, calls `ack()` or closes
  the subscription.
- `publish` waits (up to `timeout`, then `TimeoutError`) while a subscriber or group has
  `maxsize` messages (memory) or `stream_maxlen` messages (Redis) it has not yet taken: a slow
  consumer slows its publishers down instead of losing messages. `publish_nowait` never waits.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol


class Subscription(Protocol):
    """Messages of one topic: `async for msg in sub`, `await sub.get()`, `sub.ack()`, `sub.close()`."""

    topic: str
    group: str | None

    async def ready(self) -> None: ...

    async def get(self) -> Any: ...

    def ack(self) -> None: ...

    def close(self) -> None: ...

    def __aiter__(self) -> Subscription: ...

    async def __anext__(self) -> Any: ...


class MessageBus(Protocol):
    """What `gctx.publish` and `gctx.subscribe` need from a backend."""

    def subscribe(self, topic: str, maxsize: int = 100, group: str | None = None) -> Subscription: ...

    async def publish(self, topic: str, message: Any, timeout: float | None = None) -> int: ...

    def publish_nowait(self, topic: str, message: Any) -> int: ...


class LocalSubscription:
    """A subscription of the in-process `Bus`: a bounded queue."""

    def __init__(self, bus: Bus, topic: str, maxsize: int, group: str | None = None) -> None:
        self.topic = topic
        self.group = group
        self.queue: asyncio.Queue[Any] = asyncio.Queue(maxsize)
        self.dropped = 0
        self._bus = bus

    async def ready(self) -> None:
        """Subscribed from the moment `subscribe` returned: nothing to wait for."""

    async def get(self) -> Any:
        return await self.queue.get()

    def ack(self) -> None:
        """In one process a message is handed over in memory: nothing to acknowledge."""

    def close(self) -> None:
        self._bus.unsubscribe(self)

    def __aiter__(self) -> LocalSubscription:
        return self

    async def __anext__(self) -> Any:
        return await self.queue.get()


class Bus:
    """The in-process `MessageBus`: bounded queues per subscription (backpressure), one process only."""

    def __init__(self) -> None:
        self._topics: dict[str, list[LocalSubscription]] = {}
        self._turn: dict[tuple[str, str], int] = {}

    def subscribe(self, topic: str, maxsize: int = 100, group: str | None = None) -> LocalSubscription:
        sub = LocalSubscription(self, topic, maxsize, group)
        self._topics.setdefault(topic, []).append(sub)
        return sub

    def unsubscribe(self, sub: LocalSubscription) -> None:
        subs = self._topics.get(sub.topic, [])
        if sub in subs:
            subs.remove(sub)

    def _targets(self, topic: str) -> list[list[LocalSubscription]]:
        """One entry per receiver: a fan-out subscription alone, or the members of a group."""
        out: list[list[LocalSubscription]] = []
        groups: dict[str, list[LocalSubscription]] = {}
        for sub in self._topics.get(topic, ()):
            if sub.group is None:
                out.append([sub])
            elif sub.group in groups:
                groups[sub.group].append(sub)
            else:
                groups[sub.group] = members = [sub]
                out.append(members)
        return out

    def _member(self, topic: str, members: list[LocalSubscription]) -> LocalSubscription:
        """The member of a group that takes the next message: the emptiest, round robin among equals."""
        if len(members) == 1:
            return members[0]
        key = (topic, members[0].group or "")
        turn = self._turn.get(key, 0)
        self._turn[key] = turn + 1
        rotated = members[turn % len(members) :] + members[: turn % len(members)]
        return min(rotated, key=lambda s: s.queue.qsize())

    async def publish(self, topic: str, message: Any, timeout: float | None = None) -> int:
        """Wait (up to `timeout`) until every receiver has room; returns how many received it."""
        targets = self._targets(topic)
        async with asyncio.timeout(timeout):
            for members in targets:
                await self._member(topic, members).queue.put(message)
        return len(targets)

    def publish_nowait(self, topic: str, message: Any) -> int:
        """Deliver without waiting; a full receiver misses the message (counted in `dropped`)."""
        delivered = 0
        for members in self._targets(topic):
            sub = self._member(topic, members)
            try:
                sub.queue.put_nowait(message)
                delivered += 1
            except asyncio.QueueFull:
                sub.dropped += 1
        return delivered
