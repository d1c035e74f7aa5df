"""Where the cost of an old-version request goes: the same app as `bench_transformers.py`, taken apart.

`bench_transformers.py` judges the goal (issue 12: a client three versions behind costs at most
1.5x a current-version request). This benchmark answers what bounds that ratio: it serves the
same build and, besides the two real cases, runs the v1 POST through accounting variants of the
`(create_user, v1)` chain, each swapped into the running app for its own cells:

- current:            the current-version request, as served;
- v1:                 the v1 request, as served (the version's check, three upgrades, the current
                      path, three downgrades, the version's check of the answer);
- v1, free patterns:  the same compiled chains, the quick checks' regular expressions each replaced
                      by `len` (a C call that answers at once, never None): what the patterns cost;
- v1, checks say yes: the same compiled chains with both quick checks replaced by a function that
                      answers True at once: the chains' cost without the two checks' own work;
- v1, no checks:      the six transformers called in a row, nothing else (no check, no fault
                      handling): the least any chain running these transformers could cost;
- v1, no chain:       the upgraded body and the downgraded answer handed back ready-made: what the
                      app adds around the chain.

The accounting variants skip required work, so they are never a configuration of the runtime;
each still answers the expected v1 JSON for this valid request (checked before timing). Every
round runs every cell once, in turn, `--n` requests each; the figures are per-round ratios over
the current cell of the same round, median [min..max]. Then, in isolation (best of 7): each quick
check and each transformer on this request's values, and each regular expression of the checks.

    python benchmarks/timescape/bench_breakdown.py [--n 3000] [--rounds 9] [--clock cpu]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import tempfile
import time
import timeit
import types
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any, Final

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.timescape.bench_transformers import (
    BODY_V1,
    CLOCK,
    TSVS,
    USER_V1,
    USER_V4,
    Contender,
    _lifespan_startup,
    gati_app,
    gati_build,
)
from gati_runtime_min.transform import compiled

KEY: Final = ("create_user", TSVS[0])
CELLS: Final = ("current", "v1", "v1, free patterns", "v1, checks say yes", "v1, no checks", "v1, no chain")


def _yes(value: Any) -> bool:
    return True


def free_patterns(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """`check` with each regular expression of its module replaced by `len`."""
    names = dict(check.__globals__)
    for name, const in check.__globals__.items():
        if isinstance(getattr(const, "__self__", None), re.Pattern):
            names[name] = len
    fn: Callable[[Any], bool] = types.FunctionType(check.__code__, names, check.__name__)
    return fn


def variants(served: Any) -> dict[str, Any]:
    """The served `(create_user, v1)` and its accounting variants (see the module docstring)."""
    up = [s.upgrade for s in served.upgrades]
    down = [s.downgrade for s in served.downgrades]
    last = served.upgrades[-1]
    upgraded = served.run_upgrade(dict(BODY_V1), {}, {}, {}, "r")[0]

    def transformers_up(body: Any, query: Any, params: Any, hdrs: Any, rid: str) -> Any:
        wire = {"body": body}
        for fn in up:
            wire = fn(wire)
        return wire["body"], query, params, hdrs, last

    def transformers_down(value: Any, rid: str) -> Any:
        for fn in down:
            value = fn(value)
        return value

    def ready_up(body: Any, query: Any, params: Any, hdrs: Any, rid: str) -> Any:
        return upgraded, query, params, hdrs, last

    def ready_down(value: Any, rid: str) -> Any:
        return USER_V1

    return {
        "v1": served,
        "v1, free patterns": compiled(
            replace(
                served,
                quick_body=free_patterns(served.quick_body),
                quick_response=free_patterns(served.quick_response),
            )
        ),
        "v1, checks say yes": compiled(replace(served, quick_body=_yes, quick_response=_yes)),
        "v1, no checks": replace(served, run_upgrade=transformers_up, run_downgrade=transformers_down),
        "v1, no chain": replace(served, run_upgrade=ready_up, run_downgrade=ready_down),
    }


async def cells(app: Any, n: int, rounds: int) -> dict[str, list[float]]:
    """Microseconds per request of each cell, one figure per round."""
    contender = Contender("gati", app, b"x-gati-version", (TSVS[3], TSVS[0]), n=n)
    await contender.check()
    extra, served = app._open[KEY]  # the pair the request path looks up (`GatiApp._open`)
    swapped = variants(served)
    out: dict[str, list[float]] = {cell: [] for cell in CELLS}
    try:
        for sv in swapped.values():  # each variant answers this valid request as served
            app._open[KEY] = (extra, sv)
            await contender.check()
        for r in range(rounds):
            order = CELLS[r % len(CELLS) :] + CELLS[: r % len(CELLS)]
            for cell in order:
                if cell == "current":
                    out[cell].append(await contender.run("POST /users current", n))
                    continue
                app._open[KEY] = (extra, swapped[cell])
                out[cell].append(await contender.run("POST /users v1", n))
    finally:
        app._open[KEY] = (extra, served)
    return out


def isolated(served: Any) -> list[tuple[str, float]]:
    """Nanoseconds per call (best of 7) of the checks, the transformers and the checks' patterns."""
    timer = CLOCK[0]

    def ns(fn: Callable[[], Any], number: int = 100_000) -> float:
        return min(timeit.repeat(fn, number=number, repeat=7, timer=timer)) / number * 1e9

    rows = [("quick check of the v1 request", ns(lambda: served.quick_body(BODY_V1)))]
    rows.append(("quick check of the v1 answer", ns(lambda: served.quick_response(USER_V1))))
    wire: Any = {"body": dict(BODY_V1)}
    for step in served.upgrades:
        fn, arg = step.upgrade, wire
        assert fn is not None
        rows.append((f"upgrade {step.names['upgrade'].rsplit(':', 1)[1]}", ns(partial(fn, arg))))
        wire = fn(wire)
    value: Any = dict(USER_V4)
    for step in served.downgrades:
        fn, arg = step.downgrade, value
        assert fn is not None
        rows.append((f"downgrade {step.names['downgrade'].rsplit(':', 1)[1]}", ns(partial(fn, arg))))
        value = fn(value)
    # the checks' regular expressions, each on the value of this request it is asked about
    module = served.quick_body.__globals__
    samples = [*BODY_V1.values(), *USER_V1.values()]
    for _, const in sorted(module.items()):
        pattern = getattr(const, "__self__", None)
        if isinstance(pattern, re.Pattern):
            for sample in dict.fromkeys(s for s in samples if isinstance(s, str) and const(s) is not None):
                rows.append((f"pattern {pattern.pattern!r} on {sample!r}", ns(partial(const, sample))))
    rows.append(("a call of a function answering True", ns(lambda: _yes(None))))
    return rows


