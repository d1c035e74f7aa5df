"""The per-version artifacts of a build with recorded versions: the `gati_versions` types package,
the per-version validators with `RESPONSES`, the OpenAPI documents and `timescape/serving.json`.

The app is compiled by the real pipeline from a lock recorded by the real operations (two versions
and an unrecorded working tree); mypy and ruff run as subprocesses on what it wrote.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import pytest
from openapi_spec_validator import validate

from gati_compiler.diagnostics.model import DiagnosticSink
from gati_compiler.ir.models import SourceRef, TransformerDecl
from gati_compiler.pipeline import BuildResult, build
from gati_compiler.timescape.contract import contract_from_program
from gati_compiler.timescape.emit_serving import build_serving, emit_timescape
from gati_compiler.timescape.lock import save_lock
from gati_compiler.timescape.record import RecordRequest, retire
from gati_compiler.timescape.steps import Timeline, step_module, timeline
from gati_compiler.timescape.transformers import bind_transformers

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
T1, T2 = "2026-09-01T09:00:00Z", "2026-10-01T09:00:00Z"
S1, S2 = "v2026_09_01T090000Z", "v2026_10_01T090000Z"

HEAD = """
from __future__ import annotations

import datetime
import enum

from typing_extensions import NotRequired, TypedDict

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get, post


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"
"""

V1 = (
    HEAD
    + """

class NewUser(TypedDict):
    full_name: str
    born: datetime.date
    color: Color


class User(TypedDict):
    id: int
    full_name: str
    born: datetime.date


class Search(TypedDict):
    tag: list[str]
    limit: NotRequired[int]


@post("/users")
async def create_user(req: Request[NewUser], res: Response[User], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json({"id": 1, "full_name": req.body["full_name"], "born": req.body["born"]})


@get("/users")
async def find_users(
    req: Request[None, Search], res: Response[list[User]], lctx: LocalContext, gctx: GlobalContext
) -> None:
    res.json([])
"""
)

V2 = V1.replace("full_name", "name")
CURRENT = V2.replace('    BLUE = "blue"', '    BLUE = "blue"\n    GREEN = "green"')


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    """T1 (`full_name`) → T2 (renamed `name`) → working tree (a new enum member), written to `.gati/`."""
    app = tmp_path_factory.mktemp("tsemit") / "app"
    app.mkdir()
    (app / "pyproject.toml").write_text('[tool.gati]\nname = "tsemit"\n', encoding="utf-8")
    module = f"tsemit_{uuid.uuid4().hex[:10]}"
    source = app / f"{module}.py"
    for text, at in ((V1, T1), (V2, T2)):
        source.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        result = build(app, jobs=1, record=RecordRequest(at=at))
        assert result.recorded is not None, (result.record_error, [d.message for d in result.diagnostics])
    source.write_text(textwrap.dedent(CURRENT).lstrip(), encoding="utf-8")
    result = build(app, jobs=1)
    assert result.ok, [d.message for d in result.diagnostics]
    return result


def _timeline(result: BuildResult) -> Timeline:
    assert result.lock is not None and result.program is not None
    return timeline(result.lock, contract_from_program(result.program))


def _types_dir(result: BuildResult) -> Path:
    return result.project_dir / ".gati" / "types"


_SHAPES = {
    "request": ("OldRequest", "NewRequest"),
    "response": ("NewResponse", "OldResponse"),
    "error": ("ErrorBody",) * 2,
}


def _decl(kind: Literal["request", "response", "error"], handler: str, version: str, function: str) -> TransformerDecl:
    """A transformer as discovery lowers it, typed with its step's types (the one step from T1)."""
    step_types = f"gati_versions.steps.{step_module(handler, T1)}"
    given, returned = _SHAPES[kind]
    return TransformerDecl(
        params=(f"{step_types}.{given}",),
        returns=f"{step_types}.{returned}",
        kind=kind,
        handlerId=handler,
        version=version,
        module="app.transformers",
        function=function,
        source=SourceRef(file="app/transformers.py", line=1),
    )


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, env=env, check=False)


def test_a_build_with_versions_writes_one_types_module_per_live_version_head_and_each_step(built: BuildResult) -> None:
    pkg = sorted(p for p in built.artifacts if p.startswith("types/gati_versions/"))
    assert pkg == [
        "types/gati_versions/__init__.py",
        "types/gati_versions/head.py",
        "types/gati_versions/py.typed",
        "types/gati_versions/steps/__init__.py",
        f"types/gati_versions/steps/create_user__{S1}.py",
        f"types/gati_versions/steps/create_user__{S2}.py",
        f"types/gati_versions/steps/find_users__{S1}.py",
        f"types/gati_versions/{S1}.py",
        f"types/gati_versions/{S2}.py",
    ]
    init = built.artifacts["types/gati_versions/__init__.py"].decode()
    assert f'"{T1}": "{S1}",' in init and 'HEAD: typing.Final[str | None] = "head"' in init


