"""Egress: a module that declares none cannot connect even to 127.0.0.1; one that declares egress can."""

from __future__ import annotations

import asyncio
import logging
import subprocess
from collections.abc import Iterator

import pytest
from module_fixture import LANGUAGES, module, tcp_server  # type: ignore[import-not-found, unused-ignore]

from gati_runtime_min.errors import ModuleCapabilityError
from gati_runtime_min.modules import note_in_process, sandbox


def _namespaces_work() -> bool:
    try:
        return subprocess.run(["unshare", "-rn", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


NAMESPACES = _namespaces_work()
needs_namespaces = pytest.mark.skipif(
    not NAMESPACES, reason="`unshare -rn true` fails here: no unprivileged network namespaces (the warning is tested)"
)


@pytest.fixture(autouse=True)
def _fresh_probe() -> Iterator[None]:
    sandbox.set_probe(None)
    yield
    sandbox.set_probe(None)


@needs_namespaces
@pytest.mark.parametrize("language", LANGUAGES)
def test_module_without_egress_cannot_connect_to_a_server_on_127_0_0_1(
    language: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def main(port: int) -> tuple[ModuleCapabilityError, bool]:
        m = module(language, module_id="sealed")
        await m.start()
        try:
            with pytest.raises(ModuleCapabilityError) as info:
                await m.connect(port)
            return info.value, m.health().isolated
        finally:
            await m.stop()

    with tcp_server() as (port, received), caplog.at_level(logging.INFO):
        error, isolated = asyncio.run(main(port))
    assert isolated
    assert error.code == "GATI544" and error.status == 500 and error.capability == "egress"
    assert received == [], "the connection must not reach the server"
    audit = [r for r in caplog.records if r.name == "gati.audit"]
    entry = audit[0].__dict__["gati"] if audit else {}
    assert entry["event"] == "capability.refused" and entry["moduleId"] == "sealed"
    assert any(
        "'sealed' declares no egress: it runs in its own network namespace" in r.getMessage() for r in caplog.records
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_module_with_egress_connects_and_the_log_says_hosts_are_not_filtered(
    language: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def main(port: int) -> tuple[str, bool]:
        m = module(language, module_id="open", egress=[f"127.0.0.1:{port}"])
        await m.start()
        try:
            result: str = await m.connect(port)
            return result, m.health().isolated
        finally:
            await m.stop()

    with tcp_server() as (port, received), caplog.at_level(logging.INFO, logger="gati.modules"):
        result, isolated = asyncio.run(main(port))
        assert result == "connected" and not isolated
    assert received == [b"hi"]
    assert any("per-host filtering is NOT enforced" in r.getMessage() for r in caplog.records)


def test_platform_that_cannot_isolate_warns_at_start_up_naming_the_module(caplog: pytest.LogCaptureFixture) -> None:
    sandbox.set_probe(sandbox.Isolation(False, "`unshare -rn true` failed: Operation not permitted"))

    async def main() -> bool:
        m = module("python", module_id="leaky")
        isolated: bool
        await m.start()
        try:
            assert await m.add(1, 1) == 2
            isolated = m.health().isolated
            return isolated
        finally:
            await m.stop()

    with caplog.at_level(logging.INFO, logger="gati.modules"):
        assert asyncio.run(main()) is False
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    text = warnings[0].getMessage()
    assert "'leaky'" in text and "cannot be isolated" in text and "Operation not permitted" in text


def test_in_process_module_start_up_line_says_it_cannot_be_isolated(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="gati.modules"):
        note_in_process("db", [])
    assert "'db' runs in-process" in caplog.text and "cannot be isolated" in caplog.text
