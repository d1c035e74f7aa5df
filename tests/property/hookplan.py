"""Plans of local hooks for the `/hooks` route of the property app, and the model of what must run.

A plan is a list of `(kind, is_async, fails, retries)`: the route's before hook `plan_hooks`
registers one local hook per entry with `lctx.before/after/catch(fn, retries=...)`; the hook
records its name (`<kind><index>`) on every attempt and raises on its first `fails` attempts.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from hypothesis import strategies as st

from gati_runtime_min.testing import AppClient
from tests.property.propapp import Served

Plan = list[tuple[str, bool, int, int]]

PLANS: st.SearchStrategy[Plan] = st.lists(
    st.tuples(st.sampled_from(["before", "after", "catch"]), st.booleans(), st.integers(0, 2), st.integers(0, 2)),
    max_size=7,
)


@dataclass(frozen=True)
class Outcome:
    status_class: int  # 2 for success; or the HTTP status of the error
    code: str | None
    trail: list[str]


def _attempts(fails: int, retries: int) -> tuple[int, bool]:
    """How many times a hook runs and whether it succeeds in the end."""
    return min(fails, retries) + 1, fails <= retries


def model(plan: Plan, handler_fails: bool) -> Outcome:
    """What SPEC section 6 says runs: before hooks global → route → local in registration order;
    the handler; after hooks in reverse (local, route, global); on an error, catch hooks in
    reverse (local, route, global)."""
    trail = ["g_before", "r_before"]
    error: tuple[int, str] | None = None
    for index, (kind, _, fails, retries) in enumerate(plan):
        if kind != "before":
            continue
        runs, ok = _attempts(fails, retries)
        trail += [f"before{index}"] * runs
        if not ok:
            error = (500, "GATI502")
            break
    if error is None:
        trail.append("handler")
        if handler_fails:
            error = (500, "GATI500")
    if error is None:
        for index, (kind, _, fails, retries) in reversed(list(enumerate(plan))):
            if kind != "after":
                continue
            runs, ok = _attempts(fails, retries)
            trail += [f"after{index}"] * runs
            if not ok:
                error = (500, "GATI502")
                break
        else:
            trail += ["r_after", "g_after"]
    if error is None:
        return Outcome(2, None, trail)
    for index, (kind, _, fails, retries) in reversed(list(enumerate(plan))):
        if kind == "catch":
            trail += [f"catch{index}"] * _attempts(fails, retries)[0]
    trail += ["r_catch", "g_catch"]
    return Outcome(error[0], error[1], trail)


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(record.getMessage()))


@contextmanager
def audit_lines() -> Iterator[list[dict[str, Any]]]:
    """The runtime's audit lines (logger `gati.audit`) logged inside the block."""
    logger = logging.getLogger("gati.audit")
    handler = _Lines()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@dataclass(frozen=True)
class Ran:
    response: httpx.Response
    trail: list[str]
    events: list[dict[str, Any]]


def run_plan(served: Served, plan: Plan, handler_fails: bool) -> Ran:
    """Call `/hooks` with `plan`; what the hooks recorded and the request's audited lifecycle events."""
    headers = {"x-plan": json.dumps(plan)}
    if handler_fails:
        headers["x-fail"] = "1"

    async def go(client: AppClient) -> httpx.Response:
        return await client.get("/hooks", headers=headers)

    with audit_lines() as lines:
        r = served.run(go)
    rid = r.headers["x-request-id"]
    (line,) = [x for x in lines if x["requestId"] == rid]
    return Ran(r, list(served.built.record().get(rid, [])), line["events"])
