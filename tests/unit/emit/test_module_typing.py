"""Typed module calls: the generated `MODULES` codecs check arguments and results, the generated
`module_clients.py` protocols pass `mypy --strict` and `ruff`, the runtime loader reads the
manifest's runtime, command, pool and method policies, and the mypy plugin makes real mypy report
a wrong argument and an unknown module id while correct calls pass."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from gati_compiler.pipeline import build
from gati_runtime_min.loader import MethodSpec, load_build

MODS = '''
from __future__ import annotations

import datetime
from dataclasses import dataclass
from enum import Enum
from typing import Protocol, TypedDict

from gati_runtime_min import method, module


class Quote(TypedDict):
    sku: str
    price: float


class Color(Enum):
    RED = "red"
    BLUE = "blue"


@dataclass
class Article:
    name: str
    color: Color
    at: datetime.datetime


@module(id="pricing", command=["node", "modules/pricing.mjs"], pool=2, timeout=1.5, retries=2)
class Pricing(Protocol):
    """Prices things."""

    @method(idempotent=True)
    async def quote(self, sku: str, qty: int = 1) -> Quote: ...

    @method(timeout=5)
    async def charge(self, sku: str, cents: int) -> bool: ...


@module("inventory", command=["python", "-m", "inventory_service"])
class Inventory(Protocol):
    async def items(self, colors: list[Color], since: datetime.date | None = None) -> list[Article]: ...

    async def count(self) -> int: ...


@module("cache")
class Cache:
    """In process: the class is the implementation."""

    def get(self, key: str) -> str | None:
        return None
'''

GOOD = """
from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get

from app.mods import Quote


@get("/quote")
async def quote(req: Request[None], res: Response[Quote], lctx: LocalContext, gctx: GlobalContext) -> None:
    first = await gctx.modules["pricing"].quote("sku-1", qty=2)
    ok: bool = await gctx.modules.pricing.charge("sku-1", 100)
    items = await gctx.modules["inventory"].items([], since=None)
    cached: str | None = gctx.modules.cache.get("k")
    n: int = await gctx.modules.inventory.count() + len(items) + int(ok) + len(cached or "")
    res.json({"sku": first["sku"], "price": first["price"] * n})
"""

BAD = """
from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get


