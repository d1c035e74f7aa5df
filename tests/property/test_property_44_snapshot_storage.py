"""Property 44, snapshot storage: with tracing on, the snapshots a route takes are stored with its
request's trace, bounded (the newest `capacity` traces are kept, older ones are gone) and, with a
trace file, on disk too; each is found again by the request id the client got, holds the state at
each hook position (restorable to exactly that state), and never holds a secret the app read.

The app is built by the compiler from source strings and served in-process; the requests, their
state values and the store's capacity are generated."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gati_runtime_min import GatiApp
from gati_runtime_min.playground import TraceStore, read_traces
from gati_runtime_min.playground.snapshot import StateSnapshot, restore
from gati_runtime_min.testing import AppClient
from tests.apps import build_files

SECRET = "stored-secret-5c1d9a7e"
FILES = {
    "pyproject.toml": """
        [project]
        name = "kept"
        version = "0.1.0"

        [tool.gati]
        name = "kept"
        sources = ["kept"]

        [tool.gati.secrets]
        providers = ["env"]
        env_prefix = "P44_"

        [tool.gati.playground]
        snapshots = ["remember"]
    """,
    "kept/__init__.py": "",
    "kept/handlers.py": """
        from typing import Any

        from typing_extensions import TypedDict

        from gati_runtime_min import GlobalContext, LocalContext, Request, Response, after, before, post


        class Values(TypedDict):
            values: dict[str, int]
            note: str


        @before
        async def load(req: Request[Any], res: Response[Any], lctx: LocalContext, gctx: GlobalContext) -> None:
            key = await gctx.secrets.get("api_token")
            lctx.set("auth", "Bearer " + key.reveal())
            lctx.set("values", dict(req.body["values"]))


        @after
        async def count(req: Request[Any], res: Response[Any], lctx: LocalContext, gctx: GlobalContext) -> None:
            lctx.set("answered", True)


        @post("/remember", before=[load], after=[count], secrets=["api_token"])
        async def remember(
            req: Request[Values], res: Response[dict[str, int]], lctx: LocalContext, gctx: GlobalContext
        ) -> None:
            lctx.set("note", req.body["note"])
            res.json({"kept": len(req.body["values"])})
    """,
}
POSITIONS = ["before hook kept.handlers:load", "before handler", "after handler", "after hook kept.handlers:count"]
BODIES = st.fixed_dictionaries(
    {
        "values": st.dictionaries(st.text(min_size=1, max_size=5), st.integers(-(2**40), 2**40), max_size=4),
        "note": st.text(max_size=12),
    }
)


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_files(tmp_path_factory.mktemp("p44"), FILES)


def expected_state(position: str, body: dict[str, Any]) -> dict[str, Any]:
    """The request state at `position` (what the hooks and the handler have set by then)."""
    state: dict[str, Any] = {}
    if position == POSITIONS[0]:
        return state
    state = {"auth": "Bearer " + SECRET, "values": body["values"]}
    if position in POSITIONS[2:]:
        state["note"] = body["note"]
    return state


@given(bodies=st.lists(BODIES, min_size=1, max_size=7), capacity=st.integers(1, 5), on_disk=st.booleans())
def test_property_44_snapshot_storage(
    build: Path, tmp_path_factory: pytest.TempPathFactory, bodies: list[dict[str, Any]], capacity: int, on_disk: bool
) -> None:
    os.environ["P44_API_TOKEN"] = SECRET
    file = tmp_path_factory.mktemp("traces") / "traces.jsonl" if on_disk else None
    app = GatiApp(build, trace=True)
    assert app.playground is not None
    store = TraceStore(capacity, file, batch=3)
    store.redactor = app.playground.redactor
    app.playground.store = app.playground.recorder.store = store

    async def send_all() -> list[str]:
        async with AppClient(app) as client:  # its shutdown flushes the trace file
            ids = []
            for body in bodies:
                r = await client.post("/remember", json=body)
                assert r.status_code == 200, r.text
                ids.append(r.headers["x-request-id"])
            return ids

    ids = asyncio.run(send_all())
    kept = ids[-capacity:]
    assert len(store) == len(kept) and store.added == len(ids)
    for rid in ids[: -capacity or None] if len(ids) > capacity else ():
        assert store.get(rid) is None  # gone: the store is bounded
    for rid, body in zip(ids, bodies, strict=True):
        if rid not in kept:
            continue
        trace = store.get(rid)
        assert trace is not None and trace.request_id == rid
        snapshots = [StateSnapshot.from_json(s) for s in trace.snapshots]
        assert [s.position for s in snapshots] == POSITIONS
        for snapshot in snapshots:
            assert snapshot.request_id == rid
            restored = restore(snapshot, strict=False)[1]
            state = {k: restored.get(k) for k in expected_state(snapshot.position, body)}
            want = expected_state(snapshot.position, body)
            # the secret-bearing value is redacted; everything else comes back as it was
            assert {k: v for k, v in state.items() if k != "auth"} == {k: v for k, v in want.items() if k != "auth"}
            if "auth" in want:
                redacted = snapshot.redacted
                assert any(path.startswith("$.state") and "auth" in path for path in redacted), redacted
                assert state["auth"] != want["auth"]
        assert SECRET.encode() not in orjson.dumps(trace.to_json())
    if file is not None:
        on_file = list(read_traces(file))
        assert [t.request_id for t in on_file] == ids  # every trace, not only the newest
        for trace in on_file:
            assert [s["position"] for s in trace.snapshots] == POSITIONS
        assert SECRET.encode() not in file.read_bytes()
