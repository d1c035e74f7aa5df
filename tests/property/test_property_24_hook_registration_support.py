"""Property 24, hook registration support: `lctx.before`, `lctx.after` and `lctx.catch` accept sync
and async functions with `retries`; every hook registered during a request runs in its phase for
that request only, as many times as its retries allow (one run plus one per failed attempt, up to
`retries`), and a later request starts with no local hooks."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from tests.property.hookplan import PLANS, Plan, model, run_plan
from tests.property.propapp import Served


@given(plan=PLANS, handler_fails=st.booleans())
def test_property_24_hook_registration_support(served: Served, plan: Plan, handler_fails: bool) -> None:
    ran = run_plan(served, plan, handler_fails)
    runs = Counter(ran.trail)
    expected = Counter(model(plan, handler_fails).trail)
    for index, (kind, _, fails, retries) in enumerate(plan):
        name = f"{kind}{index}"
        assert runs[name] == expected[name]
        assert runs[name] <= min(fails, retries) + 1
    fresh = run_plan(served, [], False)
    assert fresh.trail == ["g_before", "r_before", "handler", "r_after", "g_after"]
