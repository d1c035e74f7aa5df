"""The diff engine: one fixture pair (old source, new source) per catalogue rule, built by the
real pipeline and compared as contracts; the finding must carry the rule, its catalogue level
and category, the JSON path and a source location."""

from __future__ import annotations

import pytest

from gati_compiler.timescape.diff import RULES
from tests.unit.timescape.rules_support import Project, diff_sources, op

KEEP = op('@get("/keep")', name="keep")
B = "class B(TypedDict):\n    qty: int\n"
B_OPT = "class B(TypedDict):\n    qty: int\n    note: NotRequired[str]\n"
Q = "class Q(TypedDict):\n    page: NotRequired[int]\n"


def typed(fields: str, name: str = "B", base: str = "TypedDict") -> str:
    return f"class {name}({base}):\n" + "".join(f"    {f}\n" for f in fields.split(";"))


def req(fields: str, deco: str = '@post("/a")') -> str:
    return typed(fields) + op(deco, body="B")


def resp(fields: str, deco: str = '@get("/a")') -> str:
    return typed(fields, "Out") + op(deco, out="Out")


def qry(fields: str) -> str:
    return typed(fields, "Q") + op('@get("/a")', query="Q")


# (rule id, expected JSON path or None, old source, new source)
CASES: list[tuple[str, str | None, str, str]] = [
    (
        "api-removed-without-deprecation",
        "op",
        op('@get("/a")', name="a") + op('@post("/a")', name="b"),
        op('@post("/a")', name="b"),
    ),
    ("api-path-removed-without-deprecation", "op", op('@get("/a")', name="a"), op('@get("/b")', name="b")),
    (
        "api-removed-before-sunset",
        "op",
        KEEP + op('@get("/a", deprecated=True, sunset="2099-01-01")'),
        KEEP,
    ),
    (
        "api-sunset-date-changed-too-small",
        "op",
        op('@get("/a", deprecated=True, sunset="2099-01-01")'),
        op('@get("/a", deprecated=True, sunset="2098-01-01")'),
    ),
    (
        "api-sunset-date-deleted",
        "op",
        op('@get("/a", deprecated=True, sunset="2099-01-01")'),
        op('@get("/a", deprecated=True)'),
    ),
    ("api-stability-decreased", "op", op('@get("/a", stability="stable")'), op('@get("/a", stability="beta")')),
    ("new-request-path-parameter", "request.path.id", op('@get("/a")'), op('@get("/a/{id:int}")')),
    (
        "new-required-request-parameter",
        "request.query.size",
        qry("page: NotRequired[int]"),
        qry("page: NotRequired[int];size: int"),
    ),
    ("request-parameter-became-required", "request.query.page", qry("page: NotRequired[int]"), qry("page: int")),
    ("request-parameter-removed", "request.query.size", qry("page: int;size: int"), qry("page: int")),
    ("request-parameter-type-changed", "request.query.page", qry("page: int"), qry("page: str")),
    ("request-parameter-became-enum", "request.query.sort", qry("sort: str"), qry("sort: Literal['asc', 'desc']")),
    (
        "request-parameter-enum-value-removed",
        "request.query.sort",
        qry("sort: Literal['asc', 'desc']"),
        qry("sort: Literal['asc']"),
    ),
    (
        "request-parameter-default-value-changed",
        "request.query.page",
        typed("page: int = 1", "Q", "BaseModel") + op('@get("/a")', query="Q"),
        typed("page: int = 2", "Q", "BaseModel") + op('@get("/a")', query="Q"),
    ),
    ("request-body-added-required", "request.body", B + op(), B + op(body="B")),
    ("request-body-became-required", "request.body", B + op(body="B | None"), B + op(body="B")),
    ("new-required-request-property", "request.body.sku", req("qty: int"), req("qty: int;sku: str")),
    ("request-property-became-required", "request.body.qty", req("qty: NotRequired[int]"), req("qty: int")),
    ("request-property-type-changed", "request.body.qty", req("qty: int"), req("qty: str")),
    ("request-property-became-not-nullable", "request.body.qty", req("qty: int | None"), req("qty: int")),
    ("request-property-removed", "request.body.note", req("qty: int;note: str"), req("qty: int")),
    (
        "request-property-enum-value-removed",
        "request.body.color",
        "class Color(Enum):\n    RED = 'red'\n    BLUE = 'blue'\n" + req("color: Color"),
        "class Color(Enum):\n    RED = 'red'\n" + req("color: Color"),
    ),
    ("request-property-became-enum", "request.body.kind", req("kind: str"), req("kind: Literal['a', 'b']")),
    (
        "request-property-max-decreased",
        "request.body.qty (maximum)",
        req("qty: Annotated[int, Field(le=10)]"),
        req("qty: Annotated[int, Field(le=5)]"),
    ),
    (
        "request-property-min-increased",
        "request.body.name (minLength)",
        req("name: Annotated[str, Field(min_length=1)]"),
        req("name: Annotated[str, Field(min_length=3)]"),
    ),
    (
        "request-property-max-set",
        "request.body.qty (maximum)",
        req("qty: int"),
        req("qty: Annotated[int, Field(le=10)]"),
    ),
    (
        "request-property-pattern-added",
        "request.body.code",
        req("code: str"),
        req("code: Annotated[str, Field(pattern='^[A-Z]+$')]"),
    ),
    (
        "request-property-pattern-changed",
        "request.body.code",
        req("code: Annotated[str, Field(pattern='^[A-Z]+$')]"),
        req("code: Annotated[str, Field(pattern='^[a-z]+$')]"),
    ),
    (
        "request-property-one-of-removed",
        "request.body.v",
        req("v: int | str | list[int]"),
        req("v: int | str"),
    ),
    (
        "request-body-media-type-removed",
        "request.content",
        B + op('@post("/a", consumes=["application/json", "application/x-www-form-urlencoded"])', body="B"),
        B + op('@post("/a", consumes=["application/json"])', body="B"),
    ),
    (
        "response-success-status-removed",
        "response.status",
        typed("id: int", "Out") + op('@post("/a", status=201)', out="Out"),
        typed("id: int", "Out") + op('@post("/a", status=200)', out="Out"),
    ),
    (
        "response-media-type-removed",
        "response.content",
        typed("id: int", "Out") + op('@get("/a", produces=["application/json", "application/xml"])', out="Out"),
        typed("id: int", "Out") + op('@get("/a", produces=["application/json"])', out="Out"),
    ),
    ("response-required-property-removed", "response.body.name", resp("id: int;name: str"), resp("id: int")),
    (
        "response-optional-property-removed",
        "response.body.name",
        resp("id: int;name: NotRequired[str]"),
        resp("id: int"),
    ),
    ("response-property-became-optional", "response.body.name", resp("name: str"), resp("name: NotRequired[str]")),
    ("response-property-became-nullable", "response.body.name", resp("name: str"), resp("name: str | None")),
    ("response-property-type-changed", "response.body.id", resp("id: int"), resp("id: str")),
    (
        "response-property-enum-value-added",
        "response.body.state",
        resp("state: Literal['open', 'closed']"),
        resp("state: Literal['open', 'closed', 'archived']"),
    ),
    ("response-property-one-of-added", "response.body.v", resp("v: int | str"), resp("v: int | str | list[int]")),
    (
        "response-property-max-increased",
        "response.body.n (maximum)",
        resp("n: Annotated[int, Field(le=10)]"),
        resp("n: Annotated[int, Field(le=20)]"),
    ),
    (
        "response-property-min-decreased",
        "response.body.n (minimum)",
        resp("n: Annotated[int, Field(ge=1)]"),
        resp("n: int"),
    ),
    (
        "required-response-header-removed",
        "response.header.ETag",
        op('@get("/a", response_headers=["ETag"])'),
        op('@get("/a")'),
    ),
    (
        "response-header-became-optional",
        "response.header.ETag",
        op('@get("/a", response_headers=["ETag"])'),
        op('@get("/a", response_headers=["ETag?"])'),
    ),
    (
        "optional-response-header-removed",
        "response.header.X-Trace",
        op('@get("/a", response_headers=["X-Trace?"])'),
        op('@get("/a")'),
    ),
    (
        "property-wire-name-changed",
        "request.body.qty",
        typed("qty: int = Field(alias='qty')", "B", "BaseModel") + op(body="B"),
        typed("qty: int = Field(alias='quantity')", "B", "BaseModel") + op(body="B"),
    ),
    (
        "enum-member-renamed",
        "response.body.color",
        "class Color(Enum):\n    RED = 'red'\n" + resp("color: Color"),
        "class Color(Enum):\n    CRIMSON = 'red'\n" + resp("color: Color"),
    ),
    ("property-cardinality-changed", "request.body.tag", req("tag: str"), req("tag: list[str]")),
    ("property-one-of-changed", "response.body.v", resp("v: int"), resp("v: int | list[int]")),
    (
        "request-type-swapped",
        "request.body",
        typed("qty: int", "A") + op(body="A"),
        typed("qty: int", "A") + typed("name: str", "C") + op(body="C"),
    ),
    (
        "response-type-swapped",
        "response.body",
        typed("qty: int", "A") + op('@get("/a")', out="A"),
        typed("qty: int", "A") + typed("name: str", "C") + op('@get("/a")', out="C"),
    ),
    ("api-streaming-changed", "op", op('@get("/a")'), op('@get("/a", streaming=True)')),
    ("api-method-changed", "op", op('@put("/a")'), op('@post("/a")')),
    ("sdk-operation-renamed", "sdk", op('@get("/a")', name="op"), op('@get("/a")', name="fetch")),
    ("api-security-added", "op", op('@get("/a")'), op('@get("/a", roles=["admin"])')),
]


