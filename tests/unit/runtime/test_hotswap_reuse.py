"""A hot swap does work in proportion to what changed: the parsed manifest of every handler whose
artifact is unchanged is reused from the app being replaced, while a changed artifact (even one
of the same size) is read again and served; answers are those of a fresh load of the build."""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gati_compiler.pipeline import build
from gati_compiler.watch.server import ServerThread
from gati_runtime_min.app import GatiApp
from tests.incremental_project import handler_source, write_project

pytestmark = pytest.mark.slow

HOUR_NS = 3600 * 1_000_000_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def _forget_app_modules() -> None:
    for name in [n for n in sys.modules if n == "app" or n.startswith("app.")]:
        del sys.modules[name]


def _age(folder: Path) -> None:
    """Date every file an hour back, as files written long before the swap that reads them (a
    file written within the clock's granularity of its read is always hashed again)."""
    old = time.time_ns() - HOUR_NS
    for path in folder.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(old, old))


def _manifests(server: ServerThread) -> dict[str, object]:
    return {r.handler_id: r.manifest for r in server.app.app.build.routes}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, ServerThread, str]]:
    _forget_app_modules()
    root = tmp_path / "app"
    write_project(root)
    assert build(root, jobs=1).ok
    _age(root)
    port = _free_port()
    server = ServerThread(root / ".gati", "127.0.0.1", port)
    assert server.start()
    try:
        yield root, server, f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        _forget_app_modules()


def test_a_body_only_edit_reuses_every_parsed_handler_manifest(served: tuple[Path, ServerThread, str]) -> None:
    root, server, url = served
    before = _manifests(server)
    (root / "app" / "handlers" / "h0.py").write_text(handler_source(0, "changed"))
    assert build(root, jobs=1).ok
    report = server.app.swap()
    assert report.ok, report.line()
    assert report.reloaded == ("app.handlers.h0",)
    assert httpx.get(f"{url}/h0").json() == "changed"
    assert httpx.get(f"{url}/h1").json() == "pong"
    after = _manifests(server)
    assert after.keys() == before.keys()
    assert all(after[hid] is before[hid] for hid in before)


def test_a_same_size_route_change_is_read_again_and_served(served: tuple[Path, ServerThread, str]) -> None:
    root, server, url = served
    before = _manifests(server)
    (root / "app" / "handlers" / "h1.py").write_text(handler_source(1).replace('"/h1"', '"/x1"'))
    assert build(root, jobs=1).ok
    report = server.app.swap()
    assert report.ok, report.line()
    assert httpx.get(f"{url}/x1").json() == "pong"
    assert httpx.get(f"{url}/h1").status_code == 404
    after = _manifests(server)
    assert after["ping_1"] is not before["ping_1"]
    fresh = {r.handler_id: r.manifest for r in GatiApp(root / ".gati").build.routes}
    assert after == fresh
    assert [hid for hid in before if after[hid] is before[hid]] == [hid for hid in before if hid != "ping_1"]


def test_only_the_routes_of_a_reimported_module_are_built_again(served: tuple[Path, ServerThread, str]) -> None:
    root, server, url = served
    before = {r.handler_id: r for r in server.app.app.build.routes}
    (root / "app" / "handlers" / "h2.py").write_text(handler_source(2, "again"))
    assert build(root, jobs=1).ok
    assert server.app.swap().ok
    after = {r.handler_id: r for r in server.app.app.build.routes}
    rebuilt = sorted(hid for hid in after if after[hid] is not before[hid])
    assert rebuilt == ["item_2", "ping_2"]
    assert after["ping_2"].fn is sys.modules["app.handlers.h2"].ping_2
    assert httpx.get(f"{url}/h2").json() == "again"
    assert httpx.get(f"{url}/h2/item").json() == {"id": 2, "name": "item 2"}
    fresh = GatiApp(root / ".gati").build.routes
    assert [(r.handler_id, r.method, r.path, r.fn, r.timeout) for r in fresh] == [
        (r.handler_id, r.method, r.path, r.fn, r.timeout) for r in server.app.app.build.routes
    ]


def test_a_validators_module_that_is_not_the_recorded_one_fails_the_swap(
    served: tuple[Path, ServerThread, str],
) -> None:
    root, server, url = served
    generation = server.app.generation
    init = root / ".gati" / "validators" / "__init__.py"
    init.write_text(init.read_text() + "\n# edited behind the build's back\n")
    report = server.app.swap()
    assert not report.ok
    assert report.error is not None and "does not match its digest" in report.error
    assert server.app.generation == generation
    assert httpx.get(f"{url}/h0").json() == "pong"
