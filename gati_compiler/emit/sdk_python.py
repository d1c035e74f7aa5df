"""The typed Python client package (`sdk/python/`): models, a sync and an async client, errors, and
with a Timescape lock a client per live version (`versions/<slug>/`, see `_sdk_python_versions`).

Input: an `ir.Program`, the header line and optional `SdkVersions`. Output: `{relative POSIX path:
bytes}`. View builders (`build_client_view`, `build_models_view`) make every decision; templates
only loop. No disk I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Final

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
from gati_compiler.emit._sdk_origins import client_gtype
from gati_compiler.emit._sdk_python_types import (
    ModelsView,
    PyTypes,
    annotation_imports,
    build_models_view,
    class_names,
    py_docstring,
)
from gati_compiler.emit.render import make_environment, py_str
from gati_compiler.emit.validators import ClassTarget, emit_validators, module_aliases, render_validators
from gati_compiler.ir.canonical import reachable
from gati_compiler.ir.gtype import (
    GType,
)
from gati_compiler.ir.models import Handler, HandlerGTypes, Program
from gati_compiler.version import __version__

if TYPE_CHECKING:
    from gati_compiler.emit._sdk_versions import SdkVersions
    from gati_compiler.emit.memo import EmitMemo

TEMPLATES: Final = (
    "sdk_python/pyproject.toml.j2",
    "sdk_python/__init__.py.j2",
    "sdk_python/models.py.j2",
    "sdk_python/errors.py.j2",
    "sdk_python/_base.py.j2",
    "sdk_python/client.py.j2",
    "sdk_python/README.md.j2",
)
ROOT: Final = "sdk/python"
VALIDATORS_PACKAGE: Final = "_validators"

# names `client.py` defines or imports at module level; handler methods never shadow these on a class
_CLIENT_RESERVED: Final = frozenset({"close", "aclose", "with_raw_response", "self", "typing", "httpx", "models"})
# names a method body uses (its locals and the module names it reads); builtins may be shadowed, they are not used
_PARAM_RESERVED: Final = frozenset(
    {"self", "body", "request_options", "response", "raw", "_base", "RawResponse", "RequestOptions", "models", "typing"}
)


_BASE_ERRORS: Final = frozenset(
    {"APIConnectionError", "APIStatusError", "APITimeoutError", "GatiClientError", "Issue", "ResponseValidationError"}
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ParamView(_Frozen):
    ident: str
    key: str  # wire name as a Python string literal
    annotation: str
    required: bool


class PageView(_Frozen):
    """`iter_<method>`: every item of a paginated GET, page after page (`_sdk_common.page_shape`)."""

    items_key: str  # Python string literals
    next_key: str
    param: str  # the query parameter's identifier
    item: str  # the item annotation
    name: str = ""  # `iter_<method>`, made unique among the client's names


class MethodView(_Frozen):
    name: str
    handler_id: str  # as a Python string literal
    method: str  # as a Python string literal
    doc: str | None
    path_params: tuple[ParamView, ...]
    query: tuple[ParamView, ...]
    body: str | None  # the body annotation
    returns: str
    returns_literal: str  # `returns` as a string literal, for `typing.cast`
    returns_none: bool
    path_expr: str
    idempotent: bool
    parser: str  # module-level function that decodes the response
    page: PageView | None = None


class ErrorView(_Frozen):
    name: str
    base: str
    status: int | None
    doc: str
    retry_after: bool  # has a `retry_after` property (429)


class FlavourView(_Frozen):
    """What differs between the sync and the async client."""

    client_class: str
    raw_class: str
    transport: str
    http_class: str
    def_kw: str
    await_kw: str
    close: str
    enter: str
    exit: str
    doc: str


FLAVOURS: Final = (
    FlavourView(
        client_class="Client",
        raw_class="RawClient",
        transport="SyncTransport",
        http_class="Client",
        def_kw="def",
        await_kw="",
        close="close",
        enter="__enter__",
        exit="__exit__",
        doc="Synchronous client over `httpx.Client`; use as a context manager or call `close()`.",
    ),
    FlavourView(
        client_class="AsyncClient",
        raw_class="AsyncRawClient",
        transport="AsyncTransport",
        http_class="AsyncClient",
        def_kw="async def",
        await_kw="await ",
        close="aclose",
        enter="__aenter__",
        exit="__aexit__",
        doc="Asynchronous client over `httpx.AsyncClient`; use with `async with` or call `aclose()`.",
    ),
)


class PinView(_Frozen):
    """A client pinned to one recorded version (`versions/<slug>/client.py`): it always sends the
    version and decodes with that version's own decoders."""

    tsv: str  # as a Python string literal
    described: str  # the version with its tags and status, for docstrings
    decodes: bool  # some method decodes a body (`_decode_json` is needed)


