"""Property 5, TypeScript definition generation: for generated type declarations (the TypedDicts
of property 9), the TypeScript SDK exports an interface per class a handler reaches, with exactly
the declared fields in order, `?` exactly on the `NotRequired` ones, and the TypeScript type of
each simple field (string, number, boolean, null, string literals, other interfaces); the client
has a method for the handler; and the whole SDK passes `tsc --strict --noEmit` (slow test).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any, Final

import pytest
from hypothesis import given, settings

from gati_compiler.diagnostics.render import render_text
from gati_compiler.pipeline import build
from tests.property.test_property_09_gtype_schema_generation import HANDLER, Field, declarations, source
from tests.unit.conftest import project_from_sources, write_project

TSC: Final = Path(__file__).resolve().parents[2] / "node_modules" / ".bin" / "tsc"
SIMPLE: Final = {
    "str": "string",
    "int": "number",
    "float": "number",
    "bool": "boolean",
    "None": "null",
    'Literal["a", "b"]': '"a" | "b"',
    "Annotated[int, Ge(0), Le(9)]": "number",
    "Annotated[str, MinLen(1), MaxLen(3)]": "string",
    "Annotated[float, Gt(-1.5)]": "number",
}


def sources(classes: list[list[Field]]) -> dict[str, str]:
    last = f"Td{len(classes) - 1}"
    return {"app/__init__.py": "", "app/models.py": source(classes), "app/handlers.py": HANDLER.format(last=last)}


def interfaces(types_ts: str) -> dict[str, list[tuple[str, bool, str]]]:
    """`export interface Name { field?: type; }` blocks: name -> [(field, optional, type)]."""
    out: dict[str, list[tuple[str, bool, str]]] = {}
    for name, body in re.findall(r"^export interface (\w+) \{\n(.*?)^\}", types_ts, re.M | re.S):
        fields = re.findall(r"^  (\w+)(\??): (.*);$", body, re.M)
        out[name] = [(f, q == "?", t) for f, q, t in fields]
    return out


@given(classes=declarations())
def test_property_5_typescript_definition_generation(tmp_path_factory: Any, classes: list[list[Field]]) -> None:
    result = project_from_sources(tmp_path_factory.mktemp("p5"), sources(classes))
    assert result.ok and result.program is not None, render_text(result.diagnostics, result.sources)
    types_ts = result.artifacts["sdk/typescript/src/types.ts"].decode()
    found = interfaces(types_ts)
    for i, fields in enumerate(classes):
        name = f"Td{i}"
        if name not in result.program.gtypes:
            continue
        assert name in found, types_ts
        assert [(f, optional) for f, optional, _ in found[name]] == [(f.name, not f.required) for f in fields]
        for f, (_, _, ts_type) in zip(fields, found[name], strict=True):
            if f.type in SIMPLE:
                assert ts_type == SIMPLE[f.type]
            elif re.fullmatch(r"Td\d+", f.type):
                assert ts_type == f.type
    client_ts = result.artifacts["sdk/typescript/src/client.ts"].decode()
    assert re.search(r"async x\(args: \{ body: types\.Td\d+ \}", client_ts)


@pytest.mark.slow
@pytest.mark.skipif(not TSC.exists(), reason="typescript is not installed (npm ci)")
@settings(max_examples=4)
@given(classes=declarations())
def test_property_5_typescript_definitions_compile(tmp_path_factory: Any, classes: list[list[Field]]) -> None:
    root = write_project(tmp_path_factory.mktemp("p5tsc"), sources(classes))
    result = build(root, jobs=1)
    assert result.ok, render_text(result.diagnostics, result.sources)
    tsc = subprocess.run(
        [str(TSC), "--strict", "--noEmit", "-p", str(root / ".gati" / "sdk" / "typescript")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert tsc.returncode == 0, tsc.stdout + source(classes)
