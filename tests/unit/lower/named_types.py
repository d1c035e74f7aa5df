"""Helpers of the `lower` tests of named types: a one-handler project around some models, GType dumps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gati_compiler.ir.canonical import dump_gtype
from gati_compiler.ir.models import Program
from gati_compiler.pipeline import BuildResult

Project = Callable[..., BuildResult]

STR: dict[str, Any] = {"kind": "primitive", "type": "string"}
INT: dict[str, Any] = {"kind": "primitive", "type": "integer"}
NUM: dict[str, Any] = {"kind": "primitive", "type": "number"}
BOOL: dict[str, Any] = {"kind": "primitive", "type": "boolean"}
NULL: dict[str, Any] = {"kind": "primitive", "type": "null"}


def handlers_for(body: str, response: str = "None", imports: str = "from app.models import *") -> str:
    return (
        "from gati_runtime_min import GlobalContext, LocalContext, Request, Response, handler\n"
        f"{imports}\n\n"
        '@handler("POST", "/x")\n'
        f"def h(req: Request[{body}], res: Response[{response}], lctx: LocalContext, gctx: GlobalContext)"
        " -> None: ...\n"
    )


def build_models(project: Project, models: str, body: str, response: str = "None") -> Program:
    result = project({"app/__init__.py": "", "app/models.py": models, "app/handlers.py": handlers_for(body, response)})
    assert result.program is not None, [(d.code, d.message) for d in result.diagnostics]
    assert result.diagnostics == [], [(d.code, d.message) for d in result.diagnostics]
    return result.program


def gt(program: Program, ref: str) -> dict[str, Any]:
    return dump_gtype(program.gtypes[ref])


def prop(name: str, type_: Any, required: bool = True, **kw: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, "required": required, "hasDefault": False, "readOnly": False, **kw}


def props(program: Program, ref: str) -> list[dict[str, Any]]:
    out = gt(program, ref)["properties"]
    assert isinstance(out, list)
    return out
