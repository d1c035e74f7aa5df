"""Calls to real out-of-process modules (Python and Node): results, concurrency, timeouts, errors."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from module_fixture import LANGUAGES, ROOT, module  # type: ignore[import-not-found, unused-ignore]

from gati_runtime_min.errors import (
    GatiError,
    ModuleCallError,
    ModuleContractError,
    ModuleTimeout,
    ModuleUnavailable,
    envelope,
)
from gati_runtime_min.modules import MethodPolicy, MethodSpec, ProcessModule, from_manifest, js_helper


@pytest.mark.parametrize("language", LANGUAGES)
def test_module_answers_calls_by_name_and_by_position(language: str) -> None:
    async def main() -> list[Any]:
        m = module(language)
        await m.start()
        try:
            value = {"text": "line one\nline two \u2603 \U0001f600", "n": [1, 2.5, None, True]}
            return [await m.echo(value=value), await m.add(2, 3), await m.add(a=1, b=2), await m.echo("x")]
        finally:
            await m.stop()

    echoed, five, three, x = asyncio.run(main())
    assert echoed == {"text": "line one\nline two \u2603 \U0001f600", "n": [1, 2.5, None, True]}
    assert (five, three, x) == (5, 3, "x")


@pytest.mark.parametrize("language", LANGUAGES)
def test_what_a_module_prints_goes_to_the_log_not_into_the_protocol(
    language: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> str:
        m = module(language, module_id="printer")
        await m.start()
        try:
            result: str = await m.shout(text="hi")
            await asyncio.sleep(0.1)  # the stderr line arrives on its own pipe
            return result
        finally:
            await m.stop()

    with caplog.at_level("INFO", logger="gati.modules"):
        assert asyncio.run(main()) == "HI"
    assert any(
        "[printer " in r.getMessage() and "must not break the protocol" in r.getMessage() for r in caplog.records
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_concurrent_calls_are_multiplexed_over_one_process(language: str) -> None:
    async def main() -> tuple[list[Any], float]:
        m = module(language)
        await m.start()
        try:
            t0 = time.perf_counter()
            results = await asyncio.gather(*(m.sleep(ms=200) for _ in range(100)), *(m.add(i, 1) for i in range(100)))
            return results, time.perf_counter() - t0
        finally:
            await m.stop()

    results, elapsed = asyncio.run(main())
    assert results == [200] * 100 + [i + 1 for i in range(100)]
    assert elapsed < 1.5, f"100 concurrent 200 ms calls took {elapsed:.2f}s: they were not concurrent"


def test_a_pool_spreads_calls_over_its_processes() -> None:
    async def main() -> set[int]:
        m = module("python", pool=3)
        await m.start()
        try:
            assert len(set(m.health().pids)) == 3
            pids: set[int] = set()

            async def busy_then_pid() -> None:
                await m.sleep(ms=100)

            # while every process holds slow calls, least-loaded choice sends pid() calls everywhere
            slow = [asyncio.ensure_future(busy_then_pid()) for _ in range(6)]
            await asyncio.sleep(0.02)
            for _ in range(3):
                pids.update(await asyncio.gather(*(m.pid() for _ in range(3))))
            await asyncio.gather(*slow)
            return pids
        finally:
            await m.stop()

    assert len(asyncio.run(main())) == 3


@pytest.mark.parametrize("language", LANGUAGES)
def test_slow_call_times_out_with_gati541_and_the_process_stays_usable(language: str) -> None:
    async def main() -> tuple[ModuleTimeout, float, Any, int, int]:
        m = module(language, policies={"sleep": MethodPolicy(timeout=0.2)})
        await m.start()
        try:
            pid = m.health().pids[0]
            t0 = time.perf_counter()
            with pytest.raises(ModuleTimeout) as info:
                await m.sleep(ms=600)
            took = time.perf_counter() - t0
            await asyncio.sleep(0.6)  # the late answer arrives and is dropped
            after = await m.echo(value="still here")
            return info.value, took, after, pid, m.health().pids[0]
        finally:
            await m.stop()

    error, took, after, pid_before, pid_after = asyncio.run(main())
    assert error.code == "GATI541" and error.status == 504 and "'sleep'" in str(error.detail)
    assert 0.18 < took < 1.0
    assert after == "still here" and pid_before == pid_after


@pytest.mark.parametrize("language", LANGUAGES)
def test_module_error_is_gati542_with_the_module_message_and_no_traceback(language: str) -> None:
    async def main() -> tuple[ModuleCallError, ModuleCallError]:
        m = module(language)
        await m.start()
        try:
            with pytest.raises(ModuleCallError) as raised:
                await m.fail(message="the price list is empty")
            with pytest.raises(ModuleCallError) as chosen:
                await m.refuse()
            with pytest.raises(ModuleCallError) as odd:
                await m.odd()
            assert "has no JSON form" in odd.value.remote_message
            assert await m.add(1, 1) == 2  # the module survived all three
            return raised.value, chosen.value
        finally:
            await m.stop()

    raised, chosen = asyncio.run(main())
    assert raised.code == "GATI542" and raised.status == 502
    assert raised.remote_message == "the price list is empty"
    assert "Traceback" not in str(raised.detail) and "at " not in raised.remote_message
    body = orjson.loads(envelope(raised, "/quote", "r1"))["error"]
    assert body["code"] == "GATI542" and "the price list is empty" in body["message"]
    assert (chosen.remote_code, chosen.remote_message) == (-32010, "out of stock")


@pytest.mark.parametrize("language", LANGUAGES)
def test_result_or_arguments_that_do_not_match_are_gati543(language: str) -> None:
    def must_be_int(value: Any) -> int:
        if not isinstance(value, int):
            raise TypeError(f"expected int, got {type(value).__name__}")
        return value

    def no_negative(params: dict[str, Any]) -> dict[str, Any]:
        if params["a"] < 0:
            raise ValueError("a must be >= 0")
        return params

    async def main() -> list[ModuleContractError]:
        specs: dict[str, MethodSpec | MethodPolicy] = {
            "echo": MethodSpec(params=("value",), decode_result=must_be_int),
            "add": MethodSpec(params=("a", "b"), encode_params=no_negative),
            "missing": MethodSpec(),
        }
        m = ProcessModule("typed", module(language).argv, cwd=ROOT, methods=specs)
        await m.start()
        try:
            errors = []
            assert await m.echo(7) == 7
            for call in (m.echo("seven"), m.add(-1, 2), m.missing(), m.call("echo", {"wrong": 1})):
                with pytest.raises(ModuleContractError) as info:
                    await call
                errors.append(info.value)
            with pytest.raises(ModuleContractError):
                await m.call("undeclared", {})
            return errors
        finally:
            await m.stop()

    errors = asyncio.run(main())
    assert all(e.code == "GATI543" and e.status == 500 for e in errors)
    assert "expected int, got str" in str(errors[0].detail)
    assert "a must be >= 0" in str(errors[1].detail)
    assert "not found" in str(errors[2].detail)


def test_module_that_cannot_start_is_gati540_naming_its_stderr() -> None:
    async def main() -> None:
        m = ProcessModule("broken", [sys.executable, "-c", "import sys; sys.exit('no config file')"])
        await m.start()

    with pytest.raises(ModuleUnavailable) as info:
        asyncio.run(main())
    assert info.value.status == 503 and info.value.code == "GATI540"
    assert "no config file" in str(info.value.detail) and "'broken'" in str(info.value.detail)


def test_call_to_a_stopped_module_is_a_503_gati540() -> None:
    async def main() -> GatiError:
        m = module("python")
        await m.start()
        await m.stop()
        with pytest.raises(ModuleUnavailable) as info:
            await m.echo(value=1)
        return info.value

    error = asyncio.run(main())
    assert error.status == 503 and "stopped" in str(error.detail)


def test_client_is_built_from_a_module_manifest() -> None:
    manifest = {
        "moduleId": "pricing",
        "module": "shop.pricing",
        "className": "Pricing",
        "runtime": "process",
        "command": ["node", "tests/fixtures/modules/nodemod.mjs"],
        "pool": 2,
        "capabilities": [],
        "egress": [],
        "timeout": 0.3,
        "methods": [
            {"name": "add", "isAsync": True, "params": [["a", {}], ["b", {}]], "returns": {}, "retries": 0},
            {
                "name": "sleep",
                "isAsync": True,
                "params": [["ms", {}]],
                "timeout": 0.1,
                "retries": 2,
                "idempotent": True,
            },
        ],
    }

    async def main() -> tuple[int, int]:
        m = from_manifest(manifest, ROOT, codecs={"add": (None, lambda r: r * 10)})
        await m.start()
        try:
            assert m.health().processes == 2
            with pytest.raises(ModuleTimeout):
                await m.sleep(500)  # 0.1 s per attempt, retried twice
            return await m.add(1, 2), len(m.health().pids)
        finally:
            await m.stop()

    assert asyncio.run(main()) == (30, 2)


def test_node_helper_ships_inside_the_runtime_package() -> None:
    helper = js_helper()
    assert helper.startswith(str(ROOT / "gati_runtime_min"))
    assert "export function serve" in Path(helper).read_text(encoding="utf-8")


@pytest.mark.parametrize("language", LANGUAGES)
def test_client_works_on_uvloop_as_served_by_uvicorn(language: str) -> None:
    uvloop = pytest.importorskip("uvloop")

    async def main() -> tuple[Any, Any, str]:
        m = module(language, policies={"sleep": MethodPolicy(timeout=0.2)})
        await m.start()
        try:
            many = await asyncio.gather(*(m.add(i, i) for i in range(50)))
            with pytest.raises(ModuleTimeout):
                await m.sleep(ms=500)
            big = await m.echo("big" * 100_000)
            with pytest.raises(ModuleUnavailable) as info:
                await m.crash(5)
            return many, big, info.value.code
        finally:
            await m.stop()

    many, big, code = uvloop.run(main())
    assert many == [2 * i for i in range(50)] and big == "big" * 100_000 and code == "GATI540"


def test_timed_out_call_is_cancelled_in_the_module(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        m = module("python", module_id="cancels", policies={"sleep": MethodPolicy(timeout=0.1)})
        await m.start()
        try:
            with pytest.raises(ModuleTimeout):
                await m.sleep(ms=4321)
            await asyncio.sleep(0.2)
        finally:
            await m.stop()

    with caplog.at_level("INFO", logger="gati.modules"):
        asyncio.run(main())
    assert any("[cancels " in r.getMessage() and "sleep(4321) cancelled" in r.getMessage() for r in caplog.records)


def test_retries_stop_at_the_callers_deadline() -> None:
    async def main() -> tuple[float, ModuleTimeout]:
        policy = MethodPolicy(timeout=1.0, retries=5, idempotent=True)
        m = module("python", policies={"sleep": policy})
        await m.start()
        try:
            t0 = time.perf_counter()
            with pytest.raises(ModuleTimeout) as info:
                await m.call("sleep", {"ms": 3000}, deadline=t0 + 0.3)
            return time.perf_counter() - t0, info.value
        finally:
            await m.stop()

    took, error = asyncio.run(main())
    assert 0.25 < took < 0.95 and error.code == "GATI541"
