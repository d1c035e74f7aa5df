"""lower: `@module` declarations in every spelling the runtime accepts, their options, `@method`
policies, and each bad value as a diagnostic at its line; the runtime decorators agree."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gati_compiler.ir.models import ModuleDecl
from gati_compiler.pipeline import BuildResult
from gati_runtime_min import method, module

Project = Callable[..., BuildResult]

IMPORTS = (
    "from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get, method, module\n"
    "import gati_runtime_min as gr\n"
)
SIG = "(req: Request[None], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None"
BODY = "class Svc:\n    async def ping(self, n: int) -> int:\n        return n\n"


def lower(project: Project, source: str, **files: str) -> tuple[ModuleDecl, ...]:
    sources = {"app/__init__.py": "", "app/mods.py": IMPORTS + source, **{f"app/{k}.py": v for k, v in files.items()}}
    result = project(sources)
    assert result.program is not None
    assert result.diagnostics == [], [(d.code, d.span.line, d.message) for d in result.diagnostics]
    return result.program.modules


def problems(project: Project, source: str) -> list[tuple[str, int]]:
    result = project({"app/__init__.py": "", "app/mods.py": IMPORTS + source})
    assert not result.internal_error
    return sorted((d.code, d.span.line - IMPORTS.count("\n")) for d in result.diagnostics)


@pytest.mark.parametrize(
    "decorator",
    [
        '@module("svc")',
        '@module(id="svc")',
        "@module('svc', capabilities=[])",
        '@gr.module(id="svc")',
        'SVC = "svc"\n@module(SVC)',
        'SVC = "svc"\n@module(id=SVC)',
    ],
)
def test_every_id_spelling_declares_the_module(project: Project, decorator: str) -> None:
    (decl,) = lower(project, f"{decorator}\n{BODY}")
    assert (decl.moduleId, decl.className, decl.runtime, decl.pool) == ("svc", "Svc", "python", 1)


def test_keyword_id_with_a_handler_using_it_reports_nothing(project: Project) -> None:
    """The issue's cascade: `@module(id=...)` was GATI113, so every use of it was GATI307."""
    source = f'@module(id="svc")\n{BODY}@get("/x")\nasync def x{SIG}:\n    await gctx.modules["svc"].ping(1)\n'
    (decl,) = lower(project, source)
    assert decl.moduleId == "svc"


@pytest.mark.parametrize(
    "egress",
    ['["b:2", "a:1"]', '("b:2", "a:1")', '{"b:2", "a:1"}', "EGRESS", "EGRESS_T", "hosts.EGRESS"],
)
def test_capability_and_egress_literals_and_constants(project: Project, egress: str) -> None:
    source = (
        "from app import hosts\n"
        'EGRESS = ["a:1", "b:2", "a:1"]\nEGRESS_T = ("b:2", "a:1")\n'
        f'@module("svc", egress={egress}, capabilities=("net", "db.read"))\n{BODY}'
    )
    (decl,) = lower(project, source, hosts='EGRESS = {"a:1", "b:2"}\n')
    assert decl.egress == ("a:1", "b:2") and decl.capabilities == ("db.read", "net")


def test_process_module_with_pool_timeout_retries_and_method_policies(project: Project) -> None:
    source = (
        '@module("pricing", command=["node", "modules/pricing.mjs"], pool=3, timeout=2, retries=4,\n'
        '        description="Prices things.")\n'
        "class Pricing:\n"
        '    """Docstring loses to description=."""\n'
        "    @method(idempotent=True)\n"
        "    async def quote(self, sku: str, qty: int = 1) -> float: ...\n"
        "    @method(timeout=0.5, retries=1, idempotent=True)\n"
        "    async def fast(self) -> int: ...\n"
        "    @method(timeout=9)\n"
        "    async def charge(self, sku: str) -> bool: ...\n"
        "    @method\n"
        "    async def bare(self) -> None: ...\n"
        "    async def plain(self) -> None: ...\n"
    )
    (decl,) = lower(project, source)
    assert decl.runtime == "process" and decl.command == ("node", "modules/pricing.mjs") and decl.pool == 3
    assert decl.description == "Prices things."
    policies = {m.name: (m.timeout, m.retries, m.idempotent) for m in decl.methods}
    assert policies == {
        "quote": (2.0, 4, True),
        "fast": (0.5, 1, True),
        "charge": (9.0, 0, False),
        "bare": (2.0, 0, False),
        "plain": (2.0, 0, False),
    }
    quote = decl.methods[0]
    assert [n for n, _ in quote.params] == ["sku", "qty"] and quote.optional == ("qty",)


def test_explicit_defaults_are_accepted(project: Project) -> None:
    source = '@module("svc", description=None, timeout=None, capabilities=[], egress=set())\n' + BODY
    (decl,) = lower(project, source.replace("set()", "()"))
    assert decl.description is None and decl.methods[0].timeout is None


def test_python_module_defaults(project: Project) -> None:
    (decl,) = lower(project, f'@module("svc")\n{BODY}')
    assert decl.command is None and decl.egress == () and decl.methods[0].timeout is None
    assert decl.model_dump(mode="json", exclude_none=True)["methods"][0] == {
        "name": "ping",
        "isAsync": True,
        "params": [["n", {"kind": "primitive", "type": "integer"}]],
        "optional": [],
        "returns": {"kind": "primitive", "type": "integer"},
        "retries": 0,
        "idempotent": False,
    }


