"""Property 4, module client type safety: for generated out-of-process module declarations (random
method names; parameters, defaults and results typed from property 9's vocabulary: primitives,
constrained `Annotated` types, literals, optionals, lists, tuples, dicts and generated
TypedDicts), the build's codecs (`MODULES[id][method]` in the generated validators) accept exactly
the well-typed arguments and results and refuse the ill-typed ones, with the issues to show for it.
The oracle is pydantic in strict JSON mode on the declared annotation (an integral JSON number
counts as an int, as SPEC section 4 decides). Both directions are checked: JSON arguments and
results (`decode_params`, `decode_result`) and Python ones (`encode_params`, `encode_result`);
missing required and unknown argument names are refused too.

The static half (mypy with `gati_compiler.mypy_plugin` refuses a wrong argument type on
`gctx.modules["id"]`) is the example-based
`tests/unit/emit/test_module_typing.py::test_mypy_plugin_reports_wrong_arguments_and_unknown_ids_and_passes_correct_calls`,
which `docs/properties.md` lists under this property.
"""

from __future__ import annotations

from typing import Any, cast

from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from pydantic import TypeAdapter

from gati_compiler.ir.gtype import GType
from gati_compiler.ir.jsonschema import gtypes_json_schema
from tests.property.modulegen import ModuleSpec, annotation, build_modules, imported_validators, typed_modules
from tests.property.test_decoder_differential import _draft7, _ints, _mutate
from tests.property.test_property_09_gtype_schema_generation import Field, pydantic_ok

MISSING = object()


def draw_doc(data: st.DataObject, gtypes: dict[str, GType], gtype: GType) -> Any:
    schema = cast(dict[str, Any], gtypes_json_schema(gtypes, gtype))
    return data.draw(from_schema(_draft7(schema, cast(dict[str, Any], schema.get("$defs", {})))))


def oracle(adapter: TypeAdapter[Any], doc: Any) -> bool:
    """Pydantic strict JSON on the declared annotation; an integral float counts as an int."""
    return pydantic_ok(adapter, doc) or pydantic_ok(adapter, _ints(doc))


def accepts(codec: Any, errors: type[Exception], value: Any) -> tuple[bool, Any]:
    try:
        return True, codec(value)
    except errors as exc:
        assert cast(Any, exc).issues, "a refusal names its issues"
        return False, None


# each example builds an app: no shrinking (the draws are printed)
@settings(max_examples=25, phases=(Phase.explicit, Phase.reuse, Phase.generate))
@given(declared=typed_modules(rich=False), data=st.data())
def test_property_4_module_client_type_safety(
    tmp_path_factory: Any, declared: tuple[list[list[Field]], ModuleSpec], data: st.DataObject
) -> None:
    classes, spec = declared
    root = tmp_path_factory.mktemp("p4") / "app"
    program = build_modules(root, classes, (spec,)).program
    assert program is not None
    (decl,) = program.modules
    with imported_validators(root) as (validators, models):
        codecs = validators.MODULES[spec.module_id]
        assert sorted(codecs) == sorted(m.name for m in spec.methods)
        errors = validators.DecodeError
        for method, recorded in zip(spec.methods, decl.methods, strict=True):
            codec = codecs[method.name]
            gtypes = dict(recorded.params)
            # arguments: each drawn valid, then one possibly mutated
            args = {p.name: draw_doc(data, program.gtypes, gtypes[p.name]) for p in method.params}
            ok, python = accepts(codec.decode_params, errors, args)
            assert ok, (method, args)
            ok, encoded = accepts(codec.encode_params, errors, python)
            assert ok, (method, python)
            assert codec.decode_params(encoded) == python
            for p in method.params:
                adapter: TypeAdapter[Any] = TypeAdapter(annotation(models, p.type))
                bad = _mutate(data.draw, args[p.name])
                well_typed = oracle(adapter, bad)
                assert accepts(codec.decode_params, errors, {**args, p.name: bad})[0] == well_typed, (p, bad)
                if not well_typed:  # the same value as a Python argument is refused before sending
                    assert not accepts(codec.encode_params, errors, {**python, p.name: bad})[0], (p, bad)
                assert not accepts(codec.encode_params, errors, {**python, p.name: MISSING})[0]
                if not p.optional:
                    rest = {k: v for k, v in python.items() if k != p.name}
                    assert not accepts(codec.encode_params, errors, rest)[0], f"missing {p.name}"
                    assert not accepts(codec.decode_params, errors, rest)[0], f"missing {p.name}"
                else:
                    assert accepts(codec.encode_params, errors, {k: v for k, v in python.items() if k != p.name})[0]
            assert not accepts(codec.encode_params, errors, {**python, "zz_unknown": 1})[0]
            # the result
            result = draw_doc(data, program.gtypes, recorded.returns)
            ok, value = accepts(codec.decode_result, errors, result)
            assert ok, (method.returns, result)
            ok, back = accepts(codec.encode_result, errors, value)
            assert ok and codec.decode_result(back) == value
            adapter = TypeAdapter(annotation(models, method.returns))
            bad = _mutate(data.draw, result)
            well_typed = oracle(adapter, bad)
            assert accepts(codec.decode_result, errors, bad)[0] == well_typed, (method.returns, bad)
            if not well_typed:
                assert not accepts(codec.encode_result, errors, bad)[0], (method.returns, bad)
            assert not accepts(codec.encode_result, errors, MISSING)[0]
