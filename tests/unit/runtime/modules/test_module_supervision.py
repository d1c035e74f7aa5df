"""Supervision of real module processes: kill -9 mid-call, restart with backoff, retries, reload, stop."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest
from module_fixture import LANGUAGES, ROOT, alive, children_of, kill9, module, wait_until  # type: ignore[import-not-found, unused-ignore]

from gati_runtime_min.errors import ModuleUnavailable
from gati_runtime_min.modules import MethodPolicy, ProcessModule, RestartPolicy

FAST_RESTART = RestartPolicy(initial=0.1, factor=2.0, cap=1.0, reset_after=5.0)


async def _ready_again(m: ProcessModule, timeout: float = 5.0) -> float:
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    while not m.health().ready:
        assert loop.time() - t0 < timeout, "the module was not restarted"
        await asyncio.sleep(0.01)
    return loop.time() - t0


@pytest.mark.slow
@pytest.mark.parametrize("language", LANGUAGES)
def test_killed_process_fails_its_in_flight_call_with_gati540_and_is_restarted(language: str) -> None:
    async def main() -> dict[str, Any]:
        m = module(language, restart=FAST_RESTART)
        other = module("python" if language == "node" else "node", module_id="other")
        await asyncio.gather(m.start(), other.start())
        try:
            pid = m.health().pids[0]
            in_flight = asyncio.ensure_future(m.sleep(ms=3000))
            await asyncio.sleep(0.2)
            t0 = time.perf_counter()
            kill9(pid)
            with pytest.raises(ModuleUnavailable) as info:
                await in_flight
            failed_after = time.perf_counter() - t0
            # meanwhile another module keeps serving, and this one answers 503 until it is back
            assert await other.add(2, 2) == 4
            await _ready_again(m)
            health = m.health()
            return {
                "error": info.value,
                "failed_after": failed_after,
                "after": await m.add(20, 22),
                "pid": pid,
                "health": health,
            }
        finally:
            await asyncio.gather(m.stop(), other.stop())

    out = asyncio.run(main())
    assert out["error"].status == 503 and out["error"].code == "GATI540"
    assert out["failed_after"] < 1.0, "the in-flight call must fail at once, not at its timeout"
    assert out["after"] == 42
    health = out["health"]
    assert health.restarts == 1 and health.last_exit_code == -9 and health.ready
    assert health.pids[0] != out["pid"] and not alive(out["pid"])


@pytest.mark.slow
def test_restart_backoff_grows_after_repeated_crashes_and_others_keep_serving() -> None:
    async def main() -> tuple[float, float, float, int]:
        m = module("python", restart=RestartPolicy(initial=0.3, factor=2.0, cap=2.0, reset_after=30.0))
        await m.start()
        try:
            with pytest.raises(ModuleUnavailable):
                await m.crash(7)
            with pytest.raises(ModuleUnavailable):
                await m.echo(1)  # while restarting: a 503 at once, no waiting
            first = await _ready_again(m)
            with pytest.raises(ModuleUnavailable):
                await m.crash(7)
            second = await _ready_again(m)
            with pytest.raises(ModuleUnavailable):
                await m.crash(7)
            third = await _ready_again(m)
            assert m.health().last_exit_code == 7
            return first, second, third, m.health().restarts
        finally:
            await m.stop()

    first, second, third, restarts = asyncio.run(main())
    assert 0.3 <= first < second < third
    assert second >= 0.6 and third >= 1.2
    assert restarts == 3


@pytest.mark.slow
@pytest.mark.parametrize("language", LANGUAGES)
def test_idempotent_method_is_retried_across_a_crash_and_succeeds(language: str) -> None:
    async def main() -> tuple[Any, int, int]:
        policy = MethodPolicy(timeout=3.0, retries=3, idempotent=True, backoff=0.05)
        m = module(language, restart=FAST_RESTART, policies={"sleep": policy})
        await m.start()
        try:
            pid = m.health().pids[0]
            call = asyncio.ensure_future(m.sleep(ms=500))
            await asyncio.sleep(0.2)
            kill9(pid)
            result = await call
            return result, pid, m.health().pids[0]
        finally:
            await m.stop()

    result, old_pid, new_pid = asyncio.run(main())
    assert result == 500 and old_pid != new_pid


@pytest.mark.slow
def test_non_idempotent_method_is_not_retried_after_a_crash() -> None:
    async def main() -> tuple[ModuleUnavailable, int]:
        m = module("python", restart=FAST_RESTART, policies={"sleep": MethodPolicy(timeout=3.0, retries=3)})
        await m.start()
        try:
            call = asyncio.ensure_future(m.sleep(ms=500))
            await asyncio.sleep(0.2)
            kill9(m.health().pids[0])
            with pytest.raises(ModuleUnavailable) as info:
                await call
            await _ready_again(m)
            return info.value, await m.sleep(ms=1)
        finally:
            await m.stop()

    error, later = asyncio.run(main())
    assert error.code == "GATI540" and later == 1


@pytest.mark.slow
@pytest.mark.parametrize("language", LANGUAGES)
def test_reload_under_load_loses_no_call(language: str) -> None:
    async def main() -> tuple[int, list[BaseException], list[int], list[int]]:
        m = module(language, pool=2)
        await m.start()
        old = list(m.health().pids)
        done = 0
        errors: list[BaseException] = []
        stop = asyncio.Event()

        async def client(i: int) -> None:
            nonlocal done
            while not stop.is_set():
                try:
                    assert await (m.sleep(ms=30) if i % 2 else m.add(i, 1)) in {30, i + 1}
                    done += 1
                except Exception as exc:
                    errors.append(exc)

        try:
            clients = [asyncio.ensure_future(client(i)) for i in range(20)]
            await asyncio.sleep(0.3)
            await m.reload()
            await asyncio.sleep(0.2)
            await m.reload()
            await asyncio.sleep(0.3)
            stop.set()
            await asyncio.gather(*clients)
            return done, errors, old, list(m.health().pids)
        finally:
            await m.stop()

    done, errors, old, new = asyncio.run(main())
    assert errors == []
    assert done > 100
    assert not set(old) & set(new)
    assert not any(alive(pid) for pid in old), "reload stops the old processes"


@pytest.mark.slow
def test_stop_leaves_no_child_process() -> None:
    async def main() -> list[int]:
        py = module("python", pool=3)
        node = module("node", module_id="n", pool=2, egress=["127.0.0.1:9"])
        await asyncio.gather(py.start(), node.start())
        pids = [*py.health().pids, *node.health().pids]
        assert len(pids) == 5 and all(alive(p) for p in pids)
        call = asyncio.ensure_future(py.sleep(ms=5000))
        await asyncio.sleep(0.05)
        await asyncio.gather(py.stop(), node.stop())
        with pytest.raises(ModuleUnavailable):
            await call
        return pids

    pids = asyncio.run(main())
    assert not [p for p in pids if alive(p)]
    assert children_of(os.getpid()) == []


_SERVER = """
import asyncio, sys
from gati_runtime_min.modules import ProcessModule
async def main():
    a = ProcessModule("a", [sys.executable, "tests/fixtures/modules/pymod.py"], pool=2)
    b = ProcessModule("b", ["node", "tests/fixtures/modules/nodemod.mjs"], egress=["127.0.0.1:9"])
    await a.start(); await b.start()
    print(*a.health().pids, *b.health().pids, flush=True)
    await asyncio.sleep(60)
