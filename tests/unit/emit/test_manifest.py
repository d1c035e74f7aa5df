"""emit: handler and module manifests, `gtypes.json` and the `manifest.json` index."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest

from gati_compiler.canonical import canonical_json
from gati_compiler.ir.canonical import dump_ir, load_ir
from gati_compiler.pipeline import BuildResult

Project = Callable[..., BuildResult]

SOURCES = {
    "app/__init__.py": "",
    "app/models.py": '''\
from typing import NotRequired, TypedDict

class NewUser(TypedDict):
    """A new user — with a non-ASCII description."""
    name: str
    age: NotRequired[int]

class User(NewUser):
    id: int

class Query(TypedDict):
    q: str
''',
    "app/hooks.py": """\
from gati_runtime_min import after, before, catch

@before(timeout=1.5, retries=2)
async def check(req, res, lctx, gctx) -> None: ...

@after
def audit(req, res, lctx, gctx) -> None: ...

@catch
def report(error, req, res, lctx, gctx) -> None: ...
""",
    "app/ghooks.py": """\
from gati_runtime_min import before

@before
def trace(req, res, lctx, gctx) -> None: ...
""",
    "app/services.py": """\
from gati_runtime_min import module

@module("db", capabilities=["db.read"], egress=["pg:5432"])
class Db:
    async def get(self, key: str) -> int: ...
""",
    "app/handlers.py": """\
from gati_runtime_min import GlobalContext, LocalContext, Request, Response, handler, get
from app.hooks import audit, check, report
from app.models import NewUser, Query, User

@handler(
    "POST",
    "/users/{id:int}",
    roles=["admin", "admin", "editor"],
    rate_limit="5/2 minutes",
    timeout=2.5,
    plugins=["audit"],
    before=[check],
    after=[audit],
    catch=[report],
)
async def update_user(
    req: Request[NewUser, Query], res: Response[User], lctx: LocalContext, gctx: GlobalContext
) -> None:
    await gctx.modules["db"].get("k")

