"""Replay, end to end: recorded requests sent again as an older API version and as the current one,
over the real bookstore example and over an app built here with one change that has a
transformer (a renamed field) and one that has none (a field added to an answer); `gatic replay`
as a real subprocess (exit 0 same, 1 differ, 2 bad input); exported tests run by pytest against
a real build, passing, then failing once the app changes.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_examples_served import (  # type: ignore[import-not-found, unused-ignore]  # a sibling test module
    ROOT,
    build_copy,
    serve_build,
)

from gati_runtime_min.app import GatiApp
from gati_runtime_min.playground.diff import diff_json
from gati_runtime_min.playground.replay import ReplayError, compare, replay
from gati_runtime_min.playground.store import TraceStore
from gati_runtime_min.playground.trace import Trace
from gati_runtime_min.testing import AppClient

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
V1, V2 = "2026-09-01T09:00:00Z", "2026-10-01T09:00:00Z"
USERS_PKG = "replayusers"
HEAD = """\
from typing import TypedDict

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get, post
"""
# v1: `full_name`; v2 renames it `name` (with transformers) and adds `email` to `get_user`'s answer (none)
USERS_V1 = """
class NewUser(TypedDict):
    full_name: str


class User(TypedDict):
    id: int
    full_name: str


class Profile(TypedDict):
    id: int
    nick: str


