"""Structural comparison: recursive, generic and union types by shape, never by name; and the
two rules with no Python source form (allOf parts, header parameters), at contract level."""

from __future__ import annotations

from gati_compiler.ir.gtype import (
    ArrayType,
    GType,
    IntersectionType,
    ObjectType,
    PrimitiveType,
    Property,
    RefType,
)
from gati_compiler.ir.models import SourceRef
from gati_compiler.timescape.contract import ApiContract, HandlerContract
from gati_compiler.timescape.diff import diff_contracts
from tests.unit.timescape.rules_support import TODAY, Project, breaking, diff_sources, op
from tests.unit.timescape.test_rules import typed

INT = PrimitiveType(type="integer")
STR = PrimitiveType(type="string")


def obj(**props: GType) -> ObjectType:
    return ObjectType(properties=tuple(Property(name=k, type=v, required=True) for k, v in props.items()))


def api(gtypes: dict[str, GType] | None = None, **parts: GType) -> ApiContract:
    h = HandlerContract(
        handlerId="op",
        method="POST",
        path="/a",
        module="app.handlers",
        function="op",
        fingerprint="x",
        source=SourceRef(file="app/handlers.py", line=3),
        **parts,
    )
    return ApiContract(app="app", handlers=(h,), gtypes=gtypes or {})


def test_request_all_of_part_added_is_rule_25() -> None:
    old = api(request=IntersectionType(parts=(obj(a=INT),)))
    new = api(request=IntersectionType(parts=(obj(a=INT), obj(b=STR))))
    rules = [(f.rule, f.level.value) for f in diff_contracts(old, new, today=TODAY)]
    assert ("request-property-all-of-added", "ERR") in rules


def test_new_required_header_parameter_is_rule_7() -> None:
    old = api(headers=obj())
    new = api(headers=obj(x_tenant=STR))
    (f,) = diff_contracts(old, new, today=TODAY)
    assert (f.rule, f.path, f.level.value) == ("new-required-request-parameter", "request.header.x_tenant", "ERR")


def test_recursive_types_terminate_and_find_the_nested_change() -> None:
    def node(value: GType) -> ObjectType:
        return ObjectType(
            name="Node",
            properties=(
                Property(name="value", type=value, required=True),
                Property(name="children", type=ArrayType(items=RefType(ref="Node")), required=True),
            ),
        )

    old = api({"Node": node(INT)}, response=RefType(ref="Node"))
    new = api({"Node": node(STR)}, response=RefType(ref="Node"))
    findings = diff_contracts(old, new, today=TODAY)
    assert [(f.rule, f.path) for f in findings] == [("response-property-type-changed", "response.body.value")]
    assert diff_contracts(old, old, today=TODAY) == []


def test_mutually_recursive_types_renamed_are_not_a_wire_change(project: Project) -> None:
    old = "class A(TypedDict):\n    b: 'B | None'\n    n: int\nclass B(TypedDict):\n    a: 'A | None'\n" + op(
        '@get("/a")', out="A"
    )
    new = "class A2(TypedDict):\n    b: 'B2 | None'\n    n: int\nclass B2(TypedDict):\n    a: 'A2 | None'\n" + op(
        '@get("/a")', out="A2"
    )
    findings = diff_sources(project, old, new)
    assert breaking(findings) == []
    assert {f.rule for f in findings} == {"sdk-type-renamed"}


def test_generic_instances_compare_by_their_arguments(project: Project) -> None:
    generic = (
        "from typing import Generic, TypeVar\nT = TypeVar('T')\n"
        "class Page(BaseModel, Generic[T]):\n    items: list[T]\n"
    )
    old = generic + typed("qty: int", "Item") + op('@get("/a")', out="Page[Item]")
    same = generic + typed("qty: int", "Thing") + op('@get("/a")', out="Page[Thing]")
    changed = generic + typed("qty: str", "Item") + op('@get("/a")', out="Page[Item]")
    assert breaking(diff_sources(project, old, same)) == []
    hits = [(f.rule, f.path) for f in breaking(diff_sources(project, old, changed))]
    assert hits == [("response-property-type-changed", "response.body.items[].qty")]


def test_discriminated_union_options_are_matched_by_tag(project: Project) -> None:
    types = (
        "class Cat(TypedDict):\n    kind: Literal['cat']\n    lives: int\n"
        "class Dog(TypedDict):\n    kind: Literal['dog']\n    good: bool\n"
    )
    old = types + typed("pet: Cat | Dog", "B") + op(body="B")
    new = types.replace("good: bool", "good: str") + typed("pet: Cat | Dog", "B") + op(body="B")
    hits = [(f.rule, f.path) for f in breaking(diff_sources(project, old, new))]
    assert hits == [("request-property-type-changed", "request.body.pet.good")]


def test_findings_are_sorted_and_deterministic(project: Project) -> None:
    old = typed("a: int;b: int", "B") + op(body="B") + op('@get("/z")', name="z")
    new = typed("b: str;c: int", "B") + op(body="B")
    first = diff_sources(project, old, new)
    assert first == diff_sources(project, old, new)
    assert first == sorted(first, key=lambda f: f.sort_key)
