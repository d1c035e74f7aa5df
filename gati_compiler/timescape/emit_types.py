"""Emit `types/gati_versions/`: the wire-form types of every live recorded version and of each step.

Input: a `Timeline` and the header line. Output: `{relative POSIX path: bytes}` under
`types/gati_versions/` (a package the user's mypy reads with `mypy_path = ".gati/types"`).
View builders decide every name and annotation; the `timescape/*.py.j2` templates only loop.
No disk I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from pydantic import BaseModel, ConfigDict

from gati_compiler.emit import _sdk_names as names
from gati_compiler.emit._sdk_common import resolve
from gati_compiler.emit._sdk_python_types import (
    AliasView,
    FieldView,
    ModelsView,
    PyTypes,
    TypedDictView,
    build_models_view,
    class_names,
)
from gati_compiler.emit.render import make_environment, py_str
from gati_compiler.ir.gtype import ArrayType, GType, ObjectType, UnionType
from gati_compiler.timescape.contract import ApiContract, HandlerContract
from gati_compiler.timescape.steps import HEAD, Segment, Step, Timeline, version_slug

TEMPLATES: Final = (
    "timescape/versions_init.py.j2",
    "timescape/version.py.j2",
    "timescape/step.py.j2",
    "timescape/_typed_dicts.py.j2",
)
PACKAGE: Final = "gati_versions"
ROOT: Final = f"types/{PACKAGE}"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VersionsInitView(_Frozen):
    header: str
    app: str
    versions: tuple[tuple[str, str], ...]  # (TSV, module), oldest first
    head: str  # a Python literal: `"head"` or `None`


class VersionModuleView(_Frozen):
    header: str
    doc: str
    imports: tuple[str, ...]
    exports: tuple[str, ...]
    typed_dicts: tuple[TypedDictView, ...]
    aliases: tuple[AliasView, ...]


class StepModuleView(_Frozen):
    header: str
    doc: str
    modules: tuple[tuple[str, str], ...]  # (version module, alias), only the ones annotations use
    exports: tuple[str, ...]
    typed_dicts: tuple[TypedDictView, ...]
    aliases: tuple[AliasView, ...]


def segment_version(tl: Timeline, seg: Segment) -> str:
    """The version whose module holds a segment's types: its first live version (the working
    tree's `HEAD` for the unrecorded segment), else its first version."""
    live = {v.tsv for v in tl.live}
    return next((tsv for tsv in seg.versions if tsv in live), seg.first)


def version_modules(tl: Timeline) -> dict[str, str]:
    """Version (TSV, or `HEAD`) -> module name: every live version, the working tree when it
    differs from the latest recorded one, and any retired version a step still needs."""
    wanted = {v.tsv for v in tl.live}
    for step in tl.steps():
        wanted.update(segment_version(tl, seg) for seg in (step.old, step.new))
    if tl.head_differs:
        wanted.add(HEAD)
    order = {v.tsv: i for i, v in enumerate(tl.lock.versions)}
    return {tsv: version_slug(tsv) for tsv in sorted(wanted, key=lambda t: order.get(t, len(order)))}


def version_api(tl: Timeline, tsv: str) -> ApiContract:
    return tl.current if tsv == HEAD else tl.lock.contract(tsv)


def build_version_view(api: ApiContract, tsv: str, *, header: str) -> VersionModuleView:
    models: ModelsView = build_models_view(dict(sorted(api.gtypes.items())), header=header, wire=True)
    what = "the working tree" if tsv == HEAD else f"version `{tsv}`"
    return VersionModuleView(
        header=header,
        doc=f"The named types of `{api.app}` at {what}, in wire (JSON) form.",
        imports=models.imports,
        exports=models.exports,
        typed_dicts=models.typed_dicts,
        aliases=models.aliases,
    )


def _field(name: str, annotation: str, required: bool) -> FieldView:
    if not required:
        annotation = f"typing.NotRequired[{annotation}]"
    return FieldView(key=py_str(name), name=name, annotation=annotation, annotation_literal=py_str(annotation))


def _typed_dict(name: str, fields: list[FieldView]) -> TypedDictView:
    return TypedDictView(
        name=name,
        ref=name,
        doc=None,
        functional=any(not names.is_py_identifier(f.name) for f in fields),
        name_literal=py_str(name),
        fields=tuple(fields),
    )


def _repeated(gtype: GType, gtypes: Mapping[str, GType]) -> bool:
    target = resolve(gtype, gtypes)
    if isinstance(target, UnionType):
        return any(_repeated(o, gtypes) for o in target.options)
    return isinstance(target, ArrayType)