class ClientView(_Frozen):
    header: str
    package: str
    dist_name: str
    app: str
    version: str
    default_api_version: str  # a Python literal: a string or `None`
    imports: tuple[str, ...]  # stdlib modules `client.py` needs for annotations
    flavours: tuple[FlavourView, ...]
    methods: tuple[MethodView, ...]
    uses_models: bool  # some annotation names a type from `models.py`
    errors: tuple[ErrorView, ...]
    error_imports: tuple[str, ...]  # what `__init__.py` imports from `errors`, sorted
    exports: tuple[str, ...]
    pin: PinView | None = None  # set for a versioned client; None for the current (root) one


def package_name(app: str) -> str:
    return names.py_identifier(names.snake(app) + "_client")


def _param_ident(wire: str, taken: set[str]) -> str:
    ident = names.py_identifier(names.snake(wire) if not names.is_py_identifier(wire) else wire)
    if ident in _PARAM_RESERVED:
        ident += "_"
    return names.unique(ident, taken)


def _method_view(op: Operation, name: str, types: PyTypes, gtypes: Mapping[str, GType]) -> MethodView:
    taken: set[str] = set(_PARAM_RESERVED)
    path_params = tuple(
        ParamView(ident=_param_ident(f.name, taken), key=py_str(f.name), annotation=types.render(f.type), required=True)
        for f in op.path_params
    )
    idents = {p.key: p.ident for p in path_params}
    pieces: list[str] = []
    for part in op.parts:
        if part.param is None:
            pieces.append(py_str(part.text))
        else:
            keep = ", keep_slash=True" if part.converter == "path" else ""
            pieces.append(f"_base.segment({idents[py_str(part.param)]}{keep})")
    query = []
    for f in op.query:
        annotation = types.render(f.type)
        if not f.required and not annotation.endswith("| None") and annotation not in ("None", "typing.Any"):
            annotation += " | None"
        query.append(
            ParamView(ident=_param_ident(f.name, taken), key=py_str(f.name), annotation=annotation, required=f.required)
        )
    returns = types.render(op.response) if op.response is not None else "None"
    shape = page_shape(op, gtypes)
    page = None
    if shape is not None:
        ident = next(q.ident for q in query if q.key == py_str(shape.param))
        page = PageView(
            items_key=py_str(shape.items_key),
            next_key=py_str(shape.next_key),
            param=ident,
            item=types.render(shape.item),
        )
    return MethodView(
        name=name,
        handler_id=py_str(op.handler_id),
        method=py_str(op.method),
        doc=py_docstring(op.summary or first_line(op.description)),
        path_params=path_params,
        query=tuple(query),
        body=types.render(op.body) if op.body is not None else None,
        returns=returns,
        returns_literal=py_str(returns),
        returns_none=returns == "None",
        path_expr=" + ".join(pieces) or '""',
        idempotent=op.idempotent,
        parser="_base.parse_none" if returns == "None" else "_parse_" + name,
        page=page,
    )


