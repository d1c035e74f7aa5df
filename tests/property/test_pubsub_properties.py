"""Delivery guarantees of the pub/sub fabric, on the memory `Bus` and on `StreamBus` against a
real redis-server (several `RedisState` instances are several workers): at-least-once under
random interleavings of publish, acknowledge, nack and crash (a subscription closed without
acknowledging), redelivery after the ack deadline, request/reply, and a full queue holding a
publisher back."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gati_runtime_min.bus import Delivery, NoSubscriber
from gati_runtime_min.membus import Bus
from gati_runtime_min.state import StateSettings
from gati_runtime_min.state.redis_state import RedisState

BACKENDS = ["memory", pytest.param("redis", marks=pytest.mark.slow)]
CLAIM_IDLE = 0.3  # Redis: how long an entry let go stays pending before a member claims it


class Stores:
    """redis-server (once per module) on first use."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self._request = request

    def url(self) -> str:
        return str(self._request.getfixturevalue("redis_module").url)


@pytest.fixture(scope="module")
def stores(request: pytest.FixtureRequest) -> Stores:
    return Stores(request)


class Fabric:
    """The buses of one example: one in-process `Bus`, or `n` Redis workers sharing a namespace."""

    def __init__(self, kind: str, stores: Stores | None, n: int = 2, **kw: Any) -> None:
        self.kind = kind
        self.stores = stores
        self.n = n
        self.kw = kw
        self.states: list[RedisState] = []
        self.memory = Bus()

    async def __aenter__(self) -> Fabric:
        if self.kind == "redis":
            ns = f"gati:pubsub:{uuid.uuid4().hex}"
            cfg = {"claim_idle": CLAIM_IDLE, **self.kw}
            assert self.stores is not None
            url = self.stores.url()
            self.states = [
                RedisState(StateSettings(backend="redis", url=url, namespace=ns, **cfg)) for _ in range(self.n)
            ]
            for s in self.states:
                await s.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for s in self.states:
            await s.close()

    def bus(self, i: int) -> Any:
        return self.memory if self.kind == "memory" else self.states[i % len(self.states)].bus


def run(coro: Any) -> Any:
    return asyncio.run(coro)


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("publish"), st.integers(0, 1)),
        st.tuples(st.just("take"), st.integers(0, 1), st.booleans()),  # (member, acknowledge it?)
        st.tuples(st.just("nack"), st.integers(0, 1)),
        st.tuples(st.just("crash"), st.integers(0, 1)),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(ops=OPS)
def test_every_published_message_is_delivered_at_least_once_and_every_ack_sticks_memory(
    ops: list[tuple[Any, ...]],
) -> None:
    """See `at_least_once`, on the in-process `Bus`."""
    at_least_once("memory", None, ops)


@pytest.mark.slow
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_every_published_message_is_delivered_at_least_once_and_every_ack_sticks_redis(
    stores: Stores, ops: list[tuple[Any, ...]]
) -> None:
    """See `at_least_once`, on two Redis workers."""
    at_least_once("redis", stores, ops)