class _Side:
    """One side of a step (`Old` or `New`): its request parts and response, as annotations."""

    def __init__(self, label: str, alias: str, api: ApiContract, contract: HandlerContract) -> None:
        self.label = label
        self.api = api
        self.contract = contract
        self.types = PyTypes(class_names(api.gtypes), api.gtypes, prefix=alias + ".", wire=True)
        self.typed_dicts: list[TypedDictView] = []
        self.aliases: list[AliasView] = []

    def part(self, kind: str, gtype: GType, lists: bool) -> str:
        """A TypedDict of the raw string values of the query, params or headers."""
        name = f"{self.label}{kind}"
        target = resolve(gtype, self.api.gtypes)
        if isinstance(target, ObjectType):
            fields = [
                _field(p.name, "list[str]" if lists and _repeated(p.type, self.api.gtypes) else "str", p.required)
                for p in target.properties
            ]
            self.typed_dicts.append(_typed_dict(name, fields))
        else:
            self.aliases.append(AliasView(name=name, ref=name, value="dict[str, str | list[str]]"))
        return name

    def build(self) -> None:
        c = self.contract
        fields: list[FieldView] = []
        if c.request is not None:
            fields.append(_field("body", self.types.render(c.request), True))
        if c.query is not None:
            fields.append(_field("query", self.part("Query", c.query, True), True))
        if c.params is not None:
            fields.append(_field("params", self.part("Params", c.params, False), True))
        if c.headers is not None:
            fields.append(_field("headers", self.part("Headers", c.headers, False), True))
        self.typed_dicts.append(_typed_dict(f"{self.label}Request", fields))
        response = self.types.render(c.response) if c.response is not None else "None"
        self.aliases.append(AliasView(name=f"{self.label}Response", ref=self.label, value=response))


def build_step_view(tl: Timeline, step: Step, modules: Mapping[str, str], *, header: str) -> StepModuleView:
    sides = []
    used: list[tuple[str, str]] = []
    for label, alias, seg in (("Old", "old", step.old), ("New", "new", step.new)):
        tsv = segment_version(tl, seg)
        api = version_api(tl, tsv)
        contract = api.handler(step.handler_id) or seg.contract
        side = _Side(label, alias, api, contract)
        side.build()
        sides.append(side)
        texts = [f.annotation for td in side.typed_dicts for f in td.fields] + [a.value for a in side.aliases]
        if any(f"{alias}." in text for text in texts):
            used.append((modules[tsv], alias))
    typed_dicts = [td for side in sides for td in side.typed_dicts]
    aliases = [a for side in sides for a in side.aliases]
    return StepModuleView(
        header=header,
        doc=(
            f"The shapes of `{step.handler_id}` from version `{step.from_tsv}` to `{step.to_tsv}`, in wire (JSON) form."
        ),
        modules=tuple(sorted(used)),
        exports=tuple(sorted({"ErrorBody", *(td.name for td in typed_dicts), *(a.name for a in aliases)})),
        typed_dicts=tuple(typed_dicts),
        aliases=tuple(aliases),
    )


def emit_version_types(tl: Timeline, *, header: str) -> dict[str, bytes]:
    """The `gati_versions` package: `__init__.py`, one module per version, one per step."""
    env = make_environment()
    modules = version_modules(tl)
    out: dict[str, bytes] = {}

    def render(template: str, path: str, view: BaseModel) -> None:
        out[f"{ROOT}/{path}"] = env.get_template(template).render(view=view).encode("utf-8")

    init = VersionsInitView(
        header=header,
        app=tl.current.app,
        versions=tuple((tsv, m) for tsv, m in modules.items() if tsv != HEAD),
        head=py_str(modules[HEAD]) if HEAD in modules else "None",
    )
    render("timescape/versions_init.py.j2", "__init__.py", init)
    out[f"{ROOT}/py.typed"] = b""
    for tsv, module in modules.items():
        render("timescape/version.py.j2", f"{module}.py", build_version_view(version_api(tl, tsv), tsv, header=header))
    steps = list(tl.steps())
    if steps:
        out[f"{ROOT}/steps/__init__.py"] = f'# {header}\n"""One module of shapes per Timescape step."""\n'.encode()
    for step in steps:
        render("timescape/step.py.j2", f"steps/{step.module}.py", build_step_view(tl, step, modules, header=header))
    return dict(sorted(out.items()))
