"""Properties of the state backends, on memory (one process) and on a real redis-server (several
`RedisState` instances are several workers): rate limits, global pub/sub, backpressure."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gati_runtime_min.errors import GatiError
from gati_runtime_min.state import MemoryState, StateSettings
from gati_runtime_min.state.redis_state import RedisState

BACKENDS = ["memory", "redis"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)


class Stores:
    """Opens the workers of one example; redis-server starts (once per module) on first use."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self._request = request

    def url(self) -> str:
        return str(self._request.getfixturevalue("redis_module").url)


@pytest.fixture(scope="module")
def stores(request: pytest.FixtureRequest) -> Stores:
    return Stores(request)


async def open_workers(kind: str, stores: Stores, n: int, **kw: Any) -> list[Any]:
    """`n` workers sharing one store (Redis), or the one process of the memory backend."""
    if kind == "memory":
        return [MemoryState()]
    url = stores.url()
    ns = f"gati:prop:{uuid.uuid4().hex}"
    states = [RedisState(StateSettings(backend="redis", url=url, namespace=ns, **kw)) for _ in range(n)]
    for s in states:
        await s.start()
    return states


async def close(states: list[Any]) -> None:
    for s in states:
        await s.close()


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=25)
@given(
    limit=st.integers(1, 15),
    requests=st.integers(0, 40),
    workers=st.integers(1, 4),
    order=st.randoms(use_true_random=False),
)
def test_property_34_rate_limit_enforcement(
    backend: str, stores: Stores, limit: int, requests: int, workers: int, order: Any
) -> None:
    """However the requests of one client spread over the workers, exactly min(requests, limit)
    are admitted in a window; every other one is a 429 GATI532 with Retry-After."""

    async def main() -> None:
        states = await open_workers(backend, stores, workers)
        try:

            async def one(i: int) -> bool:
                try:
                    await states[order.randrange(len(states))].hit("client", "handler", limit, 3600)
                except GatiError as exc:
                    assert exc.code == "GATI532" and exc.headers["retry-after"]
                    return False
                return True

            admitted = await asyncio.gather(*(one(i) for i in range(requests)))
            assert sum(admitted) == min(requests, limit)
        finally:
            await close(states)

    asyncio.run(main())


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=15)
@given(
    messages=st.lists(json_values, max_size=12),
    placement=st.lists(st.integers(0, 2), min_size=1, max_size=4),
    publisher=st.integers(0, 2),
)
def test_property_31_global_pubsub_delivery(
    backend: str, stores: Stores, messages: list[Any], placement: list[int], publisher: int
) -> None:
    """Every subscriber, on whichever worker, receives every message published after it
    subscribed, in order, whichever worker published it."""

    async def main() -> None:
        states = await open_workers(backend, stores, 3)
        try:
            subs = [states[p % len(states)].bus.subscribe("topic") for p in placement]
            for sub in subs:
                await sub.ready()
            pub = states[publisher % len(states)].bus
            for m in messages:
                assert await pub.publish("topic", m, timeout=10) == len(subs)
            for sub in subs:
                got = [await asyncio.wait_for(sub.get(), 10) for _ in messages]
                assert got == messages
                sub.close()
        finally:
            await close(states)

    asyncio.run(main())


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=12)
@given(bound=st.integers(1, 5), extra=st.integers(1, 3))
def test_property_43_backpressure_propagation(backend: str, stores: Stores, bound: int, extra: int) -> None:
    """A subscriber that does not keep up holds its publishers back once `bound` messages wait for
    it (never dropping one); as it takes messages, the waiting publishers proceed, in order."""

    async def main() -> None:
        states = await open_workers(backend, stores, 2, stream_maxlen=bound)
        try:
            sub = states[-1].bus.subscribe("t", maxsize=bound if backend == "memory" else 1)
            await sub.ready()
            pub = states[0].bus
            for n in range(bound):
                await pub.publish("t", n, timeout=10)
            with pytest.raises(TimeoutError):
                await pub.publish("t", -1, timeout=0.05)  # full: the publisher waits, then gives up
            waiting = asyncio.create_task(_publish_all(pub, range(bound, bound + extra)))
            await asyncio.sleep(0.05)
            assert not waiting.done()  # still held back
            got = [await asyncio.wait_for(sub.get(), 10) for _ in range(bound + extra)]
            await asyncio.wait_for(waiting, 10)
            assert got == list(range(bound + extra))  # nothing lost, nothing reordered
        finally:
            await close(states)

    asyncio.run(main())


async def _publish_all(bus: Any, values: range) -> None:
    for v in values:
        await bus.publish("t", v, timeout=10)