@pytest.mark.parametrize(("rule", "path", "old", "new"), CASES, ids=[c[0] for c in CASES])
def test_rule_is_detected_with_its_level_category_and_path(
    project: Project, rule: str, path: str | None, old: str, new: str
) -> None:
    findings = diff_sources(project, old, new)
    hits = [f for f in findings if f.rule == rule]
    assert hits, f"{rule} not found in {[(f.rule, f.path) for f in findings]}"
    catalogue = RULES[rule]
    for f in hits:
        assert (f.level, f.category) == (catalogue.level, catalogue.category)
        assert f.source.file == "app/handlers.py" and f.source.line > 0
        assert f.message
    if path is not None:
        assert path in [f.path for f in hits], [f.path for f in hits]


def test_every_catalogue_row_has_a_fixture() -> None:
    rows_with_fixture = {RULES[c[0]].row for c in CASES}
    # row 25's allOf half and header parameters (7) have no Python source form: contract-level tests
    assert rows_with_fixture == set(range(1, 48))


def test_every_rule_is_documented_in_breaking_changes_md() -> None:
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[3] / "docs" / "breaking-changes.md").read_text(encoding="utf-8")
    missing = [rid for rid in RULES if f"`{rid}`" not in docs]
    assert not missing, f"add these rules to docs/breaking-changes.md: {missing}"
