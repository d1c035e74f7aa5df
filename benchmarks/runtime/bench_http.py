"""Requests per second and p99 latency over HTTP: Gati vs raw ASGI, Starlette+fastjsonschema, FastAPI+pydantic.

Each app (the definitions of `bench_inprocess.py`: the same three endpoints, GET by id, the realistic
validated POST and the tiny POST, with the same validation and answers) is served by
uvicorn (one worker, 127.0.0.1, a free port, access log off) in a child process started with this
interpreter (all of them up at once), checked (same answers, the invalid bodies rejected with 422),
warmed up, then loaded by `wrk` (Debian package `wrk`) for a few seconds per endpoint in interleaved
rounds, keeping the best run per cell, and finally stopped by their PIDs. All apps run in the same
invocation, so the ratios compare like with like on the same machine. Each cell also gives the
server process's CPU time per request (user and system, from Linux `/proc`; the lowest run): on a
shared machine, where the server and wrk wait for cores, it is steadier than requests per second.

    .venv/bin/python benchmarks/runtime/bench_http.py [--duration 3] [--rounds 3] [--connections 32]

Without `wrk` on PATH the script prints a message and exits 0. `--http` / `--loop` choose uvicorn's
parser and loop (default "auto": httptools and uvloop when installed, as with `uvicorn[standard]`;
the project itself only requires plain `uvicorn`, i.e. h11 and asyncio). With h11 the pure-Python
HTTP parser costs more per request than any of the apps, which compresses every ratio.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_inprocess as peers  # type: ignore[import-not-found, unused-ignore]  # noqa: E402  (the shared app definitions)

APPS = ("raw ASGI", "gati", "gati traced", "starlette+fastjsonschema", "fastapi+pydantic")
CASES: tuple[tuple[str, str, str, bytes], ...] = tuple((c[0], c[1], c[2], c[3]) for c in peers.CASES)
GOAL_CASE = "POST /orders (realistic)"


# ---------------------------------------------------------------- the server side (child process)
def _app(name: str, build: str | None) -> Any:
    if name == "raw ASGI":
        return peers.raw_app
    if name in ("gati", "gati traced"):  # traced: the playground's recorder on, traces kept in memory
        from gati_runtime_min import GatiApp

        assert build is not None
        return GatiApp(build, trace=name == "gati traced")
    if name == "starlette+fastjsonschema":
        return peers.starlette_app()
    if name == "fastapi+pydantic":
        return peers.fastapi_app()
    raise SystemExit(f"unknown app {name!r}")


def serve(name: str, port: int, build: str | None, http: str, loop: str) -> None:
    import uvicorn

    # lifespan "auto": the raw app has none (uvicorn carries on), the others start up as usual
    uvicorn.run(
        _app(name, build), host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="auto",
        http=http, loop=loop,
    )  # fmt: skip


def _io_stack(http: str, loop: str) -> str:
    """What uvicorn picks for `--http` / `--loop` "auto": httptools and uvloop when importable."""
    import importlib.util

    if http == "auto":
        http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    if loop == "auto":
        loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return f"{http} parser, {loop} loop"


# ---------------------------------------------------------------- the driver
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait(port: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("server did not start")


def _check(port: int) -> None:
    """The served app answers every case as expected and rejects the invalid bodies with 422."""
    import httpx
    import orjson

    for label, method, path, body, want, expected, bad in peers.CASES:
        url = f"http://127.0.0.1:{port}{path}"
        headers = {"content-type": "application/json"}
        r = httpx.request(method, url, content=body or None, headers=headers, timeout=5.0)
        if r.status_code != want or orjson.loads(r.content) != expected:
            raise SystemExit(f"{label}: {r.status_code} {r.text[:200]}")
        if bad is not None:
            r = httpx.request(method, url, content=bad, headers=headers, timeout=5.0)
            if r.status_code != 422:
                raise SystemExit(f"{label}: the invalid body got {r.status_code} {r.text[:200]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _wrk(wrk: str, url: str, script: Path | None, duration: float, connections: int, threads: int) -> dict[str, float]:
    cmd = [wrk, f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", "--latency", "--timeout", "5s"]
    if script is not None:
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True, timeout=duration + 30).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    p99 = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    if rps is None or p99 is None:
        raise SystemExit(f"cannot read wrk output:\n{out}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {
        "rps": float(rps.group(1)),
        "requests": float(total.group(1)) if total else 0.0,
        "p99_ms": float(p99.group(1)) * _UNITS[p99.group(2)],
        "non2xx": float(bad.group(1)) if bad else 0.0,
        "socket_errors": 1.0 if errors else 0.0,
    }


def _cpu_seconds(pid: int) -> float | None:
    """The user and system CPU time a process has used so far (Linux `/proc`; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(
    duration: float,
    warmup: float,
    connections: int,
    threads: int,
    only: list[str] | None,
    http: str,
    loop: str,
    rounds: int = 3,
) -> int:
    wrk = shutil.which("wrk")
    if wrk is None:
        print("wrk is not installed (Debian: apt-get install -y wrk); skipping the HTTP benchmark")
        return 0
    results: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        build = peers.gati_build(Path(tmp))
        scripts: dict[str, Path | None] = {}
        for i, (label, method, _path, body) in enumerate(CASES):
            if method == "GET":
                scripts[label] = None
                continue
            script = scripts[label] = Path(tmp) / f"case{i}.lua"
            text = body.decode().replace("\\", "\\\\").replace('"', '\\"')
            script.write_text(
                f'wrk.method = "{method}"\nwrk.body = "{text}"\nwrk.headers["Content-Type"] = "application/json"\n'
            )
        # every server up at once (idle ones cost nothing), then interleaved rounds, best of
        # `rounds` per cell: a load spike on a shared machine hits every app alike
        names = list(only or APPS)
        procs: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
        try:
            for name in names:
                port = _free_port()
                cmd = [sys.executable, __file__, "--serve", name, "--port", str(port), "--build", str(build),
                       "--http", http, "--loop", loop]  # fmt: skip
                procs[name] = (subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL), port)
            for name, (proc, port) in procs.items():
                _wait(port, proc)
                _check(port)
                results[name] = {}
                for label, _method, path, _body in CASES:  # warm up
                    _wrk(wrk, f"http://127.0.0.1:{port}{path}", scripts[label], warmup, connections, threads)
            for _ in range(rounds):
                for name, (proc, port) in procs.items():
                    for label, _method, path, _body in CASES:
                        url = f"http://127.0.0.1:{port}{path}"
                        before = _cpu_seconds(proc.pid)
                        r = _wrk(wrk, url, scripts[label], duration, connections, threads)
                        after = _cpu_seconds(proc.pid)
                        if before is not None and after is not None and r["requests"]:
                            r["cpu_us"] = (after - before) / r["requests"] * 1e6
                        best = results[name].get(label)
                        cpu = min(r.get("cpu_us", math.inf), best["cpu_us"] if best else math.inf)
                        if best is None or r["rps"] > best["rps"]:
                            best = results[name][label] = r
                        best["cpu_us"] = cpu
        finally:
            for proc, _port in procs.values():
                _stop(proc)
    _report(results, duration, connections, threads, _io_stack(http, loop), rounds)
    return 0


