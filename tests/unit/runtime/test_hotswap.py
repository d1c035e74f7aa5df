"""Hot swap on a real uvicorn server: requests in flight finish on the old code while new ones get
the new code; module state survives a swap unless that module's own source changed; code that
fails to import leaves the last good app serving, with the error at the user's file and line."""

from __future__ import annotations

import concurrent.futures
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gati_compiler.pipeline import build
from gati_compiler.watch.server import ServerThread
from tests.incremental_project import COUNTER_MODULE, handler_source, write_project

pytestmark = pytest.mark.slow

SLOW = """import asyncio

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get


@get("/slow")
async def slow(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None:
    await asyncio.sleep({delay})
    res.json("{answer}")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def _forget_app_modules() -> None:
    """Every test's project has a package called `app`: each must import its own."""
    for name in [n for n in sys.modules if n == "app" or n.startswith("app.")]:
        del sys.modules[name]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, ServerThread, str]]:
    _forget_app_modules()
    root = tmp_path / "app"
    write_project(root)
    (root / "app" / "handlers" / "slow.py").write_text(SLOW.format(delay=1.0, answer="old"))
    assert build(root, jobs=1).ok
    port = _free_port()
    server = ServerThread(root / ".gati", "127.0.0.1", port)
    assert server.start()
    try:
        yield root, server, f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        _forget_app_modules()


def test_requests_in_flight_finish_on_the_old_code_across_a_swap(served: tuple[Path, ServerThread, str]) -> None:
    root, server, url = served
    assert httpx.get(f"{url}/count").json() == 1
    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        in_flight = [pool.submit(httpx.get, f"{url}/slow", timeout=20) for _ in range(6)]
        deadline = time.monotonic() + 10
        while server.app._current.in_flight < 6:  # all six are inside the old handler
            assert time.monotonic() < deadline, "the requests never reached the handler"
            time.sleep(0.01)
        (root / "app" / "handlers" / "slow.py").write_text(SLOW.format(delay=0, answer="new"))
        assert build(root, jobs=1).ok
        report = server.app.swap()
        assert report.ok, report.line()
        assert "app.handlers.slow" in report.reloaded
        assert report.kept_instances == ("counter",)
        started = time.monotonic()
        assert httpx.get(f"{url}/slow").json() == "new"  # new requests: new code, no wait
        assert time.monotonic() - started < 0.9
        assert [f.result().json() for f in in_flight] == ["old"] * 6
    assert httpx.get(f"{url}/count").json() == 2  # the module instance survived


def test_module_state_is_reset_only_when_the_module_source_changes(served: tuple[Path, ServerThread, str]) -> None:
    root, server, url = served
    assert [httpx.get(f"{url}/count").json() for _ in range(3)] == [1, 2, 3]
    (root / "app" / "handlers" / "h0.py").write_text(handler_source(0, "changed"))
    assert build(root, jobs=1).ok
    assert server.app.swap().kept_instances == ("counter",)
    assert httpx.get(f"{url}/count").json() == 4
    (root / "app" / "state.py").write_text(COUNTER_MODULE.replace("self.value = 0", "self.value = 100"))
    assert build(root, jobs=1).ok
    report = server.app.swap()
    assert report.ok and report.new_instances == ("counter",) and "app.state" in report.reloaded
    assert httpx.get(f"{url}/count").json() == 101


def test_a_failing_import_keeps_the_last_good_app_and_names_the_source_line(
    served: tuple[Path, ServerThread, str],
) -> None:
    root, server, url = served
    generation = server.app.generation
    source = handler_source(1, "never") + "\n\nvalue = 1 / 0\n"
    (root / "app" / "handlers" / "h1.py").write_text(source)
    assert build(root, jobs=1).ok  # the compiler never runs user code
    report = server.app.swap()
    assert not report.ok
    assert report.location == f"app/handlers/h1.py:{len(source.splitlines())}"
    assert report.error is not None and "ZeroDivisionError" in report.error
    assert "last good app keeps serving" in report.line()
    assert server.app.generation == generation
    assert httpx.get(f"{url}/h1").json() == "pong"
    (root / "app" / "handlers" / "h1.py").write_text(handler_source(1, "fixed"))
    assert build(root, jobs=1).ok
    assert server.app.swap().ok
    assert httpx.get(f"{url}/h1").json() == "fixed"


def test_the_playgrounds_traces_and_gates_survive_a_swap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATI_DEV", "1")  # what `gatic watch --serve --dev` sets
    _forget_app_modules()
    root = tmp_path / "app"
    write_project(root)
    assert build(root, jobs=1).ok
    port = _free_port()
    server = ServerThread(root / ".gati", "127.0.0.1", port)
    assert server.start()
    url = f"http://127.0.0.1:{port}"
    try:
        first = httpx.get(f"{url}/count").headers["x-request-id"]
        old = server.app._current.app.playground
        assert old is not None and old.gates is not None
        old.gates.add({"id": "kept", "when": "before", "target": "handler", "handlerId": "nothing_matches"})
        (root / "app" / "handlers" / "h0.py").write_text(handler_source(0, "changed"))
        assert build(root, jobs=1).ok
        assert server.app.swap().ok
        second = httpx.get(f"{url}/count").headers["x-request-id"]
        new = server.app._current.app.playground
        assert new is not None and new is not old
        assert new.store.get(first) is not None and new.store.get(second) is not None  # one store
        assert [g.id for g in new.gates.list()] == ["kept"]  # armed gates stay armed
        listed = httpx.get(f"{url}/_gati/playground/api/traces").json()["traces"]
        assert {t["requestId"] for t in listed} == {first, second}
    finally:
        server.stop()
        _forget_app_modules()
