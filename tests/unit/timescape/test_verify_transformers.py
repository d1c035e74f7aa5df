"""`gatic check` runs transformers on generated values (issue 12, point 4): a right transformer
passes, one that breaks the target shape or raises is a diagnostic at its line with the input."""

from __future__ import annotations

import textwrap
from pathlib import Path

from gati_compiler.diagnostics import codes
from gati_compiler.diagnostics.model import DiagnosticSink
from gati_compiler.ir.models import SourceRef, TransformerDecl, TransformerKind
from gati_compiler.pipeline import build
from gati_compiler.timescape.contract import contract_from_program
from gati_compiler.timescape.lock import save_lock
from gati_compiler.timescape.record import record
from gati_compiler.timescape.steps import BoundStep, timeline
from gati_compiler.timescape.verify import verify_transformers

V1 = """
from typing import Literal
from typing_extensions import TypedDict
from gati_runtime_min import GlobalContext, LocalContext, Request, Response, post


class NewUser(TypedDict):
    full_name: str
    age: int
    plan: Literal["free", "pro"]


class User(TypedDict):
    id: int
    full_name: str
    plan: Literal["free", "pro"]


@post("/users")
async def create_user(req: Request[NewUser], res: Response[User], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json({"id": 1, "full_name": req.body["full_name"], "plan": req.body["plan"]})
"""

V2 = V1.replace("full_name", "name").replace('"pro"]', '"pro", "team"]')

TRANSFORMERS = """
from typing import Any


def up_good(request: Any) -> Any:
    body = dict(request["body"])
    body["name"] = body.pop("full_name")
    return {**request, "body": body}


def up_forgets(request: Any) -> Any:
    return request


def up_raises(request: Any) -> Any:
    if request["body"]["age"] > 3:
        raise ValueError("too old")
    return up_good(request)


def down_good(response: Any) -> Any:
    out = dict(response)
    out["full_name"] = out.pop("name")
    if out["plan"] == "team":
        out["plan"] = "pro"
    return out


def down_keeps_team(response: Any) -> Any:
    out = dict(response)
    out["full_name"] = out.pop("name")
    return out
"""


def _app(root: Path, handlers: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text('[tool.gati]\nname = "vapp"\n', encoding="utf-8")
    (root / "handlers.py").write_text(textwrap.dedent(handlers).lstrip(), encoding="utf-8")
    (root / "transformers.py").write_text(TRANSFORMERS.lstrip(), encoding="utf-8")


def _decl(kind: TransformerKind, function: str) -> TransformerDecl:
    line = TRANSFORMERS.lstrip().splitlines().index(next(x for x in TRANSFORMERS.splitlines() if f" {function}(" in x))
    return TransformerDecl(
        kind=kind,
        handlerId="create_user",
        version="v1.0.0",
        module="transformers",
        function=function,
        source=SourceRef(file="transformers.py", line=line + 1),
    )


def _verify(tmp_path: Path, up: str, down: str) -> DiagnosticSink:
    _app(tmp_path, V1)
    first = build(tmp_path, write=False)
    assert first.ok and first.program is not None
    save_lock(
        record(None, contract_from_program(first.program), at="2026-09-01T09:00:00Z", tags=("v1.0.0",)),
        tmp_path / "timescape.lock",
    )
    _app(tmp_path, V2)
    second = build(tmp_path, write=False)
    assert second.ok and second.program is not None and second.lock is not None
    line = timeline(second.lock, contract_from_program(second.program))
    step = line.step("create_user", "2026-09-01T09:00:00Z")
    assert step is not None and step.breaking
    bound = {step.key: BoundStep(step=step, upgrade=_decl("request", up), downgrade=_decl("response", down))}
    sink = DiagnosticSink()
    checked = verify_transformers(
        second.program, bound, project_dir=tmp_path, source_roots=["."], sink=sink, max_examples=60
    )
    assert checked == 2
    return sink


def test_right_transformers_pass_verification(tmp_path: Path) -> None:
    sink = _verify(tmp_path, "up_good", "down_good")
    assert [d.message for d in sink.diagnostics] == []


def test_an_upgrade_the_new_decoder_rejects_is_reported_at_its_line_with_the_input(tmp_path: Path) -> None:
    sink = _verify(tmp_path, "up_forgets", "down_good")
    [d] = sink.diagnostics
    assert d.code == codes.TS_TRANSFORMER_INVALID.id
    assert (d.span.path, d.span.line) == ("transformers.py", _decl("request", "up_forgets").source.line)
    assert "transformers:up_forgets" in d.message and '"full_name"' in d.message and "$.body" in d.message


def test_a_downgrade_leaking_a_new_enum_value_is_caught(tmp_path: Path) -> None:
    sink = _verify(tmp_path, "up_good", "down_keeps_team")
    [d] = sink.diagnostics
    assert d.code == codes.TS_TRANSFORMER_INVALID.id
    assert "down_keeps_team" in d.message and '"team"' in d.message


def test_a_transformer_that_raises_names_the_shrunk_input(tmp_path: Path) -> None:
    sink = _verify(tmp_path, "up_raises", "down_good")
    [d] = sink.diagnostics
    assert d.code == codes.TS_TRANSFORMER_RAISED.id
    assert "ValueError: too old" in d.message and '"age": 4' in d.message  # hypothesis shrinks to the boundary