def test_version_modules_hold_the_source_names_in_wire_form(built: BuildResult) -> None:
    v1 = built.artifacts[f"types/gati_versions/{S1}.py"].decode()
    assert "class NewUser(typing.TypedDict):\n    full_name: str\n    born: str\n    color: Color\n" in v1
    assert 'Color: typing.TypeAlias = typing.Literal["red", "blue"]' in v1
    head = built.artifacts["types/gati_versions/head.py"].decode()
    assert 'Color: typing.TypeAlias = typing.Literal["red", "blue", "green"]' in head
    step = built.artifacts[f"types/gati_versions/steps/create_user__{S1}.py"].decode()
    assert f"from gati_versions import {S1} as old" in step and f"from gati_versions import {S2} as new" in step
    assert "class OldRequest(typing.TypedDict):\n    body: old.NewUser\n" in step
    assert "OldResponse: typing.TypeAlias = old.User" in step
    search = built.artifacts[f"types/gati_versions/steps/find_users__{S1}.py"].decode()
    # query values are their raw strings; a repeated key is a list of them
    assert "class OldQuery(typing.TypedDict):\n    tag: list[str]\n    limit: typing.NotRequired[str]\n" in search


def test_the_types_package_passes_mypy_strict_and_ruff(built: BuildResult) -> None:
    types = _types_dir(built)
    mypy = _run(BIN / "mypy", "--strict", "--no-incremental", "gati_versions", cwd=types)
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr
    config = REPO / "pyproject.toml"
    lint = _run(BIN / "ruff", "check", "--no-cache", "--config", config, "gati_versions", cwd=types)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = _run(BIN / "ruff", "format", "--check", "--no-cache", "--config", config, "gati_versions", cwd=types)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


TRANSFORMER = f"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gati_versions.steps.create_user__{S1} import NewRequest, NewResponse, OldRequest, OldResponse


def create_user_from_v1(request: OldRequest) -> NewRequest:
    body = request["body"]
    return {{"body": {{"{{name}}": body["full_name"], "born": body["born"], "color": body["color"]}}}}


def create_user_to_v1(response: NewResponse) -> OldResponse:
    return {{"id": response["id"], "full_name": response["name"], "born": response["born"]}}
"""


@pytest.mark.parametrize(("key", "ok"), [("name", True), ("nme", False)])
def test_a_transformer_is_type_checked_against_the_step_module(
    built: BuildResult, tmp_path: Path, key: str, ok: bool
) -> None:
    (tmp_path / "xf.py").write_text(TRANSFORMER.replace("{name}", key), encoding="utf-8")
    env = {"MYPYPATH": str(_types_dir(built)), "PATH": str(BIN)}
    found = _run(BIN / "mypy", "--strict", "--no-incremental", "xf.py", cwd=tmp_path, env=env)
    assert (found.returncode == 0) is ok, found.stdout + found.stderr
    if not ok:
        assert '"nme"' in found.stdout


def test_serving_lists_the_versions_whose_chain_holds_a_transformer(built: BuildResult) -> None:
    tl = _timeline(built)
    sink = DiagnosticSink()
    bound = bind_transformers(
        tl, [_decl("request", "create_user", T1, "up"), _decl("response", "create_user", T1, "down")], sink
    )
    serving = build_serving(tl, bound)
    assert serving["current"] is None  # the working tree is not the latest recorded version
    assert serving["handlers"] == {
        "create_user": {
            T1: {
                "validators": S1,
                "steps": [
                    {
                        "from": T1,
                        "to": T2,
                        "upgrade": "app.transformers:up",
                        "downgrade": "app.transformers:down",
                        "error": None,
                    },
                    {"from": T2, "to": "head", "upgrade": None, "downgrade": None, "error": None},
                ],
                "checkRequest": True,
            }
        }
    }
    assert json.loads(built.artifacts["timescape/serving.json"])["handlers"] == {}  # no transformer in the sources


def test_an_old_request_is_checked_again_only_where_the_current_decoders_check_something_else(
    built: BuildResult,
) -> None:
    """`checkRequest`: `find_users`' query is the same in T1 and now and its chain upgrades nothing,
    so the current decoders make that version's check; `create_user` of T2 has no upgrade either,
    but its request changed since (`Color` gained `GREEN`), so T2's own check still runs."""
    tl = _timeline(built)
    t2_types = f"gati_versions.steps.{step_module('create_user', T2)}"
    down_t2 = _decl("response", "create_user", T2, "down_t2").model_copy(
        update={"params": (f"{t2_types}.NewResponse",), "returns": f"{t2_types}.OldResponse"}
    )
    sink = DiagnosticSink()
    bound = bind_transformers(tl, [_decl("response", "find_users", T1, "down_users"), down_t2], sink)
    assert not sink.diagnostics, [d.message for d in sink.diagnostics]
    handlers: Any = build_serving(tl, bound)["handlers"]
    assert handlers["find_users"][T1]["checkRequest"] is False
    assert handlers["create_user"][T2]["checkRequest"] is True
    assert handlers["create_user"][T1]["checkRequest"] is True  # its request changed (the rename) too


