"""Helpers for the Timescape tests: synthetic contracts of any size, and a tiny app on disk."""

from __future__ import annotations

import textwrap
from functools import cache
from pathlib import Path

from gati_compiler.ir.gtype import GType, ObjectType, PrimitiveType, Property, RefType
from gati_compiler.ir.models import SourceRef
from gati_compiler.timescape.contract import ApiContract, HandlerContract

STRING = PrimitiveType(type="string")
INTEGER = PrimitiveType(type="integer")


@cache
def _item(i: int, revision: int) -> tuple[str, ObjectType, HandlerContract]:
    name = f"app.models.Item{i:04d}"
    props = [
        Property(name="id", type=INTEGER, required=True),
        Property(name="title", type=STRING, required=True),
        Property(name="meta", type=RefType(ref="app.models.Meta"), required=False),
    ]
    props += [Property(name=f"extra{r}", type=STRING, required=False) for r in range(revision)]
    contract = HandlerContract(
        handlerId=f"h{i:04d}",
        method="GET",
        path=f"/items{i:04d}/{{id}}",
        module="app.handlers",
        function=f"h{i:04d}",
        response=RefType(ref=name),
        fingerprint=f"sha256:{i:064x}",
        source=SourceRef(file="app/handlers.py", line=10 + 5 * i),
    )
    return name, ObjectType(name=f"Item{i:04d}", properties=tuple(props)), contract


META = ObjectType(name="Meta", properties=(Property(name="created", type=STRING, required=True),))


def synthetic_contract(handlers: int, revisions: dict[int, int] | None = None, app: str = "app") -> ApiContract:
    """An app of `handlers` handlers, each answering its own named object type that embeds a shared
    one. `revisions[i] = r` gives handler `i`'s type `r` extra fields (a changed contract)."""
    revisions = revisions or {}
    gtypes: dict[str, GType] = {"app.models.Meta": META}
    contracts = []
    for i in range(handlers):
        name, gtype, contract = _item(i, revisions.get(i, 0))
        gtypes[name] = gtype
        contracts.append(contract)
    return ApiContract(app=app, handlers=tuple(contracts), gtypes=dict(sorted(gtypes.items())))


HANDLERS_V1 = """
from typing_extensions import TypedDict
from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get


class Book(TypedDict):
    id: int
    title: str


@get("/ping")
async def ping(req: Request[None], res: Response[dict[str, str]], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json({"version": lctx.meta.version or "none"})


@get("/book")
async def book(req: Request[None], res: Response[Book], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json({"id": 1, "title": "Dune"})
"""

STATS = """

@get("/stats")
async def stats(req: Request[None], res: Response[dict[str, int]], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json({"books": 1})
"""


def write_app(root: Path, handlers: str = HANDLERS_V1, config: str = "") -> Path:
    """A one-file app under `root` (created); returns `root`."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text('[tool.gati]\nname = "tsapp"\n' + textwrap.dedent(config), encoding="utf-8")
    (root / "handlers.py").write_text(textwrap.dedent(handlers).lstrip(), encoding="utf-8")
    return root
