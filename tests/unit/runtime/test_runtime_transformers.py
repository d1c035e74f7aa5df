"""Timescape part 2 at run time: one app serves an old API version through its transformers.

A real project is built with `gatic` (three recorded versions: `v1.0.0` retired, `v1.1.0` with
`full_name`, `v2.0.0` = the working tree with `name`). The build outputs of the compiler side
(`timescape/serving.json`, the per-version validators) are written here: the validators package
is generated for real by `gati_compiler.emit.validators` from `version_program(...)` of the
lock's `v1.1.0` contract; only its `RESPONSES` table is added by this test (fixture glue).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import pytest

from gati_compiler.pipeline import build
from gati_compiler.timescape.steps import version_slug
from gati_runtime_min import GatiApp
from gati_runtime_min.errors import ManifestError
from gati_runtime_min.hotswap import HotSwapApp
from gati_runtime_min.testing import AppClient

T = TypeVar("T")
PKG = "ts2serve"
V1_0, V1_1, V2 = "2026-09-01T09:00:00Z", "2026-09-15T09:00:00Z", "2026-10-01T09:00:00Z"

HEAD = """\
from typing import TypedDict

from gati_runtime_min import GlobalContext, HTTPError, LocalContext, Request, Response, get, post
"""
OLD = """
class NewUser(TypedDict):
    full_name: str
    email: str


class User(TypedDict):
    id: int
    full_name: str
    email: str


@post("/users")
async def create_user(req: Request[NewUser], res: Response[User], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.status(201).json({"id": 1, "full_name": req.body["full_name"], "email": req.body["email"]})
"""
NEW = """
class NewUser(TypedDict):
    name: str
    email: str


class User(TypedDict):
    id: int
    name: str
    email: str


@post("/users")
async def create_user(req: Request[NewUser], res: Response[User], lctx: LocalContext, gctx: GlobalContext) -> None:
    if req.body["name"] == "taken":
        raise HTTPError(409, "name_taken", "that name is taken")
    big = req.body["name"] == "big"  # an id beyond orjson's 64 bits: the route's own JSON writer
    res.status(201).json({"id": 2**70 if big else 7, "name": req.body["name"], "email": req.body["email"]})
"""
PING = """

class Pong(TypedDict):
    version: str | None


@get("/ping")
async def ping(req: Request[None], res: Response[Pong], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json({"version": lctx.meta.version})
"""
TRANSFORMERS_HEAD = """\
from __future__ import annotations

from typing import TYPE_CHECKING

from gati_runtime_min.timescape import downgrade_error, downgrade_response, upgrade_request

if TYPE_CHECKING:
    from gati_versions.steps.create_user__v2026_09_01T090000Z import (
        ErrorBody,
        NewRequest,
        NewResponse,
        OldRequest,
        OldResponse,
    )
"""
# each candidate transformer: (kind, function, source); `transformers_source` marks the chosen ones
CANDIDATES = (
    (
        "upgrade",
        "create_user_from_v1",
        """def create_user_from_v1(request: OldRequest) -> NewRequest:
    body = request["body"]
    return {"body": {"name": body["full_name"], "email": body["email"]}}""",
    ),
    (
        "upgrade",
        "upgrade_raises",
        """def upgrade_raises(request: OldRequest) -> NewRequest:
    raise KeyError("nickname")""",
    ),
    (
        "upgrade",
        "upgrade_wrong_shape",
        """def upgrade_wrong_shape(request: OldRequest) -> NewRequest:
    return {"body": {"fullname": request["body"]["full_name"]}}  # type: ignore[typeddict-unknown-key]""",
    ),
    (
        "downgrade",
        "create_user_to_v1",
        """def create_user_to_v1(response: NewResponse) -> OldResponse:
    return {"id": response["id"], "full_name": response["name"], "email": response["email"]}""",
    ),
    (
        "downgrade",
        "downgrade_wrong_shape",
        """def downgrade_wrong_shape(response: NewResponse) -> OldResponse:
    return {"id": response["id"], "name": response["name"]}  # type: ignore[typeddict-unknown-key]""",
    ),
    (
        "error",
        "create_user_error_to_v1",
        """def create_user_error_to_v1(error: ErrorBody) -> ErrorBody:
    return {"error": {**error["error"], "message": "v1: " + error["error"]["message"]}}""",
    ),
)
_MARKER = {"upgrade": "upgrade_request", "downgrade": "downgrade_response", "error": "downgrade_error"}


