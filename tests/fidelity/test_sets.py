"""Sets follow pydantic: duplicates are accepted and dropped, in the decoder and the schema (item 3)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fidelity.built import built

MODELS = """
from typing_extensions import TypedDict
from pydantic import BaseModel

class Tags(TypedDict):
    names: set[str]
    ids: frozenset[int]

class TagModel(BaseModel):
    names: set[str]
"""

DOCS: list[tuple[str, Any]] = [
    ("Tags", {"names": ["a", "a", "b"], "ids": [1, 2, 2, 1]}),
    ("Tags", {"names": [], "ids": [3, 3.0]}),
    ("Tags", {"names": ["a", 1], "ids": []}),
    ("TagModel", {"names": ["x", "x"]}),
]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with built(tmp_path_factory.mktemp("sets"), MODELS, ["Tags", "TagModel"]) as b:
        yield b


@pytest.mark.parametrize(("name", "doc"), DOCS)
def test_sets_with_duplicates_agree_with_pydantic_and_the_schema(app: Any, name: str, doc: Any) -> None:
    ours_ok, ours = app.ours(name, doc)
    theirs_ok, theirs = app.theirs(name, doc)
    if doc.get("ids") == [3, 3.0]:  # SPEC: an integral JSON number is a valid int, pydantic strict disagrees
        assert ours_ok and ours["ids"] == frozenset({3})
    else:
        assert ours_ok == theirs_ok, (ours, theirs)
        if ours_ok:
            assert ours == theirs
    assert app.schema_ok(name, doc) == ours_ok


def test_a_length_bound_on_a_set_is_a_diagnostic(project: Any) -> None:
    models = (
        "from typing import Annotated, TypedDict\nfrom annotated_types import MinLen\n"
        "class T(TypedDict):\n    s: Annotated[set[int], MinLen(2)]\n"
    )
    handlers = (
        "from gati_runtime_min import GlobalContext, LocalContext, Request, Response, handler\n"
        "from app.models import T\n"
        '@handler("POST", "/x")\n'
        "def h(req: Request[T], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None: ...\n"
    )
    result = project({"app/__init__.py": "", "app/models.py": models, "app/handlers.py": handlers})
    assert [(d.code, d.span.line) for d in result.diagnostics] == [("GATI110", 4)]
    assert "distinct items" in result.diagnostics[0].message
