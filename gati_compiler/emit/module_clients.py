"""Emit `module_clients.py`: a typed `Protocol` per module, from the module manifests.

Input: a `Program`'s modules and named GTypes. Output: `{"module_clients.py": bytes}`, nothing
without modules (not under `modules/`, which holds the manifests the deploy bundle ships). The
types the methods reach are mirrored as the Python SDK mirrors them (`_sdk_python_types`:
objects as TypedDicts, enums as enum classes, the rest as aliases); each protocol is named after
its module id (`pricing` -> `PricingModule`). The file passes `mypy --strict` and `ruff` on its
own; `CLIENTS` maps each module id to its protocol.
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, ConfigDict

from gati_compiler.emit import _sdk_names as names
from gati_compiler.emit._sdk_python_types import (
    MODELS_RESERVED,
    ModelsView,
    PyTypes,
    annotation_imports,
    build_models_view,
    class_names,
    py_docstring,
)
from gati_compiler.emit.render import make_environment
from gati_compiler.ir.canonical import reachable
from gati_compiler.ir.models import ModuleDecl, Program

TEMPLATE: Final = "modules/clients.py.j2"
CLIENTS_PATH: Final = "module_clients.py"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MethodView(_Frozen):
    name: str
    params: tuple[str, ...]  # `name: annotation` or `name: annotation = ...`
    returns: str
    doc: str | None
    flat: bool  # the signature fits on one line


class ProtocolView(_Frozen):
    name: str
    module_id: str
    doc: tuple[str, ...]  # docstring lines
    methods: tuple[MethodView, ...]


class ClientsView(_Frozen):
    header: str
    imports: tuple[str, ...]
    exports: tuple[str, ...]
    models: ModelsView
    protocols: tuple[ProtocolView, ...]


def _protocol_doc(m: ModuleDecl) -> tuple[str, ...]:
    """The docstring's lines: the module's description (first line), then where it runs."""
    where = f"out of process: `{' '.join(m.command or ())}`" if m.runtime == "process" else "in process"
    about = py_docstring(f"Module `{m.moduleId}` ({m.module}.{m.className}, {where}).") or m.moduleId
    first = py_docstring(m.description)
    return (first, about) if first else (about,)


def build_clients_view(program: Program, *, header: str) -> ClientsView:
    roots = [g for m in program.modules for mm in m.methods for g in (*(t for _, t in mm.params), mm.returns)]
    refs = reachable(roots, program.gtypes)
    gtypes = {ref: program.gtypes[ref] for ref in sorted(refs)}
    models = build_models_view(gtypes, header=header)
    types = PyTypes(class_names(gtypes), gtypes)
    taken = set(MODELS_RESERVED) | set(models.exports) | {"CLIENTS"}
    protocols: list[ProtocolView] = []
    annotations: list[str] = []
    for m in sorted(program.modules, key=lambda m: m.moduleId):
        methods: list[MethodView] = []
        for mm in m.methods:
            optional = set(mm.optional)
            params = []
            for pname, g in mm.params:
                ann = types.render(g)
                annotations.append(ann)
                params.append(f"{pname}: {ann}" + (" = ..." if pname in optional else ""))
            returns = types.render(mm.returns)
            annotations.append(returns)
            doc = py_docstring(mm.description)
            flat = f"    async def {mm.name}(self{''.join(', ' + p for p in params)}) -> {returns}:" + (
                "" if doc else " ..."
            )
            methods.append(
                MethodView(
                    name=mm.name,
                    params=tuple(params),
                    returns=returns,
                    doc=doc,
                    flat=len(flat) <= 88,
                )
            )
        name = names.unique(names.pascal(m.moduleId) + "Module", taken)
        protocols.append(ProtocolView(name=name, module_id=m.moduleId, doc=_protocol_doc(m), methods=tuple(methods)))
    imports = annotation_imports(
        [f.annotation for td in models.typed_dicts for f in td.fields]
        + [a.value for a in models.aliases]
        + annotations,
        always=("typing",) + (("enum",) if models.enums else ()),
    )
    return ClientsView(
        header=header,
        imports=imports,
        exports=tuple(sorted([*models.exports, *(p.name for p in protocols), "CLIENTS"], key=_isort_key)),
        models=models,
        protocols=tuple(protocols),
    )


def _isort_key(name: str) -> tuple[int, str]:
    """`__all__` order as ruff's RUF022 wants it: CONSTANTS, then Classes, then the rest."""
    return (0 if name.upper() == name else 1 if name[:1].isupper() else 2, name)


def emit_module_clients(program: Program, *, header: str) -> dict[str, bytes]:
    """`module_clients.py`, or nothing when the program declares no module."""
    if not program.modules:
        return {}
    view = build_clients_view(program, header=header)
    text = make_environment().get_template(TEMPLATE).render(view=view)
    return {CLIENTS_PATH: text.encode("utf-8")}
