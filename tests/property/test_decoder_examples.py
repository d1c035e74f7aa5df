"""The differential test on what the compiler itself produces: every named GType of every example.

`test_decoder_differential.py` proves the generator on hand-written GTypes; this file closes the
loop from source: each example is built with the real pipeline, its generated validators are
imported, and for every class the build describes, documents drawn from our JSON Schema (valid)
and their mutations must get the same verdict from our decoder, from pydantic strict JSON mode on
the class itself, and from `jsonschema`, with the same allowed differences.
"""

from __future__ import annotations

import importlib
import importlib.util
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from pydantic import TypeAdapter

from gati_compiler.ir.gtype import EnumType, GType, ObjectType, RefType
from gati_compiler.ir.jsonschema import gtypes_json_schema
from gati_compiler.pipeline import build
from tests.corpus_types import Case
from tests.property.test_decoder_differential import _check, _draft7, _mutate

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p for p in (ROOT / "examples").iterdir() if (p / "pyproject.toml").is_file())


def _named_classes(gtypes: dict[str, GType]) -> list[str]:
    """Refs that name a class of the app itself (generic instances and aliases have no one class)."""
    out = []
    for ref, g in sorted(gtypes.items()):
        if isinstance(g, ObjectType | EnumType) and g.origin is not None and ref == g.origin.qualname:
            out.append(ref)
    return out


@pytest.fixture(scope="module", params=EXAMPLES, ids=[p.name for p in EXAMPLES])
def example(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, ModuleType]]:
    source = cast(Path, request.param)
    project = tmp_path_factory.mktemp("example") / source.name
    shutil.copytree(source, project, ignore=shutil.ignore_patterns(".gati", "__pycache__"))
    result = build(project, jobs=1)
    assert result.ok and result.program is not None
    package = project / ".gati" / "validators"
    spec = importlib.util.spec_from_file_location(
        f"_gati_example_validators_{source.name}", package / "__init__.py", submodule_search_locations=[str(package)]
    )
    assert spec is not None and spec.loader is not None
    sys.path.insert(0, str(project))  # the decoders build the app's own classes
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield result.program, module
    finally:
        sys.modules.pop(spec.name, None)
        sys.path.remove(str(project))
        for name in [m for m in sys.modules if m.split(".")[0] in {p.name for p in project.iterdir()}]:
            sys.modules.pop(name, None)


def test_every_class_of_every_example_agrees_with_pydantic_and_jsonschema(example: tuple[Any, ModuleType]) -> None:
    program, module = example
    refs = _named_classes(program.gtypes)
    assert refs, "the example describes some classes"
    for ref in refs:
        g = program.gtypes[ref]
        assert g.origin is not None
        pytype = getattr(importlib.import_module(g.origin.module), g.origin.qualname)
        case = Case(ref=ref, pytype=pytype, root=g, defs=program.gtypes)
        schema = gtypes_json_schema(program.gtypes, RefType(ref=ref))
        validator = jsonschema.Draft202012Validator(schema)
        adapter: TypeAdapter[Any] = TypeAdapter(pytype)
        valid = from_schema(_draft7(schema, cast(dict[str, Any], schema["$defs"])))
        _prove(case, module, validator, adapter, valid)


def _prove(case: Case, module: ModuleType, validator: Any, adapter: Any, valid: st.SearchStrategy[Any]) -> None:
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        doc = data.draw(valid)
        _check(case, module, validator, adapter, doc)
        _check(case, module, validator, adapter, _mutate(data.draw, doc))

    run()
