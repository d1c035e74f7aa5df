"""What telemetry and the playground's tracing cost on the request path: the bench app of
`bench_inprocess.py`, in-process.

Four variants, each in its own process (two checkouts cannot share one interpreter), `--repeat`
children each, interleaved:

- `before`: the runtime of another checkout (`--before`, such as the main branch without
  telemetry), as it was;
- `off`: this checkout, telemetry off (`[tool.gati.telemetry]` absent, the default);
- `on`: this checkout, telemetry on: every span of a request (server, hooks, handler) recorded
  and handed to a batch processor whose exporter drops them, the request metrics recorded;
- `traced`: this checkout, the playground's recorder on (`GATI_TRACE=1`): every request's trace
  kept in the in-memory store, telemetry off.

Each figure is the CPU time of the process per request (`time.process_time`, its threads too,
such as telemetry's exporter), the best of `--rounds` rounds of `--n` requests per case in each
child, and the best child of each variant: on a shared machine the time a process waits for a
core is not the request path's cost, and wall-clock figures swing by a third between runs there.

    .venv/bin/python benchmarks/runtime/bench_telemetry.py --before /work/main [--n 5000] [--repeat 5] [--rounds 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
VARIANTS = ("before", "off", "on", "traced")


async def cpu_measure(app: Any, method: str, path: str, body: bytes, n: int) -> float:
    """CPU microseconds per request over `n` calls (the scope of `bench_inprocess.measure`)."""
    from benchmarks.runtime.bench_inprocess import scope_for

    copy = scope_for(method, path, body).copy
    message = {"type": "http.request", "body": body, "more_body": False}

    async def receive() -> Any:
        return message

    async def send(message: Any) -> None:
        return None

    t0 = time.process_time()
    for _ in range(n):
        await app(copy(), receive, send)
    return (time.process_time() - t0) / n * 1e6


async def one(variant: str, n: int, rounds: int) -> dict[str, float]:
    """CPU microseconds per request per case, the best of `rounds`, for one variant (run in a child process)."""
    from benchmarks.runtime.bench_inprocess import CASES, check, gati_build
    from gati_runtime_min import GatiApp

    with tempfile.TemporaryDirectory() as tmp:
        build = gati_build(Path(tmp))
        if variant == "on":
            from opentelemetry.sdk.metrics.export import InMemoryMetricReader
            from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

            from gati_runtime_min.telemetry import Telemetry

            class Discard(SpanExporter):
                def export(self, spans: Any) -> SpanExportResult:
                    return SpanExportResult.SUCCESS

            telemetry = Telemetry("bench", span_exporter=Discard(), metric_reader=InMemoryMetricReader(), batch=True)
            app = GatiApp(build, telemetry=telemetry)
        elif variant == "traced":
            app = GatiApp(build, trace=True)
        else:
            app = GatiApp(build)
        await app.startup()
        await check(f"gati {variant}", app)
        out: dict[str, float] = {}
        for _ in range(rounds):
            for label, method, path, body, *_ in CASES:
                us = await cpu_measure(app, method, path, body, n)
                out[label] = min(us, out.get(label, us))
        await app.shutdown()
        return out


def child(variant: str, checkout: Path, n: int, rounds: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(checkout), str(ROOT)])}
    args = [sys.executable, str(Path(__file__).resolve()), "--child", variant, "--n", str(n), "--rounds", str(rounds)]
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{variant} ({checkout}) failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(before: Path, n: int, repeat: int, rounds: int) -> None:
    checkouts = {"before": before, "off": ROOT, "on": ROOT, "traced": ROOT}
    best: dict[str, dict[str, float]] = {v: {} for v in VARIANTS}
    for _ in range(repeat):
        for variant in VARIANTS:
            for label, us in child(variant, checkouts[variant], n, rounds).items():
                best[variant][label] = min(us, best[variant].get(label, us))
    labels = list(best["off"])
    print(
        f"in-process, best of {repeat} children x {rounds} rounds x {n} requests, Python {sys.version.split()[0]};"
        " CPU us per request"
    )
    print(f"before = {before}, off/on = {ROOT}")
    print(
        f"{'case':<28}{'before':>10}{'off':>10}{'on':>10}{'traced':>10}{'off/before':>12}{'on/off':>10}{'traced/off':>12}"
    )
    for label in labels:
        b, off, on, tr = (best[v][label] for v in VARIANTS)
        print(
            f"{label:<28}{b:>10.2f}{off:>10.2f}{on:>10.2f}{tr:>10.2f}{off / b:>12.3f}{on / off:>10.2f}{tr / off:>12.2f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, default=ROOT, help="the checkout to compare with (default: this one)")
    parser.add_argument("--n", type=int, default=5000, help="requests per round and case")
    parser.add_argument("--repeat", type=int, default=5, help="children per variant, interleaved")
    parser.add_argument("--rounds", type=int, default=4, help="rounds per child")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(one(args.child, args.n, args.rounds))))
    else:
        main(args.before.resolve(), args.n, args.repeat, args.rounds)