@get("/ping")
def ping(req: Request[None], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None: ...
""",
}

HANDLER_KEYS = {
    "handlerId",
    "path",
    "method",
    "gtypes",
    "hooks",
    "timescapeVersion",
    "fingerprint",
    "policies",
    "dependencies",
    "source",
}


@pytest.fixture
def built(project: Project) -> BuildResult:
    result = project(SOURCES, 'global_hooks = ["app.ghooks"]\n')
    assert result.ok and result.program is not None, [(d.code, d.message) for d in result.diagnostics]
    return result


def load(result: BuildResult, rel: str) -> Any:
    return json.loads(result.artifacts[rel])


def test_handler_manifest_has_the_spec_field_names(built: BuildResult) -> None:
    m = load(built, "handlers/update_user.json")
    assert HANDLER_KEYS - {"timescapeVersion"} <= set(m)
    assert set(m) <= HANDLER_KEYS | {
        "pathParams",
        "module",
        "function",
        "isAsync",
        "summary",
        "description",
        "tags",
        "status",
        "otherStatuses",  # codes set with `res.status(<literal>)` (documented in OpenAPI)
    }
    assert (m["handlerId"], m["method"], m["path"]) == ("update_user", "POST", "/users/{id:int}")
    assert set(m["gtypes"]) == {"request", "response", "params", "query"}
    assert set(m["gtypes"]) <= {"request", "response", "params", "query", "headers"}
    assert m["gtypes"]["request"] == {"kind": "ref", "ref": "NewUser"}
    assert m["gtypes"]["response"] == {"kind": "ref", "ref": "User"}
    assert m["gtypes"]["query"] == {"kind": "ref", "ref": "Query"}
    assert m["gtypes"]["params"]["properties"][0]["name"] == "id"
    assert set(m["hooks"]) == {"before", "after", "catch"}
    [before] = m["hooks"]["before"]
    assert before == {
        "id": "app.hooks:check",
        "kind": "before",
        "module": "app.hooks",
        "function": "check",
        "isAsync": True,
        "timeout": 1.5,
        "retries": 2,
        "scope": "route",
        "source": {"file": "app/hooks.py", "line": 4},
    }
    assert m["policies"] == {"roles": ["admin", "editor"], "rateLimit": {"limit": 5, "window": 120}, "timeout": 2.5}
    assert m["dependencies"] == {"modules": ["db"], "plugins": ["audit"]}
    assert m["source"] == {"file": "app/handlers.py", "line": 16}
    assert m["fingerprint"].startswith("sha256:") and len(m["fingerprint"]) == len("sha256:") + 64


def test_handler_without_parts_omits_them(built: BuildResult) -> None:
    m = load(built, "handlers/ping.json")
    assert m["gtypes"] == {}
    assert m["policies"] == {"roles": []}
    assert m["hooks"] == {"before": [], "after": [], "catch": []}
    assert m["status"] == 204


def test_module_manifest_and_gtypes(built: BuildResult) -> None:
    db = load(built, "modules/db.json")
    assert db["moduleId"] == "db" and db["capabilities"] == ["db.read"] and db["egress"] == ["pg:5432"]
    assert (db["runtime"], db["pool"]) == ("python", 1) and "command" not in db
    assert db["methods"] == [
        {
            "name": "get",
            "isAsync": True,
            "params": [["key", {"kind": "primitive", "type": "string"}]],
            "optional": [],
            "returns": {"kind": "primitive", "type": "integer"},
            "retries": 0,
            "idempotent": False,
        }
    ]
    gtypes = load(built, "gtypes.json")
    assert list(gtypes) == ["NewUser", "Query", "User"]
    assert gtypes["NewUser"]["description"] == "A new user — with a non-ASCII description."


def test_index_lists_handlers_modules_global_hooks_and_digests(built: BuildResult) -> None:
    index = load(built, "manifest.json")
    assert (index["app"], index["irVersion"], index["sourceRoots"], index["versions"]) == ("app", 1, ["."], [])
    assert index["projectRoot"] == ".."
    assert index["handlers"] == [
        {
            "handlerId": "ping",
            "method": "GET",
            "path": "/ping",
            "file": "handlers/ping.json",
            "fingerprint": load(built, "handlers/ping.json")["fingerprint"],
        },
        {
            "handlerId": "update_user",
            "method": "POST",
            "path": "/users/{id:int}",
            "file": "handlers/update_user.json",
            "fingerprint": load(built, "handlers/update_user.json")["fingerprint"],
        },
    ]
    assert index["modules"] == [{"moduleId": "db", "file": "modules/db.json"}]
    assert [h["id"] for h in index["globalHooks"]] == ["app.ghooks:trace"]
    assert index["globalHooks"][0]["scope"] == "global"
    digests = index["artifacts"]
    assert set(digests) == set(built.artifacts) - {"manifest.json"}
    for rel, digest in digests.items():
        assert digest == "sha256:" + hashlib.sha256(built.artifacts[rel]).hexdigest(), rel
    assert list(digests) == sorted(digests)


@pytest.mark.parametrize("rel", ["manifest.json", "gtypes.json", "handlers/update_user.json", "modules/db.json"])
def test_json_is_canonical(built: BuildResult, rel: str) -> None:
    data = built.artifacts[rel]
    text = data.decode("utf-8")
    assert "\r" not in text and text.endswith("}\n") and not text.endswith("\n\n")
    assert text == canonical_json(json.loads(text))
    assert "—" in built.artifacts["gtypes.json"].decode("utf-8")  # real UTF-8, not \\u escapes


def test_artifacts_are_byte_identical_across_builds(built: BuildResult, project: Project) -> None:
    again = project(SOURCES, 'global_hooks = ["app.ghooks"]\n')
    manifests = [k for k in built.artifacts if k.endswith(".json")]
    assert {k: built.artifacts[k] for k in manifests} == {k: again.artifacts[k] for k in manifests}


def test_dump_ir_load_ir_round_trip(built: BuildResult) -> None:
    assert built.program is not None
    dumped = dump_ir(built.program)
    assert load_ir(dumped) == built.program
    assert load_ir(json.loads(canonical_json(dumped))) == built.program
