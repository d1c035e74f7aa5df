"""The catalogue's negative cases: changes an existing client never notices. Each comes out
with no ERR/WARN finding in WIRE or POLICY; most also name the safe verdict they got."""

from __future__ import annotations

import pytest

from tests.unit.timescape.rules_support import Project, breaking, diff_sources, op
from tests.unit.timescape.test_rules import KEEP, qry, req, resp, typed

# (case, expected safe rule or None, old source, new source)
NEGATIVE: list[tuple[str, str | None, str, str]] = [
    ("endpoint-added", "endpoint-added", op('@get("/a")'), op('@get("/a")') + op('@get("/b")', name="b")),
    ("optional-parameter-added", "request-parameter-added", qry("page: int"), qry("page: int;size: NotRequired[int]")),
    (
        "optional-request-property-added",
        "request-property-added",
        req("qty: int"),
        req("qty: int;note: NotRequired[str]"),
    ),
    ("response-property-added", "response-property-added", resp("id: int"), resp("id: int;name: str")),
    (
        "response-media-type-added",
        "response-media-type-added",
        typed("id: int", "Out") + op('@get("/a")', out="Out"),
        typed("id: int", "Out") + op('@get("/a", produces=["application/json", "application/xml"])', out="Out"),
    ),
    (
        "request-enum-value-added",
        "request-property-enum-value-added",
        req("kind: Literal['a', 'b']"),
        req("kind: Literal['a', 'b', 'c']"),
    ),
    (
        "request-property-made-optional",
        "request-property-became-optional",
        req("qty: int"),
        req("qty: NotRequired[int]"),
    ),
    (
        "response-property-made-required",
        "response-property-became-required",
        resp("n: NotRequired[int]"),
        resp("n: int"),
    ),
    ("request-type-widened-integer-to-number", "request-property-type-widened", req("qty: int"), req("qty: float")),
    ("response-type-narrowed-number-to-integer", "response-property-type-narrowed", resp("n: float"), resp("n: int")),
    (
        "request-max-raised",
        "request-property-limit-loosened",
        req("qty: Annotated[int, Field(le=5)]"),
        req("qty: Annotated[int, Field(le=10)]"),
    ),
    (
        "request-min-lowered",
        "request-property-limit-loosened",
        req("name: Annotated[str, Field(min_length=3)]"),
        req("name: Annotated[str, Field(min_length=1)]"),
    ),
    (
        "pattern-deleted",
        "request-property-pattern-removed",
        req("code: Annotated[str, Field(pattern='^[A-Z]+$')]"),
        req("code: str"),
    ),
    (
        "pattern-changed-to-match-anything",
        "request-property-pattern-removed",
        req("code: Annotated[str, Field(pattern='^[A-Z]+$')]"),
        req("code: Annotated[str, Field(pattern='.*')]"),
    ),
    (
        "deprecating-an-endpoint",
        "api-deprecated",
        op('@get("/a")'),
        op('@get("/a", deprecated=True, sunset="2099-01-01")'),
    ),
    (
        "deleting-an-endpoint-after-its-sunset",
        "api-removed-after-sunset",
        KEEP + op('@get("/a", deprecated=True, sunset="2026-01-31")'),
        KEEP,
    ),
    (
        "deleting-a-deprecated-endpoint-without-sunset",
        "api-deprecated-removed",
        KEEP + op('@get("/a", deprecated=True)'),
        KEEP,
    ),
    (
        "raising-stability",
        "api-stability-increased",
        op('@get("/a", stability="beta")'),
        op('@get("/a", stability="stable")'),
    ),
    (
        "descriptions-and-tags-changed",
        None,
        op('@get("/a", tags=["x"], summary="Old")'),
        op('@get("/a", tags=["y"], summary="New")').replace("...\n", '\n    """New words."""\n'),
    ),
    (
        "required-read-only-request-property-added",
        None,
        req("qty: int"),
        req("qty: int;id: ReadOnly[int]"),
    ),
    (
        "class-renamed-same-wire-shape",
        "sdk-type-renamed",
        typed("qty: int", "Order") + op(body="Order"),
        typed("qty: int", "Purchase") + op(body="Purchase"),
    ),
    (
        "request-scalar-widened-into-a-union",
        "request-property-type-widened",
        req("v: int"),
        req("v: int | str"),
    ),
    ("response-union-narrowed-to-one-option", "response-property-type-narrowed", resp("v: int | str"), resp("v: int")),
    ("response-enum-value-removed", None, resp("s: Literal['a', 'b']"), resp("s: Literal['a']")),
    ("request-made-nullable", None, req("qty: int"), req("qty: int | None")),
    ("response-made-non-nullable", None, resp("n: int | None"), resp("n: int")),
    ("unchanged-app", None, op('@get("/a")'), op('@get("/a")')),
    ("roles-widened", None, op('@get("/a", roles=["admin"])'), op('@get("/a", roles=["admin", "staff"])')),
]


@pytest.mark.parametrize(("case", "safe_rule", "old", "new"), NEGATIVE, ids=[c[0] for c in NEGATIVE])
def test_negative_case_is_not_breaking(project: Project, case: str, safe_rule: str | None, old: str, new: str) -> None:
    findings = diff_sources(project, old, new)
    assert breaking(findings) == [], [(f.rule, f.level.value, f.path) for f in breaking(findings)]
    if safe_rule is not None:
        assert safe_rule in [f.rule for f in findings], [(f.rule, f.path) for f in findings]


def test_a_renamed_class_is_an_sdk_finding_only(project: Project) -> None:
    old = typed("qty: int", "Order") + op(body="Order")
    new = typed("qty: int", "Purchase") + op(body="Purchase")
    findings = diff_sources(project, old, new)
    assert [(f.rule, f.category.value, f.old, f.new) for f in findings] == [
        ("sdk-type-renamed", "SDK", "Order", "Purchase")
    ]
