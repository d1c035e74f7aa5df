"""Request ids: unique and time-sortable, also across many concurrent requests."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rt_fixture import make_build  # type: ignore[import-not-found, unused-ignore]  # a sibling module

from gati_runtime_min.ids import RequestIds, ulid_time_ms
from gati_runtime_min.testing import AppClient

CROCKFORD = set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")


@given(st.integers(min_value=1, max_value=5000))
def test_ids_are_unique_sorted_and_well_formed(n: int) -> None:
    gen = RequestIds()
    ids = [gen.new() for _ in range(n)]
    assert len(set(ids)) == n
    assert ids == sorted(ids)
    assert all(len(i) == 26 and set(i) <= CROCKFORD for i in ids)


@given(st.lists(st.integers(min_value=0, max_value=2**40), min_size=2, max_size=50))
def test_ids_stay_sorted_when_the_clock_jumps(clock: list[int]) -> None:
    gen = RequestIds()
    ids = []
    with pytest.MonkeyPatch.context() as mp:
        for ms in clock:
            mp.setattr(time, "time_ns", lambda ms=ms: ms * 1_000_000)
            ids.append(gen.new())
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_id_carries_the_time() -> None:
    before = time.time_ns() // 1_000_000
    rid = RequestIds().new()
    after = time.time_ns() // 1_000_000
    assert before <= ulid_time_ms(rid) <= after


def test_many_concurrent_requests_unique_sortable_ids(tmp_path: Path) -> None:
    build = make_build(tmp_path, global_hooks=False)

    @settings(max_examples=5, deadline=None)
    @given(st.integers(min_value=10, max_value=300))
    def check(n: int) -> None:
        async def main() -> list[str]:
            async with AppClient(build) as c:
                responses = await asyncio.gather(*(c.get(f"/users/{i}") for i in range(n)))
                return [r.headers["x-request-id"] for r in responses]

        ids = asyncio.run(main())
        assert len(set(ids)) == n
        assert all(len(i) == 26 for i in ids)

    check()
