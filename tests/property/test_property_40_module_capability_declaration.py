"""Property 40, module capability declaration: what a `@module` class declares is recorded in its
manifest (`.gati/modules/<id>.json`) exactly, and a bad declaration is a diagnostic.

For generated modules (in process or out of process; random capabilities and egress, with
duplicates and in any order; command, pool, timeout, retries, description; methods with
`@method(timeout=, retries=, idempotent=)` policies or none, parameters with and without
defaults, typed from the property-9 vocabulary plus dates, UUIDs, enums and a dataclass), the
manifest holds the id, class, module, runtime, command and pool, the capabilities and egress
sorted without duplicates, the description (the module's timeout and retries are the defaults of
its methods, not recorded apart), and every public method in order with its parameter
names, the optional ones, the effective policies (the method's value, else the module's; retries 0
unless idempotent) and the GTypes of its parameters and result, which are the GTypes the same
annotations get as TypedDict fields a handler reaches (checked against the program's `gtypes`).

A generated module with one fault injected (from the table of `tests/unit/lower/test_lower_modules.py`)
builds with exactly that diagnostic (GATI113 module-declaration, GATI112, GATI104, GATI109,
GATI738, GATI739) on the line of the offending decorator or method.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Final

from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from gati_compiler.diagnostics.render import render_text
from gati_compiler.ir.canonical import dump_gtype
from gati_compiler.ir.gtype import ObjectType
from gati_compiler.pipeline import build
from tests.property.modulegen import IDENTS, ModuleSpec, methods, models_source, modules_source
from tests.property.test_property_09_gtype_schema_generation import Field, declarations
from tests.unit.conftest import write_project

CAPABILITIES: Final = st.lists(
    st.one_of(
        st.sampled_from(["db.read", "db.write", "net", "fs.tmp"]),
        IDENTS.map(lambda s: f"module:{s}"),
        IDENTS.map(lambda s: f"secret:{s}"),
    ),
    max_size=4,
)
EGRESS: Final = st.lists(
    st.sampled_from(
        ["postgres.internal:5432", "api.example.com:443", "10.0.0.0/8", "192.168.1.7", "https://rates.example/v1"]
    ),
    max_size=4,
)
TIMEOUTS: Final = st.none() | st.sampled_from([0.25, 1.5, 2, 30])


@st.composite
def module_specs(draw: st.DrawFn, classes: int) -> ModuleSpec:
    process = draw(st.booleans())
    base = draw(methods(classes, rich=True))
    policed = []
    for m in base:
        idempotent = draw(st.none() | st.booleans())
        retries = draw(st.none() | st.integers(0, 5)) if idempotent else None
        timeout = draw(TIMEOUTS)
        policed.append(dataclasses.replace(m, timeout=timeout, retries=retries, idempotent=idempotent))
    module_id = draw(IDENTS)
    return ModuleSpec(
        module_id=module_id,
        class_name="Mod" + module_id.capitalize(),
        methods=tuple(policed),
        capabilities=tuple(draw(CAPABILITIES)),
        egress=tuple(draw(EGRESS)),
        command=tuple(draw(st.lists(st.sampled_from(["node", "svc.mjs", "--fast", "{python}"]), min_size=1)))
        if process
        else None,
        pool=draw(st.none() | st.integers(1, 4)) if process else None,
        timeout=draw(TIMEOUTS),
        retries=draw(st.none() | st.integers(0, 3)),
        description=draw(st.none() | st.sampled_from(["Prices things.", "A database gateway."])),
    )


def signature_class(spec: ModuleSpec) -> str:
    """A TypedDict with a field per parameter and result, typed like it: the oracle of their GTypes."""
    lines = ["", "", "class Sig(TypedDict):", "    anchor: int"]
    for m in spec.methods:
        lines += [f"    {m.name}__{p.name}: {p.type}" for p in m.params]
        lines.append(f"    {m.name}__return: {m.returns}")
    return "\n".join(lines) + "\n"


HANDLER: Final = """\
from gati_runtime_min import GlobalContext, LocalContext, Request, Response, post

from app.models import Sig


