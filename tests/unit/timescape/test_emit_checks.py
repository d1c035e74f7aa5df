"""The quick checks of an old version's bodies (`emit_checks`) against that version's decoders.

The promise the runtime relies on: a check that answers True is never looser than the generated
decoder of the same type (the decoder would accept the value); False only sends the value to the
decoder. Both modules are generated here from the same GTypes, for real, and compared on values
Hypothesis draws from a pool built to land on both sides of each rule (lengths, patterns, bounds,
enum members, missing and unknown keys, integral floats, nesting and recursion).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gati_compiler.emit.validators import build_validators_part, render_validators
from gati_compiler.ir.gtype import (
    ArrayType,
    EnumMember,
    EnumType,
    GType,
    LiteralType,
    MapType,
    ObjectType,
    PrimitiveType,
    Property,
    RefType,
    UnionType,
)
from gati_compiler.timescape.emit_checks import checks_source

S, INT, B, N = (PrimitiveType(type="string"), PrimitiveType(type="integer"), PrimitiveType(type="boolean"),
                PrimitiveType(type="null"))  # fmt: skip

GTYPES: dict[str, GType] = {
    "Status": EnumType(
        name="Status", members=(EnumMember(name="A", value="active"), EnumMember(name="D", value="off"))
    ),
    "Tag": ObjectType(
        name="Tag",
        extra="forbid",
        properties=(
            Property(name="label", type=PrimitiveType(type="string", minLength=1, maxLength=3), required=True),
            Property(name="weight", type=PrimitiveType(type="integer", minimum=0, exclusiveMaximum=10), required=False),
        ),
    ),
    "User": ObjectType(
        name="User",
        properties=(
            Property(name="id", type=PrimitiveType(type="integer", exclusiveMinimum=0), required=True),
            Property(name="email", type=PrimitiveType(type="string", pattern=r"^[^@\s]+@[^@\s]+$"), required=True),
            Property(name="status", type=RefType(ref="Status"), required=False),
            Property(name="nick", type=UnionType(options=(S, N)), required=True),
            Property(name="admin", type=B, required=False),
            Property(name="kind", type=LiteralType(values=("person", "robot")), required=False),
            Property(name="tags", type=ArrayType(items=RefType(ref="Tag"), maxItems=2), required=False),
            Property(name="manager", type=UnionType(options=(RefType(ref="User"), N)), required=False),
        ),
    ),
    "Scores": ObjectType(  # a map: no quick check (the decoder alone)
        name="Scores", properties=(Property(name="by_name", type=MapType(keys=S, values=INT), required=True),)
    ),
}
REFS = ("Status", "Tag", "User", "Scores")


def _import(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def modules(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModuleType, ModuleType]:
    """(the generated validators, the generated quick checks) of `GTYPES`."""
    root = tmp_path_factory.mktemp("checks")
    decoders = build_validators_part(GTYPES, [], "dec", aliases={}, responses=True)
    for rel, data in render_validators(GTYPES, [], header="test", decoders=decoders, encoders=None).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    text = checks_source(GTYPES, {r: RefType(ref=r) for r in REFS}, {}, header="test")
    assert text is not None
    (root / "checks.py").write_text(text, encoding="utf-8")
    validators = _import(root / "validators" / "__init__.py", "_test_checks_validators")
    return validators, _import(root / "checks.py", "_test_checks_checks")


def accepted(validators: ModuleType, ref: str, value: Any) -> bool:
    try:
        validators.decode(ref, value)
    except validators.DecodeError:
        return False
    return True


SCALARS = st.sampled_from(
    ["", "a", "abcd", "ab", "a@b", "a b@c", "x@y\n", "active", "off", "on", "person", "robot",
     0, 1, -1, 9, 10, 1.0, 2.5, True, False, None]
)  # fmt: skip
KEYS = st.sampled_from(["id", "email", "status", "nick", "admin", "kind", "tags", "manager", "label", "weight", "x"])
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=8))


# what each key of a drawn object gets (Hypothesis starts from the first, a valid value)
OUTCOMES = st.sampled_from(["valid"] * 12 + ["invalid", "any", "missing"])


def mostly(valid: st.SearchStrategy[Any], invalid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually a valid value, now and then one of `invalid` or any value at all."""
    return OUTCOMES.flatmap(lambda o: valid if o == "valid" else invalid if o == "invalid" else VALUES)


