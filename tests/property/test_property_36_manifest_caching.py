"""Property 36, manifest caching: the runtime reads and checks the build once, at start-up, and
serves from what it loaded: whatever later happens to a file of `.gati/` (a changed byte, extra
bytes, the file deleted), a running app answers exactly as before. A new app refuses the damaged
build with a `ManifestError` naming the file, unless the change leaves the same JSON document."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gati_runtime_min import GatiApp, ManifestError
from gati_runtime_min.testing import AppClient
from tests.property.propapp import API_KEYS_ENV, JWT_SECRET, JWT_SECRET_ENV, Served, api_keys_spec

ITEM = {"name": "pen", "qty": 3, "kind": "a", "tags": ["x"]}


async def answers(client: AppClient) -> list[tuple[int, Any]]:
    """A few answers of every kind, without the request ids."""
    responses: list[httpx.Response] = [
        await client.get("/meta/k"),
        await client.post("/items", json=ITEM),
        await client.post("/items", json={**ITEM, "qty": -1}),
        await client.get("/admin"),
        await client.get("/admin", headers={"x-api-key": "key-1"}),
        await client.get("/nowhere"),
    ]
    out: list[tuple[int, Any]] = []
    for r in responses:
        body = r.json()
        body.pop("request_id", None)
        if isinstance(body.get("error"), dict):
            body["error"].pop("requestId")
        out.append((r.status_code, body))
    return out


def damaged(original: bytes, how: str, position: int, byte: int) -> bytes | None:
    """The file's new content, or None to delete it."""
    if how == "delete":
        return None
    if how == "append" or not original:
        return original + bytes([byte])
    position %= len(original)
    if original[position] == byte:
        byte = (byte + 1) % 256
    return original[:position] + bytes([byte]) + original[position + 1 :]


def same_json(a: bytes, b: bytes) -> bool:
    try:
        return bool(json.loads(a) == json.loads(b))
    except ValueError:
        return False


@given(
    pick=st.integers(0, 10_000),
    how=st.sampled_from(["flip", "append", "delete"]),
    position=st.integers(0, 2**20),
    byte=st.integers(0, 255),
)
def test_property_36_manifest_caching(served: Served, pick: int, how: str, position: int, byte: int) -> None:
    build_dir = served.built.build_dir
    artifacts = sorted(json.loads((build_dir / "manifest.json").read_bytes())["artifacts"])
    rel = artifacts[pick % len(artifacts)]
    path = build_dir / rel
    original = path.read_bytes()
    before = served.run(answers)
    new = damaged(original, how, position, byte)
    try:
        if new is None:
            path.unlink()
        else:
            path.write_bytes(new)
        assert served.run(answers) == before
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv(API_KEYS_ENV, api_keys_spec()[0])
            mp.setenv(JWT_SECRET_ENV, JWT_SECRET)
            try:
                GatiApp(build_dir)
            except ManifestError as exc:
                assert exc.file.endswith(rel)
            else:
                assert new is not None and rel.endswith(".json") and same_json(new, original)
    finally:
        path.write_bytes(original)
