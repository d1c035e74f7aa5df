"""Property 26, event publishing scope: `lctx.publish(topic, message)` reaches exactly the
subscribers of that topic in the same request, in publishing order, and nothing published in one
request reaches another, even when requests interleave (the handler yields between publishes)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from hypothesis import given
from hypothesis import strategies as st

from gati_runtime_min.testing import AppClient
from tests.property.propapp import Served

TOPICS = st.sampled_from(["orders", "mail", "audit", "x"])
REQUEST = st.fixed_dictionaries(
    {
        "subscribe": st.lists(TOPICS, unique=True, max_size=3),
        "publish": st.lists(st.fixed_dictionaries({"topic": TOPICS, "value": st.integers()}), max_size=8),
    }
)


@given(batch=st.lists(REQUEST, min_size=1, max_size=8))
def test_property_26_event_publishing_scope(served: Served, batch: list[dict[str, Any]]) -> None:
    async def go(client: AppClient) -> list[httpx.Response]:
        return list(await asyncio.gather(*(client.post("/publish", json=body) for body in batch)))

    for body, r in zip(batch, served.run(go), strict=True):
        assert r.status_code == 200, r.text
        wanted = [m for m in body["publish"] if m["topic"] in body["subscribe"]]
        assert r.json() == wanted
