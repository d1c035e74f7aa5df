"""Throughput of a rate-limited validated POST over HTTP with 2 workers: Redis vs memory state.

The app is the scale-out test app (`tests/e2e/scaleout_app`): `POST /limited-items` decodes and
validates a JSON body and counts every request in a rate limit it never reaches (so every
request does the full counting work and none takes the short 429 path). It is built once, then
served twice by `gatic serve --workers 2` (uvicorn, 127.0.0.1, free ports):

- memory: `--allow-per-worker-state` (each worker counts alone: the limit is not exact);
- redis: `GATI_STATE_URL` pointing at a redis-server this script starts (temporary folder,
  no persistence) and stops by PID; the limit is exact across the workers.

Both servers run at once, each warmed up for 2 s, and are loaded by `wrk` (Debian package
`wrk`) in interleaved rounds whose order alternates (memory first, then redis first, ...), so a
drift of the machine's load weighs on both alike. Each round gives a paired ratio, redis / memory;
the script prints the median of those ratios and their range, and each backend's median and
range of requests per second. The goal is redis >= 80% of memory. Run on a quiet machine if
you can; the 2 workers, Redis and wrk share its cores.

Throughput on a shared machine swings by 20% between runs, so each round also reads the CPU time
(user + system, from /proc) the server's processes spent per request: the workers, plus
redis-server for the Redis backend. On a machine the load saturates, throughput is the inverse
of that cost, so `memory CPU / redis CPU` (the median of the rounds) is the steadier estimate of
the same ratio; both are printed.

The kernel hands each new connection to whichever worker is waiting in `accept`, so in some runs
one worker gets most of wrk's connections and the app runs on one core: such a run measures that
spread, not the backend (both backends have them, at random). Each run therefore also reads the
workers' own CPU time, and the script prints the ratio over the runs whose less busy worker used
at least 30% of the two workers' CPU, next to the plain per-round ratio.

Last, the limit is shown exact under the same load: `wrk` on `POST /items` (20 per hour per
client) for a second against each server; the Redis backend must admit exactly 20 over both
workers (the script fails otherwise), the memory backend admits up to 20 per worker.

    .venv/bin/python benchmarks/state/bench_state.py [--duration 4] [--rounds 5] [--connections 32]

Without `wrk` or `redis-server` on PATH the script says so and exits 0.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "tests" / "e2e" / "scaleout_app"
PATH = "/limited-items"
EXACT_PATH, EXACT_LIMIT = "/items", 20  # `rate_limit="20/hour"` in the app
BODY = '{"name": "a widget with a reasonably long name", "qty": 12}'
GOAL = 0.80
# a run counts as spread over both workers when the less busy one used at least this share of their CPU
SHARED = 0.3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode} (see {proc.args!r})")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} not ready after {timeout}s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def _cpu_by_pid(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds of these processes and of each of their descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    out: dict[int, float] = {}
    todo, tick = list(pids), os.sysconf("SC_CLK_TCK")
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, ()))
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def _worker_share(before: dict[int, float], after: dict[int, float], server: set[int]) -> float:
    """The less busy worker's share of the two busiest server processes' CPU over a run: 0.5 when
    the kernel spread wrk's connections evenly over the 2 workers, near 0 when one took them all."""
    used = sorted((after[pid] - before.get(pid, 0.0) for pid in after if pid in server), reverse=True)
    if len(used) < 2 or used[0] + used[1] <= 0:
        return 0.0
    return used[1] / (used[0] + used[1])


