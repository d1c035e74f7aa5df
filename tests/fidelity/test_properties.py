"""Seed properties 9 (GType schema generation) and 13 (validator function generation), over
models written as source: hypothesis writes a TypedDict and a pydantic model from a pool of field
annotations (sets, temporal and UUID strings, literals, optionals, nested lists and maps, aliases
and `extra="forbid"`), gati builds them, and on documents drawn from the emitted schema and
mutations of them the decoder agrees with pydantic strict JSON (property 13) and the schema agrees
with the decoder, format assertions on (property 9)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from gati_compiler.ir.gtype import RefType
from gati_compiler.ir.jsonschema import gtypes_json_schema
from tests.fidelity.built import Built, built
from tests.fidelity.differential import compare
from tests.property.test_decoder_differential import _draft7, _mutate

FIELDS = [
    "int",
    "str",
    "float",
    "bool",
    "set[str]",
    "frozenset[int]",
    "list[int]",
    "dict[str, bool]",
    "int | None",
    'Literal["a", "b"]',
    "datetime",
    "date",
    "time",
    "timedelta",
    "UUID",
    "Decimal",
    "tuple[int, str]",
    "list[set[str]]",
    "Annotated[int, Ge(0)]",
    "Annotated[str, MaxLen(3)]",
    "StrictStr",
]
HEADER = """
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID
from annotated_types import Ge, MaxLen
from pydantic import BaseModel, ConfigDict, StrictStr
from pydantic.alias_generators import to_camel
from typing_extensions import NotRequired, TypedDict
"""


@st.composite
def sources(draw: st.DrawFn) -> str:
    picks = draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=5))
    optional = draw(st.lists(st.booleans(), min_size=len(picks), max_size=len(picks)))
    forbid = draw(st.booleans())
    td = "\n".join(
        f"    field_{i}: {'NotRequired[' + t + ']' if opt else t}"
        for i, (t, opt) in enumerate(zip(picks, optional, strict=True))
    )
    config = 'ConfigDict(extra="forbid", alias_generator=to_camel)' if forbid else "ConfigDict()"
    model = "\n".join(f"    field_{i}: {t}" for i, t in enumerate(picks))
    return f"{HEADER}\nclass Td(TypedDict):\n{td}\n\nclass Model(BaseModel):\n    model_config = {config}\n{model}\n"


def _agree(app: Built, name: str, data: st.DataObject) -> None:
    assert app.result.program is not None
    schema = gtypes_json_schema(app.result.program.gtypes, RefType(ref=app.ref(name)))
    from pydantic import TypeAdapter

    adapter: TypeAdapter[Any] = TypeAdapter(getattr(app.models, name))
    doc = data.draw(from_schema(_draft7(schema, cast(dict[str, Any], schema["$defs"]))))
    for candidate in (doc, _mutate(data.draw, doc)):
        value = json.loads(json.dumps(candidate))
        assert compare(app.validators, app.ref(name), adapter, value) is None, candidate
        ours_ok = app.ours(name, value)[0]
        if "\n" not in json.dumps(value):  # python-jsonschema's `$` also matches before a final newline
            assert app.schema_ok(name, value) == ours_ok, candidate


_SETTINGS = settings(
    max_examples=3, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)


@pytest.mark.slow
@_SETTINGS
@given(source=sources(), data=st.data())
def test_property_13_validator_function_generation(tmp_path_factory: Any, source: str, data: st.DataObject) -> None:
    with built(Path(tmp_path_factory.mktemp("p13")), source, ["Td", "Model"]) as app:
        for name in ("Td", "Model"):
            _agree(app, name, data)


@pytest.mark.slow
@_SETTINGS
@given(source=sources(), data=st.data())
def test_property_9_gtype_schema_generation(tmp_path_factory: Any, source: str, data: st.DataObject) -> None:
    with built(Path(tmp_path_factory.mktemp("p9")), source, ["Td", "Model"]) as app:
        assert app.result.program is not None
        for name in ("Td", "Model"):
            schema = gtypes_json_schema(app.result.program.gtypes, RefType(ref=app.ref(name)))
            defs = cast(dict[str, Any], schema["$defs"])
            # every format the decoder takes more loosely than the standard is an annotation only
            for prop in defs[app.ref(name)]["properties"].values():
                assert prop.get("format") in (None, "date", "decimal", "bytes"), prop
            _agree(app, name, data)