@pytest.mark.parametrize(
    ("decorator", "expected"),
    [
        ("@module", [("GATI113", 1)]),
        ("@module()", [("GATI113", 1)]),
        ('@module(capabilities=["x"])', [("GATI113", 1)]),
        ('@module("a", id="b")', [("GATI113", 1)]),
        ('@module("a", "b")', [("GATI113", 1)]),
        ('@module(id="has space")', [("GATI113", 1)]),
        ('@module(id="../etc")', [("GATI113", 1)]),
        ("@module(id=42)", [("GATI113", 1)]),
        ('@module("svc", capabilities="net")', [("GATI113", 1)]),
        ('@module("svc", egress=["ok:1", 3])', [("GATI113", 1)]),
        ('@module("svc", egress=[""])', [("GATI113", 1)]),
        ('@module("svc", command="node m.js")', [("GATI113", 1)]),
        ('@module("svc", command=[])', [("GATI113", 1)]),
        ('@module("svc", pool=2)', [("GATI113", 1)]),
        ('@module("svc", command=["x"], pool=0)', [("GATI113", 1)]),
        ('@module("svc", command=["x"], pool=True)', [("GATI113", 1)]),
        ('@module("svc", command=["x"], pool=1.5)', [("GATI113", 1)]),
        ('@module("svc", retries=-1)', [("GATI113", 1)]),
        ('@module("svc", retries=None)', [("GATI113", 1)]),
        ('@module("svc", timeout=0)', [("GATI112", 1)]),
        ('@module("svc", timeout=-2.5)', [("GATI112", 1)]),
        ('@module("svc", timeout="2s")', [("GATI104", 1)]),
        ('@module("svc", description=3)', [("GATI104", 1)]),
        ('@module("svc", region="eu")', [("GATI104", 1)]),
    ],
)
def test_bad_module_declarations(project: Project, decorator: str, expected: list[tuple[str, int]]) -> None:
    assert problems(project, f"{decorator}\n{BODY}") == expected


@pytest.mark.parametrize(
    ("decorator", "expected"),
    [
        ("@method(timeout=0)", [("GATI112", 2)]),
        ('@method(timeout="1")', [("GATI104", 2)]),
        ("@method(retries=-1, idempotent=True)", [("GATI104", 2)]),
        ("@method(retries=1.5)", [("GATI104", 2)]),
        ('@method(idempotent="yes")', [("GATI104", 2)]),
        ("@method(2)", [("GATI104", 2)]),
        ("@method(backoff=2)", [("GATI104", 2)]),
        ("@method(retries=2)", [("GATI738", 2)]),
    ],
)
def test_bad_method_policies(project: Project, decorator: str, expected: list[tuple[str, int]]) -> None:
    source = f'@module("svc")\nclass Svc:\n    {decorator}\n    async def ping(self) -> int:\n        return 1\n'
    assert [(c, line - 1) for c, line in problems(project, source)] == expected


def test_process_module_methods_must_be_async_and_named(project: Project) -> None:
    source = (
        '@module("svc", command=["node", "svc.mjs"])\nclass Svc:\n'
        "    def sync(self) -> int: ...\n"
        "    async def star(self, *xs: int) -> int: ...\n"
        "    async def ok(self) -> int: ...\n"
    )
    assert problems(project, source) == [("GATI109", 4), ("GATI739", 3)]


# -- the runtime decorators accept the same spellings and refuse the same values -------------


def _meta(obj: Any) -> dict[str, Any]:
    meta: dict[str, Any] = obj.__gati__
    return meta


def test_runtime_module_records_the_manifest_metadata() -> None:
    cls = module(
        id="pricing",
        capabilities={"net"},
        egress=("b:2", "a:1"),
        command=["node", "m.mjs"],
        pool=2,
        timeout=3,
        retries=1,
    )(type("P", (), {}))
    assert _meta(cls) == {
        "kind": "module",
        "id": "pricing",
        "capabilities": ("net",),
        "egress": ("a:1", "b:2"),
        "runtime": "process",
        "command": ("node", "m.mjs"),
        "pool": 2,
        "timeout": 3.0,
        "retries": 1,
    }
    assert _meta(module("db")(type("D", (), {})))["runtime"] == "python"


def test_runtime_method_bare_and_called() -> None:
    def f() -> None: ...

    def g() -> None: ...

    assert method(f) is f and _meta(f) == {"kind": "method", "timeout": None, "retries": None, "idempotent": False}
    assert _meta(method(timeout=1, retries=2, idempotent=True)(g))["timeout"] == 1.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"id": "has space"},
        {"id": "svc", "capabilities": "net"},
        {"id": "svc", "egress": ["ok", ""]},
        {"id": "svc", "command": []},
        {"id": "svc", "command": {"node"}},
        {"id": "svc", "pool": 2},
        {"id": "svc", "command": ["x"], "pool": 0},
        {"id": "svc", "timeout": 0},
        {"id": "svc", "retries": -1},
        {"id": "svc", "retries": None},
    ],
)
def test_runtime_module_refuses_what_the_compiler_refuses(kwargs: dict[str, Any]) -> None:
    with pytest.raises((TypeError, ValueError)):
        module(**kwargs)


@pytest.mark.parametrize("kwargs", [{"timeout": -1}, {"retries": -2}, {"timeout": True}])
def test_runtime_method_refuses_bad_policies(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        method(**kwargs)