def _wrk(wrk: str, url: str, script: Path, duration: float, connections: int) -> tuple[float, int, int]:
    """Requests per second, requests answered, and how many of them were not 2xx."""
    cmd = [wrk, "-t1", f"-c{connections}", f"-d{duration:g}s", "--timeout", "5s", "-s", str(script), url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=duration + 30).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    done = re.search(r"(\d+) requests in", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if rps is None or done is None:
        raise SystemExit(f"cannot read wrk output:\n{out}")
    return float(rps.group(1)), int(done.group(1)), int(bad.group(1)) if bad else 0


def _checks_per_call(port: int) -> float:
    """Rate-limit checks per script call on the Redis server so far (INCRs per EVALSHA)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(b"INFO commandstats\r\n")
        text = conn.recv(65536)
        size = int(text[1 : text.index(b"\r\n")])  # a bulk string: $<length>
        while len(text) < text.index(b"\r\n") + 2 + size:
            text += conn.recv(65536)
    calls = {m[0]: int(m[1]) for m in re.findall(rb"cmdstat_(\w+):calls=(\d+)", text)}
    return calls.get(b"incr", 0) / max(1, calls.get(b"evalsha", 0))


def _span(values: list[float], fmt: str) -> str:
    return f"median {format(statistics.median(values), fmt)} ({format(min(values), fmt)}..{format(max(values), fmt)})"


def main(duration: float, rounds: int, connections: int) -> None:
    wrk, redis_server = shutil.which("wrk"), shutil.which("redis-server")
    if wrk is None or redis_server is None:
        print("needs wrk and redis-server (Debian: apt-get install -y wrk redis-server); skipping")
        return
    gatic = str(Path(sys.executable).parent / "gatic")
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        app = work / "app"
        shutil.copytree(APP, app, ignore=shutil.ignore_patterns(".gati", "__pycache__"))
        subprocess.run([gatic, "build", str(app)], check=True, capture_output=True)
        script = work / "post.lua"
        lua = f'wrk.method = "POST"\nwrk.body = \'{BODY}\'\nwrk.headers["Content-Type"] = "application/json"\n'
        script.write_text(lua, encoding="utf-8")
        rport = _free_port()
        rdir = work / "redis"
        rdir.mkdir()
        redis_cmd = [redis_server, "--port", str(rport), "--bind", "127.0.0.1", "--dir", str(rdir), "--save", ""]
        try:
            procs.append(subprocess.Popen(redis_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            env = {k: v for k, v in os.environ.items() if not k.startswith("GATI_")}
            urls: dict[str, str] = {}
            for name in ("memory", "redis"):
                port = _free_port()
                cmd = [gatic, "serve", str(app), "--no-build", "--workers", "2", "--port", str(port)]
                run_env = dict(env)
                if name == "memory":
                    cmd.append("--allow-per-worker-state")
                else:
                    run_env["GATI_STATE_URL"] = f"redis://127.0.0.1:{rport}/0"
                log = (work / f"{name}.log").open("wb")
                procs.append(subprocess.Popen([*cmd], env=run_env, stdout=log, stderr=log))
                urls[name] = f"http://127.0.0.1:{port}"
            for (name, base), proc in zip(urls.items(), procs[1:], strict=True):
                try:
                    _wait(f"{base}/_gati/ready", proc)
                except SystemExit:
                    print((work / f"{name}.log").read_text(errors="replace")[-3000:])
                    raise
                _wrk(wrk, base + PATH, script, 2.0, connections)  # warm-up
            rates: dict[str, list[float]] = {name: [] for name in urls}
            cpu: dict[str, list[float]] = {name: [] for name in urls}
            ratios: list[float] = []
            owners = {"memory": [procs[1].pid], "redis": [procs[2].pid, procs[0].pid]}
            shares: dict[str, list[float]] = {name: [] for name in urls}
            for r in range(rounds):
                order = ["memory", "redis"] if r % 2 == 0 else ["redis", "memory"]
                for name in order:
                    before = _cpu_by_pid(owners[name])
                    rps, done, bad = _wrk(wrk, urls[name] + PATH, script, duration, connections)
                    after = _cpu_by_pid(owners[name])
                    if bad:
                        raise SystemExit(f"{name}: {bad} answers were not 2xx")
                    rates[name].append(rps)
                    per = (sum(after.values()) - sum(before.values())) / done * 1e6
                    cpu[name].append(per)
                    server = set(after) - {procs[0].pid}  # the workers and their parent, not redis-server
                    shares[name].append(_worker_share(before, after, server))
                    print(
                        f"round {r + 1} {name:7s} {rps:10.0f} req/s  {per:6.1f} us CPU per request"
                        f"  less busy worker {shares[name][-1]:4.0%}",
                        flush=True,
                    )
                ratios.append(rates["redis"][-1] / rates["memory"][-1])
            batch = _checks_per_call(rport)
            admitted: dict[str, int] = {}
            for name, base in urls.items():
                _, done, bad = _wrk(wrk, base + EXACT_PATH, script, 1.0, connections)
                admitted[name] = done - bad
        finally:
            for proc in reversed(procs):
                _stop(proc)
    mem_cpu, redis_cpu = statistics.median(cpu["memory"]), statistics.median(cpu["redis"])
    shape = f"2 workers, {connections} connections, {rounds} rounds of {duration:g}s"
    print(f"\nPOST {PATH} (validated, rate limited), {shape}:")
    print(f"  memory backend  {_span(rates['memory'], '.0f')} req/s  {mem_cpu:6.1f} us CPU per request (median)")
    print(
        f"  redis backend   {_span(rates['redis'], '.0f')} req/s  {redis_cpu:6.1f} us CPU per request, Redis's included"
    )
    print(f"  throughput redis / memory, per round: {_span(ratios, '.0%')}  (goal {GOAL:.0%})")
    print(f"  CPU per request memory / redis: {mem_cpu / redis_cpu:.0%}; {batch:.1f} checks per Redis script call")
    shared = {
        name: [rate for rate, share in zip(rates[name], shares[name], strict=True) if share >= SHARED] for name in rates
    }
    if shared["memory"] and shared["redis"]:
        ratio = statistics.median(shared["redis"]) / statistics.median(shared["memory"])
        print(
            f"  runs where both workers had load (the less busy one >= {SHARED:.0%} of their CPU): memory"
            f" {len(shared['memory'])}/{rounds}, redis {len(shared['redis'])}/{rounds}; throughput redis / memory"
            f" over them, median to median: {ratio:.0%}"
        )
    else:
        print(f"  no run of one backend or the other had both workers >= {SHARED:.0%} of their CPU")
    print(
        f"  POST {EXACT_PATH} ({EXACT_LIMIT} per hour) under the same load: redis admitted {admitted['redis']}"
        f" over both workers; memory {admitted['memory']} (each worker counts alone)"
    )
    if admitted["redis"] != EXACT_LIMIT:
        raise SystemExit(f"the Redis backend admitted {admitted['redis']}, not exactly {EXACT_LIMIT}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    main(args.duration, args.rounds, args.connections)