def _report(
    results: dict[str, dict[str, dict[str, float]]],
    duration: float,
    connections: int,
    threads: int,
    stack: str,
    rounds: int,
) -> None:
    labels = [c[0] for c in CASES]
    print(
        f"wrk over HTTP/1.1 on 127.0.0.1, uvicorn 1 worker ({stack}), {threads} wrk thread(s) x {connections} "
        f"connections, best of {rounds} interleaved runs of {duration:g}s, Python {sys.version.split()[0]}"
    )
    print(f"{'app':<26}" + "".join(f"{lbl + ' req/s':>32}{'p99 ms':>9}{'x raw':>7}{'CPU us':>8}" for lbl in labels))
    raw = results.get("raw ASGI")
    for name, row in results.items():
        cells = ""
        for lbl in labels:
            r = row[lbl]
            ratio = r["rps"] / raw[lbl]["rps"] if raw else float("nan")
            flag = "!" if r["non2xx"] or r["socket_errors"] else ""
            cells += f"{r['rps']:>31.0f}{flag:1}{r['p99_ms']:>9.2f}{ratio:>7.2f}{r.get('cpu_us', math.nan):>8.1f}"
        print(f"{name:<26}{cells}")
    gati, fastapi, starlette = (
        results.get("gati"),
        results.get("fastapi+pydantic"),
        results.get("starlette+fastjsonschema"),
    )
    for lbl in labels:
        parts = []
        if gati and fastapi:
            parts.append(f"gati/fastapi {gati[lbl]['rps'] / fastapi[lbl]['rps']:.2f}x")
        if gati and starlette:
            parts.append(f"gati/starlette {gati[lbl]['rps'] / starlette[lbl]['rps']:.2f}x")
        if gati and raw:
            parts.append(f"gati/raw {gati[lbl]['rps'] / raw[lbl]['rps']:.2f}x")
        traced = results.get("gati traced")
        if gati and traced:
            parts.append(f"gati/traced {gati[lbl]['rps'] / traced[lbl]['rps']:.2f}x (tracing's cost)")
            cpu = traced[lbl].get("cpu_us", math.nan) / gati[lbl].get("cpu_us", math.nan)
            parts.append(f"traced/gati server CPU per request {cpu:.2f}x")
        print(f"{lbl}: " + ", ".join(parts))
    if any(r["non2xx"] or r["socket_errors"] for row in results.values() for r in row.values()):
        print("! non-2xx responses or socket errors during the run: the numbers of that cell are suspect")
    if gati and fastapi:
        goal = gati[GOAL_CASE]["rps"] / fastapi[GOAL_CASE]["rps"]
        print(f"goal (validated POST >= 2.5x FastAPI req/s): {goal:.2f}x {'met' if goal >= 2.5 else 'NOT met'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up before each run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the best run per cell counts")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", action="append", choices=APPS, help="run only this app (repeatable)")
    parser.add_argument("--http", default="auto", choices=("auto", "h11", "httptools"), help="uvicorn's parser")
    parser.add_argument("--loop", default="auto", choices=("auto", "asyncio", "uvloop"), help="uvicorn's loop")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--build", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.build, args.http, args.loop)
    else:
        raise SystemExit(
            main(
                args.duration,
                args.warmup,
                args.connections,
                args.threads,
                args.only,
                args.http,
                args.loop,
                args.rounds,
            )
        )
