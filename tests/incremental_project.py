"""A small generated app the incremental-build and watch tests edit: a shared model module, handler
modules that import it, a `db` module with state, and a config. Pure text generation."""

from __future__ import annotations

from pathlib import Path

PYPROJECT = """[project]
name = "incrapp"
version = "0.1.0"

[tool.gati]
name = "incrapp"
exclude = ["app/tests/*"]
"""


def model_source(extra_fields: int = 0) -> str:
    extra = "".join(f"    extra_{i}: int\n" for i in range(extra_fields))
    return f"from typing_extensions import TypedDict\n\n\nclass Item(TypedDict):\n    id: int\n    name: str\n{extra}"


def handler_source(n: int, answer: str = "pong", *, fields: int = 0) -> str:
    """Handler module `n`: GET /h{n} answers `answer`; GET /h{n}/item answers an `Item`."""
    extra = "".join(f', "extra_{i}": {i}' for i in range(fields))
    return (
        "from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get\n\n"
        "from app.models import Item\n\n\n"
        f'@get("/h{n}")\n'
        f"async def ping_{n}(\n"
        "    req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext\n"
        ") -> None:\n"
        f'    res.json("{answer}")\n\n\n'
        f'@get("/h{n}/item")\n'
        f"async def item_{n}(\n"
        "    req: Request[None], res: Response[Item], lctx: LocalContext, gctx: GlobalContext\n"
        ") -> None:\n"
        f'    res.json({{"id": {n}, "name": "item {n}"{extra}}})\n'
    )


COUNTER_MODULE = (
    "from gati_runtime_min import module\n\n\n"
    '@module("counter")\n'
    "class Counter:\n"
    "    def __init__(self) -> None:\n"
    "        self.value = 0\n\n"
    "    async def bump(self) -> int:\n"
    "        self.value += 1\n"
    "        return self.value\n"
)

COUNTER_HANDLER = (
    "from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get\n\n\n"
    '@get("/count", modules=["counter"])\n'
    "async def count(req: Request[None], res: Response[int], lctx: LocalContext, gctx: GlobalContext) -> None:\n"
    '    res.json(await gctx.modules["counter"].bump())\n'
)


def write_project(root: Path, handlers: int = 3) -> None:
    (root / "app" / "handlers").mkdir(parents=True, exist_ok=True)
    (root / "app" / "tests").mkdir(exist_ok=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "handlers" / "__init__.py").write_text("")
    (root / "app" / "models.py").write_text(model_source())
    (root / "app" / "state.py").write_text(COUNTER_MODULE)
    (root / "app" / "handlers" / "count.py").write_text(COUNTER_HANDLER)
    (root / "app" / "tests" / "test_nothing.py").write_text("def test_nothing() -> None:\n    pass\n")
    for n in range(handlers):
        (root / "app" / "handlers" / f"h{n}.py").write_text(handler_source(n))


def read_artifacts(out_dir: Path) -> dict[str, bytes]:
    """Every file of a build folder except the cache."""
    return {
        p.relative_to(out_dir).as_posix(): p.read_bytes()
        for p in sorted(out_dir.rglob("*"))
        if p.is_file() and ".cache" not in p.relative_to(out_dir).parts
    }
