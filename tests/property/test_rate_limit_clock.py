"""Property 34 (rate limit enforcement) on an injected clock: no wall time, so it holds on any machine.

`RateLimiter.hit(client, handler, limit, window, now=...)` counts fixed windows per (client,
handler). For any sequence of hits at non-decreasing times, each window admits exactly
`min(limit, hits in it)` requests, every refusal is GATI532 with a `Retry-After` of at least one
second that does not outlast the window, and clients and handlers never share a budget.
"""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from gati_runtime_min.errors import GatiError
from gati_runtime_min.policies import RateLimiter

hits = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=5, allow_nan=False),  # time since the previous hit
        st.sampled_from(["10.0.0.1", "10.0.0.2"]),
        st.sampled_from(["list", "create"]),
    ),
    min_size=1,
    max_size=60,
)


@given(hits=hits, limit=st.integers(min_value=1, max_value=5), window=st.sampled_from([1.0, 2.5, 60.0]))
def test_property_34_rate_limit_enforcement(hits: list[tuple[float, str, str]], limit: int, window: float) -> None:
    limiter = RateLimiter()
    now = 1000.0
    # the model: per key, the start of its current window and how many it admitted there
    model: dict[tuple[str, str], tuple[float, int]] = {}
    for gap, client, handler in hits:
        now += gap
        key = (client, handler)
        start, used = model.get(key, (now, 0))
        if now - start >= window:
            start, used = now, 0
        try:
            limiter.hit(client, handler, limit, window, now=now)
        except GatiError as exc:
            assert used >= limit, "refused while the window still had room"
            assert exc.code == "GATI532" and exc.status == 429
            retry = int(exc.headers["retry-after"])
            assert 1 <= retry <= max(1, math.ceil(window))
            model[key] = (start, used)
        else:
            assert used < limit, "admitted past the limit"
            model[key] = (start, used + 1)