TAGS = st.fixed_dictionaries(
    {"label": mostly(st.sampled_from(["a", "abc"]), st.sampled_from(["", "abcd", 1]))},
    optional={
        "weight": mostly(st.integers(0, 9), st.sampled_from([-1, 10, 2.0, True])),
        "x": SCALARS,  # an unknown key: `Tag` forbids it
    },
)


@st.composite
def users(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    """A `User`-like object: each key usually valid, sometimes wrong or missing."""
    out: dict[str, Any] = {}
    for key, valid, invalid in (
        ("id", st.integers(1, 3), st.sampled_from([0, -1, 1.0, True, "1"])),
        ("email", st.sampled_from(["a@b", "x.y@z"]), st.sampled_from(["ab", "a@b\n", "a b@c"])),
        ("status", st.sampled_from(["active", "off"]), st.sampled_from(["on", 1, None])),
        ("nick", st.sampled_from(["n", None]), st.sampled_from([3, False])),
        ("admin", st.booleans(), st.sampled_from([0, "yes"])),
        ("kind", st.sampled_from(["person", "robot"]), st.sampled_from(["cat", None])),
        ("tags", st.lists(TAGS, max_size=2), st.lists(TAGS, min_size=3, max_size=3)),
        ("manager", st.none() | (users(depth + 1) if depth < 2 else st.none()), st.sampled_from(["boss", []])),
    ):
        outcome = draw(OUTCOMES)
        if outcome != "missing":
            out[key] = draw(valid if outcome == "valid" else invalid if outcome == "invalid" else VALUES)
    if draw(OUTCOMES) == "any":
        out["unknown"] = draw(SCALARS)  # `User` ignores unknown keys
    return out


STATUSES = mostly(st.sampled_from(["active", "off"]), st.sampled_from(["on", "", 1]))


CASES = st.one_of(
    st.tuples(st.just("User"), users()),
    st.tuples(st.just("Tag"), TAGS),
    st.tuples(st.just("Status"), STATUSES),
    st.tuples(st.sampled_from(REFS), VALUES),
)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=CASES)
def test_a_value_the_quick_check_accepts_is_one_the_decoder_accepts(
    modules: tuple[ModuleType, ModuleType], case: tuple[str, Any]
) -> None:
    validators, checks = modules
    ref, value = case
    check = checks.BODIES.get(ref)
    if check is not None and check(value):
        assert accepted(validators, ref, value), (ref, value)


def test_the_quick_checks_accept_the_usual_valid_values(modules: tuple[ModuleType, ModuleType]) -> None:
    validators, checks = modules
    user = {"id": 1, "email": "a@b", "nick": None, "status": "off", "tags": [{"label": "x", "weight": 9}]}
    boss = {**user, "manager": {"id": 2, "email": "b@c", "nick": "b", "kind": "robot"}, "extra": [1]}
    for ref, value in (("User", user), ("User", boss), ("Tag", {"label": "abc"}), ("Status", "active")):
        assert checks.BODIES[ref](value) and accepted(validators, ref, value)


def test_what_the_quick_check_refuses_the_decoder_decides(modules: tuple[ModuleType, ModuleType]) -> None:
    validators, checks = modules
    integral = {"id": 1.0, "email": "a@b", "nick": "n"}  # an integral float: the decoder takes it
    assert not checks.BODIES["User"](integral) and accepted(validators, "User", integral)
    unknown = {"label": "a", "colour": "red"}  # `Tag` forbids unknown keys: both refuse
    assert not checks.BODIES["Tag"](unknown) and not accepted(validators, "Tag", unknown)


def test_a_type_it_cannot_state_exactly_gets_no_quick_check(modules: tuple[ModuleType, ModuleType]) -> None:
    _, checks = modules
    assert "Scores" not in checks.BODIES
    assert checks_source(GTYPES, {"only": RefType(ref="Scores")}, {}, header="test") is None