def build_client_view(program: Program, *, header: str, pin: str | None = None) -> ClientView:
    """Everything `client.py`, `errors.py`, `__init__.py` and `pyproject.toml` need, decided once.

    `pin`: the version (as described in docs) of a client pinned to `program.timescapeCurrent`."""
    types = PyTypes(class_names(program.gtypes), program.gtypes, prefix="models.")
    taken: set[str] = set(_CLIENT_RESERVED)
    methods = []
    for op in operations(program):
        base = names.py_identifier(names.snake(op.handler_id))
        if base in _CLIENT_RESERVED or base.startswith("_"):
            base = "call_" + base.lstrip("_")
        methods.append(_method_view(op, names.unique(base, taken), types, program.gtypes))
    for i, m in enumerate(methods):
        if m.page is not None:
            page = m.page.model_copy(update={"name": names.unique(f"iter_{m.name}", taken)})
            methods[i] = m.model_copy(update={"page": page})
    pinned = program.timescapeCurrent  # the recorded version this client was generated from
    errors = tuple(ErrorView(name=n, base=b, status=s, doc=d, retry_after=s == 429) for s, n, b, d in ERROR_CLASSES)
    return ClientView(
        header=header,
        package=package_name(program.app),
        dist_name=names.snake(program.app).replace("_", "-") + "-client",
        app=program.app,
        version=__version__,
        default_api_version=py_str(pinned) if pinned else "None",
        imports=annotation_imports(
            [m.returns for m in methods]
            + [m.body for m in methods if m.body]
            + [p.annotation for m in methods for p in (*m.path_params, *m.query)]
            + [m.page.item for m in methods if m.page],
            always=("typing",),
        ),
        flavours=FLAVOURS,
        methods=tuple(methods),
        uses_models=any(
            "models." in text
            for m in methods
            for text in (m.returns, m.body or "", *(p.annotation for p in (*m.path_params, *m.query)))
        ),
        errors=errors,
        error_imports=tuple(sorted(_BASE_ERRORS | {e.name for e in errors})),
        exports=tuple(
            sorted(
                {"AsyncClient", "Client", "RawResponse", "RequestOptions", "models", "errors"}
                | _BASE_ERRORS
                | {e.name for e in errors}
            )
        ),
        pin=None
        if pin is None
        else PinView(tsv=py_str(pinned or ""), described=pin, decodes=any(not m.returns_none for m in methods)),
    )


def _response_handlers(program: Program) -> Sequence[Handler]:
    """Handlers whose *request* is the real handler's response.

    The decoders' `HandlerCodec.decode_body` then checks a response and builds the SDK's own classes,
    which is exactly what the client needs; requests are sent as plain JSON-ready data.
    """
    return tuple(
        h.model_copy(update={"gtypes": HandlerGTypes(request=None if h.status == 204 else h.gtypes.response)})
        for h in program.handlers
    )


def class_map(package: str, models: ModelsView) -> Mapping[str, ClassTarget]:
    return {
        ref: ClassTarget(module=f"{package}.models", name=name, kind=kind)
        for ref, (name, kind) in models.class_kinds().items()
    }


def _gtypes(program: Program) -> Mapping[str, GType]:
    return dict(sorted(program.gtypes.items()))


def _validator_inputs(program: Program, memo: EmitMemo | None = None) -> tuple[dict[str, GType], tuple[Handler, ...]]:
    """The named types and handlers the client's decoders are made from. With `memo`, a type is
    stripped once while the builds keep it, so an unchanged type is the last build's object."""

    def client(g: GType) -> GType:
        return client_gtype(g) if memo is None else memo.piece("client", g, lambda: client_gtype(g))

    gtypes = {ref: client(g) for ref, g in _gtypes(program).items()}
    handlers = tuple(
        h.model_copy(update={"gtypes": HandlerGTypes(request=client(h.gtypes.request) if h.gtypes.request else None)})
        for h in _response_handlers(program)
    )
    return gtypes, handlers


