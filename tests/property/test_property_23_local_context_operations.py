"""Property 23, local context operations: `lctx.get/set/delete/clean` behave exactly like a
dictionary private to the request, for any sequence of operations (checked against a dict model),
and nothing set in one request is visible in another (through the served app)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from hypothesis import given
from hypothesis import strategies as st

from gati_runtime_min.context import LocalContext, RequestMeta
from gati_runtime_min.testing import AppClient
from tests.property.propapp import Served

KEYS = st.sampled_from(["a", "b", "c", "", "é", "key with spaces"])
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("set"), KEYS, VALUES),
        st.tuples(st.just("get"), KEYS, VALUES),  # the value is the default to pass
        st.tuples(st.just("delete"), KEYS),
        st.tuples(st.just("clean")),
    ),
    max_size=30,
)
MISSING = object()


@given(ops=OPS, concurrent=st.lists(st.integers(0, 100), min_size=1, max_size=10))
def test_property_23_local_context_operations(
    served: Served, ops: list[tuple[Any, ...]], concurrent: list[int]
) -> None:
    lctx = LocalContext(RequestMeta("01TEST", "/p", None))
    model: dict[str, Any] = {}
    for op in ops:
        if op[0] == "set":
            lctx.set(op[1], op[2])
            model[op[1]] = op[2]
        elif op[0] == "get":
            assert lctx.get(op[1]) == model.get(op[1])
            assert lctx.get(op[1], op[2]) == model.get(op[1], op[2])
        elif op[0] == "delete":
            lctx.delete(op[1])
            model.pop(op[1], None)
        else:
            lctx.clean()
            model.clear()
        for key in ("a", "b", "c", "", "é", "key with spaces"):
            assert lctx.get(key, MISSING) == model.get(key, MISSING)

    # In the app: each request sets `n` in its lctx and reports which keys it found already set.
    async def go(client: AppClient) -> list[httpx.Response]:
        return list(
            await asyncio.gather(
                *(client.post("/work", json={"mode": "ok", "n": n, "sleep": True}) for n in concurrent)
            )
        )

    for n, r in zip(concurrent, served.run(go), strict=True):
        assert r.json() == {"n": n, "seen": []}