def at_least_once(backend: str, stores: Stores | None, ops: list[tuple[Any, ...]]) -> None:
    """Two members of a group on (Redis: two workers); whatever the interleaving of publishes,
    takes with or without an ack, nacks and crashes (a member closed without acknowledging what
    it holds, replaced by a new one), every published message reaches a member at least once, and
    once the group drains, every one of them has been acknowledged: nothing is lost."""

    async def main() -> None:
        async with Fabric(backend, stores) as fabric:
            members = [fabric.bus(i).subscribe("jobs", group="workers", maxsize=50, ack_timeout=None) for i in (0, 1)]
            for m in members:
                await m.ready()
            held: list[list[Delivery[Any]]] = [[], []]
            published: list[int] = []
            delivered: set[int] = set()
            acked: set[int] = set()
            counter = 0
            wait = 0.02 if backend == "memory" else 0.15
            for op in ops:
                if op[0] == "publish":
                    counter += 1
                    assert await fabric.bus(op[1]).publish("jobs", counter, timeout=10) == 1
                    published.append(counter)
                elif op[0] == "take":
                    try:
                        d = await asyncio.wait_for(members[op[1]].receive(), wait)
                    except TimeoutError:
                        continue
                    delivered.add(d.data)
                    if op[2]:
                        d.ack()
                        acked.add(d.data)
                    else:
                        held[op[1]].append(d)
                elif op[0] == "nack" and held[op[1]]:
                    held[op[1]].pop(0).nack()
                elif op[0] == "crash":
                    members[op[1]].close()  # without acknowledging what it held
                    held[op[1]] = []
                    members[op[1]] = fabric.bus(op[1]).subscribe("jobs", group="workers", maxsize=50, ack_timeout=None)
                    await members[op[1]].ready()
            for m in members:  # both leave without acknowledging; a last member drains the group
                m.close()
            drain = fabric.bus(0).subscribe("jobs", group="workers", maxsize=50, ack_timeout=None)
            await drain.ready()
            limit = time.monotonic() + (5 if backend == "memory" else 20)
            while not set(published) <= acked:
                assert time.monotonic() < limit, f"never delivered: {sorted(set(published) - acked)}"
                try:
                    d = await asyncio.wait_for(drain.receive(), 0.5)
                except TimeoutError:
                    continue
                delivered.add(d.data)
                d.ack()
                acked.add(d.data)
            assert set(published) <= delivered
            assert acked == set(published)
            drain.close()

    run(main())


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_delivery_not_acknowledged_by_its_deadline_is_delivered_again(backend: str, stores: Stores) -> None:
    """A fan-out subscriber that takes a message and does not acknowledge it within `ack_timeout`
    gets it again with `attempt` 2; once acknowledged it does not come back."""

    async def main() -> None:
        async with Fabric(backend, stores, 1) as fabric:
            sub = fabric.bus(0).subscribe("audit", ack_timeout=0.2)
            await sub.ready()
            await fabric.bus(0).publish("audit", {"n": 1}, timeout=5)
            first = await asyncio.wait_for(sub.receive(), 5)
            assert (first.data, first.attempt) == ({"n": 1}, 1)
            again = await asyncio.wait_for(sub.receive(), 10)
            assert (again.id, again.data, again.attempt) == (first.id, {"n": 1}, 2)
            again.ack()
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(sub.receive(), 0.2 + 3 * CLAIM_IDLE)
            sub.close()

    run(main())


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_member_that_closes_without_acknowledging_hands_its_message_to_another(backend: str, stores: Stores) -> None:
    async def main() -> None:
        async with Fabric(backend, stores) as fabric:
            a = fabric.bus(0).subscribe("mail", group="senders", ack_timeout=None)
            await a.ready()
            await fabric.bus(1).publish("mail", "hello", timeout=5)
            taken = await asyncio.wait_for(a.receive(), 5)
            b = fabric.bus(1).subscribe("mail", group="senders", ack_timeout=None)
            await b.ready()
            a.close()  # crashed mid-work: never acknowledged
            again = await asyncio.wait_for(b.receive(), 10)
            assert (again.id, again.data) == (taken.id, "hello") and again.attempt >= 2
            again.ack()
            b.close()

    run(main())


@pytest.mark.parametrize("backend", BACKENDS)
def test_request_gets_the_reply_of_the_subscriber(backend: str, stores: Stores) -> None:
    """`request` publishes with a reply address; the subscriber's `delivery.reply(value)` comes
    back to the requester (across workers on Redis); a topic nobody listens to is `NoSubscriber`."""

    async def main() -> None:
        async with Fabric(backend, stores) as fabric:
            sub = fabric.bus(1).subscribe("quote", group="pricing")
            await sub.ready()

            async def serve() -> None:
                async for delivery in sub.deliveries():
                    await delivery.reply({"sku": delivery.data["sku"], "price": 7 * delivery.data["qty"]})

            server = asyncio.create_task(serve())
            try:
                answers = await asyncio.gather(
                    *(fabric.bus(0).request("quote", {"sku": f"s{i}", "qty": i}, timeout=10) for i in range(5))
                )
                assert answers == [{"sku": f"s{i}", "price": 7 * i} for i in range(5)]
                with pytest.raises(NoSubscriber):
                    await fabric.bus(0).request("nobody", {}, timeout=5)
            finally:
                server.cancel()
                sub.close()

    run(main())


@pytest.mark.parametrize("backend", BACKENDS)
def test_request_times_out_when_nobody_replies(backend: str, stores: Stores) -> None:
    async def main() -> None:
        async with Fabric(backend, stores) as fabric:
            sub = fabric.bus(0).subscribe("silent")
            await sub.ready()
            t0 = time.monotonic()
            with pytest.raises(TimeoutError):
                await fabric.bus(0).request("silent", 1, timeout=0.3)
            assert 0.25 < time.monotonic() - t0 < 3
            sub.close()

    run(main())


