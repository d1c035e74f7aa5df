"""The runtime serving a real build with recorded versions: selection, deprecation, retirement, 404s.

The app is compiled by the real pipeline from a lock recorded by the real operations, then
served in-process (`AppClient`, httpx over ASGI) as the other runtime tests do.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from ts_fixture import HANDLERS_V1, STATS, write_app  # type: ignore[import-not-found, unused-ignore]

from gati_compiler.pipeline import build
from gati_compiler.timescape.lock import save_lock
from gati_compiler.timescape.lock_read import load_lock
from gati_compiler.timescape.record import RecordRequest, deprecate, retire
from gati_runtime_min import GatiApp
from gati_runtime_min.testing import AppClient

T1, T2, T3, T4 = (f"2026-11-0{d}T10:00:00Z" for d in (1, 2, 3, 4))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """T1 (ping, book; retired) → T2 (book changed) → T3 (+stats; deprecated) → T4 (current)."""
    app: Path = write_app(tmp_path_factory.mktemp("tsrt") / "app")
    module = f"tsrt_{uuid.uuid4().hex[:10]}"  # a module name no other test imports
    (app / "handlers.py").rename(app / f"{module}.py")
    source = app / f"{module}.py"

    def rec(text: str, at: str, **kw: object) -> None:
        source.write_text(text, encoding="utf-8")
        result = build(app, jobs=1, record=RecordRequest(at=at, **kw))  # type: ignore[arg-type]
        assert result.recorded is not None, (result.record_error, [d.message for d in result.diagnostics])

    changed = HANDLERS_V1.replace("title: str", "title: str\n    year: int").replace('"Dune"}', '"Dune", "year": 1965}')
    rec(HANDLERS_V1, T1, tags=("v1",))
    rec(changed, T2, tags=("v2",))
    rec(changed + STATS, T3, labels=("stable",))
    rec(changed + STATS, T4, tags=("v4",), allow_empty=True)
    lock, _ = load_lock(app / "timescape.lock")
    assert lock is not None
    lock = retire(deprecate(lock, "v1", sunset="2027-01-31", at=T4), "v1", at=T4)
    lock = deprecate(lock, "stable", sunset="2027-06-30", at=T4)
    save_lock(lock, app / "timescape.lock")
    assert build(app, jobs=1).ok
    return app / ".gati"


def get_all(build_dir: Path, *requests: tuple[str, dict[str, str]]) -> list[httpx.Response]:
    async def main() -> list[httpx.Response]:
        async with AppClient(GatiApp(build_dir)) as client:
            return [await client.get(path, headers=headers) for path, headers in requests]

    return asyncio.run(main())


def test_no_version_is_the_current_one_without_deprecation_headers(served: Path) -> None:
    (r,) = get_all(served, ("/ping", {}))
    assert r.status_code == 200 and r.json() == {"version": T4}
    assert "deprecation" not in r.headers and "sunset" not in r.headers


def test_exact_tsv_tag_label_and_timestamp_select_a_version(served: Path) -> None:
    answers = get_all(
        served,
        ("/ping", {"x-gati-version": T2}),
        ("/ping?version=v2", {}),
        ("/ping", {"x-gati-version": "v4"}),
        ("/ping", {"x-gati-version": "2026-11-02T23:00:00Z"}),  # newest at or before: T2
        ("/ping", {"x-gati-version": "2026-11-04T12:00:00+02:00"}),  # 10:00 UTC: T4 exactly
        ("/ping", {"x-gati-version": "2026-11-03"}),  # midnight UTC: T2
    )
    assert [r.status_code for r in answers] == [200] * 6
    assert [r.json()["version"] for r in answers] == [T2, T2, T4, T2, T4, T2]


def test_unknown_version_is_400_listing_the_known_ones(served: Path) -> None:
    for asked in ("v9", "2026-10-01T00:00:00Z"):
        (r,) = get_all(served, ("/ping", {"x-gati-version": asked}))
        assert r.status_code == 400
        error = r.json()["error"]
        assert error["code"] == "GATI516" and asked in error["message"]
        assert all(t in error["message"] for t in (T1, T2, T3, T4))


def test_a_deprecated_version_answers_with_deprecation_and_sunset_headers(served: Path) -> None:
    (r,) = get_all(served, ("/stats", {"x-gati-version": "stable"}))
    assert r.status_code == 200 and r.json() == {"books": 1}
    since = int(datetime(2026, 11, 4, 10, 0, tzinfo=UTC).timestamp())
    assert r.headers["deprecation"] == f"@{since}"  # RFC 9745: a structured-field date
    assert r.headers["sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"  # RFC 8594: an HTTP-date
    assert r.headers["link"] == f'<?version={T4}>; rel="successor-version"'


def test_a_retired_version_is_410_naming_its_successor(served: Path) -> None:
    (r,) = get_all(served, ("/book", {"x-gati-version": "v1"}))
    assert r.status_code == 410
    error = r.json()["error"]
    assert (
        error["code"] == "GATI517" and T1 in error["message"] and f"use {T2}" in error["message"]
    )  # the nearest active one
    assert set(error) == {"code", "message", "path", "requestId"}
    assert r.headers["link"] == f'<?version={T2}>; rel="successor-version"'


def test_a_handler_missing_from_the_asked_version_is_404(served: Path) -> None:
    missing, present, current = get_all(
        served, ("/stats", {"x-gati-version": "v2"}), ("/stats", {"x-gati-version": T3}), ("/stats", {})
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "GATI522"
    assert present.status_code == 200 and current.status_code == 200


def test_handler_manifests_name_their_versions(served: Path) -> None:
    import json

    stats = json.loads((served / "handlers/stats.json").read_text())
    book = json.loads((served / "handlers/book.json").read_text())
    assert stats["timescapeVersions"] == [T3, T4] and stats["timescapeVersion"] == T3
    assert book["timescapeVersions"] == [T1, T2, T3, T4] and book["timescapeVersion"] == T2


ORDERS = """
from typing_extensions import TypedDict
from gati_runtime_min import GlobalContext, LocalContext, Request, Response, post


class NewOrder(TypedDict):
    qty: int


@post("/orders")
async def order(req: Request[NewOrder], res: Response[NewOrder], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json(req.body)
"""


def test_an_error_answer_to_a_deprecated_version_carries_the_deprecation_headers(tmp_path: Path) -> None:
    """A client of a deprecated version learns so from every answer, its 422s included."""
    module = f"tsord_{uuid.uuid4().hex[:10]}"  # a module name no other test imports
    app = write_app(tmp_path / "app", ORDERS)
    (app / "handlers.py").rename(app / f"{module}.py")
    assert build(app, jobs=1, record=RecordRequest(at=T1, tags=("v1",))).recorded is not None
    lock, _ = load_lock(app / "timescape.lock")
    assert lock is not None
    save_lock(deprecate(lock, "v1", sunset="2027-01-31", at=T2), app / "timescape.lock")
    assert build(app, jobs=1).ok

    async def main() -> list[httpx.Response]:
        async with AppClient(GatiApp(app / ".gati")) as client:
            return [
                await client.post("/orders", json={"qty": "many"}, headers={"x-gati-version": "v1"}),
                await client.post("/orders", json={"qty": 2}, headers={"x-gati-version": "v1"}),
            ]

    bad, good = asyncio.run(main())
    assert bad.status_code == 422 and good.status_code == 200
    for r in (bad, good):
        assert r.headers["deprecation"] == f"@{int(datetime(2026, 11, 2, 10, 0, tzinfo=UTC).timestamp())}"
        assert r.headers["sunset"] == "Sun, 31 Jan 2027 00:00:00 GMT"
