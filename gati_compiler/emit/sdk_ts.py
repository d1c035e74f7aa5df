"""The TypeScript SDK (`sdk/typescript/`): a type per GType and a fetch-based client, and with a
Timescape lock a client per live version (`src/versions/<slug>/`) and a README with the changelog.

Input: an `ir.Program`, the header line and optional `SdkVersions`. Output: `{relative POSIX path:
bytes}`. `build_ts_view` makes every naming, quoting and ordering decision; the templates only
loop. No disk I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final, assert_never

from pydantic import BaseModel, ConfigDict

from gati_compiler.emit import _sdk_names as names
from gati_compiler.emit._sdk_common import (
    ERROR_CLASSES,
    Operation,
    first_line,
    operations,
    page_shape,
    with_output_fields_required,
)
from gati_compiler.emit.render import make_environment
from gati_compiler.ir.gtype import (
    AnyType,
    ArrayType,
    EnumType,
    GType,
    IntersectionType,
    LiteralType,
    MapType,
    ObjectType,
    PrimitiveType,
    RefType,
    Scalar,
    TupleType,
    UnionType,
)
from gati_compiler.ir.models import Program
from gati_compiler.version import __version__

if TYPE_CHECKING:
    from gati_compiler.emit._sdk_versions import SdkVersions

TEMPLATES: Final = (
    "sdk_typescript/types.ts.j2",
    "sdk_typescript/client.ts.j2",
    "sdk_typescript/index.ts.j2",
    "sdk_typescript/package.json.j2",
    "sdk_typescript/tsconfig.json.j2",
    "sdk_typescript/_clients.ts.j2",
    "sdk_typescript/README.md.j2",
    "sdk_typescript/version_client.ts.j2",
    "sdk_typescript/version_index.ts.j2",
    "sdk_typescript/versions_index.ts.j2",
)
ROOT: Final = "sdk/typescript"
TYPES_RESERVED: Final = frozenset({"types"})
_PRIMITIVES: Final[Mapping[str, str]] = {
    "string": "string",
    "integer": "number",
    "number": "number",
    "boolean": "boolean",
    "null": "null",
}
_METHOD_RESERVED: Final = frozenset({"constructor", "withRawResponse", "core"})


def ts_str(text: str) -> str:
    """A TypeScript string literal (JSON string syntax is valid TypeScript)."""
    return json.dumps(text, ensure_ascii=False)


def ts_key(name: str) -> str:
    """A property key: bare when it is an identifier, quoted otherwise."""
    return name if names.is_ts_identifier(name) else ts_str(name)


def ts_access(obj: str, name: str) -> str:
    return f"{obj}.{name}" if names.is_ts_identifier(name) else f"{obj}[{ts_str(name)}]"


def ts_scalar(value: Scalar) -> str:
    if isinstance(value, str):
        return ts_str(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def ts_doc(text: str | None) -> str | None:
    line = first_line(text)
    return line.replace("*/", "*\\/") if line else None


class TsTypes:
    """Renders GTypes as TypeScript types; `prefix` qualifies named types (`"types."` in `client.ts`)."""

    def __init__(self, type_names: Mapping[str, str], prefix: str = "") -> None:
        self._names = type_names
        self._prefix = prefix

    def render(self, gtype: GType) -> str:
        match gtype:
            case PrimitiveType():
                if gtype.format == "decimal":
                    return "number | string"
                return _PRIMITIVES[gtype.type]
            case LiteralType():
                return self._union([ts_scalar(v) for v in gtype.values]) or "never"
            case EnumType():
                return self._union([ts_scalar(m.value) for m in gtype.members]) or "never"
            case ObjectType():
                members = [self.member(p.name, p.type, p.required) for p in gtype.properties]
                if gtype.extra == "allow":
                    members.append("[key: string]: unknown")
                return "{ " + "; ".join(members) + " }" if members else "Record<string, never>"
            case ArrayType():
                return f"Array<{self.render(gtype.items)}>"
            case TupleType():
                return "[" + ", ".join(self.render(t) for t in gtype.items) + "]"
            case MapType():
                return f"{{ [key: string]: {self.render(gtype.values)} }}"
            case UnionType():
                return self._union([self.render(o) for o in gtype.options])
            case IntersectionType():
                return " & ".join(f"({self.render(p)})" for p in gtype.parts) or "unknown"
            case RefType():
                name = self._names.get(gtype.ref)
                return self._prefix + name if name is not None else "unknown"
            case AnyType():
                return "unknown"
            case _:
                assert_never(gtype)

    def member(self, name: str, gtype: GType, required: bool) -> str:
        return f"{ts_key(name)}{'' if required else '?'}: {self.render(gtype)}"

    @staticmethod
    def _union(options: list[str]) -> str:
        flat: list[str] = []
        for opt in options:
            if opt not in flat:
                flat.append(opt)
        return "unknown" if "unknown" in flat else " | ".join(flat)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PropView(_Frozen):
    key: str
    optional: bool
    type: str
    doc: str | None


class InterfaceView(_Frozen):
    name: str
    doc: str | None
    props: tuple[PropView, ...]
    index_signature: bool


class AliasView(_Frozen):
    name: str
    doc: str | None
    type: str


class EnumConstView(_Frozen):
    name: str
    members: tuple[tuple[str, str], ...]  # (key, value literal)


class ArgView(_Frozen):
    key: str  # key in the method's args object
    optional: bool
    type: str
    wire: str  # wire name as a TS string literal
    access: str  # `args.id` / `args["name-prefix"]`


class TsPageView(_Frozen):
    """`iterate<Method>`: every item of a paginated GET, page after page (`_sdk_common.page_shape`)."""

    name: str
    items: str  # `page["items"]`
    next: str  # `page["next_offset"]`
    param_key: str  # the args key of the query parameter, as a TS property key
    item: str


class TsMethodView(_Frozen):
    name: str
    doc: str | None
    method: str  # literal
    handler_id: str
    args_type: str | None  # an inline object type, or None when the method takes no arguments
    args_optional: bool
    path_expr: str
    query: tuple[ArgView, ...]
    body_arg: str  # `{ value: args.body }` or `undefined`
    returns: str
    returns_void: bool
    idempotent_literal: str
    page: TsPageView | None = None


class TsErrorView(_Frozen):
    name: str
    base: str
    status: int | None
    doc: str


# the compiler `npm install && npm run build` uses in the generated package (a devDependency); the
# version gati's own tests compile the SDK with (`package.json` at the repository root)
TYPESCRIPT_VERSION: Final = "^5.9.3"


class TsPinView(_Frozen):
    """A client pinned to one recorded version (`src/versions/<slug>/client.ts`)."""

    tsv: str  # as a TS string literal
    described: str  # the version with its tags and status, for doc comments


class TsView(_Frozen):
    header: str
    app: str
    package: str
    package_json: str  # `package` as a JSON string
    description_json: str  # the package description as a JSON string
    typescript_version: str = TYPESCRIPT_VERSION
    version: str
    default_api_version: str  # a TS literal: a string or `undefined`
    interfaces: tuple[InterfaceView, ...]
    aliases: tuple[AliasView, ...]
    enum_consts: tuple[EnumConstView, ...]
    methods: tuple[TsMethodView, ...]
    uses_types: bool  # some method names a type from `types.ts`
    uses_segment: bool  # some method has a path parameter
    errors: tuple[TsErrorView, ...]
    pin: TsPinView | None = None  # set for a versioned client
    core_exported: bool = False  # `client.ts` exports `Core` for the versioned clients


def _method(op: Operation, name: str, types: TsTypes) -> TsMethodView:
    taken: set[str] = set()
    args: list[ArgView] = []
    by_param: dict[str, ArgView] = {}
    for field in op.path_params:
        key = names.unique(field.name, taken)
        arg = ArgView(
            key=key,
            optional=False,
            type=types.render(field.type),
            wire=ts_str(field.name),
            access=ts_access("args", key),
        )
        by_param[field.name] = arg
        args.append(arg)
    query = []
    for field in op.query:
        key = names.unique(field.name if field.name != "body" else "body_", taken)
        query.append(
            ArgView(
                key=key,
                optional=not field.required,
                type=types.render(field.type),
                wire=ts_str(field.name),
                access=ts_access("args", key),
            )
        )
    args.extend(query)
    body_key = names.unique("body", taken) if op.body is not None else None
    pieces: list[str] = []
    for part in op.parts:
        if part.param is None:
            pieces.append(ts_str(part.text))
        else:
            keep = ", true" if part.converter == "path" else ""
            pieces.append(f"segment({by_param[part.param].access}{keep})")
    members = [f"{ts_key(a.key)}{'?' if a.optional else ''}: {a.type}" for a in args]
    if body_key is not None and op.body is not None:
        members.append(f"{ts_key(body_key)}: {types.render(op.body)}")
    return TsMethodView(
        name=name,
        doc=ts_doc(op.summary or op.description),
        method=ts_str(op.method),
        handler_id=op.handler_id,
        args_type="{ " + "; ".join(members) + " }" if members else None,
        args_optional=all(a.optional for a in args) and body_key is None,
        path_expr=" + ".join(pieces) or '""',
        query=tuple(query),
        body_arg=f"{{ value: {ts_access('args', body_key)} }}" if body_key is not None else "undefined",
        returns=types.render(op.response) if op.response is not None else "void",
        returns_void=op.response is None,
        idempotent_literal="true" if op.idempotent else "false",
    )


def build_ts_view(program: Program, *, header: str, pin: str | None = None, core_exported: bool = False) -> TsView:
    """Every name, type string and literal the TypeScript templates print.

    `pin`: the version (as described in docs) of a client pinned to `program.timescapeCurrent`;
    `core_exported`: the root client of an SDK that also has versioned clients."""
    type_names = names.type_name_map(program.gtypes, reserved=TYPES_RESERVED, ts=True)
    local, qualified = TsTypes(type_names), TsTypes(type_names, prefix="types.")
    interfaces: list[InterfaceView] = []
    aliases: list[AliasView] = []
    consts: list[EnumConstView] = []
    for ref, gtype in with_output_fields_required(program).items():
        name = type_names[ref]
        if isinstance(gtype, ObjectType):
            props = tuple(
                PropView(
                    key=ts_key(p.name), optional=not p.required, type=local.render(p.type), doc=ts_doc(p.description)
                )
                for p in gtype.properties
            )
            interfaces.append(
                InterfaceView(
                    name=name, doc=ts_doc(gtype.description), props=props, index_signature=gtype.extra == "allow"
                )
            )
            continue
        aliases.append(AliasView(name=name, doc=ts_doc(gtype.description), type=local.render(gtype)))
        if isinstance(gtype, EnumType):
            members: list[tuple[str, str]] = []
            taken: set[str] = set()
            for m in gtype.members:
                members.append((names.unique(ts_key(m.name), taken), ts_scalar(m.value)))
            consts.append(EnumConstView(name=name, members=tuple(members)))
    taken_methods: set[str] = set(_METHOD_RESERVED)
    methods = []
    ops = operations(program)
    for op in ops:
        # client.ts names types through the `types` namespace import
        methods.append(
            _method(op, names.unique(names.ts_identifier(names.camel(op.handler_id)), taken_methods), qualified)
        )
    for i, (op, method) in enumerate(zip(ops, methods, strict=True)):
        shape = page_shape(op, program.gtypes)
        arg = next((a for a in method.query if shape is not None and a.wire == ts_str(shape.param)), None)
        if shape is None or arg is None:
            continue
        page = TsPageView(
            name=names.unique("iterate" + method.name[:1].upper() + method.name[1:], taken_methods),
            items=f"page[{ts_str(shape.items_key)}]",
            next=f"page[{ts_str(shape.next_key)}]",
            param_key=ts_key(arg.key),
            item=qualified.render(shape.item),
        )
        methods[i] = method.model_copy(update={"page": page})
    pinned = program.timescapeCurrent  # the recorded version this client was generated from
    package = names.snake(program.app).replace("_", "-") + "-client"
    return TsView(
        header=header,
        app=program.app,
        package=package,
        package_json=ts_str(package),
        description_json=ts_str(f"Typed fetch client for the {program.app} API. {header}"),
        version=__version__,
        default_api_version=ts_str(pinned) if pinned else "undefined",
        interfaces=tuple(interfaces),
        aliases=tuple(aliases),
        enum_consts=tuple(consts),
        methods=tuple(methods),
        uses_types=any("types." in m.returns or "types." in (m.args_type or "") for m in methods),
        uses_segment=any("segment(" in m.path_expr for m in methods),
        errors=tuple(
            TsErrorView(name=n.replace("API", "Api"), base=b.replace("API", "Api"), status=s, doc=d)
            for s, n, b, d in ERROR_CLASSES
        ),
        pin=None if pin is None else TsPinView(tsv=ts_str(pinned or ""), described=pin),
        core_exported=core_exported,
    )


def emit_typescript_sdk(program: Program, *, header: str, versions: SdkVersions | None = None) -> dict[str, bytes]:
    """Render the TypeScript SDK; keys are POSIX paths under `sdk/typescript/`.

    Parameters:
        program: the analysed app.
        header: the one-line header text, without comment marker.
        versions: the Timescape versions (from the lock): a client per live version in
            `src/versions/<slug>/` (the `versions` namespace of `index.ts`) and a README with the
            changelog. None: neither, and no README.

    Returns:
        `{path: bytes}`, UTF-8 with LF endings.
    """
    env = make_environment()
    live = versions.versions if versions is not None else ()
    view = build_ts_view(program, header=header, core_exported=bool(live))
    files = {
        "sdk_typescript/types.ts.j2": "src/types.ts",
        "sdk_typescript/client.ts.j2": "src/client.ts",
        "sdk_typescript/index.ts.j2": "src/index.ts",
        "sdk_typescript/package.json.j2": "package.json",
        "sdk_typescript/tsconfig.json.j2": "tsconfig.json",
    }
    out = {
        f"{ROOT}/{rel}": env.get_template(template).render(view=view).encode("utf-8") for template, rel in files.items()
    }
    if versions is not None:
        from gati_compiler.emit._sdk_versions import describe

        index = TsVersionsIndex(
            entries=tuple(TsVersionEntry(tsv_literal=ts_str(v.tsv), slug=v.slug, described=describe(v)) for v in live),
            tags=tuple(sorted((ts_str(t), ts_str(v.tsv)) for v in live for t in v.tags)),
            changelog=versions.changelog,
        )
        out[f"{ROOT}/README.md"] = (
            env.get_template("sdk_typescript/README.md.j2").render(view=view, index=index).encode()
        )
        if live:
            text = env.get_template("sdk_typescript/versions_index.ts.j2").render(view=view, index=index)
            out[f"{ROOT}/src/versions/index.ts"] = text.encode("utf-8")
        for v in live:
            pinned = build_ts_view(v.program, header=header, pin=describe(v))
            for template, name in (
                ("sdk_typescript/types.ts.j2", "types.ts"),
                ("sdk_typescript/version_client.ts.j2", "client.ts"),
                ("sdk_typescript/version_index.ts.j2", "index.ts"),
            ):
                out[f"{ROOT}/src/versions/{v.slug}/{name}"] = env.get_template(template).render(view=pinned).encode()
    return dict(sorted(out.items()))


class TsVersionEntry(_Frozen):
    tsv_literal: str
    slug: str
    described: str


class TsVersionsIndex(_Frozen):
    """`src/versions/index.ts` and the README's version table and changelog."""

    entries: tuple[TsVersionEntry, ...]  # live versions, oldest first
    tags: tuple[tuple[str, str], ...]  # (tag literal, TSV literal), sorted
    changelog: str
