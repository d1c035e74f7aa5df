"""`/_gati/usage` reports, per version, requests, 5xx answers and the last request, in the shape
the Kubernetes operator reads (`gati_operator.logic.parse_usage`): the runtime and the operator
agree on one contract, checked here against a real build served in-process."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gati_compiler.pipeline import build
from gati_operator.logic import parse_usage
from gati_runtime_min import GatiApp
from gati_runtime_min.testing import AppClient

HANDLERS = """
from typing import TypedDict

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get


class Pong(TypedDict):
    ok: bool


@get("/ping")
def ping(req: Request[None], res: Response[Pong], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json({"ok": True})


@get("/boom")
def boom(req: Request[None], res: Response[Pong], lctx: LocalContext, gctx: GlobalContext) -> None:
    raise RuntimeError("boom")
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    module = f"usage_{uuid.uuid4().hex[:10]}"  # a module name no other test imports
    root = tmp_path_factory.mktemp("usage") / "app"
    root.mkdir()
    (root / "pyproject.toml").write_text('[tool.gati]\nname = "usage"\n', encoding="utf-8")
    (root / f"{module}.py").write_text(HANDLERS, encoding="utf-8")
    result = build(root, jobs=1)
    assert result.ok, [d.message for d in result.diagnostics]
    return root / ".gati"


def test_usage_reports_requests_errors_and_last_seen_per_version_as_the_operator_reads_them(built: Path) -> None:
    async def run() -> dict[str, object]:
        async with AppClient(GatiApp(built)) as client:
            for _ in range(3):
                assert (await client.get("/ping")).status_code == 200
            assert (await client.get("/boom")).status_code == 500
            answer = await client.get("/_gati/usage")
            assert answer.status_code == 200
            body: dict[str, object] = answer.json()
            return body

    before = datetime.now(UTC).replace(microsecond=0)
    body = asyncio.run(run())
    assert body["usage"] == {"ping": {"current": 3}, "boom": {"current": 1}}
    usage = parse_usage(body)  # the operator's own reader
    assert set(usage) == {"current"}
    row = usage["current"]
    assert (row.requests, row.errors) == (4, 1)
    assert row.error_rate == pytest.approx(0.25)
    assert row.last_seen is not None and before <= row.last_seen <= datetime.now(UTC) + timedelta(seconds=1)


def test_usage_of_an_app_that_served_nothing_has_no_version_rows(built: Path) -> None:
    async def run() -> dict[str, object]:
        async with AppClient(GatiApp(built)) as client:
            body: dict[str, object] = (await client.get("/_gati/usage")).json()
            return body

    body = asyncio.run(run())
    assert body["versions"] == {} and parse_usage(body) == {}
