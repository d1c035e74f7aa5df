"""Rate-limit checks coalesced into one script call per event-loop tick (`ScriptPipe`), against a
real redis-server: each request gets exactly the answer a call of its own would have given, a
burst is split into bounded script calls, and several worker processes together admit exactly
the limit."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from gati_runtime_min.errors import GatiError
from gati_runtime_min.state import StateSettings
from gati_runtime_min.state.pipe import MAX_BATCH
from gati_runtime_min.state.redis_state import RedisState

pytestmark = pytest.mark.timeout(60)

Answer = tuple[bool, str | None]  # admitted, and the retry-after of a refusal


def state(url: str, namespace: str) -> RedisState:
    return RedisState(StateSettings(backend="redis", url=url, namespace=namespace), "v1")


async def answer(s: RedisState, client: str, handler: str, limit: int, window: float) -> Answer:
    try:
        await s.hit(client, handler, limit, window)
    except GatiError as exc:
        assert exc.code == "GATI532"
        return False, exc.headers["retry-after"]
    return True, None


async def script_calls(s: RedisState) -> int:
    stats = await s.client.info("commandstats")
    return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))


# A mixed tick: three clients, two handlers with limits of their own, interleaved.
CHECKS = [(f"c{i % 3}", "create" if i % 4 else "other", 3 if i % 4 else 5, 3600.0) for i in range(40)]


def expected(checks: list[tuple[str, str, int, float]]) -> list[Answer]:
    """Separate calls in this order on fresh windows: the first `limit` of each window pass."""
    seen: dict[tuple[str, str], int] = {}
    out: list[Answer] = []
    for client, handler, limit, window in checks:
        n = seen[(client, handler)] = seen.get((client, handler), 0) + 1
        out.append((True, None) if n <= limit else (False, str(int(window))))
    return out


def test_concurrent_checks_go_out_as_one_script_call_answering_each_as_its_own_call_would(redis_server: Any) -> None:
    async def main() -> None:
        batched, alone = state(redis_server.url, "gati:batch:a"), state(redis_server.url, "gati:batch:b")
        await batched.start()
        await alone.start()
        try:
            assert await answer(batched, "warm", "up", 1, 60) == (True, None)  # the connection is open
            before = await script_calls(batched)
            together = await asyncio.gather(*(answer(batched, *check) for check in CHECKS))
            assert await script_calls(batched) - before == 1  # one tick, one script call
            one_by_one = [await answer(alone, *check) for check in CHECKS]
            assert list(together) == one_by_one == expected(CHECKS)
        finally:
            await batched.close()
            await alone.close()

    asyncio.run(main())


def test_a_burst_larger_than_one_script_call_is_split_and_stays_exact(redis_server: Any) -> None:
    async def main() -> None:
        s = state(redis_server.url, "gati:batch:burst")
        await s.start()
        try:
            assert await answer(s, "warm", "up", 1, 60) == (True, None)
            before = await script_calls(s)
            burst = 2 * MAX_BATCH + 100
            results = await asyncio.gather(*(answer(s, "alice", "create", MAX_BATCH + 50, 3600) for _ in range(burst)))
            assert await script_calls(s) - before == 3  # MAX_BATCH, MAX_BATCH, 100 checks
            assert list(results) == [(True, None)] * (MAX_BATCH + 50) + [(False, "3600")] * (MAX_BATCH + 50)
        finally:
            await s.close()

    asyncio.run(main())


def test_a_flushed_script_is_loaded_again_and_the_batch_answers_exactly(redis_server: Any) -> None:
    async def main() -> None:
        s = state(redis_server.url, "gati:batch:flushed")
        await s.start()
        try:
            assert await answer(s, "warm", "up", 1, 60) == (True, None)
            await s.client.script_flush()  # as a restarted Redis would have it: NOSCRIPT
            results = await asyncio.gather(*(answer(s, "bob", "create", 4, 3600) for _ in range(10)))
            assert list(results) == [(True, None)] * 4 + [(False, "3600")] * 6
        finally:
            await s.close()

    asyncio.run(main())


def test_the_packed_arguments_follow_a_changed_limit_of_the_same_handler(redis_server: Any) -> None:
    """The request path reuses a window's packed key and arguments; a handler whose limit changed
    (a hot swap) is checked against its new limit on the same window."""

    async def main() -> None:
        s = state(redis_server.url, "gati:batch:swap")
        await s.start()
        try:
            assert await answer(s, "c", "create", 1, 3600) == (True, None)
            assert await answer(s, "c", "create", 1, 3600) == (False, "3600")
            assert await answer(s, "c", "create", 5, 3600) == (True, None)  # the 3rd hit of 5
        finally:
            await s.close()

    asyncio.run(main())


WORKER = textwrap.dedent(
    """
    import asyncio, sys
    from gati_runtime_min.errors import GatiError
    from gati_runtime_min.state import StateSettings
    from gati_runtime_min.state.redis_state import RedisState

    async def one(s):
        try:
            await s.hit("carol", "create", int(sys.argv[2]), 3600)
        except GatiError as exc:
            assert exc.code == "GATI532", exc.code
            return 0
        return 1

    async def main():
        s = RedisState(StateSettings(backend="redis", url=sys.argv[1], namespace="gati:batch:procs"), None)
        await s.start()
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # all at once
        admitted = 0
        for _ in range(10):  # waves of concurrent checks: batches of every size interleave
            admitted += sum(await asyncio.gather(*(one(s) for _ in range(int(sys.argv[3])))))
        await s.close()
        print(admitted, flush=True)

    asyncio.run(main())
    """
)


def test_three_worker_processes_admit_exactly_the_limit_between_them(redis_server: Any) -> None:
    limit, wave = 1000, 90  # 3 x 10 x 90 = 2700 checks
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, redis_server.url, str(limit), str(wave)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        for _ in range(3)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == b"ready"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            proc.stdin.flush()
        admitted = []
        for proc in procs:
            out, _ = proc.communicate(timeout=30)
            assert proc.returncode == 0
            admitted.append(int(out))
        assert sum(admitted) == limit, admitted
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
