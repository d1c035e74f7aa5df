"""Property 39, manifest store persistence: what the compiler stores is what is read back. For
generated apps: the IR survives its canonical JSON (`load_ir(dump_ir(p)) == p`, through bytes
too); and the `.gati/` folder the writer stores is loaded by the runtime into exactly the handlers,
policies, hooks and module dependencies of the program, and a second build of the same sources
stores byte-identical files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from hypothesis import given, settings

from gati_compiler.canonical import canonical_json
from gati_compiler.diagnostics.render import render_text
from gati_compiler.ir.canonical import dump_ir, load_ir
from gati_compiler.ir.models import HookDef
from gati_compiler.pipeline import build
from gati_runtime_min.loader import HookSpec, load_build
from tests.property.handlergen import CONFIG, AppSpec, apps
from tests.property.test_property_38_sdk_client_stub_generation import forget
from tests.unit.conftest import write_project


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def same_hooks(loaded: tuple[HookSpec, ...], recorded: tuple[HookDef, ...]) -> bool:
    return [(h.id, h.kind, h.is_async, h.timeout, h.retries, h.scope) for h in loaded] == [
        (d.id, d.kind, d.isAsync, d.timeout, d.retries, d.scope) for d in recorded
    ]


@settings(max_examples=12)
@given(spec=apps())
def test_property_39_manifest_store_persistence(tmp_path_factory: Any, spec: AppSpec) -> None:
    root = write_project(tmp_path_factory.mktemp("p39"), spec.sources(), CONFIG)
    result = build(root, jobs=1)
    assert result.ok and result.program is not None, render_text(result.diagnostics, result.sources)
    program = result.program
    assert load_ir(dump_ir(program)) == program
    assert load_ir(json.loads(canonical_json(dump_ir(program)))) == program
    stored = files(root / ".gati")
    assert build(root, jobs=1).ok
    assert files(root / ".gati") == stored
    forget("app")
    try:
        loaded = load_build(root / ".gati")
        assert loaded.app == program.app
        assert same_hooks(loaded.global_hooks, program.globalHooks)
        routes = {r.handler_id: r for r in loaded.routes}
        assert sorted(routes) == sorted(h.handlerId for h in program.handlers)
        for h in program.handlers:
            r = routes[h.handlerId]
            assert (r.method, r.path, r.status, r.is_async) == (h.method, h.path, h.status, h.isAsync)
            assert (r.fn.__module__, r.fn.__name__) == (h.module, h.function)
            assert r.roles == h.policies.roles
            rate = h.policies.rateLimit
            assert r.rate_limit == (None if rate is None else (rate.limit, rate.window))
            assert r.timeout == (h.policies.timeout or 30.0)
            assert r.modules == frozenset(h.dependencies.modules)
            assert (r.has_request, r.has_response) == (h.gtypes.request is not None, h.gtypes.response is not None)
            for kind in ("before", "after", "catch"):
                assert same_hooks(getattr(r, kind), getattr(h.hooks, kind))
        assert sorted(m.module_id for m in loaded.modules) == sorted(m.moduleId for m in program.modules)
    finally:
        while str(root) in sys.path:
            sys.path.remove(str(root))
        forget("app")
