"""Property 9, GType schema generation: for generated type declarations (TypedDicts whose fields
combine primitives, constrained `Annotated` types, string literals, optionals, unions, lists,
tuples, dicts and references to other TypedDicts, required or `NotRequired`), the compiler records
one object GType per class with the declared fields, in order, with the right `required` flags, and
its JSON Schema accepts exactly the documents pydantic (strict JSON mode) accepts for the class
itself (an integral JSON number counts as an int, as SPEC section 4 decides).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from pydantic import TypeAdapter, ValidationError

from gati_compiler.diagnostics.render import render_text
from gati_compiler.ir.gtype import ObjectType, RefType
from gati_compiler.ir.jsonschema import gtypes_json_schema
from tests.property.test_decoder_differential import _draft7, _ints, _mutate
from tests.unit.conftest import project_from_sources

LEAVES = [
    "str",
    "int",
    "float",
    "bool",
    "None",
    'Literal["a", "b"]',
    "Annotated[int, Ge(0), Le(9)]",
    "Annotated[str, MinLen(1), MaxLen(3)]",
    "Annotated[float, Gt(-1.5)]",
]


def type_exprs(classes: int) -> st.SearchStrategy[str]:
    leaves = st.sampled_from(LEAVES + [f"Td{i}" for i in range(classes)])
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            inner.map(lambda t: f"list[{t}]"),
            inner.map(lambda t: f"dict[str, {t}]"),
            inner.map(lambda t: f"Optional[{t}]"),
            st.tuples(inner, inner).map(lambda p: f"tuple[{p[0]}, {p[1]}]"),
            st.tuples(inner, inner).map(lambda p: f"Union[{p[0]}, {p[1]}]"),
        ),
        max_leaves=4,
    )


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    required: bool


@st.composite
def declarations(draw: st.DrawFn) -> list[list[Field]]:
    """Fields of Td0..TdN; a class refers only to classes before it."""
    out: list[list[Field]] = []
    for i in range(draw(st.integers(1, 3))):
        count = draw(st.integers(0, 4))
        out.append([Field(f"f{j}", draw(type_exprs(i)), draw(st.booleans())) for j in range(count)])
    return out


def source(classes: list[list[Field]]) -> str:
    lines = [
        "from typing import Annotated, Literal, Optional, Union",
        "",
        "from annotated_types import Ge, Gt, Le, MaxLen, MinLen",
        "from typing_extensions import NotRequired, TypedDict",
        "",
    ]
    for i, fields in enumerate(classes):
        lines += ["", f"class Td{i}(TypedDict):"]
        for f in fields:
            lines.append(f"    {f.name}: {f.type if f.required else f'NotRequired[{f.type}]'}")
        if not fields:
            lines.append("    pass")
    return "\n".join(lines) + "\n"


HANDLER = """\
from gati_runtime_min import GlobalContext, LocalContext, Request, Response, post

from app.models import {last}


@post("/x")
async def x(req: Request[{last}], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.empty()
"""


def import_models(root: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, root / "app" / "models.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


def pydantic_ok(adapter: TypeAdapter[Any], doc: Any) -> bool:
    try:
        adapter.validate_json(json.dumps(doc), strict=True)
    except ValidationError:
        return False
    return True


@settings(max_examples=30)
@given(classes=declarations(), data=st.data())
def test_property_9_gtype_schema_generation(
    tmp_path_factory: Any, classes: list[list[Field]], data: st.DataObject
) -> None:
    root = tmp_path_factory.mktemp("p9")
    last = f"Td{len(classes) - 1}"
    text = source(classes)
    result = project_from_sources(
        root, {"app/__init__.py": "", "app/models.py": text, "app/handlers.py": HANDLER.format(last=last)}
    )
    assert result.ok and result.program is not None, render_text(result.diagnostics, result.sources)
    gtypes = result.program.gtypes
    models = import_models(root, f"_p9_models_{root.name}")
    for i, fields in enumerate(classes):
        ref = f"Td{i}"
        if ref not in gtypes:  # only what a handler reaches is described; Td(last) is reached
            assert i != len(classes) - 1
            continue
        g = gtypes[ref]
        assert isinstance(g, ObjectType)
        assert [(p.name, p.required) for p in g.properties] == [(f.name, f.required) for f in fields]
    schema = cast(dict[str, Any], gtypes_json_schema(gtypes, RefType(ref=last)))
    validator = jsonschema.Draft202012Validator(schema)
    adapter: TypeAdapter[Any] = TypeAdapter(getattr(models, last))
    doc = data.draw(from_schema(_draft7(schema, cast(dict[str, Any], schema.get("$defs", {})))))
    for candidate in (doc, _mutate(data.draw, doc)):
        ours = validator.is_valid(candidate)
        theirs = pydantic_ok(adapter, candidate) or pydantic_ok(adapter, _ints(candidate))
        assert ours == theirs, (text, candidate)