@post("/sig")
async def sig(req: Request[Sig], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.empty()
"""


def project(root: Any, classes: list[list[Field]], spec: ModuleSpec) -> dict[str, str]:
    return {
        "app/__init__.py": "",
        "app/models.py": models_source(classes) + signature_class(spec),
        "app/mods.py": modules_source((spec,)),
        "app/handlers.py": HANDLER,
    }


def expected_manifest(spec: ModuleSpec, sig: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "moduleId": spec.module_id,
        "module": "app.mods",
        "className": spec.class_name,
        "runtime": "process" if spec.command is not None else "python",
        "pool": spec.pool or 1,
        "capabilities": sorted(set(spec.capabilities)),
        "egress": sorted(set(spec.egress)),
    }
    if spec.command is not None:
        out["command"] = list(spec.command)
    if spec.description is not None:
        out["description"] = spec.description
    ms = []
    for m in spec.methods:
        idempotent = bool(m.idempotent)
        timeout = m.timeout if m.timeout is not None else spec.timeout
        retries = (m.retries if m.retries is not None else (spec.retries or 0)) if idempotent else 0
        entry: dict[str, Any] = {
            "name": m.name,
            "isAsync": m.is_async,
            "params": [[p.name, sig[f"{m.name}__{p.name}"]] for p in m.params],
            "optional": [p.name for p in m.params if p.optional],
            "returns": sig[f"{m.name}__return"],
            "retries": retries,
            "idempotent": idempotent,
        }
        if timeout is not None:
            entry["timeout"] = float(timeout)
        ms.append(entry)
    out["methods"] = ms
    return out


# each example builds an app: no shrinking (the draws are printed)
@settings(max_examples=30, phases=(Phase.explicit, Phase.reuse, Phase.generate))
@given(data=st.data(), classes=declarations())
def test_property_40_module_capability_declaration(
    tmp_path_factory: Any, data: st.DataObject, classes: list[list[Field]]
) -> None:
    spec = data.draw(module_specs(len(classes)), label="module")
    root = write_project(tmp_path_factory.mktemp("p40"), project(None, classes, spec))
    result = build(root, jobs=1)
    assert result.ok and result.program is not None, render_text(result.diagnostics, result.sources)
    sig_type = result.program.gtypes["Sig"]
    assert isinstance(sig_type, ObjectType)
    sig = {p.name: dump_gtype(p.type) for p in sig_type.properties}
    recorded = json.loads((root / ".gati" / "modules" / f"{spec.module_id}.json").read_text(encoding="utf-8"))
    source = recorded.pop("source")
    assert source["file"] == "app/mods.py"
    lines = modules_source((spec,)).splitlines()
    assert lines[source["line"] - 1].startswith("@module(") or lines[source["line"] - 1].startswith("class ")
    assert recorded == expected_manifest(spec, sig)


# (what is injected, where, the code): faults of the decorator and of one method
MODULE_FAULTS: Final = [
    ("option", 'capabilities="net"', "GATI113"),
    ("option", 'egress=["ok:1", 3]', "GATI113"),
    ("option", 'egress=[""]', "GATI113"),
    ("option", 'command="node m.js"', "GATI113"),
    ("option", "command=[]", "GATI113"),
    ("option", "retries=-1", "GATI113"),
    ("option", "retries=None", "GATI113"),
    ("option", "timeout=0", "GATI112"),
    ("option", "timeout=-2.5", "GATI112"),
    ("option", 'timeout="2s"', "GATI104"),
    ("option", "description=3", "GATI104"),
    ("option", 'region="eu"', "GATI104"),
    ("id", '"has space"', "GATI113"),
    ("id", '"../etc"', "GATI113"),
    ("id", "42", "GATI113"),
    ("pool", "pool=0", "GATI113"),
    ("pool", "pool=True", "GATI113"),
    ("method", "@method(timeout=0)", "GATI112"),
    ("method", '@method(timeout="1")', "GATI104"),
    ("method", "@method(retries=-1, idempotent=True)", "GATI104"),
    ("method", '@method(idempotent="yes")', "GATI104"),
    ("method", "@method(backoff=2)", "GATI104"),
    ("method", "@method(retries=2)", "GATI738"),
    ("star", "async def m_fault(self, *xs: int) -> int: ...", "GATI109"),
    ("sync", "def m_fault(self) -> int: ...", "GATI739"),
]


def inject(text: str, spec: ModuleSpec, where: str, fault: str) -> tuple[str, str]:
    """`text` with the fault in, and the line the diagnostic belongs on (its text)."""
    lines = text.splitlines()
    deco = next(i for i, line in enumerate(lines) if line.startswith("@module("))
    cls = deco + 1
    if where == "option":
        lines[deco] = lines[deco][:-1] + f", {fault})"
        return "\n".join(lines) + "\n", lines[deco]
    if where == "id":
        lines[deco] = lines[deco].replace(repr(spec.module_id), fault, 1)
        return "\n".join(lines) + "\n", lines[deco]
    if where == "pool":
        assert spec.command is None or "pool=" not in lines[deco]
        command = "" if spec.command is not None else ', command=["node", "m.mjs"]'
        lines[deco] = lines[deco][:-1] + f"{command}, {fault})"
        return "\n".join(lines) + "\n", lines[deco]
    if where == "method":
        added = [f"    {fault}", "    async def m_fault(self) -> int:", "        return 1"]
        lines[cls + 1 : cls + 1] = added
        return "\n".join(lines) + "\n", added[0]
    body = "" if spec.command is not None else "\n        return 1"
    added = [f"    {fault.removesuffix(' ...') + body if body else fault}"]
    lines[cls + 1 : cls + 1] = added[0].splitlines()
    return "\n".join(lines) + "\n", added[0].splitlines()[0]


@settings(max_examples=25, phases=(Phase.explicit, Phase.reuse, Phase.generate))
@given(data=st.data(), fault=st.sampled_from(MODULE_FAULTS))
def test_property_40_bad_module_declarations_are_diagnostics(
    tmp_path_factory: Any, data: st.DataObject, fault: tuple[str, str, str]
) -> None:
    where, text, code = fault
    spec = data.draw(module_specs(0), label="module")
    if where == "sync":
        spec = dataclasses.replace(spec, command=("node", "svc.mjs"))
    if where == "pool":
        spec = dataclasses.replace(spec, pool=None)
    source, line_text = inject(modules_source((spec,)), spec, where, text)
    files = {"app/__init__.py": "", "app/models.py": models_source([]), "app/mods.py": source}
    root = write_project(tmp_path_factory.mktemp("p40bad"), files)
    result = build(root, jobs=1, write=False)
    assert not result.internal_error
    line = source.splitlines().index(line_text) + 1
    got = sorted({(d.code, d.span.line) for d in result.diagnostics})
    assert got == [(code, line)], (source, [(d.code, d.span.line, d.message) for d in result.diagnostics])
