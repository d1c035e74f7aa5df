"""Differential test: generated decoders vs pydantic strict JSON vs `jsonschema` on our schema.

For every corpus case, documents drawn from our JSON Schema (valid) and mutations of them
(mostly invalid) must get the same verdict from all three. Allowed differences: the ones SPEC
section 4 decides (an integral float is a valid int; `true` is never a number, while pydantic
lets `true` match `Literal[1]` and int enums), python-jsonschema's non-ECMA `$` in patterns
(it also matches before a final newline), and pydantic's lossy float parsing for `Decimal`.
Accepted values must also convert to what pydantic builds, and encoding a decoded value must
decode back to the same value.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any, cast
from urllib.parse import unquote

import hypothesis.internal.conjecture.utils as _conjecture_utils
import hypothesis_jsonschema._from_schema as _from_schema
import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from pydantic import BaseModel, TypeAdapter, ValidationError

from gati_compiler.emit.validators import emit_validators
from gati_compiler.ir.gtype import RefType
from gati_compiler.ir.jsonschema import gtypes_json_schema
from tests.corpus_types import CASES, Case, all_gtypes


class _LegacyMany:
    """The `many(...).more()` protocol hypothesis-jsonschema 0.23 was written against.

    Hypothesis 6.150+ replaced it with a context-manager API, so `from_schema` fails on every
    object schema ("'many' object has no attribute 'more'"). Drop this shim once
    hypothesis-jsonschema supports the new API.
    """

    def __init__(self, data: Any, min_size: int, max_size: float, average_size: float) -> None:
        self._data = data
        self._min = min_size
        self._max = max_size
        self._p = _conjecture_utils._calc_p_continue(average_size - min_size, max_size - min_size)
        self.count = 0
        self._rejections = 0
        self._stop = False

    def more(self) -> bool:
        if self.count < self._min:
            go = True
        elif self._stop or self.count >= self._max:
            go = False
        else:
            go = bool(self._data.draw_boolean(self._p))
        if go:
            self.count += 1
        return go

    def reject(self) -> None:
        self.count -= 1
        self._rejections += 1
        if self._rejections > max(3, 2 * self.count):
            if self.count < self._min:
                self._data.mark_invalid()
            else:
                self._stop = True


if not hasattr(_conjecture_utils.many, "more"):
    _from_schema.__dict__["cu"] = SimpleNamespace(many=_LegacyMany)


_ODD_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    7,
    3.0,
    2.5,
    -0.5,
    "",
    "x",
    "abc",
    "2020-13-01",
    [],
    {},
    [1],
    {"k": 1},
]
_UNKNOWN_KEY = "zz_unknown"


@pytest.fixture(scope="module")
def validators(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    root = tmp_path_factory.mktemp("gen")
    for rel, data in emit_validators(all_gtypes(), [], header="corpus").items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    package = root / "validators"
    spec = importlib.util.spec_from_file_location(
        "_gati_corpus_validators", package / "__init__.py", submodule_search_locations=[str(package)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def _mutate(draw: Callable[[st.SearchStrategy[Any]], Any], doc: Any, depth: int = 0) -> Any:
    """Change one spot of `doc`: a value of another type, a dropped or unknown key, a list edit."""
    here = draw(st.integers(0, 3)) == 0 or depth > 6
    if isinstance(doc, dict) and doc and not here:
        key = draw(st.sampled_from(sorted(doc)))
        return {**doc, key: _mutate(draw, doc[key], depth + 1)}
    if isinstance(doc, list) and doc and not here:
        index = draw(st.integers(0, len(doc) - 1))
        return [*doc[:index], _mutate(draw, doc[index], depth + 1), *doc[index + 1 :]]
    choice = draw(st.integers(0, 5))
    if isinstance(doc, dict) and doc and choice == 0:
        key = draw(st.sampled_from(sorted(doc)))
        return {k: v for k, v in doc.items() if k != key}
    if isinstance(doc, dict) and choice == 1:
        return {**doc, _UNKNOWN_KEY: draw(st.sampled_from(_ODD_VALUES))}
    if isinstance(doc, list) and choice == 2:
        return [*doc, draw(st.sampled_from(_ODD_VALUES))]
    if isinstance(doc, list) and doc and choice == 3:
        return doc[1:]
    if isinstance(doc, str) and choice == 4:
        return doc + draw(st.sampled_from(["x", "0", "Z", " ", "é", "\n"]))
    if isinstance(doc, int | float) and not isinstance(doc, bool) and choice == 5:
        return doc + draw(st.sampled_from([1, -1, 0.5, 1000]))
    return draw(st.sampled_from(_ODD_VALUES))


def _draft7(schema: Any, defs: dict[str, Any], depth: int = 0) -> Any:
    """A generation-only copy for hypothesis-jsonschema, which speaks draft 7 and cannot follow
    recursive refs: tuples as `items` + `additionalItems`, refs inlined up to a small depth."""
    if isinstance(schema, list):
        return [_draft7(s, defs, depth) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        if depth > 3:
            return {"not": {}}
        return _draft7(defs[unquote(schema["$ref"].rsplit("/", 1)[1])], defs, depth + 1)
    out = {k: _draft7(v, defs, depth) for k, v in schema.items() if k not in ("$schema", "$defs")}
    if "prefixItems" in out:
        out["additionalItems"] = out.pop("items", True)
        out["items"] = out.pop("prefixItems")
    elif out.get("type") == "array":
        # Keep documents small: recursive types otherwise grow past hypothesis' size limits.
        out["maxItems"] = min(out.get("maxItems", _MAX_SIZE), max(_MAX_SIZE, out.get("minItems", 0)))
    return out


_MAX_SIZE = 4


def _comparable(value: Any) -> Any:
    """Equality as the test means it: pydantic parses JSON floats lossily (562949953421312.2 comes
    out as Decimal('562949953421312.3')), so decimals compare at float precision. A model is read
    as its own (name, value) pairs: an extra key such as `keys` is not the mapping protocol."""
    if isinstance(value, Decimal):
        return ("decimal", float(value))
    if isinstance(value, BaseModel):
        return (type(value), _comparable(dict(iter(value))), value.model_fields_set, value.model_extra)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value), _comparable(vars(value)))
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return (type(value), [_comparable(v) for v in value])
    if isinstance(value, Iterator):  # pydantic's lazy `Iterable[...]`: validated as it is consumed
        return (list, [_comparable(v) for v in value])
    return value


def _ints(doc: Any) -> Any:
    """The document with every integral float written as an int."""
    if isinstance(doc, float) and doc.is_integer():
        return int(doc)
    if isinstance(doc, list):
        return [_ints(v) for v in doc]
    if isinstance(doc, dict):
        return {k: _ints(v) for k, v in doc.items()}
    return doc


def _pydantic(adapter: TypeAdapter[Any], doc: Any) -> tuple[bool, Any]:
    try:
        return True, adapter.validate_json(json.dumps(doc), strict=True)
    except ValidationError:
        return False, None


def _check(case: Case, module: ModuleType, validator: Any, adapter: TypeAdapter[Any], doc: Any) -> None:
    value = json.loads(json.dumps(doc))
    issues = module.validate(case.ref, value)
    try:
        ours = module.decode(case.ref, value)
        ours_ok = True
    except module.DecodeError as exc:
        ours_ok = False
        assert exc.issues == issues
    assert ours_ok == (not issues)
    schema_ok = validator.is_valid(value)
    if schema_ok and not ours_ok:
        # python-jsonschema runs `pattern` through `re.search`, where `$` also matches before a
        # final newline; ECMA-262 (the spec) and pydantic do not, and neither do we.
        assert all(i.code in ("pattern", "format") for i in issues) and "\\n" in json.dumps(doc), (
            f"jsonschema accepts, decoder rejects {doc!r}: {issues}"
        )
        schema_ok = False
    assert ours_ok == schema_ok, f"decoder {ours_ok} vs jsonschema {schema_ok} on {doc!r}: {issues}"
    pyd_ok, theirs = _pydantic(adapter, doc)
    if ours_ok and not pyd_ok:
        pyd_ok, theirs = _pydantic(adapter, _ints(doc))
        assert pyd_ok, f"decoder accepts, pydantic rejects {doc!r}"
    if pyd_ok and not ours_ok:
        quirk = all(i.code in ("literal", "enum", "union") and i.actual.startswith("bool") for i in issues)
        assert quirk, f"pydantic accepts, decoder rejects {doc!r}: {issues}"
        return
    if ours_ok:
        assert _comparable(ours) == _comparable(theirs), f"decoded {ours!r} != pydantic {theirs!r} for {doc!r}"
        if case.ref in module._ENCODERS:  # a build has encoders for what handlers answer with
            encoded = module.encode(case.ref, ours)
            assert module.decode(case.ref, json.loads(json.dumps(encoded))) == ours


@pytest.mark.parametrize("case", CASES, ids=[c.ref for c in CASES])
def test_decoder_agrees_with_pydantic_and_jsonschema(case: Case, validators: ModuleType) -> None:
    schema = gtypes_json_schema(all_gtypes(), RefType(ref=case.ref))
    validator = jsonschema.Draft202012Validator(schema)
    adapter: TypeAdapter[Any] = TypeAdapter(case.pytype)
    valid = from_schema(_draft7(schema, cast(dict[str, Any], schema["$defs"])))

    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        doc = data.draw(valid)
        _check(case, validators, validator, adapter, doc)
        _check(case, validators, validator, adapter, _mutate(data.draw, doc))

    run()


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert len({c.ref for c in CASES}) == len(CASES)
    assert Path(__file__).parent.name == "property"
