"""Property 8, timeout cleanup: a handler that outlives its timeout is answered 504 (GATI504), its
`lctx.on_timeout` cleanups run once each in reverse order, then its compensating actions in
reverse; a request that finishes in time runs neither, and concurrent requests keep their own."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from gati_runtime_min.testing import AppClient
from tests.property.propapp import Served


def expected_record(n: int) -> list[Any]:
    """What `/slow/{n}` leaves in RECORD (see propapp.py): n % 4 cleanups, n // 4 % 4 compensations,
    and it sleeps past its 0.2 s timeout when n is even."""
    if n % 2:
        return []
    cleanups = [["cleanup", i] for i in reversed(range(n % 4))]
    compensations = [["compensate", i] for i in reversed(range(n // 4 % 4))]
    return cleanups + compensations


@settings(max_examples=12)
@given(batch=st.lists(st.integers(0, 63), min_size=1, max_size=8))
def test_property_8_timeout_cleanup(served: Served, batch: list[int]) -> None:
    async def go(client: AppClient) -> list[httpx.Response]:
        return list(await asyncio.gather(*(client.get(f"/slow/{n}") for n in batch)))

    answers = served.run(go)
    record = served.built.record()
    for n, r in zip(batch, answers, strict=True):
        rid = r.headers["x-request-id"]
        if n % 2:
            assert r.status_code == 200 and r.json() == {"n": n, "seen": []}
        else:
            assert r.status_code == 504 and r.json()["error"]["code"] == "GATI504"
        assert [list(x) for x in record.get(rid, [])] == expected_record(n)
