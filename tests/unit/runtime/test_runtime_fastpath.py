"""The inline request path keeps the general behaviour: lazy parts, body edge cases, deadlines."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from rt_fixture import make_build  # type: ignore[import-not-found, unused-ignore]  # a sibling module

from gati_runtime_min import GatiApp
from gati_runtime_min.context import LocalContext, RequestMeta
from gati_runtime_min.deadlines import Deadlines
from gati_runtime_min.messages import Request, Response
from gati_runtime_min.testing import AppClient


@pytest.fixture
def build(tmp_path: Path) -> Path:
    built: Path = make_build(tmp_path)
    return built


def _post(build: Path, body: bytes, content_type: str, **app_kwargs: Any) -> int:
    async def main() -> int:
        async with AppClient(GatiApp(build, **app_kwargs)) as c:
            r = await c.post("/users", content=body, headers={"content-type": content_type})
            return r.status_code

    return asyncio.run(main())


def test_json_with_charset_takes_the_long_way_and_is_accepted(build: Path) -> None:
    body = json.dumps({"name": "Ada"}).encode()
    assert _post(build, body, "application/json; charset=utf-8") == 201
    assert _post(build, body, "application/problem+json") == 201


def test_body_limit_boundary(build: Path) -> None:
    def exactly(n: int) -> bytes:
        stem = b'{"name": "'
        return stem + b"a" * (n - len(stem) - 2) + b'"}'

    assert len(exactly(100)) == 100
    assert _post(build, exactly(100), "application/json", max_body_bytes=100) != 413
    assert _post(build, exactly(101), "application/json", max_body_bytes=100) == 413
    assert _post(build, exactly(99), "application/json", max_body_bytes=100) != 413


def test_response_headers_do_not_leak_into_the_next_request(build: Path) -> None:
    async def main() -> tuple[Any, Any]:
        async with AppClient(GatiApp(build)) as c:
            created = await c.post("/users", json={"name": "Ada"})
            fetched = await c.get("/users/7")
            return created, fetched

    created, fetched = asyncio.run(main())
    assert created.headers["location"] == "/users/1"
    assert "location" not in fetched.headers
    assert fetched.headers["content-length"] == str(len(fetched.content))


def test_request_headers_view_is_built_on_first_read() -> None:
    req = Request._new(None, {}, {}, {b"x-a": b"1"}, "GET", "/", "id", None, None, {})
    assert req.headers["x-a"] == "1" and req.headers is req.headers
    public: Request[None] = Request(body=None, query={}, params={}, headers={"x-b": "2"}, method="GET", path="/",
                                    request_id="id")  # fmt: skip
    assert public.headers == {"x-b": "2"}
    public.headers = {"x-c": "3"}
    assert public.headers == {"x-c": "3"}


def test_response_optional_parts_start_unset_per_instance() -> None:
    first: Response[Any] = Response(201)
    first.header("X-One", "1").json({"a": 1})
    second: Response[Any] = Response(200)
    assert second.headers == {} and not second.has_body and not second.is_empty
    assert first.headers == {"x-one": "1"} and first.status_code == 201
    first.empty()
    emptied = (first.is_empty, first.status_code)
    first.json({"b": 2})
    assert emptied == (True, 204)  # the constructor's status is only a default
    assert (first.is_empty, first.body) == (False, {"b": 2})
    third: Response[Any] = Response(200)
    third.status(202).empty()
    assert third.status_code == 202 and Response(200).status_code == 200


def test_local_context_meta_and_published_are_lazy() -> None:
    lctx = LocalContext._new("01ID", "/p", "v2", True, 0.0)
    assert lctx.meta == RequestMeta("01ID", "/p", "v2", {"head": True})
    assert lctx.meta is lctx.meta
    assert lctx.published == []
    lctx.publish("t", 1)
    assert lctx.published == [("t", 1)]
    other = LocalContext._new("01ID2", "/q", None, False, 0.0)
    assert other.published == [] and other.meta.flags["head"] is False


def test_deadline_cancels_the_task_and_disarm_reports_it() -> None:
    deadlines = Deadlines()

    async def work() -> bool:
        import time

        task = deadlines.arm(time.perf_counter() + 0.02)
        try:
            await asyncio.sleep(1)
        except asyncio.CancelledError:
            return deadlines.disarm(task)
        return False

    async def main() -> tuple[bool, bool]:
        expired = await asyncio.create_task(work())

        async def quick() -> bool:
            import time

            task = deadlines.arm(time.perf_counter() + 5)
            return deadlines.disarm(task)

        return expired, await asyncio.create_task(quick())

    expired, quick = asyncio.run(main())
    assert expired is True and quick is False
