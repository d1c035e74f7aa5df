"""One fixture app served by real uvicorn on 127.0.0.1, in a subprocess stopped by PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from rt_fixture import make_build  # type: ignore[import-not-found, unused-ignore]  # a sibling module

import gati_runtime_min

REPO = Path(gati_runtime_min.__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _stderr(proc: subprocess.Popen[bytes]) -> str:
    if proc.poll() is None or proc.stderr is None:
        return "server still starting"
    return proc.stderr.read().decode()


@pytest.mark.slow
def test_serve_on_uvicorn(tmp_path: Path) -> None:
    build = make_build(tmp_path)
    port = _free_port()
    code = f"from gati_runtime_min import serve; serve({str(build)!r}, port={port}, log_level='warning')"
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120  # a ceiling for a loaded machine; the loop ends once it is up
        ready = None
        while time.monotonic() < deadline:
            try:
                ready = httpx.get(f"{base}/_gati/ready", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None:
                    break
                time.sleep(0.1)
        assert ready is not None and ready.status_code == 200, _stderr(proc)
        with httpx.Client(base_url=base, timeout=5) as client:
            r = client.get("/users/5")
            assert r.status_code == 200 and r.json() == {"id": 5, "name": "user5"}
            created = client.post("/users", json={"name": "Ada"})
            assert created.status_code == 201
            bad = client.post("/users", content=b"{oops", headers={"content-type": "application/json"})
            assert bad.status_code == 400 and bad.json()["error"]["code"] == "GATI510"
            assert client.delete("/users/5").headers["allow"] == "GET, HEAD, OPTIONS"
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        proc.stderr.close()
    # uvicorn shuts down gracefully, then re-raises the signal it caught
    assert proc.returncode in (0, -signal.SIGTERM)


def test_serve_fails_fast_on_a_missing_build(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "gati_runtime_min", str(tmp_path / "nope"), "--port", str(_free_port())],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "manifest.json: missing" in proc.stderr
