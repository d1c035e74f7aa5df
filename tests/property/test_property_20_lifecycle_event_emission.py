"""Property 20, lifecycle event emission: every request's audit line carries its lifecycle events,
in time order: one `hook.start` per hook attempt, each closed by its own `hook.end` or
`hook.error` before the next starts, and `handler.start`/`handler.end` around the handler (the end
only when it returned). The number of attempts matches what the hooks themselves recorded."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.property.hookplan import PLANS, Plan, model, run_plan
from tests.property.propapp import Served


@given(plan=PLANS, handler_fails=st.booleans())
def test_property_20_lifecycle_event_emission(served: Served, plan: Plan, handler_fails: bool) -> None:
    ran = run_plan(served, plan, handler_fails)
    events = ran.events
    times = [e["ms"] for e in events]
    assert times == sorted(times)
    hook_events = [e for e in events if e["event"].startswith("hook.")]
    starts = hook_events[0::2]
    ends = hook_events[1::2]
    assert len(starts) == len(ends)
    for start, end in zip(starts, ends, strict=True):
        assert start["event"] == "hook.start" and end["event"] in ("hook.end", "hook.error")
        assert start["hook"] == end["hook"]
        if end["event"] == "hook.error":
            assert end["attempt"] == start["attempt"] and end["error"] == "ConnectionError"
    hook_runs = [t for t in ran.trail if t != "handler"]
    assert len(starts) == len(hook_runs)
    names = [e["event"] for e in events if e["event"].startswith("handler.")]
    if "handler" not in ran.trail:
        assert names == []
    elif handler_fails:
        assert names == ["handler.start"]
    else:
        assert names == ["handler.start", "handler.end"]
    assert ran.trail == model(plan, handler_fails).trail
