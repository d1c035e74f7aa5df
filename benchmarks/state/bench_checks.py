"""CPU cost of one Redis rate-limit check, on the worker and on Redis, without HTTP around it.

`bench_state.py` measures the goal (throughput over HTTP); this one isolates what the Redis
backend adds per rate-limited request: `RedisState.hit` from N concurrent tasks of one process
(the requests a worker has in flight), against a redis-server this script starts on a free port
(temporary folder, no persistence) and stops by PID. It reads the process's own CPU time and
Redis's (`INFO cpu`), so the figures hold on a busy machine where requests per second do not.
The checks of one event-loop tick go out as one script call, so the cost falls as concurrency
grows; the batch size printed is checks per script call (`INFO commandstats`).

    .venv/bin/python benchmarks/state/bench_checks.py [--concurrency 1 8 16 64] [--seconds 2]

Without `redis-server` on PATH the script says so and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from typing import Any

from gati_runtime_min.state import StateSettings
from gati_runtime_min.state.redis_state import RedisState


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _redis_cpu(state: RedisState) -> tuple[float, int]:
    cpu: dict[str, Any] = await state.client.info("cpu")
    stats: dict[str, Any] = await state.client.info("commandstats")
    calls = int(stats.get("cmdstat_evalsha", {}).get("calls", 0))
    return float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"]), calls


async def _measure(url: str, concurrency: int, seconds: float) -> None:
    state = RedisState(StateSettings(backend="redis", url=url, namespace=f"gati:bench:{concurrency}"), None)
    await state.start()
    done = 0
    running = True

    async def requests(i: int) -> None:
        nonlocal done
        while running:
            await state.hit(f"client{i % 8}", "create", 10**12, 3600)  # never refused: every check counts
            done += 1

    tasks = [asyncio.create_task(requests(i)) for i in range(concurrency)]
    await asyncio.sleep(0.5)  # warm-up
    redis0, calls0 = await _redis_cpu(state)
    done, cpu0, t0 = 0, time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    checks, cpu1, t1 = done, time.process_time(), time.perf_counter()
    redis1, calls1 = await _redis_cpu(state)
    running = False
    await asyncio.gather(*tasks)
    await state.close()
    worker_us, redis_us = (cpu1 - cpu0) / checks * 1e6, (redis1 - redis0) / checks * 1e6
    batch = checks / max(1, calls1 - calls0)
    print(
        f"{concurrency:5d} in flight {checks / (t1 - t0):9.0f} checks/s  worker {worker_us:5.2f} us"
        f"  Redis {redis_us:5.2f} us CPU per check  ({batch:.1f} checks per script call)",
        flush=True,
    )


def main(levels: list[int], seconds: float) -> None:
    binary = shutil.which("redis-server")
    if binary is None:
        print("needs redis-server (Debian: apt-get install -y redis-server); skipping")
        return
    try:
        import uvloop

        run: Any = uvloop.run  # what uvicorn serves on when it is installed
    except ImportError:
        run = asyncio.run
    port = _free_port()
    with tempfile.TemporaryDirectory() as folder:
        args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", folder, "--save", ""]
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise SystemExit("redis-server did not start") from None
                    time.sleep(0.02)
            for level in levels:
                run(_measure(f"redis://127.0.0.1:{port}/0", level, seconds))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 16, 64])
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    main(args.concurrency, args.seconds)
