"""Property 19, capability enforcement: for generated apps (in-process modules taking a `gctx`,
each with random `module:<id>` capabilities, and handlers with random `modules=[...]`), built by
the real compiler, a handler reaches exactly the modules it declares and a module exactly the
modules its capabilities name. Every other reach (another module, or one that does not exist)
is refused with a 500 GATI505 and a `capability.refused` entry on the `gati.audit` logger naming
the request, the handler, the capability and, for a module, the module.

The module ids are read from a request header, so the compiler cannot see them: the runtime's
check alone decides. Egress of process modules: `tests/unit/runtime/modules/test_module_egress.py`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gati_compiler.diagnostics.render import render_text
from gati_compiler.pipeline import build
from gati_runtime_min import GatiApp
from gati_runtime_min.testing import AppClient
from tests.property.propapp import BuiltApp
from tests.unit.conftest import write_project

GHOST = "ghost"  # a module id no build has


@dataclass(frozen=True)
class CapSpec:
    capabilities: tuple[frozenset[int], ...]  # module i may reach these modules
    declared: tuple[frozenset[int], ...]  # handler j declares these modules
    calls: tuple[tuple[str, int, str], ...]  # ("handler", j, target) or ("module", i, target)


@st.composite
def cap_specs(draw: st.DrawFn) -> CapSpec:
    n_modules = draw(st.integers(1, 4))
    ids = range(n_modules)
    subsets = st.frozensets(st.sampled_from(ids))
    capabilities = tuple(draw(subsets) for _ in ids)
    declared = tuple(draw(st.lists(subsets, min_size=1, max_size=3)))
    targets = st.sampled_from([*(f"m{i}" for i in ids), GHOST])
    call = st.one_of(
        st.tuples(st.just("handler"), st.integers(0, len(declared) - 1), targets),
        st.tuples(st.just("module"), st.integers(0, n_modules - 1), targets),
    )
    return CapSpec(capabilities, declared, tuple(draw(st.lists(call, min_size=1, max_size=8))))


def sources(spec: CapSpec) -> dict[str, str]:
    mods = ["from gati_runtime_min import GlobalContext, module\n"]
    for i, caps in enumerate(spec.capabilities):
        listed = ", ".join(f'"module:m{c}"' for c in sorted(caps))
        mods.append(
            f"""
@module("m{i}", capabilities=[{listed}])
class M{i}:
    def __init__(self, gctx: GlobalContext) -> None:
        self.gctx = gctx

    async def ping(self) -> str:
        return "m{i}"

    async def reach(self, target: str) -> str:
        return str(await self.gctx.modules[target].ping())
"""
        )
    handlers = [
        "from typing_extensions import TypedDict\n",
        "from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get\n\n",
        "class Reached(TypedDict):\n    got: str\n",
    ]
    for j, declared in enumerate(spec.declared):
        listed = ", ".join(f'"m{d}"' for d in sorted(declared))
        handlers.append(
            f"""
@get("/h{j}", modules=[{listed}])
async def h{j}(req: Request[None], res: Response[Reached], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json({{"got": await gctx.modules[req.headers["x-target"]].ping()}})
"""
        )
    for i in range(len(spec.capabilities)):  # module i, reached through a handler that declares it
        handlers.append(
            f"""
@get("/via{i}", modules=["m{i}"])
async def via{i}(req: Request[None], res: Response[Reached], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json({{"got": await gctx.modules["m{i}"].reach(req.headers["x-target"])}})
"""
        )
    return {"mods.py": "".join(mods), "handlers.py": "".join(handlers)}


def build_spec(root: Path, spec: CapSpec) -> BuiltApp:
    pkg = "capapp_" + uuid.uuid4().hex[:10]
    files = {f"{pkg}/__init__.py": "", **{f"{pkg}/{name}": text for name, text in sources(spec).items()}}
    project = write_project(root, files, f'sources = ["{pkg}"]\n')
    result = build(project, jobs=1)
    assert result.ok and result.program is not None, render_text(result.diagnostics, result.sources)
    return BuiltApp(project / ".gati", project.resolve(), pkg, result.program.gtypes)


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.entries: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        entry = getattr(record, "gati", None)
        if isinstance(entry, dict):
            self.entries.append(entry)


@contextmanager
def audit_records() -> Iterator[Records]:
    logger = logging.getLogger("gati.audit")
    handler, level = Records(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def allowed(spec: CapSpec, kind: str, index: int, target: str) -> bool:
    reachable = spec.declared[index] if kind == "handler" else spec.capabilities[index]
    return target != GHOST and int(target[1:]) in reachable


@settings(max_examples=12)
@given(spec=cap_specs())
def test_property_19_capability_enforcement(tmp_path_factory: Any, spec: CapSpec) -> None:
    built = build_spec(tmp_path_factory.mktemp("p19"), spec)

    async def calls() -> list[tuple[int, str, Any]]:
        async with AppClient(GatiApp(built.build_dir)) as client:
            out = []
            for kind, index, target in spec.calls:
                path = f"/h{index}" if kind == "handler" else f"/via{index}"
                r = await client.get(path, headers={"x-target": target})
                out.append((r.status_code, r.headers["x-request-id"], r.json()))
            return out

    try:
        with audit_records() as audit:
            answers = asyncio.run(calls())
    finally:
        built.forget()
    for (kind, index, target), (status, rid, body) in zip(spec.calls, answers, strict=True):
        refusals = [e for e in audit.entries if e.get("event") == "capability.refused" and e["requestId"] == rid]
        handler_id = f"h{index}" if kind == "handler" else f"via{index}"
        if allowed(spec, kind, index, target):
            assert (status, body) == (200, {"got": target})
            assert refusals == []
            continue
        assert status == 500 and body["error"]["code"] == "GATI505", body
        if kind == "handler":
            message = f"handler {handler_id!r} does not declare module {target!r}"
        else:
            message = f"module 'm{index}' does not declare the capability 'module:{target}'"
        assert body["error"]["message"] == message
        want: dict[str, Any] = {
            "event": "capability.refused",
            "capability": f"module:{target}",
            "requestId": rid,
            "handlerId": handler_id,
        }
        if kind == "module":
            want["moduleId"] = f"m{index}"
        assert refusals == [want]