def report(results: dict[str, list[float]], rows: list[tuple[str, float]], args: argparse.Namespace) -> None:
    clock = "cpu" if CLOCK[0] is time.process_time else "wall"
    print(f"POST /users, {args.rounds} rounds of {args.n} requests per cell, {clock} clock")
    print("per round: us per request, and over the current cell of the same round; median [min..max]")
    current = results["current"]
    for cell in CELLS:
        values = results[cell]
        ratios = sorted(v / c for v, c in zip(values, current, strict=True))
        added = sorted(v - c for v, c in zip(values, current, strict=True))
        print(
            f"  {cell:<20} {statistics.median(values):6.2f} us  {statistics.median(ratios):.3f}x "
            f"[{ratios[0]:.3f}..{ratios[-1]:.3f}]  adds {statistics.median(added):5.2f} us"
        )
    print("in isolation, ns per call (best of 7):")
    for label, value in rows:
        print(f"  {label:<60} {value:7.1f}")


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="gati-bench-xfparts-") as tmp:
        app: Any = gati_app(gati_build(Path(tmp)))
        await _lifespan_startup(app)
        results = await cells(app, args.n, args.rounds)
        report(results, isolated(app._open[KEY][1]), args)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="requests per cell and round")
    parser.add_argument("--rounds", type=int, default=9, help="rounds (every cell once each)")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall", help="cpu: this process's CPU time")
    parsed = parser.parse_args()
    if parsed.clock == "cpu":
        CLOCK[0] = time.process_time
    asyncio.run(main(parsed))
