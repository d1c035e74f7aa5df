"""Timescape's verdicts tied to wire behaviour, with values from the generated decoders' own
JSON Schema and the real generated decoders.

- Property 46 (version diff computation): `diff(a, a)` is empty for any contract, and renaming
  every named type (same shapes) gives no WIRE finding.
- Property 14 (breaking change detection): for a random change of a random type, when the engine
  finds nothing breaking on the request side, every document the old decoder accepts is
  accepted by the new decoder; on the response side, every document valid for the new type
  (what the new encoder can produce) is accepted by the old decoder. So every change that does
  break a client on the wire is reported.
- Property 15 (non-breaking version activation): additive changes (an optional property, a new
  request enum value, a widened number, loosened limits) are never reported as breaking.
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any, Literal, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from gati_compiler.emit.validators import emit_validators
from gati_compiler.ir.gtype import (
    NULL,
    ArrayType,
    GType,
    LiteralType,
    ObjectType,
    PrimitiveType,
    Property,
    RefType,
    UnionType,
)
from gati_compiler.ir.jsonschema import gtypes_json_schema
from gati_compiler.ir.models import SourceRef
from gati_compiler.timescape.contract import ApiContract, HandlerContract
from gati_compiler.timescape.diff import Finding, diff_contracts
from gati_compiler.timescape.diff.model import Category, Level
from gati_compiler.timescape.diff.schema import Compare
from tests.corpus_types import all_gtypes
from tests.property.test_decoder_differential import _draft7

Side = Literal["request", "response"]
NAMES = ("a", "b", "c", "d")
WORDS = ("x", "y", "z", "w")
TODAY = __import__("datetime").date(2026, 12, 3)

# -- random GTypes ------------------------------------------------------------------------------


@st.composite
def primitives(draw: st.DrawFn) -> GType:
    kind = draw(st.sampled_from(["string", "integer", "number", "boolean"]))
    if kind in ("integer", "number"):
        low = draw(st.none() | st.integers(-5, 5))
        high = draw(st.none() | st.integers(5, 50))
        return PrimitiveType(type=kind, minimum=low, maximum=high)
    if kind == "string":
        low = draw(st.none() | st.integers(0, 3))
        high = draw(st.none() | st.integers(3, 8))
        pattern = draw(st.none() | st.sampled_from(["^[a-z]*$", "^[a-z0-9]*$", ".*"]))
        return PrimitiveType(type="string", minLength=low, maxLength=high, pattern=pattern)
    return PrimitiveType(type="boolean")


literals = st.lists(st.sampled_from(WORDS), min_size=1, max_size=4, unique=True).map(
    lambda vs: LiteralType(values=tuple(vs))
)


def _extend(children: st.SearchStrategy[GType]) -> st.SearchStrategy[GType]:
    arrays = st.builds(lambda g, n: ArrayType(items=g, maxItems=n), children, st.none() | st.integers(2, 4))
    nullable = children.map(lambda g: UnionType(options=(g, NULL)))
    objects = st.dictionaries(st.sampled_from(NAMES), st.tuples(children, st.booleans()), max_size=3).map(_object)
    return arrays | nullable | objects


def _object(props: dict[str, tuple[GType, bool]]) -> ObjectType:
    return ObjectType(properties=tuple(Property(name=k, type=g, required=r) for k, (g, r) in sorted(props.items())))


gtypes = st.recursive(primitives() | literals, _extend, max_leaves=6)
required = st.sampled_from([True, True, False])
roots = st.dictionaries(st.sampled_from(NAMES), st.tuples(gtypes, required), min_size=1, max_size=3).map(_object)
leaf_roots = st.tuples(primitives() | literals | st.builds(lambda g: ArrayType(items=g), primitives() | literals)).map(
    lambda t: _object({"a": (t[0], True)})
)


# -- random changes ------------------------------------------------------------------------------


@st.composite
def changed(draw: st.DrawFn, g: GType, depth: int = 0) -> GType:
    """`g` with one random change somewhere (or replaced when the change lands here)."""
    here = depth > 4 or draw(st.integers(0, 3)) == 0
    if isinstance(g, ObjectType) and not here and g.properties:
        i = draw(st.integers(0, len(g.properties) - 1))
        p = g.properties[i]
        q = p.model_copy(update={"type": draw(changed(p.type, depth + 1))})
        return g.model_copy(update={"properties": (*g.properties[:i], q, *g.properties[i + 1 :])})
    if isinstance(g, ArrayType) and not here:
        return g.model_copy(update={"items": draw(changed(g.items, depth + 1))})
    if isinstance(g, UnionType) and not here:
        return g.model_copy(update={"options": (draw(changed(g.options[0], depth + 1)), *g.options[1:])})
    options: list[GType] = [draw(gtypes), UnionType(options=(g, NULL))]
    common = len(options)
    if isinstance(g, UnionType) and len(g.options) == 2 and g.options[1] == NULL:
        options.append(g.options[0])
    if isinstance(g, ObjectType):
        name = draw(st.sampled_from(NAMES))
        kept = tuple(p for p in g.properties if p.name != name)
        added = Property(name=name, type=draw(gtypes), required=draw(st.booleans()))
        options.append(g.model_copy(update={"properties": tuple(sorted((*kept, added), key=lambda p: p.name))}))
        options.append(g.model_copy(update={"properties": kept}))
        options.append(
            g.model_copy(
                update={"properties": tuple(p.model_copy(update={"required": not p.required}) for p in g.properties)}
            )
        )
    if isinstance(g, PrimitiveType):
        options.append(draw(primitives()))
        if g.type == "integer":
            options.append(g.model_copy(update={"type": "number"}))
        if g.type == "number":
            options.append(g.model_copy(update={"type": "integer"}))
        attrs = {"string": ("minLength", "maxLength"), "integer": ("minimum", "maximum")}.get(g.type, ())
        attrs = ("minimum", "maximum") if g.type == "number" else attrs
        limits: dict[str, int | None] = {}
        if attrs:  # one limit at a time, so each direction of each limit gets its own verdict
            limits[draw(st.sampled_from(attrs))] = draw(st.none() | st.integers(0 if g.type == "string" else -3, 12))
        options.append(g.model_copy(update=limits))
    if isinstance(g, LiteralType):
        options.append(LiteralType(values=tuple(dict.fromkeys((*g.values, draw(st.sampled_from(WORDS)))))))
        if len(g.values) > 1:
            drop = draw(st.sampled_from(g.values))
            options.append(LiteralType(values=tuple(v for v in g.values if v != drop)))
        options.append(PrimitiveType(type="string"))
    if isinstance(g, ArrayType):
        options.append(g.items)
        options.append(g.model_copy(update={"maxItems": draw(st.none() | st.integers(1, 5))}))
    # the changes specific to the kind of `g` are drawn three times as often as the common ones
    return draw(st.sampled_from(options[:common] + options[common:] * 3))


# -- decoders -------------------------------------------------------------------------------------


_cache: dict[str, ModuleType] = {}


def decoder(root: GType) -> ModuleType:
    """The generated validators module for `{"Root": root}`, imported from its source."""
    key = root.model_dump_json()
    if key not in _cache:
        source = emit_validators({"Root": root}, [], header="property")["validators/__init__.py"].decode()
        module = ModuleType(f"_ts_prop_{len(_cache)}")
        exec(compile(source, module.__name__, "exec"), module.__dict__)
        _cache[key] = module
    return _cache[key]


def accepts(module: ModuleType, doc: Any) -> bool:
    try:
        module.decode("Root", json.loads(json.dumps(doc)))
    except module.DecodeError:
        return False
    return True


def documents(root: GType) -> st.SearchStrategy[Any]:
    schema = gtypes_json_schema({"Root": root}, RefType(ref="Root"))
    return from_schema(_draft7(schema, cast(dict[str, Any], schema.get("$defs", {}))))


def findings(old: GType, new: GType, side: Side) -> list[Finding]:
    out: list[Finding] = []
    Compare({}, {}, "op", side, SourceRef(file="h.py", line=1), out).compare(old, new, "body")
    return out


def breaking(found: list[Finding]) -> list[Finding]:
    return [f for f in found if f.level is not Level.INFO and f.category is Category.WIRE]


# -- properties -----------------------------------------------------------------------------------


def _contract(parts: list[tuple[GType | None, GType | None, bool, tuple[str, ...]]]) -> ApiContract:
    handlers = tuple(
        HandlerContract(
            handlerId=f"h{i}",
            method="POST",
            path=f"/h{i}",
            module="app",
            function=f"h{i}",
            request=req,
            response=resp,
            deprecated=dep,
            roles=roles,
            authRequired=bool(roles),
            fingerprint=str(i),
            source=SourceRef(file="app.py", line=i + 1),
        )
        for i, (req, resp, dep, roles) in enumerate(parts)
    )
    return ApiContract(app="app", handlers=handlers, gtypes=all_gtypes())


corpus_refs = st.sampled_from(sorted(all_gtypes())).map(lambda r: cast(GType, RefType(ref=r)))
handler_parts = st.lists(
    st.tuples(st.none() | corpus_refs | roots, st.none() | corpus_refs, st.booleans(), st.sampled_from([(), ("ops",)])),
    max_size=6,
)


@given(handler_parts)
def test_property_46_version_diff_computation(
    parts: list[tuple[GType | None, GType | None, bool, tuple[str, ...]]],
) -> None:
    contract = _contract(parts)
    assert diff_contracts(contract, contract, today=TODAY) == []
    copy = ApiContract.model_validate_json(contract.model_dump_json())
    assert diff_contracts(contract, copy, today=TODAY) == []


@given(handler_parts)
def test_property_46_renaming_every_type_is_not_a_wire_change(
    parts: list[tuple[GType | None, GType | None, bool, tuple[str, ...]]],
) -> None:
    contract = _contract(parts)
    text = contract.model_dump_json()
    for name in sorted(contract.gtypes, key=len, reverse=True):
        text = text.replace(f'"ref":"{name}"', f'"ref":"Renamed{name}"')
    renamed_types = {f"Renamed{k}": v for k, v in json.loads(text)["gtypes"].items()}
    renamed = ApiContract.model_validate({**json.loads(text), "gtypes": renamed_types})
    found = diff_contracts(contract, renamed, today=TODAY)
    assert [f for f in found if f.category is Category.WIRE] == []


def _safe_changes_keep_the_wire(data: st.DataObject, old: GType, side: Side) -> None:
    new = data.draw(changed(old))
    if breaking(findings(old, new, side)):
        return  # reported: a client may break; nothing more to prove
    # the engine says safe: no client can tell on the wire. Request: what old clients send (valid
    # for the old type) still decodes; response: what the new encoder sends (valid for the new
    # type) still decodes for old clients.
    source, target = (old, new) if side == "request" else (new, old)
    for _ in range(5):
        doc = data.draw(documents(source))
        if not accepts(decoder(source), doc):
            continue  # outside what the source side's decoder accepts (jsonschema's pattern quirks)
        assert accepts(decoder(target), doc), f"{side}: a change called safe rejects {doc!r}: {old} -> {new}"


@pytest.mark.slow
@settings(max_examples=60)
@given(data=st.data(), old=roots, side=st.sampled_from(["request", "response"]))
def test_property_14_breaking_change_detection(data: st.DataObject, old: GType, side: Side) -> None:
    _safe_changes_keep_the_wire(data, old, side)


@pytest.mark.slow
@settings(max_examples=200)
@given(data=st.data(), old=leaf_roots, side=st.sampled_from(["request", "response"]))
def test_property_14_breaking_change_detection_on_scalars(data: st.DataObject, old: GType, side: Side) -> None:
    """The same on one required scalar, list or enum field, where each change is likelier to matter."""
    _safe_changes_keep_the_wire(data, old, side)


@st.composite
def additive(draw: st.DrawFn, g: ObjectType) -> tuple[ObjectType, str]:
    kind = draw(st.sampled_from(["optional-property", "widen", "enum-value", "loosen"]))
    if kind == "optional-property" or not g.properties:
        extra = Property(name="zz_new", type=draw(gtypes), required=False)
        return g.model_copy(update={"properties": (*g.properties, extra)}), kind
    i = draw(st.integers(0, len(g.properties) - 1))
    p = g.properties[i]
    t = p.type
    if kind == "widen" and isinstance(t, PrimitiveType) and t.type == "integer":
        t = t.model_copy(update={"type": "number"})
    elif kind == "enum-value" and isinstance(t, LiteralType):
        t = LiteralType(values=(*t.values, "new-value"))
    elif isinstance(t, PrimitiveType):
        t = t.model_copy(update={"maximum": None, "maxLength": None, "minimum": None, "minLength": None})
    q = p.model_copy(update={"type": t})
    return g.model_copy(update={"properties": (*g.properties[:i], q, *g.properties[i + 1 :])}), kind


@given(data=st.data(), old=roots)
def test_property_15_non_breaking_version_activation(data: st.DataObject, old: ObjectType) -> None:
    new, kind = data.draw(additive(old))
    assert breaking(findings(old, new, "request")) == [], kind
    doc = data.draw(documents(old))
    if accepts(decoder(old), doc):
        assert accepts(decoder(new), doc)
