"""`mypy --strict` on user handler modules: right shapes pass, wrong ones are errors."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import gati_runtime_min

REPO = Path(gati_runtime_min.__file__).resolve().parent.parent

HEADER = """\
from typing import NotRequired, TypedDict
from gati_runtime_min import (
    GlobalContext, HTTPError, LocalContext, Request, Response, after, before, catch, get, handler, module, post,
)

class NewUser(TypedDict):
    name: str
    age: NotRequired[int]

class User(NewUser):
    id: str

class Page(TypedDict):
    limit: int

class IdParams(TypedDict):
    id: int
"""

GOOD = {
    "ok_async": """
@handler("POST", "/users", roles=["admin"], rate_limit="100/minute", timeout=2.5, modules=["db"], status=201)
async def create_user(req: Request[NewUser], res: Response[User], lctx: LocalContext, gctx: GlobalContext) -> None:
    user = await gctx.modules["db"].insert("users", req.body)
    name: str = req.body["name"]
    res.status(201).header("location", "/users/1").json(User(id="1", name=name))
    lctx.set("user", user)
""",
    "ok_sync_query_params": """
@get("/users/{id:int}")
def get_user(
    req: Request[None, Page, IdParams], res: Response[list[User]], lctx: LocalContext, gctx: GlobalContext
) -> None:
    limit: int = req.query["limit"]
    uid: int = req.params["id"]
    if uid < 0:
        raise HTTPError(404, "user_not_found", f"no user {uid}")
    res.json([User(id=str(uid), name="a")][:limit])
    rid: str = req.request_id
    lctx.log(rid)
""",
    "ok_defaults": """
@post("/ping")
async def ping(req: Request[None], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None:
    params: dict[str, object] = req.params
    res.empty()
""",
    "ok_hooks_and_module": """
@before
async def check(req: Request[object], res: Response[object], lctx: LocalContext, gctx: GlobalContext) -> None:
    lctx.before(check2)

@before(timeout=1.0, retries=2)
def check2(req: Request[object], res: Response[object], lctx: LocalContext, gctx: GlobalContext) -> None: ...

@after()
def audit(req: Request[object], res: Response[object], lctx: LocalContext, gctx: GlobalContext) -> None: ...

@catch(retries=1)
async def report(
    error: Exception, req: Request[object], res: Response[object], lctx: LocalContext, gctx: GlobalContext
) -> None: ...

@handler("GET", "/x", before=[check], after=[audit], catch=[report])
async def x(req: Request[None], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None: ...

@module("db", capabilities=["db.read"], egress=["postgres.internal:5432"])
class Db:
    async def insert(self, table: str, row: NewUser) -> User:
        return User(id="1", name=row["name"])

db: Db = Db()
""",
}

BAD = {
    "bad_three_params": """
@handler("GET", "/x")
async def h(req: Request[None], res: Response[None], lctx: LocalContext) -> None: ...
""",
    "bad_returns_int": """
@get("/x")
def h(req: Request[None], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> int:
    return 1
""",
    "bad_wrong_param_type": """
@get("/x")
def h(req: int, res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None: ...
""",
    "bad_body_type": """
@get("/x")
def h(req: Request[None], res: Response[User], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json({"id": 1, "name": "a"})
""",
    "bad_typed_dict_key": """
@post("/x")
def h(req: Request[NewUser], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None:
    print(req.body["nope"])
""",
    "bad_hook_signature": """
@before
def hook(req: Request[None], res: Response[None]) -> None: ...
""",
    "bad_catch_signature": """
@catch(timeout=1.0)
def hook(req: Request[None], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None: ...
""",
    "bad_decorator_argument": """
@get("/x", timeout="2s")
def h(req: Request[None], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None: ...
""",
    "bad_status_type": """
@get("/x")
def h(req: Request[None], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.status("201").empty()
""",
}

EXPECTED_CODES = {
    "bad_three_params": "type-var",
    "bad_returns_int": "type-var",
    "bad_wrong_param_type": "type-var",
    "bad_body_type": "typeddict-item",
    "bad_typed_dict_key": "typeddict-item",
    "bad_hook_signature": "type-var",
    "bad_catch_signature": "type-var",
    "bad_decorator_argument": "arg-type",
    "bad_status_type": "arg-type",
}


@pytest.mark.slow
def test_mypy_strict_on_handler_modules(tmp_path: Path) -> None:
    for name, body in {**GOOD, **BAD}.items():
        (tmp_path / f"{name}.py").write_text(HEADER + body, encoding="utf-8")
    (tmp_path / "mypy.ini").write_text("[mypy]\n", encoding="utf-8")
    env = {**os.environ, "MYPYPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--config-file", "mypy.ini", "--cache-dir", str(tmp_path / "cache"),
         *sorted(f"{n}.py" for n in {**GOOD, **BAD})],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=280, check=False,
    )  # fmt: skip
    errors: dict[str, list[str]] = {}
    for line in proc.stdout.splitlines():
        m = re.match(r"^(\w+)\.py:\d+: error: (.*)$", line)
        if m:
            errors.setdefault(m.group(1), []).append(m.group(2))
    unexpected = {n: errors[n] for n in GOOD if n in errors}
    assert not unexpected, proc.stdout
    missing = [n for n in BAD if n not in errors]
    assert not missing, proc.stdout
    for name, code in EXPECTED_CODES.items():
        assert any(e.endswith(f"[{code}]") for e in errors[name]), (name, errors[name])
    assert not [line for line in proc.stdout.splitlines() if "gati_runtime_min" in line], proc.stdout
