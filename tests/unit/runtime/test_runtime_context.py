"""`LocalContext`, `GlobalContext`, the message bus and module views, on their own."""

from __future__ import annotations

import asyncio
from types import MappingProxyType
from typing import Any

import pytest

from gati_runtime_min.context import GlobalContext, LocalContext, Modules, RequestMeta
from gati_runtime_min.errors import CapabilityError
from gati_runtime_min.membus import Bus


def _lctx() -> LocalContext:
    return LocalContext(RequestMeta("01ID", "/p", "v1", {"debug": True}))


def test_state_ops() -> None:
    lctx = _lctx()
    lctx.set("a", 1)
    lctx.set("b", [1])
    assert lctx.get("a") == 1 and lctx.get("missing", "d") == "d"
    lctx.delete("a")
    lctx.delete("a")  # deleting twice is fine
    assert lctx.get("a") is None
    lctx.clean()
    assert lctx.get("b") is None


def test_snapshot_is_a_deep_copy_and_restore_rewinds() -> None:
    lctx = _lctx()
    lctx.set("items", [1])
    snap = lctx.snapshot()
    lctx.get("items").append(2)
    lctx.publish("t", "m")
    assert snap.state["items"] == [1]
    lctx.restore(snap)
    assert lctx.get("items") == [1] and lctx.published == []
    with pytest.raises(TypeError):
        snap.state["x"] = 1  # type: ignore[index]


def test_request_scoped_publish_and_log_events() -> None:
    lctx = _lctx()
    got: list[Any] = []
    lctx.subscribe("t", got.append)
    lctx.publish("t", {"n": 1})
    lctx.publish("other", 2)
    lctx.log("hello", level="warning", k=1)
    assert got == [{"n": 1}]
    names = [e["event"] for e in lctx.events_json()]
    assert names == ["publish", "publish", "log"]
    assert lctx.meta.request_id == "01ID" and lctx.meta.flags["debug"] is True


def test_config_is_read_only_all_the_way_down() -> None:
    gctx = GlobalContext(config={"db": {"hosts": ["a"]}})
    assert isinstance(gctx.config, MappingProxyType)
    with pytest.raises(TypeError):
        gctx.config["db"]["x"] = 1
    assert gctx.config["db"]["hosts"] == ("a",)


def test_modules_by_key_attribute_and_capability() -> None:
    db = object()
    modules = Modules({"db": db, "mail": object()})
    assert modules["db"] is db and modules.db is db
    view = modules.restrict(frozenset({"db"}), "h1")
    assert view["db"] is db and "mail" not in view and list(view) == ["db"]
    with pytest.raises(CapabilityError, match="'h1' does not declare module 'mail'"):
        view.mail  # noqa: B018
    with pytest.raises(CapabilityError):
        modules["nope"]


def test_bus_backpressure_and_drop_counting() -> None:
    async def main() -> None:
        bus = Bus()
        sub = bus.subscribe("t", maxsize=1)
        assert await bus.publish("t", 1) == 1
        with pytest.raises(TimeoutError):
            await bus.publish("t", 2, timeout=0.05)  # full: the publisher waits, then gives up
        assert bus.publish_nowait("t", 3) == 0 and sub.dropped == 1
        assert await sub.get() == 1
        sub.close()
        assert await bus.publish("t", 4) == 0

        sub2 = bus.subscribe("u", maxsize=10)
        producer = asyncio.ensure_future(asyncio.gather(*(bus.publish("u", i) for i in range(5))))
        received = []
        async for msg in sub2:
            received.append(msg)
            if len(received) == 5:
                break
        await producer
        assert sorted(received) == [0, 1, 2, 3, 4]

    asyncio.run(main())
