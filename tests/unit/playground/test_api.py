"""The playground's JSON API and page (`/_gati/playground`), in-process through `AppClient`.

The app is the bookstore example built by the real compiler, served with `dev=True`: every
endpoint's answers and its errors (the runtime's envelope), the write rules (JSON only, same origin),
debug gates pausing a real request until it is resumed with an edited state or aborted, and replay
against the recorded v1.0.0 (which has transformers). Without the dev flag nothing of it answers.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gati_runtime_min.app import GatiApp
from gati_runtime_min.testing import AppClient

ROOT = Path(__file__).resolve().parents[3]
BOOKSTORE = ROOT / "examples" / "bookstore"
API = "/_gati/playground/api"
KEY = "pg-editor"
HEADERS = {"x-api-key": KEY}
JSON = {"content-type": "application/json"}
NEW_BOOK = {
    "title": "The Dispossessed",
    "isbn": "9780061054884",
    "genre": "fiction",
    "price": {"amount": 1299, "currency": "EUR"},
}


@pytest.fixture(scope="module")
def bookstore_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from gati_compiler.diagnostics.render import render_text
    from gati_compiler.pipeline import build

    dest = tmp_path_factory.mktemp("pg") / "bookstore"
    shutil.copytree(BOOKSTORE, dest, ignore=shutil.ignore_patterns(".gati", "__pycache__", "*.pyc"))
    result = build(dest)
    assert result.ok, render_text(result.diagnostics, result.sources)
    return dest / ".gati"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("GATI_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("BOOKSTORE_API_KEYS", f"{KEY}=admin,editor,customer")
    monkeypatch.setenv("BOOKSTORE_SECRET_RECEIPT_KEY", "pg-receipt-secret")
    yield


Scenario = Callable[[AppClient], Awaitable[None]]
Serve = Callable[[Scenario], None]


@pytest.fixture
def serve(bookstore_build: Path, clean_env: None) -> Serve:
    """Run a scenario against the bookstore served in-process with the dev flag."""

    def run(scenario: Scenario) -> None:
        async def main() -> None:
            async with AppClient(GatiApp(bookstore_build, dev=True)) as c:
                await scenario(c)

        asyncio.run(main())

    return run


def error_of(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    err: dict[str, Any] = r.json()["error"]
    assert err["code"] == code, err
    assert err["path"] == r.request.url.path and err["requestId"] == r.headers["x-request-id"]
    return err


async def a_book(c: AppClient) -> dict[str, Any]:
    author = await c.post("/authors", json={"name": "Ursula K. Le Guin"}, headers=HEADERS)
    assert author.status_code == 201, author.text
    book = await c.post("/books", json={**NEW_BOOK, "author_id": author.json()["id"]}, headers=HEADERS)
    assert book.status_code == 201, book.text
    out: dict[str, Any] = book.json()
    return out


# ------------------------------------------------------------------ the page
def test_the_page_and_its_assets_are_served_with_a_strict_content_security_policy(serve: Serve) -> None:
    async def main(client: AppClient) -> None:
        page = await client.get("/_gati/playground")
        assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
        csp = page.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        srcs = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        # nothing from elsewhere (`data:,` is the empty icon, so the browser asks for no /favicon.ico)
        assert srcs and all(s.startswith("/_gati/playground/static/") or s == "data:," for s in srcs), srcs
        assert (await client.get("/_gati/playground/")).text == page.text
        js = await client.get("/_gati/playground/static/playground.js")
        assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
        assert "innerHTML" not in js.text  # data is set as text, never parsed as HTML
        css = await client.get("/_gati/playground/static/playground.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        head = await client.head("/_gati/playground")
        assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) > 0
        error_of(await client.get("/_gati/playground/static/../api.py"), 404, "GATI520")
        error_of(await client.get("/_gati/playground/static/nope.js"), 404, "GATI520")
        error_of(await client.get("/_gati/playgroundx"), 404, "GATI520")

    serve(main)


def test_unknown_api_paths_are_404_and_wrong_methods_405_with_allow(serve: Serve) -> None:
    async def main(client: AppClient) -> None:
        error_of(await client.get(f"{API}/nope"), 404, "GATI520")
        error_of(await client.get(f"{API}/traces/a/b/c"), 404, "GATI520")
        r = await client.put(f"{API}/traces", headers=JSON)
        assert error_of(r, 405, "GATI521") and r.headers["allow"] == "GET, HEAD"
        r = await client.get(f"{API}/replay")
        assert error_of(r, 405, "GATI521") and r.headers["allow"] == "POST"

    serve(main)


# ------------------------------------------------------------------ traces
def test_traces_lists_the_newest_first_filtered_by_handler_and_limited(serve: Serve) -> None:
    async def main(client: AppClient) -> None:
        empty = (await client.get(f"{API}/traces")).json()
        assert empty == {"added": 0, "traces": []}
        assert (await client.get("/authors")).status_code == 200
        assert (await client.get("/books/41", headers={"x-gati-version": "v1.0.0"})).status_code == 404
        assert (await client.get("/authors?x=1")).status_code == 200
        listed = (await client.get(f"{API}/traces")).json()
        assert listed["added"] == 3
        rows = listed["traces"]
        assert [(t["method"], t["path"], t["handlerId"], t["status"]) for t in rows] == [
            ("GET", "/authors", "list_authors", 200),
            ("GET", "/books/41", "get_book", 404),
            ("GET", "/authors", "list_authors", 200),
        ]
        assert rows[0]["query"] == "x=1" and rows[1]["version"] == "2026-09-01T09:00:00Z"
        assert rows[1]["outcome"] == "client_error" and rows[0]["durationMs"] > 0
        only = (await client.get(f"{API}/traces", params={"handler": "get_book"})).json()["traces"]
        assert [t["requestId"] for t in only] == [rows[1]["requestId"]]
        one = (await client.get(f"{API}/traces", params={"limit": "1"})).json()["traces"]
        assert [t["requestId"] for t in one] == [rows[0]["requestId"]]
        # the playground's own calls are never recorded
        assert (await client.get(f"{API}/traces")).json()["added"] == 3
        for bad in ("0", "-1", "x", "10001"):
            err = error_of(await client.get(f"{API}/traces", params={"limit": bad}), 400, "GATI552")
            assert "limit" in err["message"]

    serve(main)


def test_one_trace_its_otlp_form_and_an_unknown_request_id(serve: Serve) -> None:
    async def main(client: AppClient) -> None:
        r = await client.get("/books/41", headers={"x-gati-version": "v1.0.0"})
        rid = r.headers["x-request-id"]
        trace = (await client.get(f"{API}/traces/{rid}")).json()
        assert trace["requestId"] == rid and trace["status"] == 404 and trace["route"] == "/books/{id:int}"
        names = [s["name"] for s in trace["spans"]]
        assert names[0] == "GET /books/{id:int}" and "handler get_book" in names and "ingress" in names
        assert trace["response"]["body"]["error"]["code"] == "book_not_found"
        assert ["x-gati-version", "v1.0.0"] in trace["request"]["headers"]
        assert any(e["event"] == "handler.start" for e in trace["events"])
        otlp = (await client.get(f"{API}/traces/{rid}/otlp")).json()
        resource = otlp["resourceSpans"][0]
        assert resource["resource"]["attributes"][0]["value"]["stringValue"] == "bookstore"
        spans = resource["scopeSpans"][0]["spans"]
        assert {s["traceId"] for s in spans} == {trace["traceId"]} and len(spans) == len(names)
        for path in (
            f"{API}/traces/01NOSUCHREQUEST",
            f"{API}/traces/01NOSUCHREQUEST/otlp",
            f"{API}/traces/01NOSUCH/test",
        ):
            err = error_of(await client.get(path), 404, "GATI553")
            assert "01NOSUCH" in err["message"]
        error_of(await client.get(f"{API}/traces/%3Cscript%3E"), 404, "GATI553")

    serve(main)


def test_a_trace_exports_as_a_pytest_module(serve: Serve) -> None:
    async def main(client: AppClient) -> None:
        rid = (await client.get("/authors")).headers["x-request-id"]
        r = await client.get(f"{API}/traces/{rid}/test")
        assert r.status_code == 200 and r.headers["content-type"] == "text/x-python; charset=utf-8"
        assert f"test_replay_{rid}.py" in r.headers["content-disposition"]
        compile(r.text, "exported.py", "exec")  # a module Python accepts
        assert "/authors" in r.text

    serve(main)


def test_versions_lists_each_recorded_version_and_the_current_one(serve: Serve) -> None:
    async def main(client: AppClient) -> None:
        data = (await client.get(f"{API}/versions")).json()
        assert data["current"] == "2026-11-02T09:00:00Z"
        assert data["versions"] == [
            {"version": "2026-09-01T09:00:00Z", "tags": ["v1.0.0"], "status": "deprecated"},
            {"version": "2026-10-01T09:00:00Z", "tags": ["v1.1.0"], "status": "active"},
            {"version": "2026-11-02T09:00:00Z", "tags": ["v2.0.0"], "status": "active"},
        ]

    serve(main)


# ------------------------------------------------------------------ replay
def test_replay_runs_the_request_as_an_old_version_and_as_current_and_diffs_them(serve: Serve) -> None:
    async def main(client: AppClient) -> None:
        book = await a_book(client)
        r = await client.get(f"/books/{book['id']}", headers={"x-gati-version": "v1.0.0", **HEADERS})
        assert r.status_code == 200 and "stock" in r.json() and "in_stock" not in r.json()  # v1.0.0's shape
        rid = r.headers["x-request-id"]
        out = await client.post(f"{API}/replay", json={"requestId": rid, "version": "v1.0.0"})
        assert out.status_code == 200, out.text
        result = out.json()
        assert result["requestId"] == rid and result["same"] is False
        changes = {(c["op"], c["path"]) for c in result["responseDiff"]}
        assert ("removed", "$.body.stock") in changes and ("added", "$.body.in_stock") in changes, changes
        assert isinstance(result["traceDiff"], list)
        replays = [t for t in (await client.get(f"{API}/traces")).json()["traces"] if t["replayOf"] == rid]
        assert replays, "the replayed runs are recorded as replays of the request"

    serve(main)


def test_replay_refuses_bad_calls_with_clear_errors(serve: Serve) -> None:
    async def main(client: AppClient) -> None:
        rid = (await client.get("/authors")).headers["x-request-id"]
        replay = f"{API}/replay"
        assert "requestId" in error_of(await client.post(replay, json={"version": "v1.0.0"}), 400, "GATI552")["message"]
        assert '"version"' in error_of(await client.post(replay, json={"requestId": rid}), 400, "GATI552")["message"]
        err = error_of(await client.post(replay, json={"requestId": rid, "version": "v9"}), 400, "GATI552")
        assert "v9" in err["message"] and "2026-09-01T09:00:00Z" in err["message"]
        error_of(await client.post(replay, json={"requestId": "01NOSUCH", "version": "v1.0.0"}), 404, "GATI553")
        error_of(await client.post(replay, content=b"{nope", headers=JSON), 400, "GATI552")
        assert "object" in error_of(await client.post(replay, json=[1]), 400, "GATI552")["message"]

    serve(main)


# ------------------------------------------------------------------ writes: JSON, same origin
def test_writes_need_json_and_the_same_origin(serve: Serve) -> None:
    async def main(client: AppClient) -> None:
        gate = {"when": "before", "target": "handler", "handlerId": "get_book"}
        gates = f"{API}/gates"
        err = error_of(
            await client.post(gates, content=b"when=before", headers={"content-type": "text/plain"}), 415, "GATI514"
        )
        assert "application/json" in err["message"]
        form = {"content-type": "application/x-www-form-urlencoded"}
        error_of(await client.post(gates, content=b"when=before", headers=form), 415, "GATI514")
        for origin in ("http://evil.example", "null", "http://testserver.evil.example", "file://testserver"):
            r = await client.post(gates, json=gate, headers={"origin": origin})
            assert "origin" in error_of(r, 403, "GATI552")["message"]
        assert (await client.get(gates)).json()["gates"] == []  # nothing was armed
        # reads too: another site's page reads no trace, even where the app's CORS settings would allow it
        error_of(await client.get(f"{API}/traces", headers={"origin": "http://evil.example"}), 403, "GATI552")
        assert (await client.get(f"{API}/traces", headers={"origin": "http://testserver"})).status_code == 200
        r = await client.post(gates, json=gate, headers={"origin": "http://testserver"})
        assert r.status_code == 201, r.text
        gate_id = r.json()["id"]
        error_of(await client.delete(f"{gates}/{gate_id}"), 415, "GATI514")  # DELETE too: not without JSON
        error_of(
            await client.delete(f"{gates}/{gate_id}", headers={**JSON, "origin": "http://evil.example"}), 403, "GATI552"
        )
        r = await client.delete(f"{gates}/{gate_id}", headers={**JSON, "origin": "http://testserver"})
        assert r.status_code == 204 and r.content == b""

    serve(main)


# ------------------------------------------------------------------ gates
async def wait_paused(client: AppClient, count: int = 1) -> list[dict[str, Any]]:
    for _ in range(500):
        paused: list[dict[str, Any]] = (await client.get(f"{API}/gates")).json()["paused"]
        if len(paused) >= count:
            return paused
        await asyncio.sleep(0.01)
    raise AssertionError("no request paused at the gate")


def test_a_gate_pauses_a_request_until_it_is_resumed_with_an_edited_state(serve: Serve) -> None:
    async def main(client: AppClient) -> None:
        book = await a_book(client)
        r = await client.post(f"{API}/gates", json={"when": "before", "target": "handler", "handlerId": "get_book"})
        assert r.status_code == 201, r.text
        gate = r.json()
        assert gate["when"] == "before" and gate["target"] == "handler" and gate["id"]
        listed = (await client.get(f"{API}/gates")).json()
        assert [g["id"] for g in listed["gates"]] == [gate["id"]] and listed["paused"] == []

        held = asyncio.ensure_future(client.get(f"/books/{book['id']}", headers=HEADERS))
        paused = await wait_paused(client)
        assert not held.done()
        assert (await client.get("/authors")).status_code == 200  # other requests go on
        [p] = paused
        assert p["handlerId"] == "get_book" and p["position"] == "before handler"
        state = dict(p["snapshot"]["state"])
        assert "started" in state  # what the global before hook put there
        assert json.loads(p["stateText"]) == state  # the editor's text, floats written as Python writes them
        state["started"] = 0.0  # the request "started" at the clock's origin: Server-Timing shows it
        r = await client.post(f"{API}/paused/{p['id']}/resume", json={"state": state})
        assert r.status_code == 200 and r.json() == {"resumed": p["id"], "stateReplaced": True}
        answer = await asyncio.wait_for(held, 10)
        assert answer.status_code == 200 and answer.json()["id"] == book["id"]
        took = float(answer.headers["server-timing"].removeprefix("app;dur="))
        assert took > 60_000, answer.headers["server-timing"]  # ms since the clock's origin: the edited state
        assert (await client.get(f"{API}/gates")).json()["paused"] == []
        error_of(await client.post(f"{API}/paused/{p['id']}/resume", json={}), 404, "GATI553")

    serve(main)


def test_an_aborted_request_answers_gati550_and_bad_gate_calls_are_refused(serve: Serve) -> None:
    async def main(client: AppClient) -> None:
        r = await client.post(f"{API}/gates", json={"when": "before", "target": "handler", "handlerId": "list_authors"})
        gate_id = r.json()["id"]
        held = asyncio.ensure_future(client.get("/authors"))
        [p] = await wait_paused(client)
        error_of(await client.post(f"{API}/paused/{p['id']}/resume", json={"state": [1]}), 400, "GATI552")
        r = await client.post(f"{API}/paused/{p['id']}/abort", json={})
        assert r.status_code == 200 and r.json() == {"aborted": p["id"]}
        error_of(await asyncio.wait_for(held, 10), 503, "GATI550")
        error_of(await client.post(f"{API}/paused/{p['id']}/abort", json={}), 404, "GATI553")
        assert (await client.delete(f"{API}/gates/{gate_id}", headers=JSON)).status_code == 204
        error_of(await client.delete(f"{API}/gates/{gate_id}", headers=JSON), 404, "GATI553")
        assert (await client.get("/authors")).status_code == 200  # disarmed: no pause
        err = error_of(await client.post(f"{API}/gates", json={"when": "during", "target": "handler"}), 400, "GATI552")
        assert "during" in err["message"]
        error_of(await client.post(f"{API}/gates", content=b"[]", headers=JSON), 400, "GATI552")

    serve(main)


# ------------------------------------------------------------------ off without the dev flag
PLAYGROUND_PATHS = (
    "/_gati/playground",
    "/_gati/playground/",
    "/_gati/playground/static/playground.js",
    f"{API}/traces",
    f"{API}/versions",
    f"{API}/gates",
)


def assert_no_playground(app: GatiApp) -> None:
    async def main() -> None:
        async with AppClient(app) as c:
            for path in PLAYGROUND_PATHS:
                error_of(await c.get(path), 404, "GATI520")
            error_of(await c.post(f"{API}/gates", json={"when": "before", "target": "handler"}), 404, "GATI520")
            error_of(await c.post(f"{API}/replay", json={}), 404, "GATI520")

    asyncio.run(main())


def test_without_the_dev_flag_the_playground_does_not_exist(bookstore_build: Path, clean_env: None) -> None:
    app = GatiApp(bookstore_build)  # the default
    assert app.playground is None
    assert_no_playground(app)


def test_tracing_alone_does_not_serve_the_page(
    bookstore_build: Path, clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATI_TRACE", "1")
    app = GatiApp(bookstore_build)
    assert app.playground is not None and app.playground.endpoints is None  # traces kept, no page
    assert_no_playground(app)
    monkeypatch.setenv("GATI_DEV", "0")
    assert_no_playground(GatiApp(bookstore_build))


def test_the_playground_table_in_pyproject_never_turns_the_page_on(tmp_path: Path, clean_env: None) -> None:
    from gati_compiler.pipeline import build

    app_dir = tmp_path / "bookstore"
    shutil.copytree(BOOKSTORE, app_dir, ignore=shutil.ignore_patterns(".gati", "__pycache__", "*.pyc"))
    toml = app_dir / "pyproject.toml"  # the example's own table, with every key set
    text = toml.read_text(encoding="utf-8")
    table = "[tool.gati.playground]\n"
    assert table in text
    toml.write_text(text.replace(table, table + "capacity = 50\ngate_timeout = 5.0\n"), encoding="utf-8")
    assert build(app_dir).ok
    app = GatiApp(app_dir / ".gati")
    assert app.build.settings["playground"]["capacity"] == 50
    assert_no_playground(app)

    async def served() -> int:  # the same build with the flag: served
        async with AppClient(GatiApp(app_dir / ".gati", dev=True)) as c:
            return (await c.get("/_gati/playground")).status_code

    assert asyncio.run(served()) == 200
