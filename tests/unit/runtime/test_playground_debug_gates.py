"""Debug gates (`playground/gates.py`) driven directly, with real `Request`/`LocalContext` objects on
a real event loop: pausing and resuming with edited state, aborting, timeouts both ways, requests
that are not held, the condition operators, and gate JSON that is refused with a clear message."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from pydantic import BaseModel
from typing_extensions import TypedDict

from gati_runtime_min.context import LocalContext
from gati_runtime_min.errors import GatiError
from gati_runtime_min.messages import Request
from gati_runtime_min.playground.gates import Condition, Gate, Gates, Paused
from gati_runtime_min.playground.snapshot import Redactor
from gati_runtime_min.playground.trace import Trace, new_trace_id
from gati_runtime_min.secrets import Secret


class Line(BaseModel):
    sku: str
    quantity: int


class Order(BaseModel):
    customer: str
    lines: list[Line]
    placed: dt.date


@dataclasses.dataclass
class User:
    name: str
    roles: list[str]


class Query(TypedDict):
    page: int
    tag: str


def make_request(quantity: int = 3, rid: str = "01A") -> tuple[Request[Any, Any, Any], LocalContext]:
    body = Order(customer="ada", lines=[Line(sku="b-1", quantity=quantity)], placed=dt.date(2024, 5, 1))
    req: Request[Any, Any, Any] = Request(
        body=body, query=Query(page=2, tag="new"), params={"id": 7}, headers={"x-tenant": "acme"},
        method="POST", path="/orders/7", request_id=rid,
    )  # fmt: skip
    lctx = LocalContext._new(rid, "/orders/7", None, False, time.perf_counter())
    lctx.set("user", User("ada", ["admin"]))
    lctx.set("count", 1)
    lctx.set("api_token", Secret("api", "t0k"))
    return req, lctx


def make_trace() -> Trace:
    return Trace("POST", "/orders/7", "", time.time(), time.perf_counter(), new_trace_id())


async def until(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    end = time.perf_counter() + timeout
    while not condition():
        assert time.perf_counter() < end, "timed out waiting"
        await asyncio.sleep(0.001)


async def paused_one(gates: Gates, count: int = 1) -> Paused:
    await until(lambda: len(gates.paused()) >= count)
    return gates.paused()[-1]


def run(fn: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(fn())


def test_a_paused_request_resumes_with_the_state_the_developer_edited() -> None:
    async def scenario() -> None:
        gates = Gates(5.0, Redactor())
        gates.add({"id": "g1", "when": "before", "target": "handler"})
        req, lctx = make_request()
        conn = object()
        lctx.set("conn", conn)  # no JSON form: shown as its repr, kept as it is when left unchanged
        trace = make_trace()
        task = asyncio.create_task(gates.check("before", "handler", "create_order", req, lctx, trace))
        p = await paused_one(gates)
        assert (p.gate.id, p.position, p.request_id, p.handler_id) == ("g1", "before handler", "01A", "create_order")
        assert gates.get(p.id) is p and not task.done()
        state = p.snapshot.state
        assert state["count"] == 1 and state["api_token"] == {"$type": "redacted"}
        assert state["user"]["fields"] == {"name": "ada", "roles": ["admin"]}
        edited = dict(state)
        edited["count"] = 41
        edited["user"] = {**state["user"], "fields": {"name": "ada", "roles": ["reader"]}}
        edited["since"] = {"$type": "date", "value": "2024-01-02"}
        del edited["conn"]  # the edit may drop keys: the state is replaced whole
        assert gates.resume(p.id, edited)
        await asyncio.wait_for(task, 1)
        assert lctx.get("count") == 41 and lctx.get("since") == dt.date(2024, 1, 2)
        assert lctx.get("user") == User("ada", ["reader"])
        assert lctx.get("api_token") == Secret("api", "t0k")  # redacted in the snapshot, unchanged: kept
        assert lctx.get("conn") is None
        assert gates.paused() == [] and gates.get(p.id) is None
        names = [e[1] for e in lctx.events]
        assert names == ["gate.paused", "gate.resumed"]
        assert [s["position"] for s in trace.snapshots] == ["before handler", "before handler (edited)"]
        assert trace.snapshots[1]["state"]["count"] == 41
        (span,) = trace.spans
        assert span.name == "gate g1" and span.end >= span.start and span.status == "ok"

    run(scenario)


def test_an_unchanged_unrestorable_value_is_kept_and_a_changed_one_is_refused() -> None:
    async def scenario() -> None:
        gates = Gates(5.0, Redactor())
        gates.add(Gate("g", "after", "auth"))
        req, lctx = make_request()
        conn = object()
        lctx.set("conn", conn)
        task = asyncio.create_task(gates.check("after", "auth", "h", req, lctx, None))
        p = await paused_one(gates)
        assert p.position == "after hook auth"
        bad = {**p.snapshot.state, "conn": {"$type": "repr", "repr": "<something else>"}}
        with pytest.raises(ValueError, match=r"\$\.state\.conn"):
            gates.resume(p.id, bad)
        with pytest.raises(ValueError, match="unknown \\$type"):
            gates.resume(p.id, {"count": {"$type": "wat"}})
        assert not task.done() and gates.get(p.id) is p  # still paused after a refused edit
        assert gates.resume(p.id, p.snapshot.state)
        await asyncio.wait_for(task, 1)
        assert lctx.get("conn") is conn and lctx.get("api_token") == Secret("api", "t0k")

    run(scenario)


def test_abort_answers_503_gati550() -> None:
    async def scenario() -> None:
        gates = Gates(5.0, Redactor())
        gates.add({"id": "stop", "when": "before", "target": "handler"})
        req, lctx = make_request()
        trace = make_trace()
        task = asyncio.create_task(gates.check("before", "handler", "h", req, lctx, trace))
        p = await paused_one(gates)
        assert gates.abort(p.id)
        assert not gates.abort(p.id) and not gates.resume(p.id)  # settled once
        with pytest.raises(GatiError) as caught:
            await task
        assert (caught.value.code, caught.value.status) == ("GATI550", 503)
        assert "stop" in str(caught.value.detail)
        assert trace.spans[0].status == "error" and gates.paused() == []
        assert [e[1] for e in lctx.events] == ["gate.paused", "gate.aborted"]

    run(scenario)


def test_a_timeout_resumes_or_aborts_with_504_gati551() -> None:
    async def scenario() -> None:
        gates = Gates(0.05, Redactor())  # the default timeout, for gates without one
        gates.add({"id": "soft", "when": "before", "target": "handler"})
        req, lctx = make_request()
        t0 = time.perf_counter()
        await asyncio.wait_for(gates.check("before", "handler", "h", req, lctx, None), 2)
        assert 0.04 < time.perf_counter() - t0 < 1.0
        assert [e[1] for e in lctx.events] == ["gate.paused", "gate.timeout"] and gates.paused() == []
        assert lctx.get("count") == 1

        gates.add({"id": "hard", "when": "after", "target": "handler", "timeout": 0.05, "onTimeout": "abort"})
        with pytest.raises(GatiError) as caught:
            await asyncio.wait_for(gates.check("after", "handler", "h", req, lctx, None), 2)
        assert (caught.value.code, caught.value.status) == ("GATI551", 504)
        assert "hard" in str(caught.value.detail) and gates.paused() == []

    run(scenario)


def test_other_requests_go_on_while_one_is_paused() -> None:
    async def scenario() -> None:
        gates = Gates(5.0, Redactor())
        gates.add({"id": "big", "when": "before", "target": "handler",
                   "condition": {"path": "$.body.lines[0].quantity", "op": "gt", "value": 10}})  # fmt: skip
        big_req, big_lctx = make_request(quantity=20, rid="01BIG")
        held = asyncio.create_task(gates.check("before", "handler", "h", big_req, big_lctx, None))
        first = await paused_one(gates)
        for i in range(5):  # small orders pass the same gate while the big one waits
            small_req, small_lctx = make_request(quantity=1, rid=f"01S{i}")
            await asyncio.wait_for(gates.check("before", "handler", "h", small_req, small_lctx, None), 0.5)
            assert small_lctx.events == []
        other_req, other_lctx = make_request(quantity=50, rid="01BIG2")
        held2 = asyncio.create_task(gates.check("before", "handler", "h", other_req, other_lctx, None))
        second = await paused_one(gates, 2)
        assert {p.request_id for p in gates.paused()} == {"01BIG", "01BIG2"}
        assert gates.resume(second.id)  # the second goes first: pauses are independent
        await asyncio.wait_for(held2, 1)
        assert not held.done()
        assert gates.resume(first.id)
        await asyncio.wait_for(held, 1)

    run(scenario)


def test_resume_from_another_thread_wakes_the_request_on_its_loop() -> None:
    async def scenario() -> None:
        gates = Gates(5.0, Redactor())
        gates.add({"id": "g", "when": "before", "target": "handler"})
        req, lctx = make_request()
        task = asyncio.create_task(gates.check("before", "handler", "h", req, lctx, None))
        p = await paused_one(gates)
        resumed = await asyncio.get_running_loop().run_in_executor(None, gates.resume, p.id, {"count": 2})
        assert resumed
        await asyncio.wait_for(task, 1)
        assert lctx._state == {"count": 2}

    run(scenario)


def test_a_cancelled_request_leaves_no_paused_entry() -> None:
    async def scenario() -> None:
        gates = Gates(5.0, Redactor())
        gates.add({"id": "g", "when": "before", "target": "handler"})
        req, lctx = make_request()
        task = asyncio.create_task(gates.check("before", "handler", "h", req, lctx, None))
        p = await paused_one(gates)
        task.cancel()  # the client went away, or the route's own timeout fired
        with pytest.raises(asyncio.CancelledError):
            await task
        assert gates.paused() == [] and not gates.resume(p.id)

    run(scenario)


def test_gates_match_their_position_and_handler_only() -> None:
    async def scenario() -> None:
        gates = Gates(0.01, Redactor())
        gates.add({"id": "only-create", "when": "before", "target": "auth", "handlerId": "create_order"})
        req, lctx = make_request()
        for when, target, handler in [
            ("after", "auth", "create_order"),
            ("before", "handler", "create_order"),
            ("before", "auth", "list_orders"),
        ]:
            assert gates.match(when, target, handler, req, lctx) is None
            await gates.check(when, target, handler, req, lctx, None)
        assert lctx.events == []
        gate = gates.match("before", "auth", "create_order", req, lctx)
        assert gate is not None and gate.position == "before hook auth"
        # a hook is named by its id (`package.module:function`) or by its function's name alone
        gate = gates.match("before", "shop.hooks:auth", "create_order", req, lctx)
        assert gate is not None and gate.id == "only-create"
        assert gates.match("before", "shop.hooks:reauth", "create_order", req, lctx) is None
        gates.add({"id": "full", "when": "after", "target": "shop.hooks:audit", "timeout": 0.01})
        await gates.check("after", "shop.hooks:audit", "list_orders", req, lctx, None)
        assert lctx.events[0][2] == {"gate": "full", "position": "after hook shop.hooks:audit", "pause": "pause-1"}

    run(scenario)


def test_add_remove_list_and_armed() -> None:
    gates = Gates(1.0, Redactor())
    assert (gates.armed, gates.list()) == (False, [])
    a = gates.add({"when": "before", "target": "handler"})
    b = gates.add({"when": "after", "target": "audit", "on_timeout": "abort", "handler_id": "h"})
    assert (a.id, b.id) == ("gate-1", "gate-2") and gates.armed
    assert gates.list() == [a, b]
    assert b.to_json() == {
        "id": b.id, "when": "after", "target": "audit", "handlerId": "h", "condition": None,
        "timeout": None, "onTimeout": "abort",
    }  # fmt: skip
    assert Gate.from_json(b.to_json()) == b
    replaced = gates.add({"id": a.id, "when": "after", "target": "handler"})
    assert gates.list() == [replaced, b]
    assert gates.remove(a.id) and not gates.remove(a.id) and gates.armed
    assert gates.remove(b.id) and not gates.armed


ORDER_REQ, ORDER_LCTX = make_request(quantity=12)


@pytest.mark.parametrize(
    ("path", "op", "value", "expected"),
    [
        ("$.body.customer", "eq", "ada", True),
        ("$.body.customer", "ne", "ada", False),
        ("$.body.lines[0].quantity", "gt", 10, True),
        ("$.body.lines[0].quantity", "ge", 12, True),
        ("$.body.lines[0].quantity", "lt", 12, False),
        ("$.body.lines[0].quantity", "le", 12.5, True),
        ("$.body.lines[0].quantity", "gt", "10", False),  # a number is not compared with a string
        ("$.body.lines[-1].sku", "matches", "^b-\\d$", True),
        ("$.body.lines[0]['sku']", "contains", "-", True),
        ('$.body.lines[0]["sku"]', "eq", "b-1", True),
        ("$.body.placed", "eq", "2024-05-01", True),  # a date compared as its ISO string
        ("$.body.placed", "gt", "2024-01-01", True),
        ("$.body.missing", "exists", None, False),
        ("$.body.missing", "exists", False, True),
        ("$.body.missing", "ne", 1, False),  # a path that is not there matches nothing
        ("$.body.lines[3]", "exists", True, False),
        ("$.query.page", "eq", 2, True),
        ("$.query.tag", "contains", "ew", True),
        ("$.params.id", "eq", 7, True),
        ("$.params.id", "eq", True, False),  # 7 is not true, and 1 would not be either
        ("$.headers.x-tenant", "eq", "acme", True),
        ('$.headers["X-Tenant"]', "eq", "acme", True),  # header names are case-insensitive
        ("$.state.user.roles", "contains", "admin", True),
        ("$.state.user.name", "matches", "^a", True),
        ("$.state.user", "contains", "admin", False),
        ("$.state.count", "eq", 1, True),
        ("$.state.api_token", "exists", True, True),
        ("$.state.api_token", "eq", "t0k", False),  # a Secret never matches a value
        ("$.state.user._private", "exists", True, False),
    ],
)
def test_condition_operators(path: str, op: str, value: Any, expected: bool) -> None:
    assert Condition(path, op, value).matches(ORDER_REQ, ORDER_LCTX) is expected


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2], "a gate is a JSON object, not list"),
        ({"target": "handler"}, "gate: `when` is required"),
        ({"when": "before"}, "gate: `target` is required"),
        ({"when": "during", "target": "handler"}, "`when` is 'before' or 'after', not 'during'"),
        ({"when": "before", "target": ""}, "`target` is 'handler' or a hook id"),
        ({"when": "before", "target": "handler", "colour": 1}, "gate: unknown key 'colour'"),
        ({"when": "before", "target": "handler", "timeout": -1}, "`timeout` is a positive number"),
        ({"when": "before", "target": "handler", "timeout": "5"}, "`timeout` is a positive number"),
        ({"when": "before", "target": "handler", "onTimeout": "retry"}, "`onTimeout` is 'resume' or 'abort'"),
        ({"when": "before", "target": "handler", "handlerId": 3}, "`handlerId` is a handler id or null"),
        ({"when": "before", "target": "handler", "condition": "x"}, "condition is an object"),
        ({"when": "before", "target": "handler", "condition": {"op": "eq"}}, "condition: `path` is required"),
        ({"when": "before", "target": "handler", "condition": {"path": "body.x"}}, "does not start with `\\$`"),
        ({"when": "before", "target": "handler", "condition": {"path": "$.cookies.a"}}, "must start with \\$.body"),
        ({"when": "before", "target": "handler", "condition": {"path": "$.body..a"}}, "cannot read '..a'"),
        ({"when": "before", "target": "handler", "condition": {"path": "$.body", "op": "like"}}, "op 'like'"),
        (
            {"when": "before", "target": "handler", "condition": {"path": "$.body", "op": "matches", "value": "("}},
            "condition regular expression '\\('",
        ),
        (
            {"when": "before", "target": "handler", "condition": {"path": "$.body", "op": "gt", "value": [1]}},
            "compares with a number or a string",
        ),
        (
            {"when": "before", "target": "handler", "condition": {"path": "$.body", "x": 1}},
            "condition: unknown key 'x'",
        ),
    ],
)
def test_bad_gate_json_is_a_value_error_saying_what_is_wrong(data: Any, message: str) -> None:
    gates = Gates(1.0, Redactor())
    with pytest.raises(ValueError, match=message):
        gates.add(data)
    assert not gates.armed and gates.list() == []
