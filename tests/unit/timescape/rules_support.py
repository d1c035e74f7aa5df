"""Helpers for the rule fixtures: a tiny app from one handler module, both contracts, the diff."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from gati_compiler.pipeline import BuildResult
from gati_compiler.timescape.contract import ApiContract, contract_from_program
from gati_compiler.timescape.diff import Finding, diff_contracts

Project = Callable[..., BuildResult]
TODAY = date(2026, 12, 3)
HEAD = (
    "from enum import Enum\n"
    "from typing import Annotated, Literal, NotRequired, ReadOnly, TypedDict\n"
    "from pydantic import BaseModel, Field\n"
    "from gati_runtime_min import GlobalContext, LocalContext, Request, Response, delete, get, handler, post, put\n"
)


def op(
    deco: str = '@post("/a")',
    body: str = "None",
    out: str = "None",
    query: str = "None",
    name: str = "op",
) -> str:
    """One handler function under `deco` with the given request/response/query types."""
    return (
        f"{deco}\ndef {name}(req: Request[{body}, {query}], res: Response[{out}], lctx: LocalContext,"
        " gctx: GlobalContext) -> None: ...\n"
    )


def contract(project: Project, source: str) -> ApiContract:
    result = project({"app/__init__.py": "", "app/handlers.py": HEAD + source})
    assert result.program is not None and result.ok, [(d.code, d.span.line, d.message) for d in result.diagnostics]
    return contract_from_program(result.program)


def diff_sources(project: Project, old: str, new: str, today: date = TODAY) -> list[Finding]:
    return diff_contracts(contract(project, old), contract(project, new), today=today)


def breaking(findings: list[Finding]) -> list[Finding]:
    """Findings that fail a default `gatic check` (ERR or WARN, WIRE or POLICY)."""
    return [f for f in findings if f.level.value != "INFO" and f.category.value != "SDK"]
