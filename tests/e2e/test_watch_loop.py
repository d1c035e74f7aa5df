"""`gatic watch --serve` as a user runs it: a real process, real file edits, real HTTP, real signals.

One session on a temporary project goes through: edit a handler, edit the shared model (and the
handlers that fill it), break the syntax, fix it, delete a file, add one, edit the config, edit
an excluded test file; after each step the artifacts on disk and the answers of the running app
are checked, and a module counter that only grows proves the process never restarted. SIGINT and
SIGTERM end it with exit code 0, the rebuild percentiles printed, no child process left and the
port free.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.incremental_project import PYPROJECT, handler_source, model_source, write_project

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("PPid:") and int(line.split()[1]) == pid:
                found.append(int(entry.name))
    return found


@dataclass
class Session:
    proc: subprocess.Popen[bytes]
    log: Path
    port: int
    root: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=10)

    def wait_for(self, what: str, check: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"watch exited early:\n{self.output()}"
            try:
                if check():
                    return
            except (httpx.HTTPError, OSError, ValueError, KeyError):
                pass
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}; output:\n{self.output()}")

    def wait_log(self, text: str, after: int = 0, timeout: float = 30.0) -> None:
        self.wait_for(f"`{text}` in the output", lambda: text in self.output()[after:], timeout)


@contextmanager
def watching(tmp_path: Path) -> Iterator[Session]:
    root = tmp_path / "proj"
    write_project(root)
    port = free_port()
    log = tmp_path / "watch.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    cmd = [sys.executable, "-c", "from gati_compiler.entry import run; run()", "watch", str(root), "--serve"]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*cmd, "--host", "127.0.0.1", "--port", str(port)], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT
        )
    session = Session(proc, log, port, root)
    try:
        session.wait_log("watching")
        session.wait_for("the server", lambda: session.get("/h0").json() == "pong")
        yield session
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def _artifact(root: Path, rel: str) -> dict[str, object]:
    data: dict[str, object] = json.loads((root / ".gati" / rel).read_text())
    return data


def test_watch_loop_rebuilds_and_swaps_every_kind_of_edit_without_restarting(tmp_path: Path) -> None:
    with watching(tmp_path) as s:
        root, app = s.root, s.root / "app"
        count = iter(range(1, 1000))
        assert s.get("/count").json() == next(count)

        def counter_survives() -> None:  # the same process and the same module instance throughout
            assert s.get("/count").json() == next(count)

        # 1. edit a handler
        mark = len(s.output())
        (app / "handlers" / "h0.py").write_text(handler_source(0, "edited"))
        s.wait_for("the edited handler", lambda: s.get("/h0").json() == "edited")
        s.wait_log("swapped in generation", mark)
        assert "changed: app/handlers/h0.py" in s.output()[mark:]
        counter_survives()

        # 2. edit the shared model and the handlers that fill it (one save batch)
        (app / "models.py").write_text(model_source(extra_fields=1))
        for n in range(3):
            (app / "handlers" / f"h{n}.py").write_text(handler_source(n, "edited" if n == 0 else "pong", fields=1))
        wanted = {"id": 1, "name": "item 1", "extra_0": 0}
        s.wait_for("the new model served", lambda: s.get("/h1/item").json() == wanted)
        assert "extra_0" in (root / ".gati" / "gtypes.json").read_text()
        counter_survives()

        # 3. break the syntax: diagnostics, the last good app keeps serving, artifacts untouched
        mark = len(s.output())
        before = (root / ".gati" / "manifest.json").read_bytes()
        (app / "handlers" / "h1.py").write_text(handler_source(1, "broken") + "\ndef broken(:\n")
        s.wait_log("the last good app keeps serving", mark)
        assert "app/handlers/h1.py:" in s.output()[mark:] and "GATI101" in s.output()[mark:]
        assert s.get("/h1").json() == "pong"
        assert (root / ".gati" / "manifest.json").read_bytes() == before
        counter_survives()

        # 4. fix it: served, and the diagnostics are cleared
        mark = len(s.output())
        (app / "handlers" / "h1.py").write_text(handler_source(1, "fixed", fields=1))
        s.wait_for("the fixed handler", lambda: s.get("/h1").json() == "fixed")
        s.wait_log("problems fixed", mark)
        counter_survives()

        # 5. delete a file: its routes and artifacts go
        (app / "handlers" / "h2.py").unlink()
        s.wait_for("the deleted route to go", lambda: s.get("/h2").status_code == 404)
        assert not (root / ".gati" / "handlers" / "ping_2.json").exists()
        counter_survives()

        # 6. add a file
        (app / "handlers" / "h7.py").write_text(handler_source(7, "new file", fields=1))
        s.wait_for("the new route", lambda: s.get("/h7").json() == "new file")
        assert (root / ".gati" / "handlers" / "ping_7.json").is_file()
        counter_survives()

        # 7. edit the config
        renamed = PYPROJECT.replace('name = "incrapp"\nexclude', 'name = "renamed"\nexclude')
        (root / "pyproject.toml").write_text(renamed)
        s.wait_for("the renamed app", lambda: s.get("/_gati/health").json()["app"] == "renamed")
        assert _artifact(root, "manifest.json")["app"] == "renamed"
        counter_survives()

        # 8. code that builds but fails to import: the error at the user's line, the old app serves
        mark = len(s.output())
        (app / "handlers" / "h7.py").write_text(handler_source(7, "never") + 'raise RuntimeError("boom")\n')
        s.wait_log("the last good app keeps serving", mark)
        assert "app/handlers/h7.py:" in s.output()[mark:] and "RuntimeError: boom" in s.output()[mark:]
        assert s.get("/h7").json() == "new file"
        (app / "handlers" / "h7.py").write_text(handler_source(7, "recovered", fields=1))
        s.wait_for("the recovered handler", lambda: s.get("/h7").json() == "recovered")
        counter_survives()

        # 9. an excluded file and a file in the build folder trigger nothing
        mark = len(s.output())
        (app / "tests" / "test_nothing.py").write_text("def test_other() -> None:\n    pass\n")
        (root / ".gati" / "notes.py").write_text("")
        (app / "README.txt").write_text("not a source")
        time.sleep(1.0)
        assert "changed:" not in s.output()[mark:]

        s.proc.send_signal(signal.SIGINT)
        assert s.proc.wait(20) == 0
        out = s.output()
        assert "watch stopped:" in out and "p50" in out and "p95" in out
        assert port_is_free(s.port)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_watch_ends_cleanly_on_signal_leaving_no_child_or_bound_port(tmp_path: Path, sig: signal.Signals) -> None:
    with watching(tmp_path) as s:
        assert not port_is_free(s.port)
        pid = s.proc.pid
        s.proc.send_signal(sig)
        assert s.proc.wait(20) == 0
        assert children_of(pid) == []
        assert port_is_free(s.port)
        assert "watch stopped:" in s.output()