def transformers_source(names: Mapping[str, str | None]) -> str:
    """The app's transformers module: every candidate, the ones `names` picks marked for the step."""
    parts = [TRANSFORMERS_HEAD]
    for kind, function, source in CANDIDATES:
        marker = f'@{_MARKER[kind]}("create_user", "v1.1.0")\n' if names.get(kind) == function else ""
        parts.append(f"\n\n{marker}{source}\n")
    return "".join(parts)


GOOD = {"upgrade": "create_user_from_v1", "downgrade": "create_user_to_v1", "error": "create_user_error_to_v1"}


def gatic(project: Path, *args: str, at: str) -> None:
    env = {**os.environ, "NO_COLOR": "1", "GATI_TIMESCAPE_AT": at}
    script = Path(sys.executable).parent / "gatic"
    done = subprocess.run([str(script), *args], cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def write_sources(project: Path, handlers: str) -> None:
    (project / PKG).mkdir(parents=True, exist_ok=True)
    (project / "pyproject.toml").write_text('[tool.gati]\nname = "users"\n', encoding="utf-8")
    (project / PKG / "__init__.py").write_text("", encoding="utf-8")
    (project / PKG / "handlers.py").write_text(HEAD + handlers, encoding="utf-8")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built app with three recorded versions; `write_serving` swaps the transformers the
    build bound for the ones a test names."""
    root = tmp_path_factory.mktemp("ts2") / "users"
    write_sources(root, OLD + PING)
    gatic(root, "version", "record", ".", "--tag", "v1.0.0", at=V1_0)
    gatic(root, "version", "record", ".", "--tag", "v1.1.0", "--allow-empty", at=V1_1)
    write_sources(root, NEW + PING)
    gatic(root, "version", "record", ".", "--tag", "v2.0.0", at=V2)
    gatic(root, "version", "retire", "v1.0.0", ".", at=V2)
    gatic(root, "version", "deprecate", "v1.1.0", ".", "--sunset", "2027-06-30", at=V2)
    use_transformers(root, GOOD)
    assert (root / ".gati" / "timescape" / "validators" / version_slug(V1_1) / "__init__.py").is_file()
    return root


def use_transformers(root: Path, names: Mapping[str, str | None]) -> None:
    """Mark the transformers `names` picks and rebuild: the build binds them and lists them in
    `.gati/timescape/serving.json`."""
    (root / PKG / "transformers.py").write_text(transformers_source(names), encoding="utf-8")
    result = build(root)
    assert result.program is not None and result.ok, [d.message for d in result.diagnostics]


def run(project: Path, fn: Callable[[AppClient], Awaitable[T]]) -> T:
    async def main() -> T:
        async with AppClient(project / ".gati") as client:
            return await fn(client)

    return asyncio.run(main())


def call(project: Path, body: dict[str, Any], version: str | None = "v1.1.0") -> tuple[int, Any, dict[str, str]]:
    headers = {"x-gati-version": version} if version else {}

    async def go(c: AppClient) -> tuple[int, Any, dict[str, str]]:
        r = await c.post("/users", json=body, headers=headers)
        return r.status_code, r.json(), dict(r.headers)

    return run(project, go)


def test_old_version_is_upgraded_served_and_answered_in_its_own_shape(project: Path) -> None:
    status, body, headers = call(project, {"full_name": "Ada", "email": "a@x.org"})
    assert (status, body) == (201, {"id": 7, "full_name": "Ada", "email": "a@x.org"})
    # v1.1.0 is deprecated: its answers still say so (Timescape part 1)
    assert headers["sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT" and "deprecation" in headers


def test_old_version_request_is_validated_in_its_own_shape(project: Path) -> None:
    status, body, _ = call(project, {"name": "Ada", "email": "a@x.org"})
    assert status == 422 and body["error"]["code"] == "GATI511"
    assert [i["path"] for i in body["error"]["issues"]] == ["$.body.full_name"]


def test_current_version_request_is_unaffected(project: Path) -> None:
    for version in (None, "v2.0.0"):
        status, body, _ = call(project, {"name": "Ada", "email": "a@x.org"}, version)
        assert (status, body) == (201, {"id": 7, "name": "Ada", "email": "a@x.org"})
    status, body, _ = call(project, {"full_name": "Ada", "email": "a@x.org"}, None)
    assert status == 422 and body["error"]["issues"][0]["path"] == "$.body.name"


def test_an_answer_orjson_refuses_is_written_by_the_routes_json_writer_in_every_version(project: Path) -> None:
    status, body, _ = call(project, {"full_name": "big", "email": "a@x.org"})
    assert (status, body) == (201, {"id": 2**70, "full_name": "big", "email": "a@x.org"})
    status, body, _ = call(project, {"name": "big", "email": "a@x.org"}, None)
    assert (status, body) == (201, {"id": 2**70, "name": "big", "email": "a@x.org"})


def test_error_body_goes_through_the_error_downgrade(project: Path) -> None:
    status, body, _ = call(project, {"full_name": "taken", "email": "a@x.org"})
    assert status == 409 and body["error"]["code"] == "name_taken"
    assert body["error"]["message"] == "v1: that name is taken"


def test_retired_version_is_still_410(project: Path) -> None:
    status, body, headers = call(project, {"full_name": "Ada", "email": "a@x.org"}, "v1.0.0")
    assert status == 410 and body["error"]["code"] == "GATI517"
    assert "successor-version" in headers["link"]


def test_transformer_that_raises_is_gati523_naming_it(project: Path, caplog: pytest.LogCaptureFixture) -> None:
    use_transformers(project, {**GOOD, "upgrade": "upgrade_raises"})
    try:
        with caplog.at_level(logging.ERROR, logger="gati.runtime"):
            status, body, headers = call(project, {"full_name": "Ada", "email": "a@x.org"})
    finally:
        use_transformers(project, GOOD)
    assert status == 500 and body["error"]["code"] == "GATI523"
    assert f"{PKG}.transformers:upgrade_raises" in body["error"]["message"]
    assert f"{V1_0} -> {V2}" in body["error"]["message"]
    assert any(headers["x-request-id"] in r.getMessage() and "KeyError" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("kind", "function"), [("downgrade", "downgrade_wrong_shape"), ("upgrade", "upgrade_wrong_shape")]
)
def test_transformer_with_a_wrong_result_is_gati524(project: Path, kind: str, function: str) -> None:
    use_transformers(project, {**GOOD, kind: function})
    try:
        status, body, _ = call(project, {"full_name": "Ada", "email": "a@x.org"})
    finally:
        use_transformers(project, GOOD)
    assert status == 500 and body["error"]["code"] == "GATI524"
    assert f"{PKG}.transformers:{function}" in body["error"]["message"]
    assert "does not match API version" in body["error"]["message"]


def test_a_missing_transformer_names_serving_json(project: Path) -> None:
    """The build listed a transformer its module no longer defines (edited after the build)."""
    module = project / PKG / "transformers.py"
    module.write_text(transformers_source(GOOD).replace("def create_user_from_v1(", "def renamed("), "utf-8")
    sys.modules.pop(f"{PKG}.transformers", None)  # as a fresh server process imports it
    try:
        with pytest.raises(ManifestError) as caught:
            GatiApp(project / ".gati")
    finally:
        use_transformers(project, GOOD)
        sys.modules.pop(f"{PKG}.transformers", None)
    assert caught.value.file.endswith("serving.json") and "create_user_from_v1" in caught.value.message


def test_gctx_timescape_and_the_versions_endpoint(project: Path) -> None:
    async def go(c: AppClient) -> tuple[Any, Any]:
        for _ in range(2):
            await c.post("/users", json={"full_name": "A", "email": "e"}, headers={"x-gati-version": "v1.1.0"})
        await c.post("/users", json={"name": "A", "email": "e"})
        ts = c.app.gctx.timescape
        seen = (ts.current, ts.resolve("v1.1.0"), ts.resolve("2026-09-20"), ts.resolve("nope"), await ts.usage())
        return seen, (await c.get("/_gati/versions")).json()

    (current, tagged, stamped, unknown, usage), versions = run(project, go)
    assert (current, tagged, stamped, unknown) == (V2, V1_1, V1_1, None)
    assert usage["create_user"] == {V1_1: 2, V2: 1}
    rows = {v["tsv"]: v for v in versions["versions"]}
    assert rows[V1_0]["status"] == "retired" and rows[V1_0]["temperature"] == "cold"
    assert rows[V1_0]["successor"] == V2  # the nearest newer active version (v1.1.0 is deprecated)
    assert (rows[V1_1]["status"], rows[V1_1]["sunset"], rows[V1_1]["successor"]) == ("deprecated", "2027-06-30", V2)
    assert rows[V1_1]["requests"] == 2 and rows[V1_1]["temperature"] == "warm"
    assert rows[V2]["tags"] == ["v2.0.0"] and rows[V2]["successor"] is None
    assert versions["thresholds"] == {"hot": 60.0, "warm": 1.0}
    assert set(rows[V1_1]) >= {"tsv", "tags", "labels", "status", "successor", "sunset", "requests", "temperature"}


def test_hot_swap_picks_up_changed_serving_data(project: Path) -> None:
    swapping = HotSwapApp(project / ".gati")
    try:
        use_transformers(project, {**GOOD, "downgrade": "downgrade_wrong_shape"})
        assert swapping.swap().ok

        async def go() -> int:
            async with AppClient(swapping.app) as c:
                r = await c.post("/users", json={"full_name": "A", "email": "e"}, headers={"x-gati-version": "v1.1.0"})
                return r.status_code

        assert asyncio.run(go()) == 500
    finally:
        use_transformers(project, GOOD)


def test_with_an_unrecorded_working_tree_no_version_means_the_working_tree(project: Path) -> None:
    """`current: null` (the working tree has an unrecorded handler): a request naming no version
    gets the working tree's code, one naming the latest version the handler as recorded there."""
    handlers = project / PKG / "handlers.py"
    recorded = handlers.read_text("utf-8")
    handlers.write_text(recorded + PING.replace('"/ping"', '"/ping2"').replace("def ping(", "def ping2("), "utf-8")
    sys.modules.pop(f"{PKG}.handlers", None)  # as a fresh server process imports it
    try:
        use_transformers(project, GOOD)
        assert json.loads((project / ".gati" / "timescape" / "serving.json").read_text("utf-8"))["current"] is None
        plain = call(project, {"name": "Ada", "email": "a@x.org"}, None)
        latest = call(project, {"name": "Ada", "email": "a@x.org"}, "v2.0.0")
        old = call(project, {"full_name": "Ada", "email": "a@x.org"}, "v1.1.0")

        async def ping(c: AppClient) -> Any:
            return (await c.get("/ping2")).json()

        pong = run(project, ping)
    finally:
        handlers.write_text(recorded, "utf-8")
        sys.modules.pop(f"{PKG}.handlers", None)
        use_transformers(project, GOOD)
    assert plain[:2] == latest[:2] == (201, {"id": 7, "name": "Ada", "email": "a@x.org"})
    assert old[:2] == (201, {"id": 7, "full_name": "Ada", "email": "a@x.org"})
    assert pong == {"version": None}


@pytest.mark.slow
def test_one_uvicorn_server_answers_the_old_and_the_current_shape(project: Path) -> None:
    """Real uvicorn on 127.0.0.1 (a subprocess, stopped by its PID)."""
    import signal
    import socket
    import time

    import httpx

    import gati_runtime_min

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    repo = Path(gati_runtime_min.__file__).resolve().parent.parent
    code = f"from gati_runtime_min import serve; serve({str(project / '.gati')!r}, port={port}, log_level='warning')"
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(repo)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120  # a ceiling for a loaded machine; the loop ends once it is up
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                httpx.get(f"{base}/_gati/ready", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        with httpx.Client(base_url=base, timeout=5) as client:
            old = client.post("/users", json={"full_name": "Ada", "email": "e"}, headers={"x-gati-version": "v1.1.0"})
            new = client.post("/users", json={"name": "Ada", "email": "e"})
            retired = client.post(
                "/users", json={"full_name": "Ada", "email": "e"}, headers={"x-gati-version": "v1.0.0"}
            )
            versions = client.get("/_gati/versions").json()
        assert (old.status_code, old.json()) == (201, {"id": 7, "full_name": "Ada", "email": "e"})
        assert (new.status_code, new.json()) == (201, {"id": 7, "name": "Ada", "email": "e"})
        assert retired.status_code == 410
        assert {v["tsv"]: v["requests"] for v in versions["versions"]}[V1_1] == 1
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        assert proc.stderr is not None
        proc.stderr.close()


def test_each_transformer_of_an_old_version_is_a_span_of_its_request(project: Path) -> None:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from gati_runtime_min.telemetry import Telemetry

    spans = InMemorySpanExporter()

    async def main() -> Any:
        app = GatiApp(project / ".gati", telemetry=Telemetry("ts", span_exporter=spans))
        async with AppClient(app) as c:
            body = {"full_name": "Ada", "email": "a@x.org"}
            return await c.post("/users", json=body, headers={"x-gati-version": "v1.1.0"})

    r = asyncio.run(main())
    assert r.status_code == 201
    done = spans.get_finished_spans()
    server = next(s for s in done if s.name == "POST /users")
    steps = {s.name: dict(s.attributes or {}) for s in done if s.name.startswith("transformer ")}
    assert set(steps) == {f"transformer {PKG}.transformers:{f}" for f in ("create_user_from_v1", "create_user_to_v1")}
    for attrs in steps.values():
        assert attrs["gati.request_id"] == r.headers["x-request-id"]
        assert attrs["gati.handler_id"] == "create_user" and attrs["gati.api_version"] == V1_1
        assert attrs["gati.transformer.step"] == f"{V1_0} -> {V2}"
    assert (server.attributes or {})["gati.api_version"] == V1_1
    assert all(s.context is not None and server.context is not None for s in done)