def _import(path: Path) -> ModuleType:
    name = f"tsval_{uuid.uuid4().hex[:10]}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_version_validators_check_requests_and_responses_in_that_versions_shape(
    built: BuildResult, tmp_path: Path
) -> None:
    tl = _timeline(built)
    assert built.program is not None
    bound = bind_transformers(tl, [_decl("request", "create_user", "2026-09-15", "up")], DiagnosticSink())
    out = emit_timescape(tl, bound, built.program, {}, header="test")
    assert [p for p in out if p.startswith("timescape/validators/")] == [f"timescape/validators/{S1}/__init__.py"]
    target = tmp_path / "v1.py"
    target.write_bytes(out[f"timescape/validators/{S1}/__init__.py"])
    v1: Any = _import(target)
    assert sorted(v1.HANDLERS) == ["create_user"] and sorted(v1.RESPONSES) == ["create_user"]
    decoded = v1.HANDLERS["create_user"].decode_body({"full_name": "Ada", "born": "1815-12-10", "color": "red"})
    assert isinstance(decoded, dict) and decoded["full_name"] == "Ada"
    with pytest.raises(v1.DecodeError) as bad:
        v1.HANDLERS["create_user"].decode_body({"name": "Ada", "born": "1815-12-10", "color": "red"})
    assert "full_name" in str(bad.value)
    v1.RESPONSES["create_user"]({"id": 1, "full_name": "Ada", "born": "1815-12-10"})
    with pytest.raises(v1.DecodeError):
        v1.RESPONSES["create_user"]({"id": 1, "name": "Ada", "born": "1815-12-10"})
    checked = _run(BIN / "mypy", "--strict", "--no-incremental", "v1.py", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    config = REPO / "pyproject.toml"
    fmt = _run(BIN / "ruff", "format", "--check", "--no-cache", "--config", config, "v1.py", cwd=tmp_path)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_each_live_version_has_a_valid_openapi_document_of_its_own_shape(built: BuildResult) -> None:
    docs = {p: json.loads(b) for p, b in built.artifacts.items() if p.startswith("openapi.v")}
    assert sorted(docs) == [f"openapi.{S1}.json", f"openapi.{S2}.json"]
    for doc in docs.values():
        validate(doc)
    assert "full_name" in docs[f"openapi.{S1}.json"]["components"]["schemas"]["NewUser"]["properties"]
    assert "name" in docs[f"openapi.{S2}.json"]["components"]["schemas"]["NewUser"]["properties"]


def test_a_rebuild_writes_nothing_and_produces_the_same_bytes(built: BuildResult) -> None:
    again = build(built.project_dir, jobs=1)
    assert again.artifacts == built.artifacts
    assert again.written is not None and again.written.written == []


def test_without_a_lock_nothing_of_timescape_is_emitted(project: Any) -> None:
    result = project({"app.py": V1})
    assert result.ok, [d.message for d in result.diagnostics]
    assert not [p for p in result.artifacts if p.startswith(("types/", "timescape/", "openapi.v"))]


def test_editing_the_lock_rebuilds_the_timescape_artifacts_and_removes_the_stale_ones(
    built: BuildResult, tmp_path: Path
) -> None:
    app = tmp_path / "app"
    shutil.copytree(built.project_dir, app)
    assert _written(build(app, jobs=1)) == []
    lock = built.lock
    assert lock is not None
    save_lock(retire(lock, T1, at="2026-11-01T00:00:00Z"), app / "timescape.lock")
    again = build(app, jobs=1)
    assert again.ok and again.written is not None
    out = app / ".gati"
    # T1 is no longer served: no OpenAPI document, and no validators or version row served from it
    assert f"openapi.{S1}.json" in again.written.removed and not (out / f"openapi.{S1}.json").exists()
    serving = json.loads((out / "timescape/serving.json").read_text(encoding="utf-8"))
    assert [v["status"] for v in serving["versions"]] == ["retired", "active"]
    # the step leaving T1 keeps its module (a transformer may still name it), and so does its old side
    assert (out / f"types/gati_versions/steps/create_user__{S1}.py").is_file()
    assert (out / f"types/gati_versions/{S1}.py").is_file()
    assert _written(build(app, jobs=1)) == []


def _written(result: BuildResult) -> list[str]:
    assert result.ok and result.written is not None
    return result.written.written