def emit_python_sdk(
    program: Program, *, header: str, versions: SdkVersions | None = None, memo: EmitMemo | None = None
) -> dict[str, bytes]:
    """Render the SDK package; keys are POSIX paths under `sdk/python/`.

    Parameters:
        program: the analysed app.
        header: the one-line header text (`Generated by gatic ... ; do not edit.`), without comment marker.
        versions: the Timescape versions (from the lock): a client per live version in
            `<package>/versions/<slug>/` and the changelog in the README. None: neither.
        memo: pieces kept from the last build (`gatic watch`): the client's decoders are reused
            when they would come out the same (`memo_parts`).

    Returns:
        `{path: bytes}`, UTF-8 with LF endings.
    """
    env = make_environment()
    view = build_client_view(program, header=header)
    pkg = f"{ROOT}/{view.package}"
    out: dict[str, bytes] = {}

    def render(template: str, path: str, **context: object) -> None:
        out[path] = env.get_template(template).render(**context).encode("utf-8")

    index = None
    if versions is not None:
        from gati_compiler.emit._sdk_python_versions import build_versions_view, emit_python_versions

        index = build_versions_view(versions, view)
        out.update(emit_python_versions(versions, index, view))
    render("sdk_python/pyproject.toml.j2", f"{ROOT}/pyproject.toml", view=view)
    render("sdk_python/README.md.j2", f"{ROOT}/README.md", view=view, index=index)
    render("sdk_python/__init__.py.j2", f"{pkg}/__init__.py", view=view)
    render("sdk_python/errors.py.j2", f"{pkg}/errors.py", view=view)
    render("sdk_python/_base.py.j2", f"{pkg}/_base.py", view=view)
    out[f"{pkg}/py.typed"] = b""
    out.update(client_files(program, view, pkg, view.package, header=header, memo=memo))
    return dict(sorted(out.items()))


def client_files(
    program: Program,
    view: ClientView,
    path: str,
    module: str,
    *,
    header: str,
    runtime_from: str | None = None,
    memo: EmitMemo | None = None,
) -> dict[str, bytes]:
    """`models.py`, `client.py` and the private `_validators/` of one client, under `path`
    (POSIX, for the artifact keys) in the import package `module`; `runtime_from`: the module its
    validators import the validators runtime from (the root client's), instead of a copy. `memo`:
    see `emit_python_sdk`."""
    env = make_environment()
    models = build_models_view(with_output_fields_required(program), header=header)
    out = {
        f"{path}/models.py": env.get_template("sdk_python/models.py.j2").render(view=models).encode("utf-8"),
        f"{path}/client.py": env.get_template("sdk_python/client.py.j2").render(view=view).encode("utf-8"),
    }
    gtypes, handlers = _validator_inputs(program, memo)
    # the client only checks what it receives: decoders, no encoders, for the response types only
    received = reachable((h.gtypes.request for h in handlers if h.gtypes.request is not None), gtypes)
    classes = class_map(module, models)
    if memo is None:
        validators = emit_validators(
            gtypes, handlers, header=header, class_map=classes, encoders=False, refs=received, runtime_from=runtime_from
        )
    else:  # what `emit_validators` does without encoders, with the decoders kept between builds
        from gati_compiler.emit.memo_parts import cached, call

        aliases = module_aliases(gtypes, classes)
        c = call(memo.parts, "sdk:" + path, gtypes, handlers, "dec", aliases=aliases, class_map=classes, refs=received)
        decoders = cached(memo.parts, c)
        validators = render_validators(
            gtypes, handlers, header=header, decoders=decoders, encoders=None, runtime_from=runtime_from
        )
    for rel, data in validators.items():
        # the validators emitter writes `validators/...`; the SDK keeps them private as `_validators/...`
        out[f"{path}/{VALIDATORS_PACKAGE}/{rel.split('/', 1)[1]}"] = data
    return out
