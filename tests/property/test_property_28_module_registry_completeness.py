"""Property 28, module registry completeness: every module the build declares is registered, with
its manifest, and only those. For generated apps with random sets of in-process `@module` classes
(ids with letters, digits, `_`, `.`, `-`; spread over two files; some taking their own `gctx` and
naming other modules as capabilities) and a handler declaring a random subset of them, built by the
real compiler: `GatiApp(build).instances` and `gctx.modules` hold exactly the declared ids, each an
instance of its class; the runtime's `ModuleSpec.manifest` is the stored `modules/<id>.json`;
`manifest.json` lists exactly those ids; an id the build does not declare is not in
`gctx.modules` and asking for it is GATI505 (`CapabilityError`); a module's own `gctx.modules`
holds exactly the declared modules its `module:<id>` capabilities name.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gati_compiler.diagnostics.render import render_text
from gati_compiler.pipeline import build
from gati_runtime_min import GatiApp
from gati_runtime_min.errors import CapabilityError
from tests.property.modulegen import IDENTS, forget
from tests.unit.conftest import write_project

IDS = st.builds(lambda a, sep, b: a + sep + b, IDENTS, st.sampled_from(["", "", "_", ".", "-", "2"]), IDENTS)


@dataclass(frozen=True)
class Declared:
    module_id: str
    class_name: str
    file: str  # mods | more
    takes_gctx: bool
    uses: tuple[str, ...]  # module ids named as `module:<id>` capabilities (declared or not)

    def render(self) -> str:
        caps = [f"module:{u}" for u in self.uses]
        opts = repr(self.module_id) + (f", capabilities={caps!r}" if caps else "")
        init = (
            "    def __init__(self, gctx: GlobalContext) -> None:\n        self.gctx = gctx\n\n"
            if self.takes_gctx
            else ""
        )
        return (
            f"\n\n@module({opts})\nclass {self.class_name}:\n{init}"
            f"    def who(self) -> str:\n        return {self.module_id!r}\n"
        )


@st.composite
def apps(draw: st.DrawFn) -> tuple[tuple[Declared, ...], tuple[str, ...], str]:
    ids = draw(st.lists(IDS, max_size=5, unique=True))
    others = draw(st.lists(IDS.filter(lambda i: i not in ids), min_size=1, max_size=2, unique=True))
    decls = tuple(
        Declared(
            module_id,
            f"Mod{i}",
            draw(st.sampled_from(["mods", "more"])),
            draw(st.booleans()),
            tuple(draw(st.lists(st.sampled_from([*ids, *others]), max_size=3, unique=True))),
        )
        for i, module_id in enumerate(ids)
    )
    used = tuple(draw(st.lists(st.sampled_from(ids), max_size=len(ids), unique=True))) if ids else ()
    return decls, used, others[0]


HEAD = "from gati_runtime_min import GlobalContext, module\n"
HANDLER = """\
from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get


@get("/x", modules={used!r})
async def x(req: Request[None], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.empty()
"""


def sources(decls: tuple[Declared, ...], used: tuple[str, ...]) -> dict[str, str]:
    files = {"app/__init__.py": "", "app/handlers.py": HANDLER.format(used=list(used))}
    for name in ("mods", "more"):
        files[f"app/{name}.py"] = HEAD + "".join(d.render() for d in decls if d.file == name)
    return files


@settings(max_examples=30)
@given(app=apps())
def test_property_28_module_registry_completeness(
    tmp_path_factory: Any, app: tuple[tuple[Declared, ...], tuple[str, ...], str]
) -> None:
    decls, used, undeclared = app
    root = write_project(tmp_path_factory.mktemp("p28"), sources(decls, used))
    result = build(root, jobs=1)
    assert result.ok and result.program is not None, render_text(result.diagnostics, result.sources)
    ids = {d.module_id for d in decls}
    stored = root / ".gati"
    forget("app")
    try:
        gati = GatiApp(stored)
        assert set(gati.instances) == ids
        listed = _manifest_modules(stored)
        assert sorted(m["moduleId"] for m in listed) == sorted(ids)
        assert all(m["file"] == f"modules/{m['moduleId']}.json" for m in listed)
        specs = {s.module_id: s for s in gati.build.modules}
        assert set(specs) == ids
        modules = gati.gctx.modules
        assert set(modules) == ids
        for d in decls:
            instance = gati.instances[d.module_id]
            assert type(instance).__name__ == d.class_name and type(instance).__module__ == f"app.{d.file}"
            assert modules[d.module_id] is instance and d.module_id in modules
            assert instance.who() == d.module_id
            stored_manifest = json.loads((stored / "modules" / f"{d.module_id}.json").read_text(encoding="utf-8"))
            assert dict(specs[d.module_id].manifest) == stored_manifest
            assert stored_manifest["moduleId"] == d.module_id and stored_manifest["className"] == d.class_name
            if d.takes_gctx:  # its own view: the declared modules it names, nothing else
                assert set(instance.gctx.modules) == set(d.uses) & ids
        assert undeclared not in modules
        with pytest.raises(CapabilityError) as caught:
            modules[undeclared]
        assert caught.value.code == "GATI505" and caught.value.status == 500
    finally:
        while str(root) in sys.path:
            sys.path.remove(str(root))
        forget("app")


def _manifest_modules(stored: Path) -> list[Any]:
    manifest = json.loads((stored / "manifest.json").read_text(encoding="utf-8"))
    modules: list[Any] = manifest.get("modules", [])
    return modules
