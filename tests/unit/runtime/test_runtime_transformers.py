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

from gati_compiler.emit.validators import emit_validators
from gati_compiler.pipeline import build
from gati_compiler.timescape.lock_read import load_lock
from gati_compiler.timescape.steps import version_program, version_slug
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
    res.status(201).json({"id": 7, "name": req.body["name"], "email": req.body["email"]})
"""
PING = """

class Pong(TypedDict):
    version: str | None


@get("/ping")
async def ping(req: Request[None], res: Response[Pong], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json({"version": lctx.meta.version})
"""
TRANSFORMERS = """\
from __future__ import annotations

from typing import Any

from gati_runtime_min.timescape import downgrade_error, downgrade_response, upgrade_request


@upgrade_request("create_user", "v1.1.0")
def create_user_from_v1(request: dict[str, Any]) -> dict[str, Any]:
    body = request["body"]
    return {"body": {"name": body["full_name"], "email": body["email"]}}


@downgrade_response("create_user", "v1.1.0")
def create_user_to_v1(response: dict[str, Any]) -> dict[str, Any]:
    return {"id": response["id"], "full_name": response["name"], "email": response["email"]}


@downgrade_error("create_user", "v1.1.0")
def create_user_error_to_v1(error: dict[str, Any]) -> dict[str, Any]:
    return {"error": {**error["error"], "message": "v1: " + error["error"]["message"]}}


def upgrade_raises(request: dict[str, Any]) -> dict[str, Any]:
    raise KeyError("nickname")


def downgrade_wrong_shape(response: dict[str, Any]) -> dict[str, Any]:
    return {"id": response["id"], "name": response["name"]}


def upgrade_wrong_shape(request: dict[str, Any]) -> dict[str, Any]:
    return {"body": {"fullname": request["body"]["full_name"]}}
"""
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
    """The built app with three recorded versions and the v1.1.0 validators package."""
    root = tmp_path_factory.mktemp("ts2") / "users"
    write_sources(root, OLD + PING)
    gatic(root, "version", "record", ".", "--tag", "v1.0.0", at=V1_0)
    gatic(root, "version", "record", ".", "--tag", "v1.1.0", "--allow-empty", at=V1_1)
    write_sources(root, NEW + PING)
    gatic(root, "version", "record", ".", "--tag", "v2.0.0", at=V2)
    gatic(root, "version", "retire", "v1.0.0", ".", at=V2)
    gatic(root, "version", "deprecate", "v1.1.0", ".", "--sunset", "2027-06-30", at=V2)
    (root / PKG / "transformers.py").write_text(TRANSFORMERS, encoding="utf-8")
    result = build(root)
    assert result.program is not None and not [d for d in result.diagnostics if d.severity == "error"]
    lock, _ = load_lock(root / "timescape.lock", "timescape.lock", app="users")
    assert lock is not None
    old = version_program(lock.contract(V1_1), result.program, timescape_current=V2)
    handlers = [h for h in old.handlers if h.handlerId == "create_user"]
    files = emit_validators(old.gtypes, handlers, header="test fixture: v1.1.0 validators", encoders=False)
    text = files["validators/__init__.py"].decode()
    response = handlers[0].gtypes.response
    assert response is not None and response.kind == "ref"
    # fixture glue: the compiler's per-version emitter adds `RESPONSES`; here it is one line
    text += f'\n\nRESPONSES = {{"create_user": _partial(decode, "{response.ref}")}}\n'
    package = root / ".gati" / "timescape" / "validators" / version_slug(V1_1)
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(text, encoding="utf-8")
    write_serving(root, GOOD)
    return root


def write_serving(root: Path, names: Mapping[str, str | None], *, head: bool = False) -> None:
    def ref(kind: str) -> str | None:
        name = names.get(kind)
        return None if name is None else f"{PKG}.transformers:{name}"

    step = {"from": V1_0, "to": V2, "upgrade": ref("upgrade"), "downgrade": ref("downgrade"), "error": ref("error")}
    entry = {"validators": version_slug(V1_1), "steps": [step]}
    listed = {V1_0: entry, V1_1: entry, **({V2: entry} if head else {})}
    serving: dict[str, Any] = {"current": None if head else V2, "versions": [], "handlers": {"create_user": listed}}
    (root / ".gati" / "timescape" / "serving.json").write_text(json.dumps(serving, sort_keys=True), encoding="utf-8")


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


def test_error_body_goes_through_the_error_downgrade(project: Path) -> None:
    status, body, _ = call(project, {"full_name": "taken", "email": "a@x.org"})
    assert status == 409 and body["error"]["code"] == "name_taken"
    assert body["error"]["message"] == "v1: that name is taken"


def test_retired_version_is_still_410(project: Path) -> None:
    status, body, headers = call(project, {"full_name": "Ada", "email": "a@x.org"}, "v1.0.0")
    assert status == 410 and body["error"]["code"] == "GATI517"
    assert "successor-version" in headers["link"]


def test_transformer_that_raises_is_gati523_naming_it(project: Path, caplog: pytest.LogCaptureFixture) -> None:
    write_serving(project, {**GOOD, "upgrade": "upgrade_raises"})
    try:
        with caplog.at_level(logging.ERROR, logger="gati.runtime"):
            status, body, headers = call(project, {"full_name": "Ada", "email": "a@x.org"})
    finally:
        write_serving(project, GOOD)
    assert status == 500 and body["error"]["code"] == "GATI523"
    assert f"{PKG}.transformers:upgrade_raises" in body["error"]["message"]
    assert f"{V1_0} -> {V2}" in body["error"]["message"]
    assert any(headers["x-request-id"] in r.getMessage() and "KeyError" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("kind", "function"), [("downgrade", "downgrade_wrong_shape"), ("upgrade", "upgrade_wrong_shape")]
)
def test_transformer_with_a_wrong_result_is_gati524(project: Path, kind: str, function: str) -> None:
    write_serving(project, {**GOOD, kind: function})
    try:
        status, body, _ = call(project, {"full_name": "Ada", "email": "a@x.org"})
    finally:
        write_serving(project, GOOD)
    assert status == 500 and body["error"]["code"] == "GATI524"
    assert f"{PKG}.transformers:{function}" in body["error"]["message"]
    assert "does not match API version" in body["error"]["message"]


def test_a_missing_transformer_names_serving_json(project: Path) -> None:
    write_serving(project, {**GOOD, "upgrade": "no_such_function"})
    try:
        with pytest.raises(ManifestError) as caught:
            GatiApp(project / ".gati")
    finally:
        write_serving(project, GOOD)
    assert caught.value.file.endswith("serving.json") and "no_such_function" in caught.value.message


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
        write_serving(project, {**GOOD, "downgrade": "downgrade_wrong_shape"})
        assert swapping.swap().ok

        async def go() -> int:
            async with AppClient(swapping.app) as c:
                r = await c.post("/users", json={"full_name": "A", "email": "e"}, headers={"x-gati-version": "v1.1.0"})
                return r.status_code

        assert asyncio.run(go()) == 500
    finally:
        write_serving(project, GOOD)


def test_with_an_unrecorded_working_tree_no_version_means_the_working_tree(project: Path) -> None:
    """`current: null` (the working tree differs from the latest recorded version): a request
    naming no version gets the current code untouched, one naming the latest TSV its transformers."""
    write_serving(project, GOOD, head=True)
    try:
        plain = call(project, {"name": "Ada", "email": "a@x.org"}, None)
        latest = call(project, {"full_name": "Ada", "email": "a@x.org"}, "v2.0.0")

        async def ping(c: AppClient) -> Any:
            return (await c.get("/ping")).json()

        pong = run(project, ping)
    finally:
        write_serving(project, GOOD)
    assert plain[:2] == (201, {"id": 7, "name": "Ada", "email": "a@x.org"})
    assert latest[:2] == (201, {"id": 7, "full_name": "Ada", "email": "a@x.org"})
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
