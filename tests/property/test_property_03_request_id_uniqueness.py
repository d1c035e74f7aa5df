"""Property 3, request id uniqueness: every request the app answers, whatever its outcome, gets an id
of its own; ids are 26-character ULIDs, increase in the order requests arrive, and the error body
names the same id as the `x-request-id` header."""

from __future__ import annotations

import asyncio
from typing import Any, Final

import httpx
from hypothesis import given
from hypothesis import strategies as st

from gati_runtime_min.testing import AppClient
from tests.property.propapp import Served

CROCKFORD: Final = frozenset("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
KINDS: Final = ("ok", "not_found", "wrong_method", "invalid", "crash", "unauthenticated")
SEEN: set[str] = set()  # every id this module's app has issued, across examples


async def send(client: AppClient, kind: str, i: int) -> httpx.Response:
    if kind == "ok":
        return await client.get(f"/meta/k{i}")
    if kind == "not_found":
        return await client.get(f"/missing/{i}")
    if kind == "wrong_method":
        return await client.delete("/items")
    if kind == "invalid":
        return await client.post("/items", json={"name": i})
    if kind == "crash":
        return await client.post("/work", json={"mode": "raise", "n": i})
    return await client.get("/admin")


@given(kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=30))
def test_property_3_request_id_uniqueness(served: Served, kinds: list[str]) -> None:
    async def go(client: AppClient) -> tuple[list[httpx.Response], list[httpx.Response]]:
        together = await asyncio.gather(*(send(client, k, i) for i, k in enumerate(kinds)))
        one_by_one = [await send(client, k, i) for i, k in enumerate(kinds)]
        return list(together), one_by_one

    together, one_by_one = served.run(go)
    ids = [r.headers["x-request-id"] for r in [*together, *one_by_one]]
    assert len(set(ids)) == len(ids)
    assert SEEN.isdisjoint(ids)
    SEEN.update(ids)
    assert all(len(i) == 26 and set(i) <= CROCKFORD for i in ids)
    sequential = [r.headers["x-request-id"] for r in one_by_one]
    assert sequential == sorted(sequential)
    for r in [*together, *one_by_one]:
        body: Any = r.json()
        if r.status_code >= 400:
            assert body["error"]["requestId"] == r.headers["x-request-id"]
        elif r.request.url.path.startswith("/meta/"):
            assert body["request_id"] == r.headers["x-request-id"]
