"""Module call costs: in-process through `gctx.modules`, and out-of-process round trips over stdio.

(a) In-process: `gctx.modules["pricing"].quote(...)` (and the attribute form
    `gctx.modules.pricing.quote(...)`) through a handler's restricted `Modules` view, against a
    plain `pricing.quote(...)` on the same instance. Reports ns per call and the overhead; the goal
    is an overhead under 2 us.
(b) Out-of-process: sequential round trips of a small `echo` call, p50 and p95 in microseconds:
    - floor: a minimal JSON-RPC client (write one line, read one line, orjson) against a minimal
      JSON-RPC echo server in the same language (a read-line/write-line loop), over the same kind
      of pipe (an asyncio subprocess's stdin/stdout);
    - helper: that minimal client against the real module built with the module helper
      (`gati_runtime_min.modules.server` or `gati-module.mjs`);
    - client: `ProcessModule` (policy lookup, timeout, id multiplexing, result decoding) against
      the real module. The goal is client p50 under 100 us.
    Each is measured in several interleaved rounds; the figures are the median over rounds of each
    round's percentile, and the ratios are to the floor.

    .venv/bin/python benchmarks/modules/bench_modules.py [--calls 3000] [--rounds 5] [--n 200000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))

from gati_runtime_min.context import GlobalContext, Modules  # noqa: E402
from gati_runtime_min.modules import MethodSpec, ProcessModule  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "modules"
PY_FLOOR = r"""
import sys, json
out = sys.stdout.buffer
for line in sys.stdin.buffer:
    msg = json.loads(line)
    out.write(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": msg["params"]["value"]}).encode() + b"\n")
    out.flush()
"""
NODE_FLOOR = r"""
let buf = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  buf += chunk;
  let nl;
  while ((nl = buf.indexOf("\n")) >= 0) {
    const msg = JSON.parse(buf.slice(0, nl));
    buf = buf.slice(nl + 1);
    process.stdout.write(JSON.stringify({ jsonrpc: "2.0", id: msg.id, result: msg.params.value }) + "\n");
  }
});
process.stdin.on("end", () => process.exit(0));
"""
COMMANDS = {
    "python": ([sys.executable, "-c", PY_FLOOR], [sys.executable, str(FIXTURES / "pymod.py")]),
    "node": (["node", "-e", NODE_FLOOR], ["node", str(FIXTURES / "nodemod.mjs")]),
}
VALUE = {"sku": "A-1", "qty": 2}


# ---------------------------------------------------------------------------------- (a) in-process
class Pricing:
    def quote(self, sku: str, qty: int) -> int:
        return qty * 3


def bench_inprocess(n: int, rounds: int) -> None:
    pricing = Pricing()
    gctx = GlobalContext(modules=Modules({"pricing": pricing, "db": object()}))
    view = gctx.modules.restrict(frozenset({"pricing"}), "h_quote")

    def plain() -> None:
        for _ in range(n):
            pricing.quote("A-1", 2)

    def by_key() -> None:
        for _ in range(n):
            view["pricing"].quote("A-1", 2)

    def by_attr() -> None:
        for _ in range(n):
            view.pricing.quote("A-1", 2)

    results: dict[str, list[float]] = {"plain": [], "modules[...]": [], "modules.attr": []}
    for _ in range(rounds):
        for name, fn in (("plain", plain), ("modules[...]", by_key), ("modules.attr", by_attr)):
            t0 = time.perf_counter_ns()
            fn()
            results[name].append((time.perf_counter_ns() - t0) / n)
    base = min(results["plain"])
    print("(a) in-process module call, ns per call (best of rounds):")
    for name, values in results.items():
        best = min(values)
        extra = f"  overhead {best - base:6.1f} ns (goal < 2000 ns)" if name != "plain" else ""
        print(f"    {name:14s} {best:7.1f} ns{extra}")


# ------------------------------------------------------------------------------ (b) out-of-process
class MinimalClient:
    """The floor: one request line out, one response line in, nothing else."""

    def __init__(self, argv: list[str]) -> None:
        self.argv = argv
        self.proc: asyncio.subprocess.Process | None = None
        self.ids = 0

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=ROOT
        )

    async def call(self, value: Any) -> Any:
        proc = self.proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        self.ids += 1
        proc.stdin.write(orjson.dumps({"jsonrpc": "2.0", "id": self.ids, "method": "echo", "params": {"value": value}}))
        proc.stdin.write(b"\n")
        while True:
            msg = orjson.loads(await proc.stdout.readline())
            if msg.get("id") == self.ids:  # skips the helper's "$/ready" notification
                return msg["result"]

    async def stop(self) -> None:
        proc = self.proc
        assert proc is not None and proc.stdin is not None
        proc.stdin.close()
        await proc.wait()


async def _round(call: Callable[[], Awaitable[Any]], calls: int) -> tuple[float, float]:
    for _ in range(200):
        await call()
    samples = []
    clock = time.perf_counter_ns
    for _ in range(calls):
        t0 = clock()
        await call()
        samples.append(clock() - t0)
    samples.sort()
    return samples[len(samples) // 2] / 1000, samples[int(len(samples) * 0.95)] / 1000


async def bench_process(language: str, calls: int, rounds: int) -> None:
    floor_argv, module_argv = COMMANDS[language]
    floor = MinimalClient(floor_argv)
    helper = MinimalClient(module_argv)
    client = ProcessModule("bench", module_argv, cwd=ROOT, methods={"echo": MethodSpec(params=("value",))})
    await asyncio.gather(floor.start(), helper.start(), client.start())
    echo = client.echo
    runs: dict[str, Callable[[], Awaitable[Any]]] = {
        "floor": lambda: floor.call(VALUE),
        "helper": lambda: helper.call(VALUE),
        "client": lambda: echo(value=VALUE),
    }
    p50: dict[str, list[float]] = {k: [] for k in runs}
    p95: dict[str, list[float]] = {k: [] for k in runs}
    try:
        for _ in range(rounds):
            for name, call in runs.items():
                a, b = await _round(call, calls)
                p50[name].append(a)
                p95[name].append(b)
    finally:
        await asyncio.gather(floor.stop(), helper.stop(), client.stop())
    floor50 = statistics.median(p50["floor"])
    print(f"(b) out-of-process round trip, {language} module, us (median of {rounds} rounds x {calls} calls):")
    for name in runs:
        m50, m95 = statistics.median(p50[name]), statistics.median(p95[name])
        print(f"    {name:7s} p50 {m50:7.1f}  p95 {m95:7.1f}  p50 / floor {m50 / floor50:4.2f}")
    print(f"    goal: client p50 < 100 us -> {'met' if statistics.median(p50['client']) < 100 else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=200_000, help="in-process calls per round")
    parser.add_argument("--calls", type=int, default=3000, help="round trips per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop", help="the client's event loop")
    args = parser.parse_args()
    bench_inprocess(args.n, args.rounds)
    run: Callable[[Any], Any] = asyncio.run
    if args.loop == "uvloop":
        import uvloop  # what uvicorn serves on when it is installed

        run = uvloop.run
    print(f"client event loop: {args.loop}")
    for language in ("python", "node"):
        run(bench_process(language, args.calls, args.rounds))


if __name__ == "__main__":
    main()
