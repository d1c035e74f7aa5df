"""`gatic serve --workers 3` against a real redis-server: the workers behave as one app.

The app (`scaleout_app/`) answers with the pid of the worker that served each request, so the
tests can show that several workers took part. The rate limit is 20 per hour: a window long
enough that a loaded machine cannot make the test flaky.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_examples_served import build_copy, free_port  # type: ignore[import-not-found, unused-ignore]

APP = Path(__file__).parent / "scaleout_app"
GATIC = str(Path(sys.executable).parent / "gatic")  # the venv's own console script
pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@contextmanager
def gatic_serve(app_dir: Path, workers: int, env: dict[str, str], *extra: str) -> Iterator[str]:
    """`gatic serve APP --workers N` in a child process (its own process group), stopped by PID."""
    port = free_port()
    log = app_dir.parent / f"serve-{port}.log"
    cmd = [GATIC, "serve", str(app_dir), "--no-build"]
    cmd += ["--workers", str(workers), "--port", str(port), *extra]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=out, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            try:
                if httpx.get(f"{base}/_gati/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(0.1)
        try:
            yield base
        except BaseException:  # the server's side of a failure, in the test report
            print(f"--- {log.name} (last 3000 characters)\n{log.read_text(errors='replace')[-3000:]}")
            raise
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()


def _env(url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATI_")}
    if url is not None:
        env["GATI_STATE_URL"] = url
    return env


@pytest.fixture
def app_copy(tmp_path: Path) -> Path:
    build_copy(APP, tmp_path / "scaleout")
    return tmp_path / "scaleout"


def test_three_workers_share_rate_limit_pubsub_and_usage(redis_server: Any, app_copy: Path) -> None:
    with gatic_serve(app_copy, 3, _env(redis_server.url)) as base:

        async def scenario() -> None:
            limits = httpx.Limits(max_connections=30, max_keepalive_connections=0)  # new connection each call
            async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
                # rate limit: 60 concurrent POSTs, exactly 20 admitted across the workers
                answers = await asyncio.gather(
                    *(http.post("/items", json={"name": f"n{i}", "qty": i}) for i in range(60))
                )
                statuses = [r.status_code for r in answers]
                assert statuses.count(201) == 20 and statuses.count(429) == 40, statuses
                assert all(r.json()["error"]["code"] == "GATI532" for r in answers if r.status_code == 429)
                pids = {r.json()["pid"] for r in answers if r.status_code == 201}

                # pub/sub: 6 listeners on whatever workers took them; 8 publishes from any worker
                listeners = [
                    asyncio.create_task(http.post("/listen", json={"count": 8, "timeout": 20})) for _ in range(6)
                ]
                deadline = time.monotonic() + 20
                while (await http.get("/listeners")).json()["value"] < 6:
                    assert time.monotonic() < deadline, "listeners did not subscribe"
                    await asyncio.sleep(0.05)
                published = [await http.post("/publish", json={"n": n}) for n in range(8)]
                assert all(p.json()["receivers"] == 6 for p in published)
                heard = [(await task).json() for task in listeners]
                assert all(h["messages"] == list(range(8)) for h in heard), heard
                pids |= {h["pid"] for h in heard} | {p.json()["pid"] for p in published}
                assert len(pids) >= 2, f"only one worker served every request: {pids}"

                # usage: 20 + 6 + 8 (+ the /listeners polls) counted across the workers
                for _ in range(30):
                    await http.post("/fast-items", json={"name": "x", "qty": 1})
                deadline = time.monotonic() + 10
                while True:
                    usage = (await http.get("/_gati/usage")).json()
                    assert usage["shared"] is True
                    counts = {h: sum(v.values()) for h, v in usage["usage"].items()}
                    if counts.get("create_fast_item") == 30:
                        break
                    assert counts.get("create_fast_item", 0) < 30, counts
                    assert time.monotonic() < deadline, counts
                    await asyncio.sleep(0.1)
                assert counts["create_item"] == 20  # the 40 refused requests reached no handler
                assert counts["listen"] == 6 and counts["publish"] == 8

        asyncio.run(scenario())


def test_several_workers_on_the_memory_backend_are_refused_unless_opted_in(tmp_path: Path) -> None:
    app = tmp_path / "scaleout"
    build_copy(APP, app)  # no [tool.gati.state]: the memory backend
    cmd = [GATIC, "serve", str(app), "--no-build", "--workers", "2"]
    cmd += ["--port", str(free_port())]
    refused = subprocess.run(cmd, env=_env(None), capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1
    for words in ("refusing to start 2 workers", "rate limits", "pub/sub", "usage counters", "GATI_STATE_URL"):
        assert words in refused.stderr, refused.stderr
    assert 'backend = "redis"' in refused.stderr and "--allow-per-worker-state" in refused.stderr
    with gatic_serve(app, 2, _env(None), "--allow-per-worker-state") as base:
        assert httpx.get(f"{base}/_gati/ready", timeout=5).json()["state"] == "memory"


def test_redis_down_at_start_up_is_a_clear_error(app_copy: Path) -> None:
    url = f"redis://app:hunter2@127.0.0.1:{free_port()}/0"
    cmd = [GATIC, "serve", str(app_copy), "--no-build", "--workers", "2"]
    result = subprocess.run(cmd, env=_env(url), capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "error: cannot reach the state store at redis://app:***@127.0.0.1:" in result.stderr, result.stderr
    assert "hunter2" not in result.stderr and "Traceback" not in result.stderr


def test_redis_restart_under_load_not_ready_then_resumes_by_itself(redis_persistent: Any, app_copy: Path) -> None:
    with gatic_serve(app_copy, 2, _env(redis_persistent.url)) as base:

        async def scenario() -> None:
            # connections idle while Redis restarts are dropped after 1 s, well before the server's
            # 5 s keep-alive timeout: else reusing one races the server closing it (a ReadError
            # that says nothing about Redis)
            limits = httpx.Limits(keepalive_expiry=1.0)
            async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
                seen: list[int] = []
                stop = asyncio.Event()

                async def load() -> None:  # the validated POST, without a limit, all along
                    while not stop.is_set():
                        r = await http.post("/fast-items", json={"name": "x", "qty": 1})
                        seen.append(r.status_code)

                async def limited() -> int:
                    r = await http.post("/items", json={"name": "x", "qty": 1})
                    return r.status_code

                loaders = [asyncio.create_task(load()) for _ in range(4)]
                assert await limited() == 201
                await asyncio.to_thread(redis_persistent.stop)
                deadline = time.monotonic() + 10
                while (await http.get("/_gati/ready")).status_code != 503:
                    assert time.monotonic() < deadline
                r = await http.post("/items", json={"name": "x", "qty": 1})
                assert r.status_code == 503 and r.json()["error"]["code"] == "GATI506"  # fails closed
                assert r.headers["retry-after"] == "1"
                await asyncio.to_thread(redis_persistent.start)
                deadline = time.monotonic() + 15
                ready = 0
                while ready < 4:  # ready on whichever workers answer, several times in a row
                    code = (await http.get("/_gati/ready")).status_code
                    ready = ready + 1 if code == 200 else 0
                    assert time.monotonic() < deadline, "not ready again after Redis came back"
                    await asyncio.sleep(0.05)
                # the window survived the restart (appendonly): 7 of 20 used, so no 429; a worker
                # still on its reconnect backoff (up to 2 s) answers 503 until it is back
                codes: list[int] = []
                while codes.count(201) < 6:
                    codes.append(await limited())
                    assert set(codes) <= {201, 503}, codes
                    assert time.monotonic() < deadline + 10, codes
                stop.set()
                await asyncio.gather(*loaders)
                assert seen and set(seen) == {201}  # routes without a limit never noticed

        asyncio.run(scenario())


def test_a_worker_restarted_while_redis_is_down_waits_for_it_and_the_server_stays_up(
    redis_server: Any, app_copy: Path
) -> None:
    """uvicorn replaces a worker that dies (or misses its health check) at once. When that happens
    during a Redis outage, the new worker starts not ready and connects when Redis is back: it
    must not fail its start-up, which would make uvicorn stop the whole server."""
    with gatic_serve(app_copy, 2, _env(redis_server.url)) as base:

        def ready() -> int:
            return httpx.get(f"{base}/_gati/ready", timeout=10).status_code

        victim = httpx.post(f"{base}/fast-items", json={"name": "x", "qty": 1}, timeout=10).json()["pid"]
        redis_server.stop()
        deadline = time.monotonic() + 10
        while ready() != 503:
            assert time.monotonic() < deadline, "still ready with Redis stopped"
        os.kill(victim, signal.SIGKILL)  # a worker of the server this test started
        deadline = time.monotonic() + 30
        pids: set[int] = set()
        while True:  # the replacement answers: the server is still up, and not ready
            assert time.monotonic() < deadline, f"no replacement worker answered; saw {pids}"
            r = httpx.post(f"{base}/fast-items", json={"name": "x", "qty": 1}, timeout=10)
            assert r.status_code == 201  # routes that need no Redis keep working
            pids.add(r.json()["pid"])
            if len(pids - {victim}) >= 2:  # the survivor and the replacement
                break
        assert ready() == 503
        redis_server.start()
        # each worker reconnects on its own backoff (up to 2 s): the rate-limited route answers 201
        # again, on whichever worker takes it, several times in a row
        deadline = time.monotonic() + 20
        codes: list[int] = []
        while codes[-6:] != [201] * 6:
            assert time.monotonic() < deadline, f"the rate-limited route did not come back: {codes}"
            codes.append(httpx.post(f"{base}/items", json={"name": "x", "qty": 1}, timeout=10).status_code)
            assert codes[-1] in (201, 503), codes
            time.sleep(0.05)
