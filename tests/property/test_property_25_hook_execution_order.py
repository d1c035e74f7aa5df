"""Property 25, hook execution order: before hooks run global → route → local in registration
order, after hooks in the reverse order (local, route, global), and on an error the catch hooks in
reverse (local, route, global); a failing hook stops its phase. Checked against the model in
`hookplan.py` for generated plans of local hooks (sync and async, failing and retried)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.property.hookplan import PLANS, Plan, model, run_plan
from tests.property.propapp import Served


@given(plan=PLANS, handler_fails=st.booleans())
def test_property_25_hook_execution_order(served: Served, plan: Plan, handler_fails: bool) -> None:
    ran = run_plan(served, plan, handler_fails)
    want = model(plan, handler_fails)
    assert ran.trail == want.trail
    if want.code is None:
        assert ran.response.status_code // 100 == 2
    else:
        assert ran.response.status_code == want.status_class
        assert ran.response.json()["error"]["code"] == want.code
