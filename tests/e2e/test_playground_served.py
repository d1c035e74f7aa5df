"""The playground is never reachable without the dev flag, on a real server.

The bookstore, built with a `[tool.gati.playground]` table, served by uvicorn on 127.0.0.1 (stopped
by its PID): by `python -m gati_runtime_min` with tracing on but no dev flag, and by `gatic serve`
without `--dev`, the page, its assets and every API path answer 404 like any unknown path; the same
build under `gatic serve --dev` serves them (the check above proves something).
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from test_examples_served import ROOT, build_copy, serve_build  # type: ignore[import-not-found, unused-ignore]
from test_scaleout import gatic_serve  # type: ignore[import-not-found, unused-ignore]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

API = "/_gati/playground/api"
GETS = (
    "/_gati/playground",
    "/_gati/playground/",
    "/_gati/playground/static/playground.js",
    "/_gati/playground/static/playground.css",
    f"{API}/traces",
    f"{API}/traces/01M9147V1J41VGY8YX055JD966",
    f"{API}/versions",
    f"{API}/gates",
)
POSTS = (f"{API}/replay", f"{API}/gates", f"{API}/paused/p1/resume", f"{API}/paused/p1/abort")


def with_playground_table(app: Path) -> None:
    toml = app / "pyproject.toml"  # the example's own table, with more keys set
    text = toml.read_text(encoding="utf-8")
    table = "[tool.gati.playground]\n"
    assert table in text
    toml.write_text(text.replace(table, table + "capacity = 20\ngate_timeout = 5.0\n"), encoding="utf-8")


def assert_absent(base: str) -> None:
    with httpx.Client(base_url=base, timeout=10) as client:
        for path in GETS:
            r = client.get(path)
            assert r.status_code == 404 and r.json()["error"]["code"] == "GATI520", (path, r.text)
        for path in POSTS:
            r = client.post(path, json={}, headers={"origin": base})
            assert r.status_code == 404 and r.json()["error"]["code"] == "GATI520", (path, r.text)
        assert client.get("/authors").status_code == 200  # the app itself is served


def test_no_dev_flag_no_playground_on_a_served_app(tmp_path: Path) -> None:
    app = tmp_path / "bookstore"
    build_dir = build_copy(ROOT / "examples" / "bookstore", app, with_playground_table)
    with serve_build("bookstore", app, build_dir, extra_env={"GATI_TRACE": "1"}) as served:
        assert_absent(served.base_url)  # traces kept (`gatic replay` reads them), no page

    env = {k: v for k, v in os.environ.items() if not k.startswith("GATI_")}
    with gatic_serve(app, 1, env) as base:  # `gatic serve` without --dev
        assert_absent(base)
    with gatic_serve(app, 1, env, "--dev") as base:
        page = httpx.get(f"{base}/_gati/playground", timeout=10)
        assert page.status_code == 200 and "playground.js" in page.text
        assert httpx.get(f"{base}{API}/traces", timeout=10).json()["traces"] == []
        port = int(base.rsplit(":", 1)[1])  # the server says where the page is
        said = (app.parent / f"serve-{port}.log").read_text(errors="replace")
        store = app / ".gati" / "traces.jsonl"  # the example's `store`
        line = f"playground: http://127.0.0.1:{port}/_gati/playground (requests recorded to {store})"
        assert line in said, said
