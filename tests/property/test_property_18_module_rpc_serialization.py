"""Property 18, module RPC serialization: a call to an out-of-process module carries its arguments
and its result over JSON stdio losslessly, for every declared type. For generated module
declarations (property 9's vocabulary plus the types whose JSON form differs from the Python one:
dates, datetimes, UUIDs, string and integer enums, a dataclass, tuples), Python values of the
declared types (JSON documents drawn from the type's JSON Schema, decoded by the generated
decoders) go the caller's way, `encode_params` -> JSON bytes
(orjson, as the runtime and the module server write them) -> the module side's `decode_params`,
and the result the module's way, `encode_result` -> JSON bytes -> `decode_result`, and come back
equal, with the same types (a `Color` stays a `Color`, a tuple a tuple, an `Item` an `Item`).

The second test sends generated values through a real module process
(`tests/fixtures/modules/pymod.py`, served by `gati_runtime_min.modules.server.serve`, whose
`echo` answers its argument) with a `ProcessModule` built from the generated manifest and codecs:
what the caller gets back equals what it sent.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import orjson
import pytest
from hypothesis import Phase, assume, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from gati_compiler.ir.gtype import GType
from gati_compiler.ir.jsonschema import gtypes_json_schema
from gati_runtime_min.errors import ModuleContractError
from gati_runtime_min.modules.client import ProcessModule
from tests.property.modulegen import (
    MethodSpec,
    ModuleSpec,
    Param,
    build_modules,
    imported_validators,
    type_exprs,
    typed_modules,
)
from tests.property.test_decoder_differential import _draft7
from tests.property.test_property_09_gtype_schema_generation import Field, declarations

ROOT = Path(__file__).resolve().parents[2]
PYMOD = ROOT / "tests" / "fixtures" / "modules" / "pymod.py"
INT64 = range(-(2**63), 2**64)  # what orjson writes: signed or unsigned 64-bit


def json_safe(value: Any) -> bool:
    """No NaN or infinity (JSON has none) and, see `test_property_18_integers_beyond_64_bits`, no
    integer outside 64 bits."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return value in INT64
    if isinstance(value, dict):
        return all(json_safe(v) for v in value.values())
    if isinstance(value, list | tuple):
        return all(json_safe(v) for v in value)
    if hasattr(value, "__dataclass_fields__"):
        return all(json_safe(getattr(value, f)) for f in value.__dataclass_fields__)
    return True


def same(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down (`1 == 1.0 == True` does not count)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if hasattr(a, "__dataclass_fields__"):
        return all(same(getattr(a, f), getattr(b, f)) for f in a.__dataclass_fields__)
    return bool(a == b)


def json_doc(data: st.DataObject, gtypes: dict[str, GType], gtype: GType, label: str) -> Any:
    """A JSON document drawn from the type's JSON Schema (hypothesis-jsonschema); the generated
    decoder turns it into a Python value of the declared type."""
    schema = cast(dict[str, Any], gtypes_json_schema(gtypes, gtype))
    doc = data.draw(from_schema(_draft7(schema, cast(dict[str, Any], schema.get("$defs", {})))), label=label)
    assume(json_safe(doc))
    return doc


def wire(value: Any) -> Any:
    """Through the bytes a pipe carries."""
    return orjson.loads(orjson.dumps(value))


# each example builds an app: fewer examples, and no shrinking (the draws are printed)
@settings(max_examples=15, phases=(Phase.explicit, Phase.reuse, Phase.generate))
@given(declared=typed_modules(rich=True), data=st.data())
def test_property_18_module_rpc_serialization(
    tmp_path_factory: Any, declared: tuple[list[list[Field]], ModuleSpec], data: st.DataObject
) -> None:
    classes, spec = declared
    root = tmp_path_factory.mktemp("p18") / "app"
    program = build_modules(root, classes, (spec,)).program
    assert program is not None
    (decl,) = program.modules
    gtypes = program.gtypes
    with imported_validators(root) as (validators, _):
        for method, recorded in zip(spec.methods, decl.methods, strict=True):
            codec = validators.MODULES[spec.module_id][method.name]
            param_types = dict(recorded.params)
            docs = {
                p.name: json_doc(data, gtypes, param_types[p.name], p.name)
                for p in method.params
                if not p.optional or data.draw(st.booleans())
            }
            args = codec.decode_params(docs)
            received = codec.decode_params(wire(codec.encode_params(args)))
            assert same(args, received), (method, args, received)
            result = codec.decode_result(json_doc(data, gtypes, recorded.returns, "result"))
            back = codec.decode_result(wire(codec.encode_result(result)))
            assert same(result, back), (method.returns, result, back)


@pytest.fixture(scope="module")
def echo_process() -> Iterator[tuple[ProcessModule, asyncio.AbstractEventLoop]]:
    """One `pymod.py` process for the whole test, on a loop of its own."""
    loop = asyncio.new_event_loop()
    module = ProcessModule("echo", ["{python}", str(PYMOD)], cwd=ROOT)
    loop.run_until_complete(module.start())
    try:
        yield module, loop
    finally:
        loop.run_until_complete(module.stop())
        loop.close()


@settings(max_examples=6, phases=(Phase.explicit, Phase.reuse, Phase.generate))
@given(classes=declarations(), data=st.data())
def test_property_18_values_round_trip_through_a_real_module_process(
    tmp_path_factory: Any,
    echo_process: tuple[ProcessModule, asyncio.AbstractEventLoop],
    classes: list[list[Field]],
    data: st.DataObject,
) -> None:
    process, loop = echo_process
    expr = data.draw(type_exprs(len(classes), rich=True), label="type")
    spec = ModuleSpec("echo", "Echo", (MethodSpec("echo", (Param("value", expr, False),), expr),))
    root = tmp_path_factory.mktemp("p18p") / "app"
    program = build_modules(root, classes, (spec,)).program
    assert program is not None
    (decl,) = program.modules
    with imported_validators(root) as (validators, _):
        codec = validators.MODULES["echo"]["echo"]
        for _ in range(3):
            value = codec.decode_result(json_doc(data, program.gtypes, decl.methods[0].returns, "value"))
            raw = loop.run_until_complete(process.call("echo", codec.encode_params({"value": value})))
            back = codec.decode_result(raw)
            assert same(value, back), (expr, value, back)


@settings(max_examples=5)
@given(value=st.one_of(st.integers(min_value=2**64), st.integers(max_value=-(2**63) - 1)))
def test_property_18_integers_beyond_64_bits_are_refused_as_gati543(
    echo_process: tuple[ProcessModule, asyncio.AbstractEventLoop], value: int
) -> None:
    """The one declared value JSON stdio cannot carry: orjson writes 64-bit integers only. The call
    is refused before anything is sent (GATI543, not a bare `TypeError`), and the process keeps
    serving."""
    process, loop = echo_process
    with pytest.raises(ModuleContractError) as caught:
        loop.run_until_complete(process.call("echo", {"value": value}))
    assert caught.value.code == "GATI543" and "64-bit" in str(caught.value.detail)
    assert loop.run_until_complete(process.call("echo", {"value": 2**64 - 1})) == 2**64 - 1
