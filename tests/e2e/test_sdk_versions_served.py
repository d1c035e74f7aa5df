"""The generated Python and TypeScript clients of the bookstore's first recorded version (v1.0.0)
calling the served example: every request carries `X-Gati-Version: 2026-09-01T09:00:00Z`, the
server answers as that (deprecated) version, and the answers decode with that version's types."""

from __future__ import annotations

import asyncio
import importlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_examples_served import ALL_ROLES_KEY, build_copy, import_sdk, serve_build

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
V1 = "2026-09-01T09:00:00Z"
TSC = ROOT / "node_modules" / ".bin" / "tsc"
NODE = shutil.which("node")

# the TypeScript client of v1.0.0, through a fetch that records the version header it sends
NODE_SCRIPT = """
import { versions } from "./dist/index.js";
const seen = [];
const recording = (url, init) => { seen.push(init.headers["X-Gati-Version"]); return fetch(url, init); };
const client = new versions.v2026_09_01T090000Z.Client({ baseUrl: process.argv[2], maxRetries: 0, fetch: recording });
const raw = await client.withRawResponse.listAuthors();
const one = await client.getAuthor({ id: raw.data[0].id });
console.log(JSON.stringify({ seen, deprecation: raw.response.headers.get("deprecation"), name: one.name }));
"""


def test_the_first_versions_client_calls_the_server_as_that_version(tmp_path: Path) -> None:
    app_dir = tmp_path / "bookstore"
    build_dir = build_copy(ROOT / "examples" / "bookstore", app_dir)
    with serve_build("bookstore", app_dir, build_dir) as served:
        sdk = import_sdk(served)
        versions: Any = importlib.import_module(f"{sdk.__name__}.versions")
        v1 = versions.v2026_09_01T090000Z
        assert versions.client_for("v1.0.0") is v1.Client and versions.client_for(V1) is v1.Client
        sent: list[str | None] = []

        def record(request: httpx.Request) -> None:
            sent.append(request.headers.get("X-Gati-Version"))

        keys = {served.api_key_header: ALL_ROLES_KEY} if served.api_key_header else {}
        http = httpx.Client(event_hooks={"request": [record]})
        with v1.Client(served.base_url, headers=keys, max_retries=0, http_client=http) as client:
            made = client.create_author(body={"name": "Ursula K. Le Guin"})
            raw = client.with_raw_response.list_authors()
            authors = raw.parse()
            author = client.get_author(made["id"])
        http.close()
        assert sent == [V1, V1, V1]
        # v1.0.0 is deprecated in the lock: the server resolved the header to it
        assert raw.headers["Deprecation"].startswith("@") and "successor-version" in raw.headers["Link"]
        assert author == made and made in authors and made["name"] == "Ursula K. Le Guin"
        assert not hasattr(client, "stats")  # `stats` arrived in v1.1.0

        async def call_async() -> tuple[list[str | None], Any]:
            seen: list[str | None] = []

            async def hook(request: httpx.Request) -> None:
                seen.append(request.headers.get("X-Gati-Version"))

            client_class = versions.async_client_for("v1.1.0")
            async with (
                httpx.AsyncClient(event_hooks={"request": [hook]}) as ahttp,
                client_class(served.base_url, headers=keys, max_retries=0, http_client=ahttp) as aclient,
            ):
                return seen, await aclient.stats()

        seen, stats = asyncio.run(call_async())
        assert seen == ["2026-10-01T09:00:00Z"] and isinstance(stats, dict)

        assert TSC.exists() and NODE is not None, "tsc (npm ci) and node are needed"
        ts = tmp_path / "ts"
        shutil.copytree(build_dir / "sdk" / "typescript", ts)
        compiled = subprocess.run([str(TSC), "-p", str(ts)], capture_output=True, text=True, check=False)
        assert compiled.returncode == 0, compiled.stdout + compiled.stderr
        (ts / "run.mjs").write_text(NODE_SCRIPT, encoding="utf-8")
        ran = subprocess.run(
            [NODE, "run.mjs", served.base_url], cwd=ts, capture_output=True, text=True, check=False, timeout=120
        )
        assert ran.returncode == 0, ran.stdout + ran.stderr
        out = json.loads(ran.stdout)
        assert out["seen"] == [V1, V1] and out["deprecation"].startswith("@") and out["name"] == "Ursula K. Le Guin"
