"""The in-process `MessageBus`, the memory backend's pub/sub (semantics in `gati_runtime_min.bus`).

`Bus` keeps every topic's groups in this process: a group is a named set of subscriptions sharing
the work, or one fan-out subscription alone. A delivery stays pending in its group until it is
acknowledged; a nack, an ack timeout or a closing holder hands it to the group again.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import deque
from collections.abc import Callable
from typing import Any

from gati_runtime_min.bus import (
    DEFAULT_ACK_TIMEOUT,
    Delivery,
    NoSubscriber,
    Receiving,
    SubscriptionClosed,
)


class _Group:
    """The receivers of one topic that share work: a named group, or one fan-out subscription."""

    __slots__ = ("backlog", "members", "name", "pending", "settle", "topic", "turn")

    def __init__(self, bus: Bus, topic: str, name: str | None) -> None:
        self.settle = _Settle(bus, self)
        self.topic = topic
        self.name = name
        self.members: list[LocalSubscription] = []
        self.pending: dict[str, Delivery[Any]] = {}  # id -> the live delivery (queued or handed out)
        self.backlog: deque[Delivery[Any]] = deque()  # redeliveries waiting for a member
        self.turn = 0


class LocalSubscription(Receiving):
    """A subscription of the in-process `Bus`: a bounded queue of deliveries."""

    def __init__(self, bus: Bus, group: _Group, maxsize: int, ack_timeout: float | None) -> None:
        self.topic = group.topic
        self.group = group.name
        self.maxsize = max(1, maxsize)
        self.ack_timeout = ack_timeout
        self.dropped = 0
        self.closed = False
        self._bus = bus
        self._group = group
        self._queue: deque[Delivery[Any]] = deque()
        self._held: dict[str, Delivery[Any]] = {}  # handed out, not yet acknowledged
        # ack deadlines (loop time) of what was handed out, in hand-out order, so in deadline
        # order (one `ack_timeout` per subscription); one timer sweeps them
        self._due: dict[str, float] = {}
        self._sweep: asyncio.TimerHandle | None = None
        self._getters: deque[asyncio.Future[None]] = deque()
        self._putters: deque[asyncio.Future[None]] = deque()
        self._current: Delivery[Any] | None = None  # what `get()` returned last

    # the queue
    def qsize(self) -> int:
        return len(self._queue)

    def full(self) -> bool:
        return len(self._queue) >= self.maxsize

    def _push(self, delivery: Delivery[Any]) -> None:
        self._queue.append(delivery)
        _wake(self._getters)

    async def _room(self) -> None:
        while self.full() and not self.closed:
            fut = asyncio.get_running_loop().create_future()
            self._putters.append(fut)
            try:
                await fut
            finally:
                with contextlib.suppress(ValueError):
                    self._putters.remove(fut)

    async def ready(self) -> None:
        """Subscribed from the moment `subscribe` returned: nothing to wait for."""

    async def receive(self) -> Delivery[Any]:
        """The next delivery; it is delivered again unless acknowledged within `ack_timeout`."""
        while not self._queue:
            if self.closed:
                raise SubscriptionClosed(f"subscription to {self.topic!r} is closed")
            fut = asyncio.get_running_loop().create_future()
            self._getters.append(fut)
            try:
                await fut
            finally:
                with contextlib.suppress(ValueError):
                    self._getters.remove(fut)
        delivery = self._queue.popleft()
        _wake(self._putters)
        if delivery.settled:  # acknowledged by id while it waited here (a redelivered copy)
            return await self.receive()
        self._held[delivery.id] = delivery
        if self.ack_timeout is not None:
            loop = asyncio.get_running_loop()
            due = self._due[delivery.id] = loop.time() + self.ack_timeout
            if self._sweep is None:
                self._sweep = loop.call_at(due, self._expire_due)
        return delivery

    def close(self) -> None:
        """Leave: the message `get` returned is acknowledged; other unacknowledged deliveries and
        what is still queued go to the other members of the group (a fan-out subscription's are
        dropped with it)."""
        if self.closed:
            return
        self.ack()
        self.closed = True
        self._bus._leave(self)
        _wake(self._getters)
        _wake(self._putters, every=True)

    # settling (called by the bus and by deliveries)
    def _release(self, delivery: Delivery[Any]) -> None:
        self._held.pop(delivery.id, None)
        self._due.pop(delivery.id, None)

    def _expire_due(self) -> None:
        """Deliver again what is past its ack deadline; set the timer for the next deadline."""
        self._sweep = None
        if self.closed:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        for msg_id, due in list(self._due.items()):
            if due > now:
                self._sweep = loop.call_at(due, self._expire_due)
                return
            del self._due[msg_id]
            delivery = self._held.get(msg_id)
            if delivery is not None and not delivery.settled:
                delivery.settled = True
                self._bus._redeliver(self._group, delivery, self)

    def _stop_timers(self) -> None:
        self._due.clear()
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None


def _wake(waiters: deque[asyncio.Future[None]], every: bool = False) -> None:
    while waiters:
        fut = waiters.popleft()
        if not fut.done():
            fut.set_result(None)
            if not every:
                return


class Bus:
    """The in-process `MessageBus` (see the module docstring); one process only."""

    def __init__(self) -> None:
        self._groups: dict[str, dict[str | None, list[_Group]]] = {}
        self._ids = itertools.count(1)
        self._replies: dict[str, asyncio.Future[Any]] = {}

    def subscribe(
        self,
        topic: str,
        maxsize: int = 100,
        group: str | None = None,
        ack_timeout: float | None = DEFAULT_ACK_TIMEOUT,
        decode: Callable[[Any], Any] | None = None,
    ) -> LocalSubscription:
        by_name = self._groups.setdefault(topic, {})
        if group is None:  # a fan-out subscription is a group of its own
            grp = _Group(self, topic, None)
            by_name.setdefault(None, []).append(grp)
        else:
            found = by_name.get(group)
            grp = found[0] if found else _Group(self, topic, group)
            by_name[group] = [grp]
        sub = LocalSubscription(self, grp, maxsize, ack_timeout)
        grp.members.append(sub)
        while grp.backlog:  # redeliveries that waited for a member
            sub._push(grp.backlog.popleft())
        return sub

    def unsubscribe(self, sub: LocalSubscription) -> None:
        sub.close()

    def _receivers(self, topic: str) -> list[_Group]:
        out: list[_Group] = []
        for groups in self._groups.get(topic, {}).values():
            out.extend(g for g in groups if g.members)
        return out

    def _member(self, group: _Group, avoid: LocalSubscription | None = None) -> LocalSubscription | None:
        """The member that takes the next message: the emptiest, round robin among equals."""
        members = [m for m in group.members if m is not avoid] or list(group.members)
        if not members:
            return None
        if len(members) == 1:
            return members[0]
        turn = group.turn % len(members)
        group.turn += 1
        rotated = members[turn:] + members[:turn]
        return min(rotated, key=LocalSubscription.qsize)

    def _delivery(self, group: _Group, msg_id: str, message: Any, reply_to: str | None) -> Delivery[Any]:
        delivery: Delivery[Any] = Delivery(group.settle, msg_id, group.topic, message, 1, reply_to)
        group.pending[msg_id] = delivery
        return delivery

    async def publish(self, topic: str, message: Any, timeout: float | None = None, reply_to: str | None = None) -> int:
        """Wait (up to `timeout`) until every receiver has room; returns how many received it."""
        msg_id = str(next(self._ids))
        delivered = 0
        full: list[_Group] = []
        for group in self._receivers(topic):  # the usual case: room everywhere, nothing to wait for
            member = self._member(group)
            if member is None:
                continue
            if member.full():
                full.append(group)
                continue
            member._push(self._delivery(group, msg_id, message, reply_to))
            delivered += 1
        if full:
            async with asyncio.timeout(timeout):
                for group in full:
                    while True:
                        member = self._member(group)
                        if member is None:
                            break
                        if member.full():
                            await member._room()
                        if member.closed or member.full():
                            continue  # it left (or another publisher filled it): choose again
                        member._push(self._delivery(group, msg_id, message, reply_to))
                        delivered += 1
                        break
        return delivered

    def publish_nowait(self, topic: str, message: Any) -> int:
        """Deliver without waiting; a full receiver misses the message (counted in `dropped`)."""
        msg_id = str(next(self._ids))
        delivered = 0
        for group in self._receivers(topic):
            member = self._member(group)
            if member is None:
                continue
            if member.full():
                member.dropped += 1
                continue
            member._push(self._delivery(group, msg_id, message, None))
            delivered += 1
        return delivered

    async def request(self, topic: str, message: Any, timeout: float) -> Any:
        """Publish with a reply address; the first `delivery.reply(value)` is the result."""
        loop = asyncio.get_running_loop()
        reply_to = f"r{next(self._ids)}"
        fut: asyncio.Future[Any] = loop.create_future()
        self._replies[reply_to] = fut
        try:
            async with asyncio.timeout(timeout):
                if await self.publish(topic, message, None, reply_to) == 0:
                    raise NoSubscriber(f"no subscriber on topic {topic!r}")
                return await fut
        finally:
            self._replies.pop(reply_to, None)

    async def _reply(self, reply_to: str, value: Any) -> None:
        fut = self._replies.get(reply_to)
        if fut is not None and not fut.done():
            fut.set_result(value)

    # settling
    def _holder(self, group: _Group, delivery: Delivery[Any]) -> LocalSubscription | None:
        for member in group.members:
            if delivery.id in member._held:
                return member
        return None

    def _settle(self, group: _Group, delivery: Delivery[Any]) -> LocalSubscription | None:
        holder = self._holder(group, delivery)
        if holder is not None:
            holder._release(delivery)
        if group.pending.get(delivery.id) is delivery:
            del group.pending[delivery.id]
        self._forget_if_done(group)
        return holder

    def _redeliver(self, group: _Group, delivery: Delivery[Any], holder: LocalSubscription | None) -> None:
        """Deliver `delivery` again (attempt + 1), preferring a member other than `holder`."""
        if group.pending.get(delivery.id) is not delivery:
            return  # acknowledged meanwhile (by id), or already redelivered
        if holder is not None:
            holder._release(delivery)
        again: Delivery[Any] = Delivery(
            group.settle, delivery.id, delivery.topic, delivery.data, delivery.attempt + 1, delivery.reply_to
        )
        group.pending[delivery.id] = again
        self._place(group, again, holder)

    def _place(self, group: _Group, delivery: Delivery[Any], avoid: LocalSubscription | None) -> None:
        """Queue a delivery already accepted (never waits: it is within what was accepted)."""
        live = [m for m in group.members if not m.closed]
        others = [m for m in live if m is not avoid]
        pool = others or live
        if not pool:
            if group.name is None:  # a fan-out subscription that left takes its messages along
                group.pending.pop(delivery.id, None)
            else:
                group.backlog.append(delivery)
            return
        min(pool, key=LocalSubscription.qsize)._push(delivery)

    def _leave(self, sub: LocalSubscription) -> None:
        group = sub._group
        if sub in group.members:
            group.members.remove(sub)
        sub._stop_timers()
        queued = list(sub._queue)
        sub._queue.clear()
        held = [d for d in sub._held.values() if not d.settled]
        sub._held.clear()
        for delivery in queued:  # never handed out: same attempt
            if group.pending.get(delivery.id) is delivery:
                self._place(group, delivery, sub)
        for delivery in held:
            delivery.settled = True
            self._redeliver(group, delivery, None)
        self._forget_if_done(group)

    def _forget_if_done(self, group: _Group) -> None:
        if group.members or group.pending or group.backlog:
            return
        by_name = self._groups.get(group.topic, {})
        groups = by_name.get(group.name, [])
        if group in groups:
            groups.remove(group)
        if not groups:
            by_name.pop(group.name, None)
        if not by_name:
            self._groups.pop(group.topic, None)


class _Settle:
    """What a memory delivery calls back: its bus and group."""

    __slots__ = ("bus", "group")

    def __init__(self, bus: Bus, group: _Group) -> None:
        self.bus = bus
        self.group = group

    def _ack(self, delivery: Delivery[Any]) -> None:
        if self.group.pending.get(delivery.id) is delivery:
            self.bus._settle(self.group, delivery)
        else:  # a stale copy (redelivered since): acknowledging the id settles the live one
            live = self.group.pending.get(delivery.id)
            if live is not None:
                live.settled = True
                self.bus._settle(self.group, live)

    def _nack(self, delivery: Delivery[Any]) -> None:
        holder = self.bus._holder(self.group, delivery)
        self.bus._redeliver(self.group, delivery, holder)

    async def _reply(self, reply_to: str, value: Any) -> None:
        await self.bus._reply(reply_to, value)