def test_a_full_queue_holds_the_publisher_back_until_the_subscriber_takes_one() -> None:
    """A subscription of `maxsize` 2 that does not read: the third publish waits (for real: the
    task stays pending), and proceeds as soon as the subscriber takes a message; nothing is lost
    or reordered. Past its timeout a waiting publish is a `TimeoutError`; `publish_nowait` drops."""

    async def main() -> None:
        bus = Bus()
        sub = bus.subscribe("t", maxsize=2)
        await bus.publish("t", 1)
        await bus.publish("t", 2)
        third = asyncio.create_task(bus.publish("t", 3, timeout=5))
        await asyncio.sleep(0.1)
        assert not third.done() and sub.qsize() == 2
        assert await sub.get() == 1
        assert await asyncio.wait_for(third, 1) == 1
        assert [await sub.get(), await sub.get()] == [2, 3]
        await bus.publish("t", 4)
        await bus.publish("t", 5)
        with pytest.raises(TimeoutError):
            await bus.publish("t", 6, timeout=0.05)
        assert bus.publish_nowait("t", 7) == 0 and sub.dropped == 1
        assert [await sub.get(), await sub.get()] == [4, 5]
        sub.close()

    run(main())


def test_get_acknowledges_the_previous_message_and_close_the_current_one() -> None:
    """The convenience form: `get()` acknowledges what it returned before; `close()` acknowledges
    the message in hand, so nothing is redelivered to the next member of the group."""

    async def main() -> None:
        bus = Bus()
        a = bus.subscribe("t", group="g", ack_timeout=None)
        for n in (1, 2):
            await bus.publish("t", n)
        assert await a.get() == 1
        assert await a.get() == 2  # 1 acknowledged here
        a.close()  # 2 acknowledged
        b = bus.subscribe("t", group="g", ack_timeout=None)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(b.get(), 0.1)
        b.close()

    run(main())


@pytest.mark.parametrize("backend", BACKENDS)
def test_closing_a_subscription_ends_the_loops_waiting_on_it(backend: str, stores: Stores) -> None:
    async def main() -> None:
        async with Fabric(backend, stores, 1) as fabric:
            sub = fabric.bus(0).subscribe("t")
            await sub.ready()
            seen: list[Any] = []

            async def loop() -> None:
                async for delivery in sub.deliveries():
                    seen.append(delivery.data)
                    delivery.ack()

            task = asyncio.create_task(loop())
            await fabric.bus(0).publish("t", 1, timeout=5)
            limit = time.monotonic() + 5
            while not seen and time.monotonic() < limit:
                await asyncio.sleep(0.01)
            sub.close()
            await asyncio.wait_for(task, 1)
            assert seen == [1]
            assert [m async for m in sub] == []

    run(main())


@pytest.mark.slow
def test_a_typed_topic_crossing_redis_is_decoded_back_to_its_type(stores: Stores) -> None:
    """On Redis a message travels as JSON; a subscriber of a typed topic gets it back through the
    topic's generated decoder (here a stand-in that builds the dataclass), a publish that fails
    the check is refused (GATI548) before it reaches the stream."""
    from dataclasses import dataclass

    from gati_runtime_min.bus import Topic
    from gati_runtime_min.context import GlobalContext
    from gati_runtime_min.errors import MessageTypeError

    @dataclass
    class Shipped:
        order: str
        parcels: int

    def check(value: object) -> object:
        if not isinstance(value, Shipped) or value.parcels < 1:
            raise ValueError("parcels must be at least 1")
        return {"order": value.order, "parcels": value.parcels}

    shipped: Topic[Shipped] = Topic("orders.shipped", Shipped)
    shipped.check = check
    shipped.decode = lambda raw: Shipped(**raw)

    async def main() -> None:
        async with Fabric("redis", stores) as fabric:
            a = GlobalContext(bus=fabric.bus(0), topics={"orders.shipped": shipped})
            b = GlobalContext(bus=fabric.bus(1), topics={"orders.shipped": shipped})
            sub = b.subscribe(shipped)
            await sub.ready()
            assert await a.publish(shipped, Shipped("o1", 2), timeout=5) == 1
            with pytest.raises(MessageTypeError):
                await a.publish("orders.shipped", Shipped("o2", 0), timeout=5)
            got = await asyncio.wait_for(sub.get(), 10)
            assert got == Shipped("o1", 2)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(sub.get(), 0.3)
            sub.close()

    run(main())