@get("/bad")
async def bad(req: Request[None], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None:
    await gctx.modules["pricing"].quote(42)  # E: arg-type
    await gctx.modules.pricing.charge("sku")  # E: call-arg
    count: int = await gctx.modules["inventory"].count()
    total: str = await gctx.modules.inventory.count()  # E: assignment
    gctx.modules["cache"].get(count)  # E: arg-type
    gctx.modules["ghost"].anything()  # E: gati-module
    gctx.modules.spectre.anything()  # E: gati-module
    res.status(204)
"""


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("modapp")
    _write(
        root,
        {
            "pyproject.toml": """
                [tool.gati]
                name = "modapp"

                [tool.mypy]
                strict = true
                plugins = ["gati_compiler.mypy_plugin"]
                explicit_package_bases = true
                """,
            "app/__init__.py": "",
            "app/mods.py": MODS,
            "app/good.py": GOOD,
            "app/bad.py": BAD,
        },
    )
    result = build(root)
    assert result.program is not None and result.ok, [(d.code, d.message) for d in result.diagnostics]
    return root


@pytest.fixture(scope="module")
def validators(app: Path) -> Iterator[ModuleType]:
    sys.path.insert(0, str(app))
    try:
        spec = importlib.util.spec_from_file_location("modapp_validators", app / ".gati/validators/__init__.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(app))
        for name in [n for n in sys.modules if n == "app" or n.startswith("app.")]:
            del sys.modules[name]


# -- codecs --------------------------------------------------------------------------------------


def test_codecs_exist_for_every_method_of_out_of_process_modules(validators: ModuleType) -> None:
    assert {m: sorted(codecs) for m, codecs in validators.MODULES.items()} == {
        "inventory": ["count", "items"],
        "pricing": ["charge", "quote"],
    }


def test_encode_params_accepts_valid_arguments_and_returns_their_json_form(validators: ModuleType) -> None:
    quote = validators.MODULES["pricing"]["quote"]
    assert quote.encode_params({"sku": "a", "qty": 2}) == {"sku": "a", "qty": 2}
    assert quote.encode_params({"sku": "a"}) == {"sku": "a"}  # `qty` has a default
    items = validators.MODULES["inventory"]["items"]
    color = sys.modules["app.mods"].Color
    assert items.encode_params({"colors": [color.RED], "since": None}) == {"colors": ["red"], "since": None}
    import datetime

    assert items.encode_params({"colors": [], "since": datetime.date(2026, 1, 2)}) == {
        "colors": [],
        "since": "2026-01-02",
    }


@pytest.mark.parametrize(
    "arguments",
    [{"sku": 1}, {"qty": 2}, {"sku": "a", "qty": "2"}, {"sku": "a", "extra": 1}, {"sku": "a", "qty": True}],
)
def test_encode_params_rejects_wrong_arguments(validators: ModuleType, arguments: dict[str, Any]) -> None:
    with pytest.raises(validators.DecodeError) as caught:
        validators.MODULES["pricing"]["quote"].encode_params(arguments)
    assert caught.value.issues


def test_decode_result_checks_json_results_against_the_declared_type(validators: ModuleType) -> None:
    quote = validators.MODULES["pricing"]["quote"]
    assert quote.decode_result({"sku": "a", "price": 2}) == {"sku": "a", "price": 2}
    with pytest.raises(validators.DecodeError) as caught:
        quote.decode_result({"sku": "a"})
    assert [i.path for i in caught.value.issues] == ["$.price"]
    items = validators.MODULES["inventory"]["items"].decode_result(
        [{"name": "n", "color": "blue", "at": "2026-01-02T03:04:05Z"}]
    )
    mods = sys.modules["app.mods"]
    assert isinstance(items[0], mods.Article) and items[0].color is mods.Color.BLUE
    with pytest.raises(validators.DecodeError):
        validators.MODULES["inventory"]["items"].decode_result([{"name": "n", "color": "green", "at": "x"}])
    with pytest.raises(validators.DecodeError):
        validators.MODULES["pricing"]["charge"].decode_result("yes")


def test_decode_params_and_encode_result_serve_the_module_side(validators: ModuleType) -> None:
    charge = validators.MODULES["pricing"]["charge"]
    assert charge.decode_params({"sku": "a", "cents": 3}) == {"sku": "a", "cents": 3}
    with pytest.raises(validators.DecodeError):
        charge.decode_params({"sku": "a"})
    assert charge.encode_result(True) is True
    with pytest.raises(validators.DecodeError):
        charge.encode_result("true")


# -- the manifest as the runtime reads it ----------------------------------------------------------


def test_loader_reads_runtime_command_pool_and_method_policies(app: Path) -> None:
    try:
        loaded = load_build(app / ".gati")
        specs = {m.module_id: m for m in loaded.modules}
    finally:
        for name in [n for n in sys.modules if n == "app" or n.startswith("app.")]:
            del sys.modules[name]
    pricing, inventory = specs["pricing"], specs["inventory"]
    assert (pricing.runtime, pricing.command, pricing.pool) == ("process", ("node", "modules/pricing.mjs"), 2)
    assert pricing.methods == {
        "quote": MethodSpec(timeout=1.5, retries=2, idempotent=True),
        "charge": MethodSpec(timeout=5.0, retries=0, idempotent=False),
    }
    assert (inventory.runtime, inventory.pool) == ("process", 1) and inventory.methods["count"] == MethodSpec()
    cache = specs["cache"]
    assert (cache.runtime, cache.command, cache.pool) == ("python", (), 1)
    assert cache.methods == {"get": MethodSpec()}


# -- the typed clients and the mypy plugin --------------------------------------------------------


def test_generated_clients_protocols_carry_the_declared_types(app: Path) -> None:
    text = (app / ".gati/module_clients.py").read_text(encoding="utf-8")
    assert "class PricingModule(typing.Protocol):" in text
    assert "    async def quote(self, sku: str, qty: int = ...) -> Quote: ..." in text
    assert "class Article(typing.TypedDict):" in text and "class Color(enum.StrEnum):" in text
    assert '    "pricing": PricingModule,' in text


def test_generated_clients_are_ruff_clean(app: Path) -> None:
    ruff = Path(sys.executable).parent / "ruff"
    target = str(app / ".gati/module_clients.py")
    for command in (["format", "--check", "--diff"], ["check", "--select", "E,F,I,UP,B,SIM,RUF"]):
        run = subprocess.run(
            [str(ruff), *command, "--isolated", "--line-length", "120", target], capture_output=True, text=True
        )
        assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.slow
def test_mypy_plugin_reports_wrong_arguments_and_unknown_ids_and_passes_correct_calls(app: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "app", ".gati/module_clients.py"],
        cwd=app,
        capture_output=True,
        text=True,
    )
    reported = sorted(
        (line.split(":")[0], int(line.split(":")[1]), line.rsplit("[", 1)[-1].rstrip("]"))
        for line in run.stdout.splitlines()
        if ": error:" in line
    )
    expected = sorted(
        ("app/bad.py", n, line.split("# E: ")[1])
        for n, line in enumerate(textwrap.dedent(BAD).lstrip().splitlines(), start=1)
        if "# E: " in line
    )
    assert reported == expected, run.stdout + run.stderr
    assert 'Gati module "ghost" is not declared by any @module class (declared: "cache", "inventory", "pricing")' in (
        run.stdout
    )


@pytest.mark.parametrize(
    ("manifest", "complaint"),
    [
        ({"runtime": "wasm"}, "unknown module runtime"),
        ({"runtime": "process"}, "needs a 'command'"),
        ({"runtime": "process", "command": ["node", 1]}, "list of strings"),
        ({"pool": 0}, "at least 1"),
        ({"pool": True}, "at least 1"),
    ],
)
def test_loader_refuses_module_manifests_it_cannot_run(manifest: dict[str, Any], complaint: str) -> None:
    from gati_runtime_min.errors import ManifestError
    from gati_runtime_min.loader import _module_fields

    with pytest.raises(ManifestError, match=complaint):
        _module_fields({"moduleId": "m", **manifest}, "modules/m.json")


@pytest.mark.slow
def test_mypy_plugin_without_a_build_types_the_classes_it_sees_and_reports_no_unknown_id(tmp_path: Path) -> None:
    use = """
        from gati_runtime_min import GlobalContext

        from app.mods import Quote


        async def price(gctx: GlobalContext) -> Quote:
            gctx.modules["ghost"].anything()
            return await gctx.modules["pricing"].quote(42)
        """
    _write(
        tmp_path,
        {
            "pyproject.toml": '[tool.mypy]\nstrict = true\nplugins = ["gati_compiler.mypy_plugin"]\n',
            "app/__init__.py": "",
            "app/mods.py": MODS,
            "app/use.py": use,
        },
    )
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "app"], cwd=tmp_path, capture_output=True, text=True
    )
    errors = [line for line in run.stdout.splitlines() if ": error:" in line]
    # the class is analysed in the run (the file imports its module): its arguments are checked;
    # without manifests to trust, no id is reported unknown
    assert len(errors) == 1 and errors[0].startswith("app/use.py:8:") and "[arg-type]" in errors[0], run.stdout