@post("/users")
async def create_user(req: Request[NewUser], res: Response[User], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.status(201).json({"id": 7, "full_name": req.body["full_name"]})


@get("/profiles/{id:int}")
async def get_profile(req: Request[None], res: Response[Profile], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json({"id": req.params["id"], "nick": "ada"})
"""
USERS_V2 = """
class NewUser(TypedDict):
    name: str


class User(TypedDict):
    id: int
    name: str


class Profile(TypedDict):
    id: int
    nick: str
    email: str


@post("/users")
async def create_user(req: Request[NewUser], res: Response[User], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.status(201).json({"id": 7, "name": req.body["name"]})


@get("/profiles/{id:int}")
async def get_profile(req: Request[None], res: Response[Profile], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json({"id": req.params["id"], "nick": "ada", "email": "ada@example.org"})
"""
TRANSFORMERS = """\
from __future__ import annotations

from typing import TYPE_CHECKING

from gati_runtime_min.timescape import downgrade_response, upgrade_request

if TYPE_CHECKING:
    from gati_versions.steps.create_user__v2026_09_01T090000Z import (
        NewRequest,
        NewResponse,
        OldRequest,
        OldResponse,
    )


@upgrade_request("create_user", "v1")
def create_user_from_v1(request: OldRequest) -> NewRequest:
    return {"body": {"name": request["body"]["full_name"]}}


@downgrade_response("create_user", "v1")
def create_user_to_v1(response: NewResponse) -> OldResponse:
    return {"id": response["id"], "full_name": response["name"]}
"""


def gatic(
    project: Path, *args: str, at: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "NO_COLOR": "1", **(env or {})}
    if at is not None:
        full["GATI_TIMESCAPE_AT"] = at
    return subprocess.run(
        [str(BIN / "gatic"), *args], cwd=project, env=full, capture_output=True, text=True, timeout=180
    )


def write_users(root: Path, handlers: str) -> None:
    (root / USERS_PKG).mkdir(parents=True, exist_ok=True)
    toml = '[tool.gati]\nname = "users"\n\n[tool.gati.playground]\nstore = "traces.jsonl"\n'
    (root / "pyproject.toml").write_text(toml, encoding="utf-8")
    (root / USERS_PKG / "__init__.py").write_text("", encoding="utf-8")
    (root / USERS_PKG / "handlers.py").write_text(HEAD + handlers, encoding="utf-8")


@pytest.fixture(scope="module")
def users(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The app with two recorded versions: v1, and v2 (the working tree, recorded) with its transformers."""
    root = tmp_path_factory.mktemp("replay") / "users"
    write_users(root, USERS_V1)
    done = gatic(root, "version", "record", ".", "--tag", "v1", at=V1)
    assert done.returncode == 0, done.stdout + done.stderr
    write_users(root, USERS_V2)
    (root / USERS_PKG / "transformers.py").write_text(TRANSFORMERS, encoding="utf-8")
    done = gatic(root, "version", "record", ".", "--tag", "v2", at=V2)
    assert done.returncode == 0, done.stdout + done.stderr
    done = gatic(root, "build", ".")
    assert done.returncode == 0, done.stdout + done.stderr
    return root


def run(
    build_dir: Path, *steps: tuple[str, str, dict[str, str], Any], to_file: bool = False
) -> tuple[GatiApp, list[httpx.Response]]:
    """A traced app of `build_dir` that served `steps` (method, path, headers, JSON body) in-process;
    its traces go to the project's trace file only when `to_file`."""
    app = GatiApp(build_dir, trace=True)
    assert app.playground is not None
    if not to_file:
        app.playground.store.path = None

    async def go() -> list[httpx.Response]:
        out = []
        async with AppClient(app) as client:
            for method, path, headers, body in steps:
                out.append(await client.request(method, path, headers=headers, json=body))
        return out

    return app, asyncio.run(go())


def stored(app: GatiApp, response: httpx.Response) -> Trace:
    assert app.playground is not None
    trace = app.playground.store.get(response.headers["x-request-id"])
    assert trace is not None
    return trace


def diff_of(app: GatiApp, trace: Trace, version: str | None, **kwargs: Any) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        await app.startup()
        try:
            return (await compare(app, trace, version, **kwargs)).to_json()
        finally:
            await app.shutdown()

    return asyncio.run(go())


# ------------------------------------------------------------------ compare, in-process
def test_a_renamed_field_with_transformers_diffs_as_the_rename(users: Path) -> None:
    app, (r,) = run(users / ".gati", ("POST", "/users", {"x-gati-version": "v1"}, {"full_name": "Ada"}))
    assert (r.status_code, r.json()) == (201, {"id": 7, "full_name": "Ada"})
    trace = stored(app, r)
    assert trace.version == V1
    result = diff_of(app, trace, "v1")
    assert result["responseDiff"] == [
        {"op": "removed", "path": "$.body.full_name", "old": "Ada", "new": None},
        {"op": "added", "path": "$.body.name", "old": None, "new": "Ada"},
    ]
    assert result["same"] is False and (result["version"], result["current"]) == (V1, V2)
    # the right run got the request as the runtime upgrades it, and named no version
    assert result["upgradedFrom"] == V1
    assert result["right"]["sent"]["body"] == {"name": "Ada"}
    assert "x-gati-version" not in dict(result["right"]["sent"]["headers"])
    assert (result["left"]["version"], result["right"]["version"]) == (V1, V2)
    assert result["left"]["replayOf"] == result["right"]["replayOf"] == trace.request_id
    steps = {(s["step"], s["side"]) for s in result["traceDiff"]}
    assert (f"transformer {USERS_PKG}.transformers:create_user_from_v1", "left") in steps
    assert (f"transformer {USERS_PKG}.transformers:create_user_to_v1", "left") in steps
    assert ("handler create_user", "both") in steps


def test_a_field_added_without_a_transformer_reaches_the_old_version_too(users: Path) -> None:
    """No transformer: v1 is served by the current handler as it is (an added field is not a
    break), so the old version's answer already has the new field and the two runs agree."""
    app, (r,) = run(users / ".gati", ("GET", "/profiles/3", {"x-gati-version": "v1"}, None))
    result = diff_of(app, stored(app, r), "v1")
    profile = {"id": 3, "nick": "ada", "email": "ada@example.org"}
    assert result["left"]["answer"]["body"] == result["right"]["answer"]["body"] == profile
    assert (result["left"]["version"], result["right"]["version"]) == (V1, V2)
    assert result["responseDiff"] == [] and result["same"] is True and result["upgradedFrom"] is None
    assert [(s["step"], s["side"]) for s in result["traceDiff"]] == [
        ("decode params", "both"),
        ("handler get_profile", "both"),
        ("encode response", "both"),
    ]


def test_a_current_request_asked_as_the_old_version_is_refused_in_its_shape(users: Path) -> None:
    app, (r,) = run(users / ".gati", ("POST", "/users", {}, {"name": "Ada"}))
    trace = stored(app, r)
    assert trace.version == V2
    result = diff_of(app, trace, "v1")
    changes = result["responseDiff"]
    assert [(c["op"], c["path"]) for c in changes] == [
        ("changed", "$.status"),
        ("removed", "$.body.error"),
        ("added", "$.body.id"),
        ("added", "$.body.name"),
    ]
    assert (changes[0]["old"], changes[0]["new"]) == (422, 201)
    assert changes[1]["old"]["code"] == "GATI511"
    assert [i["path"] for i in changes[1]["old"]["issues"]] == ["$.body.full_name"]  # v1's own shape
    assert (changes[2]["new"], changes[3]["new"]) == (7, "Ada")
    same = diff_of(app, trace, "v2")
    assert same["same"] is True and same["responseDiff"] == [] and same["upgradedFrom"] is None


def test_replay_records_a_new_trace_of_the_request(users: Path) -> None:
    app, (r,) = run(users / ".gati", ("POST", "/users", {"x-gati-version": "v1"}, {"full_name": "Ada"}))
    trace = stored(app, r)

    async def go() -> Trace:
        await app.startup()
        try:
            return await replay(app, trace, None)
        finally:
            await app.shutdown()

    new = asyncio.run(go())
    assert new.replay_of == trace.request_id and new.request_id != trace.request_id
    assert new.version == V2 and new.status == 422  # the v1 body, sent as the current version
    with pytest.raises(ReplayError) as caught:
        diff_of(app, trace, "v9")
    assert caught.value.code == "GATI552" and "v9" in caught.value.message
    untraced = GatiApp(users / ".gati", trace=False)
    with pytest.raises(ReplayError) as off:
        diff_of(untraced, trace, "v1")
    assert off.value.code == "GATI554" and "tracing is off" in off.value.message


# ------------------------------------------------------------------ the bookstore example
KEY = "replay-all-roles"


@pytest.fixture(scope="module")
def bookstore(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("replay") / "bookstore"

    build_copy(ROOT / "examples" / "bookstore", root)  # its `[tool.gati.playground]` keeps `.gati/traces.jsonl`
    saved = {k: os.environ.get(k) for k in ("BOOKSTORE_API_KEYS", "BOOKSTORE_SECRET_RECEIPT_KEY")}
    os.environ["BOOKSTORE_API_KEYS"] = f"{KEY}=admin,editor"
    os.environ["BOOKSTORE_SECRET_RECEIPT_KEY"] = "replay-receipts"
    yield root
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def test_bookstore_get_book_as_v1_1_0_diffs_by_its_downgrade(bookstore: Path) -> None:
    key = {"x-api-key": KEY}
    book = {"title": "The Dispossessed", "isbn": "9780061054884", "genre": "fiction"}
    app, (author, created, got) = run(
        bookstore / ".gati",
        ("POST", "/authors", key, {"name": "Ursula K. Le Guin"}),
        (
            "POST",
            "/books",
            {**key, "x-gati-version": "v1.1.0"},
            {**book, "author_id": 1, "price": {"amount": 1299, "currency": "EUR"}},
        ),
        ("GET", "/books/1", {"x-gati-version": "v1.1.0"}, None),
    )
    assert (author.status_code, created.status_code, got.status_code) == (201, 201, 200), created.text
    assert got.json()["stock"] == 0
    result = diff_of(app, stored(app, got), "v1.1.0")
    assert result["responseDiff"] == [
        {"op": "removed", "path": "$.body.stock", "old": 0, "new": None},
        {"op": "added", "path": "$.body.in_stock", "old": None, "new": 0},
    ]
    left_only = [s["step"] for s in result["traceDiff"] if s["side"] == "left"]
    assert left_only == ["transformer bookstore.transformers.get_book__v2026_10_01T090000Z:get_book_to_v1_1_0"]
    # v1.0.0 is deprecated: its answers carry Deprecation, Sunset and the successor's Link
    older = diff_of(app, stored(app, got), "v1.0.0")
    assert [c["path"] for c in older["responseDiff"]] == [
        "$.headers.deprecation",
        "$.headers.sunset",
        "$.headers.link",
        "$.body.stock",
        "$.body.in_stock",
    ]
    assert all(c["op"] == "removed" for c in older["responseDiff"][:3])
    assert diff_of(app, stored(app, got), "v2.0.0")["same"] is True


# ------------------------------------------------------------------ `gatic replay`, a real subprocess
@pytest.fixture(scope="module")
def recorded(users: Path) -> dict[str, str]:
    """Requests served by a real uvicorn server with tracing on, into `traces.jsonl`: their ids."""
    (users / "traces.jsonl").unlink(missing_ok=True)
    ids: dict[str, str] = {}
    with serve_build("users", users, users / ".gati", {"GATI_TRACE": "1"}) as served:
        calls = {
            "renamed": ("POST", "/users", {"x-gati-version": "v1"}, {"full_name": "Ada"}),
            "current": ("POST", "/users", {}, {"name": "Bo"}),
            "added": ("GET", "/profiles/3", {"x-gati-version": "v1"}, None),
        }
        for name, (method, path, headers, body) in calls.items():
            r = httpx.request(method, served.base_url + path, headers=headers, json=body, timeout=10.0)
            assert r.status_code in (200, 201), r.text
            ids[name] = r.headers["x-request-id"]
    assert len((users / "traces.jsonl").read_text(encoding="utf-8").splitlines()) == 3
    return ids


def test_gatic_replay_exits_1_when_the_answers_differ_and_prints_each_change(
    users: Path, recorded: dict[str, str]
) -> None:
    done = gatic(users, "replay", ".", "--request", recorded["renamed"])
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert '  - $.body.full_name: "Ada"' in lines and '  + $.body.name: "Ada"' in lines
    assert "response: 2 differences" in lines and lines[-1] == "the answers differ"
    assert f"upgraded from v1 ({V1})" in done.stdout
    as_json = gatic(users, "replay", ".", "--request", recorded["renamed"], "--version", "v1", "--format", "json")
    assert as_json.returncode == 1
    result = json.loads(as_json.stdout)
    assert [c["path"] for c in result["responseDiff"]] == ["$.body.full_name", "$.body.name"]
    assert result["requestId"] == recorded["renamed"] and result["same"] is False


def test_gatic_replay_exits_0_when_the_answers_are_the_same(users: Path, recorded: dict[str, str]) -> None:
    for rid, version in ((recorded["current"], "v2"), (recorded["added"], "v1")):
        done = gatic(users, "replay", ".", "--request", rid, "--version", version)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "response: 0 differences" in done.stdout and done.stdout.endswith("same answer\n")
    # the replays are not written to the recorded file
    assert len((users / "traces.jsonl").read_text(encoding="utf-8").splitlines()) == 3


def test_gatic_replay_exits_2_on_bad_input_naming_the_file(
    users: Path, recorded: dict[str, str], tmp_path: Path
) -> None:
    traces = users / "traces.jsonl"
    unknown = gatic(users, "replay", ".", "--request", "nope")
    assert unknown.returncode == 2 and "no request nope in" in unknown.stderr and str(traces) in unknown.stderr
    missing = gatic(
        users, "replay", ".", "--request", recorded["renamed"], "--trace-file", str(tmp_path / "none.jsonl")
    )
    assert missing.returncode == 2 and "none.jsonl" in missing.stderr and "cannot read" in missing.stderr
    corrupt = tmp_path / "corrupt.jsonl"
    corrupt.write_text(traces.read_text(encoding="utf-8") + "{not a trace\n", encoding="utf-8")
    bad = gatic(users, "replay", ".", "--request", recorded["renamed"], "--trace-file", str(corrupt))
    assert bad.returncode == 2 and f"{corrupt}:4: not a trace" in bad.stderr, bad.stderr
    version = gatic(users, "replay", ".", "--request", recorded["renamed"], "--version", "v9")
    assert version.returncode == 2 and "GATI552" in version.stderr and "'v9'" in version.stderr
    usage = gatic(users, "replay", ".", "--request", "all")
    assert usage.returncode == 2 and "--export" in usage.stderr
    no_build = gatic(tmp_path, "replay", str(tmp_path), "--request", "x")
    assert no_build.returncode == 2 and "no build in" in no_build.stderr


def test_exported_tests_pass_against_the_build_and_fail_once_the_app_changes(
    users: Path, recorded: dict[str, str], tmp_path: Path
) -> None:
    import shutil

    project = tmp_path / "users"
    shutil.copytree(users, project, ignore=shutil.ignore_patterns("__pycache__", "*.log"))
    done = gatic(project, "replay", ".", "--request", "all", "--export", "tests/test_recorded.py")
    assert done.returncode == 0 and "wrote 3 tests to tests/test_recorded.py" in done.stderr, done.stderr
    module = (project / "tests" / "test_recorded.py").read_text(encoding="utf-8")
    assert module.count("\ndef test_") == 3 and recorded["renamed"].lower() in module

    def pytest_run() -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GATI_", "PYTEST_"))}
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "tests/test_recorded.py",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
        ]
        return subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=180)

    passed = pytest_run()
    assert passed.returncode == 0 and "3 passed" in passed.stdout, passed.stdout + passed.stderr
    handlers = project / USERS_PKG / "handlers.py"
    handlers.write_text(
        handlers.read_text(encoding="utf-8").replace('"name": req.body["name"]', '"name": req.body["name"] + "!"'),
        encoding="utf-8",
    )
    rebuilt = gatic(project, "build", ".")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    failed = pytest_run()
    assert failed.returncode == 1 and "2 failed, 1 passed" in failed.stdout, failed.stdout + failed.stderr
    assert "'Ada!'" in failed.stdout


def test_gatic_replay_over_the_bookstore_build(bookstore: Path) -> None:
    """Recorded in-process into the project's trace file; an old, deprecated version's answer
    differs by the version headers (exit 1), the current one's does not (exit 0)."""
    (bookstore / ".gati" / "traces.jsonl").unlink(missing_ok=True)
    _, (listed,) = run(
        bookstore / ".gati", ("GET", "/books?genre=fiction", {"x-gati-version": "v1.0.0"}, None), to_file=True
    )
    rid = listed.headers["x-request-id"]
    assert TraceStore.load(bookstore / ".gati" / "traces.jsonl").get(rid) is not None
    env = {"BOOKSTORE_API_KEYS": f"{KEY}=admin,editor"}
    old = gatic(bookstore, "replay", ".", "--request", rid, env=env)
    assert old.returncode == 1, old.stdout + old.stderr
    assert "  - $.headers.deprecation: " in old.stdout and "  - $.headers.sunset: " in old.stdout
    assert "as v1.0.0 (2026-09-01T09:00:00Z): 200" in old.stdout
    current = gatic(bookstore, "replay", ".", "--request", rid, "--version", "v2.0.0", env=env)
    assert current.returncode == 0, current.stdout + current.stderr


def test_gatic_replay_asks_a_running_dev_server_with_url(users: Path, tmp_path: Path) -> None:
    """`--url`: the dev server replays a request it recorded (its playground API) and the command
    prints the same diff and exit code as offline."""
    import importlib.util

    if importlib.util.find_spec("gati_runtime_min.playground.api") is None:
        pytest.skip("the playground API (gati_runtime_min/playground/api.py) is not on this branch yet")
    with serve_build("users-dev", users, users / ".gati", {"GATI_DEV": "1"}) as served:
        r = httpx.post(served.base_url + "/users", headers={"x-gati-version": "v1"}, json={"full_name": "Ada"})
        rid = r.headers["x-request-id"]
        done = gatic(users, "replay", "--url", served.base_url, "--request", rid)
        assert done.returncode == 1, done.stdout + done.stderr
        assert '  - $.body.full_name: "Ada"' in done.stdout and '  + $.body.name: "Ada"' in done.stdout
        same = gatic(
            users, "replay", "--url", served.base_url, "--request", rid, "--ignore", "full_name", "--ignore", "name"
        )
        assert same.returncode == 0, same.stdout + same.stderr
        unknown = gatic(users, "replay", "--url", served.base_url, "--request", "nope")
        assert unknown.returncode == 2 and "no request nope on" in unknown.stderr
        export = gatic(
            users, "replay", "--url", served.base_url, "--request", "all", "--export", str(tmp_path / "t.py")
        )
        assert export.returncode == 0 and (tmp_path / "t.py").read_text(encoding="utf-8").count("\ndef test_") == 1


# ------------------------------------------------------------------ property 45
NAMES = st.text(st.characters(codec="utf-8"), max_size=12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=NAMES, recorded_as=st.sampled_from(["v1", "v2", None]), replay_as=st.sampled_from(["v1", "v2"]))
def test_property_45_request_replay_execution(users: Path, name: str, recorded_as: str | None, replay_as: str) -> None:
    """Property 45: a stored request replayed as a version gets exactly the answer a client of that
    version gets for it, the run as the current version gets what a current client gets for the
    request upgraded by the transformers, and the reported diff is the diff of those two answers."""
    body = {"full_name": name} if recorded_as == "v1" else {"name": name}
    asked = {"x-gati-version": recorded_as} if recorded_as else {}
    sent_as = {"x-gati-version": replay_as}
    current_body = {"name": name}
    app, (recorded, direct, current) = run(
        users / ".gati",
        ("POST", "/users", asked, body),
        ("POST", "/users", sent_as, body),  # what a client of `replay_as` gets for the same request
        ("POST", "/users", {}, current_body),  # what a current client gets for it, in the current shape
    )
    trace = stored(app, recorded)
    result = diff_of(app, trace, replay_as)
    left, right = result["left"]["answer"], result["right"]["answer"]
    assert (left["status"], _volatile_free(left["body"])) == (direct.status_code, _volatile_free(direct.json()))
    # the run as the current version: upgraded by the transformer when recorded as v1
    assert result["upgradedFrom"] == (V1 if recorded_as == "v1" else None)
    assert result["right"]["sent"]["body"] == current_body
    assert (right["status"], right["body"]) == (current.status_code, current.json())
    expected = diff_json(
        {"status": left["status"], "body": _volatile_free(left["body"])},
        {"status": right["status"], "body": _volatile_free(right["body"])},
    )
    got = [c for c in result["responseDiff"] if not c["path"].startswith("$.headers")]
    assert [(c["op"], c["path"]) for c in got] == [(c.op, c.path) for c in expected if _kept(c.path)]
    assert result["same"] is (not result["responseDiff"])


def _volatile_free(body: Any) -> Any:
    """An error body without its request id (each run has its own)."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return {"error": {k: v for k, v in body["error"].items() if k != "requestId"}}
    return body


def _kept(path: str) -> bool:
    return not path.endswith(".requestId")
