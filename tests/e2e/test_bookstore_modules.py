"""The bookstore's modules served for real: its out-of-process Node module is killed while the app
serves, and the app keeps answering; it runs without network access; the server leaves no module
process behind when it stops.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_examples_served import ALL_ROLES_KEY, ROOT, build_copy, free_port, secret_value, serve_build
from tests.otlp import Collector

pytestmark = pytest.mark.slow


def _processes(client: httpx.Client) -> dict[str, Any]:
    ready = client.get("/_gati/ready")
    assert ready.status_code == 200, ready.text
    processes: dict[str, Any] = ready.json()["processes"]
    return processes


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie not yet reaped by its parent counts as gone
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().split(") ")[-1][:1] != "Z"


def test_killed_node_module_is_restarted_while_other_handlers_keep_serving(tmp_path: Path) -> None:
    app = tmp_path / "bookstore"
    build_dir = build_copy(ROOT / "examples" / "bookstore", app)
    with serve_build("bookstore", app, build_dir) as served:
        headers = {served.api_key_header or "x-api-key": ALL_ROLES_KEY}
        with httpx.Client(base_url=served.base_url, headers=headers, timeout=10) as client:
            shipping = _processes(client)["shipping"]
            assert shipping["ready"] and shipping["readyProcesses"] == 2 and len(shipping["pids"]) == 2
            assert shipping["restarts"] == 0
            old = list(shipping["pids"])
            assert client.get("/shipping/quote", params={"country": "FR", "items": 1}).json()["cents"] == 350

            for pid in old:  # both processes of the pool, for real
                os.kill(pid, signal.SIGKILL)
            # while the module restarts: other handlers answer; a quote is retried (idempotent) or a 503 GATI540
            assert client.get("/books").status_code == 200
            during = client.get("/shipping/quote", params={"country": "FR", "items": 1})
            assert during.status_code in (200, 503), during.text
            if during.status_code == 503:
                assert during.json()["error"]["code"] == "GATI540"

            until = time.monotonic() + 15
            while True:
                shipping = _processes(client)["shipping"]
                if shipping["readyProcesses"] == 2 or time.monotonic() > until:
                    break
                time.sleep(0.05)
            assert shipping["readyProcesses"] == 2, shipping
            assert shipping["restarts"] >= 2 and shipping["lastExitCode"] is not None
            assert not set(shipping["pids"]) & set(old)
            after = client.get("/shipping/quote", params={"country": "US", "items": 2})
            assert after.status_code == 200 and after.json()["zone"] == "world"
            pids = list(shipping["pids"])
    # the server stopped: no module process is left
    until = time.monotonic() + 5
    while any(_alive(p) for p in pids) and time.monotonic() < until:
        time.sleep(0.05)
    assert not any(_alive(p) for p in pids)


def test_node_module_without_declared_egress_runs_isolated(tmp_path: Path) -> None:
    app = tmp_path / "bookstore"
    build_dir = build_copy(ROOT / "examples" / "bookstore", app)
    with serve_build("bookstore", app, build_dir) as served:
        with httpx.Client(base_url=served.base_url, timeout=10) as client:
            shipping = _processes(client)["shipping"]
        log = served.server_log()
    if shipping["isolated"]:
        assert "module 'shipping' declares no egress: it runs in its own network namespace" in log
        assert "module 'store' runs in-process" in log and "cannot be isolated" in log
    else:  # the platform cannot give it its own network namespace: the server says so at start-up
        assert "shipping" in log and "WARNING" in log.upper()


def test_bookstore_exports_traces_with_module_calls_and_metrics_and_never_logs_its_secret(tmp_path: Path) -> None:
    app = tmp_path / "bookstore"
    build_dir = build_copy(ROOT / "examples" / "bookstore", app)
    collector = Collector()
    env = {
        "GATI_TELEMETRY_EXPORTER": "otlp",
        "GATI_TELEMETRY_ENDPOINT": collector.url,
        "GATI_AUDIT_LOG": "1",  # the audit trail on stderr: the secret's reads are in it, its value is not
    }
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    try:
        with serve_build("bookstore", app, build_dir, extra_env=env) as served:
            headers = {served.api_key_header or "x-api-key": ALL_ROLES_KEY}
            with httpx.Client(base_url=served.base_url, headers=headers, timeout=10) as client:
                traced = {"traceparent": f"00-{trace_id}-b7ad6b7169203331-01"}
                quote = client.get("/shipping/quote", params={"country": "DE", "items": 1}, headers=traced)
                assert quote.status_code == 200 and quote.headers["traceparent"].split("-")[1] == trace_id
                author = client.post("/authors", json={"name": "N. K. Jemisin"}).json()
                book = {"title": "The Fifth Season", "isbn": "9780316229296", "author_id": author["id"]}
                book |= {"genre": "fiction", "price": {"amount": 1500, "currency": "EUR"}}
                book_id = client.post("/books", json=book).json()["id"]
                ship_to = {
                    "name": "Essun",
                    "street": "1 Rift Rd",
                    "city": "Tirimo",
                    "postcode": "1234",
                    "country": "DE",
                }
                order = client.post(
                    "/orders", json={"lines": [{"book_id": book_id, "quantity": 2}], "ship_to": ship_to}
                )
                assert order.status_code == 201, order.text
                receipt = client.get(f"/orders/{order.json()['id']}/receipt")
                assert receipt.status_code == 200
            log = served.server_log
        # the server has stopped: its exporters flushed at shutdown
        traces, metrics = collector.body("/v1/traces"), collector.body("/v1/metrics")
    finally:
        collector.close()
    assert bytes.fromhex(trace_id) in traces  # the caller's trace continued
    for span in (b"module shipping.quote", b"handler shipping_quote", b"module store.get_order"):
        assert span in traces, span
    assert b"bookstore.orders.placed" in metrics and b"http.server.request.duration" in metrics
    text = log()
    assert '"event":"secret.access"' in text and '"secret":"receipt_key"' in text
    assert secret_value("receipt_key") not in text


def test_bookstore_passes_mypy_strict_with_the_module_plugin_and_a_wrong_module_call_does_not(tmp_path: Path) -> None:
    app = tmp_path / "bookstore"
    build_copy(ROOT / "examples" / "bookstore", app)  # the plugin reads the built module manifests
    mypy = [sys.executable, "-m", "mypy", "--no-incremental"]
    ok = subprocess.run(mypy, cwd=app, capture_output=True, text=True, timeout=240)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    handlers = app / "bookstore" / "handlers" / "shipping.py"
    handlers.write_text(
        handlers.read_text()
        + textwrap.dedent(
            """

            async def wrong(gctx: GlobalContext) -> None:
                await gctx.modules["shipping"].quote(3, "DE")
                await gctx.modules["shiping"].quote("DE", 3)
            """
        )
    )
    bad = subprocess.run(mypy, cwd=app, capture_output=True, text=True, timeout=240)
    assert bad.returncode == 1
    assert 'Argument 1 to "quote" of "Shipping" has incompatible type "int"; expected "str"' in bad.stdout
    assert "[gati-module]" in bad.stdout and "shiping" in bad.stdout


def test_editing_the_node_module_under_watch_reloads_it_while_the_in_process_state_survives(tmp_path: Path) -> None:
    app = tmp_path / "bookstore"
    build_copy(ROOT / "examples" / "bookstore", app)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "watch.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATI_")} | {"PYTHONUNBUFFERED": "1"}
    env["BOOKSTORE_API_KEYS"] = f"{ALL_ROLES_KEY}=editor,admin,clerk"
    cmd = [sys.executable, "-c", "from gati_compiler.entry import run; run()", "watch", str(app), "--serve"]
    with log.open("wb") as out:
        proc = subprocess.Popen([*cmd, "--port", str(port)], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    pids: list[int] = []

    def until(what: str, check: Callable[[], bool], timeout: float = 30.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                if check():
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{what} did not happen; log:\n{log.read_text()[-3000:]}")

    try:
        with httpx.Client(base_url=base, headers={"x-api-key": ALL_ROLES_KEY}, timeout=10) as client:
            quote: dict[str, str | int] = {"country": "FR", "items": 1}
            until("serving", lambda: client.get("/shipping/quote", params=quote).status_code == 200)
            assert client.get("/shipping/quote", params=quote).json()["cents"] == 350
            author = client.post("/authors", json={"name": "Octavia E. Butler"}).json()
            old = set(_processes(client)["shipping"]["pids"])

            module = app / "modules" / "shipping.mjs"
            module.write_text(module.read_text().replace("first: 350", "first: 420"))
            until("the module reloaded", lambda: client.get("/shipping/quote", params=quote).json()["cents"] == 420)
            shipping = _processes(client)["shipping"]
            assert not set(shipping["pids"]) & old and shipping["readyProcesses"] == 2
            # the in-process store module was kept: what it held is still there
            assert client.get(f"/authors/{author['id']}").json()["name"] == "Octavia E. Butler"
            pids = [*old, *shipping["pids"]]
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    end = time.monotonic() + 5
    while any(_alive(p) for p in pids) and time.monotonic() < end:
        time.sleep(0.05)
    assert not any(_alive(p) for p in pids)


def test_sighup_reloads_the_out_of_process_modules_without_restarting_the_server(tmp_path: Path) -> None:
    app = tmp_path / "bookstore"
    build_dir = build_copy(ROOT / "examples" / "bookstore", app)
    with serve_build("bookstore", app, build_dir) as served:
        headers = {served.api_key_header or "x-api-key": ALL_ROLES_KEY}
        with httpx.Client(base_url=served.base_url, headers=headers, timeout=10) as client:
            before = _processes(client)
            author = client.post("/authors", json={"name": "Ted Chiang"}).json()
            os.kill(served.pid, signal.SIGHUP)
            end = time.monotonic() + 15
            while time.monotonic() < end:
                now = _processes(client)
                if all(not set(now[m]["pids"]) & set(before[m]["pids"]) for m in ("shipping", "isbn")):
                    break
                time.sleep(0.05)
            for m in ("shipping", "isbn"):
                assert not set(now[m]["pids"]) & set(before[m]["pids"]), (m, before[m], now[m])
                assert now[m]["restarts"] == 0  # a reload, not a crash recovery
            # the same server process, its in-process state intact, the fresh modules answering
            assert client.get(f"/authors/{author['id']}").json()["name"] == "Ted Chiang"
            assert client.get("/shipping/quote", params={"country": "FR", "items": 2}).json()["cents"] == 450
            assert client.get("/isbn/9780061054884").status_code == 200
            assert "SIGHUP: module 'shipping' reloaded" in served.server_log()
        old = [p for m in ("shipping", "isbn") for p in before[m]["pids"]]
        assert not any(_alive(p) for p in old)