asyncio.run(main())
"""


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_server_killed_by_a_signal_leaves_no_orphan_module_process(sig: signal.Signals) -> None:
    with subprocess.Popen([sys.executable, "-c", _SERVER], cwd=ROOT, stdout=subprocess.PIPE, text=True) as server:
        try:
            assert server.stdout is not None
            pids = [int(p) for p in server.stdout.readline().split()]
            assert len(pids) == 3 and all(alive(p) for p in pids)
        finally:
            server.send_signal(sig)
            server.wait(10)
    assert wait_until(lambda: not any(alive(p) for p in pids), 5.0), [p for p in pids if alive(p)]


@pytest.mark.slow
def test_stop_while_a_crashed_process_restarts_leaves_no_process() -> None:
    async def main() -> None:
        m = module("node", restart=RestartPolicy(initial=0.0))
        await m.start()
        with pytest.raises(ModuleUnavailable):
            await m.crash(1)
        await asyncio.sleep(0.03)  # the supervisor is starting a fresh process
        await m.stop()

    asyncio.run(main())
    assert wait_until(lambda: children_of(os.getpid()) == [], 2.0), children_of(os.getpid())


def test_reload_to_a_command_that_fails_keeps_the_old_processes_serving() -> None:
    async def main() -> tuple[ModuleUnavailable, int, bool]:
        m = module("python")
        await m.start()
        try:
            pid = m.health().pids[0]
            with pytest.raises(ModuleUnavailable) as info:
                await m.reload([sys.executable, "-c", "raise SystemExit('bad build')"])
            return info.value, await m.add(1, 2), m.health().pids == (pid,)
        finally:
            await m.stop()

    error, three, same = asyncio.run(main())
    assert "bad build" in str(error.detail) and three == 3 and same


@pytest.mark.slow
def test_killing_one_process_of_a_pool_fails_only_its_calls() -> None:
    async def main() -> tuple[list[Any], int, bool]:
        m = module("python", pool=2, restart=FAST_RESTART)
        await m.start()
        try:
            victim = m.health().pids[0]
            calls = [asyncio.ensure_future(m.sleep(ms=800)) for _ in range(6)]  # 3 on each process
            await asyncio.sleep(0.2)
            kill9(victim)
            await asyncio.wait(calls, return_when=asyncio.FIRST_COMPLETED)  # the victim's calls fail at once
            during = m.health().ready_processes  # the survivor serves while the victim restarts
            results = await asyncio.gather(*calls, return_exceptions=True)
            await _ready_again(m)
            return results, during, len(m.health().pids) == 2
        finally:
            await m.stop()

    results, during, both_back = asyncio.run(main())
    failed = [r for r in results if isinstance(r, ModuleUnavailable)]
    assert len(failed) == 3 and results.count(800) == 3
    assert during == 1 and both_back


def test_module_that_never_reports_ready_fails_to_start_and_is_killed() -> None:
    async def main() -> tuple[ModuleUnavailable, list[int]]:
        m = ProcessModule("mute", [sys.executable, "-c", "import time; time.sleep(60)"], start_timeout=0.5)
        with pytest.raises(ModuleUnavailable) as info:
            await m.start()
        return info.value, children_of(os.getpid())

    error, children = asyncio.run(main())
    assert "did not report ready within 0.5s" in str(error.detail)
    assert children == []
