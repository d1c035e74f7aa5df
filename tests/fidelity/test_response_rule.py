"""What a handler may answer with, one rule for every type (item 5), and a response with no JSON
form names its real cause and JSON path (item 6). A real build served in-process."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from gati_compiler.pipeline import build
from gati_runtime_min import GatiApp
from gati_runtime_min.testing import AppClient

MODELS = """
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from pydantic import BaseModel


class Kind(Enum):
    BOOK = "book"


class Price(BaseModel):
    amount: Decimal
    at: datetime
    id: UUID
    kind: Kind


class Blob(BaseModel):
    meta: Any
"""

HANDLERS = """
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from uuid import UUID

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get
from respapp.models import Blob, Kind, Price


@get("/python")
def python(req: Request[None], res: Response[Price], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json(Price(amount=Decimal("10.50"), at=datetime(2026, 1, 2, 3, 4, 5), id=UUID(int=1), kind=Kind.BOOK))


@get("/json-form")
def json_form(req: Request[None], res: Response[Price], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json({"amount": "10.50", "at": "2026-01-02T03:04:05", "id": str(UUID(int=1)), "kind": "book"})


@get("/wrong")
def wrong(req: Request[None], res: Response[Price], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json({"amount": "ten", "at": "yesterday", "id": "x", "kind": "book"})


@get("/proxy")
def proxy(req: Request[None], res: Response[Blob], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json(Blob(meta={"tags": [1, MappingProxyType({"a": 1})]}))
"""


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("resp")
    (root / "respapp").mkdir()
    (root / "pyproject.toml").write_text('[tool.gati]\nname = "respapp"\n', encoding="utf-8")
    (root / "respapp" / "__init__.py").write_text("", encoding="utf-8")
    (root / "respapp" / "models.py").write_text(textwrap.dedent(MODELS), encoding="utf-8")
    (root / "respapp" / "handlers.py").write_text(textwrap.dedent(HANDLERS), encoding="utf-8")
    result = build(root, write=True, jobs=1)
    assert result.ok, [(d.code, d.message) for d in result.diagnostics]
    yield root / ".gati"
    for name in [m for m in sys.modules if m.startswith("respapp")]:
        del sys.modules[name]


def get(build_dir: Path, path: str) -> tuple[int, Any]:
    async def main() -> tuple[int, Any]:
        async with AppClient(GatiApp(build_dir)) as client:
            r = await client.get(path)
            return r.status_code, r.json()

    return asyncio.run(main())


EXPECTED = {
    "amount": "10.50",
    "at": "2026-01-02T03:04:05",
    "id": "00000000-0000-0000-0000-000000000001",
    "kind": "book",
}


def test_the_annotated_python_values_are_answered(app_dir: Path) -> None:
    assert get(app_dir, "/python") == (200, EXPECTED)


def test_the_json_form_of_every_field_is_answered_the_same(app_dir: Path) -> None:
    # a dict for the model, a string for the Decimal, the datetime and the UUID, the enum's value
    assert get(app_dir, "/json-form") == (200, EXPECTED)


def test_a_json_form_the_decoder_refuses_is_still_a_501(app_dir: Path) -> None:
    status, body = get(app_dir, "/wrong")
    assert (status, body["error"]["code"]) == (500, "GATI501")


def test_a_value_with_no_json_form_names_its_type_and_path(app_dir: Path) -> None:
    status, body = get(app_dir, "/proxy")
    assert (status, body["error"]["code"]) == (500, "GATI507")
    assert "`$.meta.tags[1]` holds a `mappingproxy`" in body["error"]["message"]
