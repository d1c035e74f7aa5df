"""Property 6, error isolation: a request that fails (a crash, an `HTTPError`, an invalid response)
gets its own structured error and nothing else changes: concurrent requests get exactly their own
answers, no request sees another's `lctx` state, and a crash's message never reaches the client."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from hypothesis import given
from hypothesis import strategies as st

from gati_runtime_min.testing import AppClient
from tests.property.propapp import Served

WORK = st.fixed_dictionaries(
    {"mode": st.sampled_from(["ok", "raise", "http", "invalid"]), "n": st.integers(-(2**31), 2**31)},
    optional={"sleep": st.booleans()},
)


@given(batch=st.lists(WORK, min_size=1, max_size=25))
def test_property_6_error_isolation(served: Served, batch: list[dict[str, Any]]) -> None:
    async def go(client: AppClient) -> tuple[list[httpx.Response], httpx.Response]:
        answers = await asyncio.gather(*(client.post("/work", json=w) for w in batch))
        after = await client.post("/work", json={"mode": "ok", "n": 7})
        return list(answers), after

    answers, after = served.run(go)
    for work, r in zip(batch, answers, strict=True):
        n = work["n"]
        if work["mode"] == "ok":
            assert r.status_code == 200 and r.json() == {"n": n, "seen": []}
            continue
        error = r.json()["error"]
        assert error["requestId"] == r.headers["x-request-id"]
        if work["mode"] == "raise":
            assert r.status_code == 500 and error["code"] == "GATI500"
            assert "secret" not in r.text
        elif work["mode"] == "http":
            assert r.status_code == 409 and error["code"] == "conflict" and error["message"] == f"conflict {n}"
        else:
            assert r.status_code == 500 and error["code"] == "GATI501"
            assert "not a number" not in r.text
    assert after.status_code == 200 and after.json() == {"n": 7, "seen": []}
