"""The generated SDKs as their users take them: the TypeScript package builds on its own, and the
page helpers of both SDKs walk every page of a paginated listing served by the real runtime."""

from __future__ import annotations

import importlib
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from gati_compiler.pipeline import build
from gati_runtime_min import GatiApp

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
TSC = ROOT / "node_modules" / ".bin" / "tsc"
NODE = shutil.which("node")

# a cursor-paginated listing (string cursor) and an offset-paginated one, recognised by shape
HANDLERS = """
from typing import Annotated, TypedDict, NotRequired
from annotated_types import Ge, Le
from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get

NAMES = [f"item-{i:02d}" for i in range(7)]


class Thing(TypedDict):
    name: str


class ThingQuery(TypedDict):
    limit: NotRequired[Annotated[int, Ge(1), Le(50)]]
    cursor: NotRequired[str]


class ThingPage(TypedDict):
    data: list[Thing]
    next_cursor: str | None


class OffsetQuery(TypedDict):
    offset: NotRequired[int]


class OffsetPage(TypedDict):
    items: list[Thing]
    next_offset: int | None


@get("/things")
def list_things(
    req: Request[None, ThingQuery], res: Response[ThingPage], lctx: LocalContext, gctx: GlobalContext
) -> None:
    start = NAMES.index(req.query["cursor"]) if "cursor" in req.query else 0
    end = start + req.query.get("limit", 3)
    res.json({"data": [{"name": n} for n in NAMES[start:end]], "next_cursor": NAMES[end] if end < len(NAMES) else None})


@get("/numbered")
def numbered(
    req: Request[None, OffsetQuery], res: Response[OffsetPage], lctx: LocalContext, gctx: GlobalContext
) -> None:
    start = req.query.get("offset", 0)
    end = start + 4
    res.json({"items": [{"name": n} for n in NAMES[start:end]], "next_offset": end if end < len(NAMES) else None})
"""


def build_pages(tmp_path: Path) -> Path:
    root = tmp_path / "pages"
    root.mkdir()
    (root / "pyproject.toml").write_text('[tool.gati]\nname = "pages"\n', encoding="utf-8")
    (root / "pages_handlers.py").write_text(HANDLERS, encoding="utf-8")
    result = build(root, jobs=1)
    assert result.ok, [(d.code, d.message) for d in result.diagnostics]
    return root / ".gati"


@contextmanager
def served(build_dir: Path) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(GatiApp(build_dir), host="127.0.0.1", port=port, lifespan="on", log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        limit = time.monotonic() + 120  # a ceiling for a loaded machine; the loop ends when it is up
        while not server.started:
            assert thread.is_alive() and time.monotonic() < limit, "uvicorn did not start"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def import_client(build_dir: Path) -> Any:
    sdk_root = build_dir / "sdk" / "python"
    sys.path.insert(0, str(sdk_root))
    try:
        for name in [m for m in sys.modules if m.split(".")[0] == "pages_client"]:
            del sys.modules[name]
        return importlib.import_module("pages_client")
    finally:
        sys.path.remove(str(sdk_root))


EXPECTED = [f"item-{i:02d}" for i in range(7)]

NODE_SCRIPT = """
import { Client } from "./dist/index.js";
const client = new Client({ baseUrl: process.argv[2], maxRetries: 0 });
const things = [];
for await (const t of client.iterateListThings({ limit: 2 })) things.push(t.name);
const numbered = [];
for await (const t of client.iterateNumbered()) numbered.push(t.name);
console.log(JSON.stringify({ things, numbered }));
"""


def test_page_helpers_walk_every_page_in_python_and_typescript(tmp_path: Path) -> None:
    build_dir = build_pages(tmp_path)
    sdk = import_client(build_dir)
    ts = tmp_path / "ts"
    shutil.copytree(build_dir / "sdk" / "typescript", ts)
    assert TSC.exists() and NODE is not None, "tsc (npm ci) and node are needed"
    compiled = subprocess.run([str(TSC), "-p", str(ts)], capture_output=True, text=True, check=False)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    (ts / "run.mjs").write_text(NODE_SCRIPT, encoding="utf-8")
    with served(build_dir) as base:
        with sdk.Client(base, max_retries=0) as client:
            assert [t["name"] for t in client.iter_list_things(limit=2)] == EXPECTED  # 4 pages of 2
            assert [t["name"] for t in client.iter_numbered()] == EXPECTED  # 2 pages of 4
            first = client.list_things(limit=2)
            assert first["next_cursor"] == "item-02" and len(first["data"]) == 2

        async def async_names() -> list[str]:
            async with sdk.AsyncClient(base, max_retries=0) as aclient:
                return [t["name"] async for t in aclient.iter_list_things(limit=3)]

        import asyncio

        assert asyncio.run(async_names()) == EXPECTED
        ran = subprocess.run([NODE, "run.mjs", base], cwd=ts, capture_output=True, text=True, timeout=120, check=False)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == {"things": EXPECTED, "numbered": EXPECTED}


def test_python_sdk_issues_are_objects_with_attributes(tmp_path: Path) -> None:
    build_dir = build_pages(tmp_path)
    sdk = import_client(build_dir)
    with (
        served(build_dir) as base,
        sdk.Client(base, max_retries=0) as client,
        pytest.raises(sdk.errors.UnprocessableEntityError) as info,
    ):
        client.list_things(limit=0)
    issue = info.value.issues[0]
    assert isinstance(issue, sdk.errors.Issue)
    assert issue.path == "$.query.limit"
    assert issue.code and issue.message and issue.expected


def test_typescript_package_builds_on_its_own_with_npm(tmp_path: Path) -> None:
    npm = shutil.which("npm")
    assert npm is not None, "npm is needed (.ci/run installs it)"
    build_dir = build_pages(tmp_path)
    package = tmp_path / "pages-client"
    shutil.copytree(build_dir / "sdk" / "typescript", package)
    manifest = json.loads((package / "package.json").read_text(encoding="utf-8"))
    assert "typescript" in manifest["devDependencies"]
    for command in ([npm, "install", "--no-audit", "--no-fund"], [npm, "run", "build"]):
        done = subprocess.run(command, cwd=package, capture_output=True, text=True, timeout=400, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
    assert (package / "dist" / "index.js").is_file() and (package / "dist" / "index.d.ts").is_file()
