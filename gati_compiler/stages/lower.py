"""Lower: `ResolvedProject` → `ir.Program` (handlers, hooks, modules, named GTypes).

Input: the resolved project, the app configuration and a `Reporter`. Output: a frozen
`Program` with sorted collections, stable ids, final ref names and fingerprints. It reads no
files; every user mistake becomes a diagnostic and the offending piece is left out. Handlers and
the whole program are lowered here; decorators, hooks, contract keywords and `@module` classes in
`lower_decls` (the base class), types in `lower_types`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Final

from gati_compiler.canonical import compact_json
from gati_compiler.diagnostics import codes
from gati_compiler.ir.canonical import FingerprintIndex, contract_fingerprint
from gati_compiler.ir.gtype import GType, ObjectType, PrimitiveType, Property, RefType
from gati_compiler.ir.models import (
    Dependencies,
    Handler,
    HandlerGTypes,
    HookDef,
    Hooks,
    ModuleDecl,
    PathParam,
    Policies,
    Program,
    RateLimit,
    SourceRef,
    TopicDecl,
)
from gati_compiler.stages import routes
from gati_compiler.stages.facts import (
    Anchor,
    ExConst,
    ExName,
    Expr,
    ExSub,
    FunctionFact,
    ModuleFacts,
)
from gati_compiler.stages.lower_common import Ctx, canonical_name, display_of
from gati_compiler.stages.lower_decls import (
    _CONVERTER_TYPES,
    _HANDLER_ID,
    _HANDLER_KEYWORDS,
    _HOOK_ARITY,
    _ROUTE_DECORATORS,
    RUNTIME,
    LowerOptions,
    _Decorated,
)
from gati_compiler.stages.lower_modules import _ModuleDeclarations
from gati_compiler.stages.lower_types import TypeLowerer, map_refs
from gati_compiler.stages.report import Reporter
from gati_compiler.stages.resolve import External, ResolvedProject

# a Kubernetes secret key (the file provider's file name): never `.`/`..`, no separators
_SECRET_NAME: Final = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}$")


class _Lowerer(_ModuleDeclarations):
    def __init__(self, project: ResolvedProject, options: LowerOptions, reporter: Reporter) -> None:
        self.project = project
        self.options = options
        self.reporter = reporter
        self.types = TypeLowerer(project, reporter)
        self.hooks: dict[str, HookDef] = {}
        self.topics: list[TopicDecl] = []

    # -- shared -------------------------------------------------------------------------------

    # -- hooks --------------------------------------------------------------------------------

    # -- handlers -----------------------------------------------------------------------------

    def handler(self, facts: ModuleFacts, fn: FunctionFact, dec: _Decorated) -> Handler | None:
        ok = True
        if dec.call is None:
            self.error(
                codes.DECORATOR_ARGUMENT,
                f'`@{dec.name}` must be called with the route, e.g. `@{dec.name}("/path")`',
                facts,
                dec.anchor,
            )
            return None
        call = dec.call
        kw = dict(call.kwargs)
        known = "known options: " + ", ".join(sorted(_HANDLER_KEYWORDS - {"method", "path"}))
        if self.unknown_options(call, _HANDLER_KEYWORDS, "handler", facts, known):
            ok = False
        fixed = _ROUTE_DECORATORS.get(dec.name)
        args = list(call.args)
        method_expr = kw.get("method") if fixed is None else None
        if fixed is None and method_expr is None and args:
            method_expr = args.pop(0)
        path_expr = kw.get("path") or (args.pop(0) if args else None)
        method = fixed or self._const(method_expr, facts, "method", (str,))
        if fixed is None and (method_expr is None or path_expr is None):
            self.error(codes.DECORATOR_ARGUMENT, "`@handler` needs an HTTP method and a path", facts, call.anchor)
            return None
        if isinstance(method, str):
            method = method.upper()
            if method not in routes.METHODS:
                assert method_expr is not None
                self.error(
                    codes.METHOD_INVALID,
                    f"unknown HTTP method `{method}`",
                    facts,
                    method_expr.anchor,
                    help="use one of " + ", ".join(routes.METHODS),
                )
                ok = False
        path = self._const(path_expr, facts, "path", (str,))
        if path_expr is None:
            self.error(codes.DECORATOR_ARGUMENT, f"`@{dec.name}` needs a path", facts, call.anchor)
            return None
        if not isinstance(method, str) or not isinstance(path, str):
            return None
        parsed = routes.parse_path(path)
        if isinstance(parsed, routes.PathError):
            code = codes.UNKNOWN_CONVERTER if parsed.unknown_converter else codes.PATH_INVALID
            self.error(code, parsed.message, facts, path_expr.anchor)
            return None
        path_params = parsed
        id_value = self._const(kw.get("id"), facts, "id", (str,))
        handler_id = id_value if isinstance(id_value, str) else fn.name
        if not _HANDLER_ID.fullmatch(handler_id):
            self.error(
                codes.HANDLER_ID_INVALID,
                f"handler id `{handler_id}` is not a dotted identifier",
                facts,
                kw["id"].anchor if "id" in kw else (*fn.anchor, "name"),
                help='the id names a manifest file and an SDK function; write it like `id="users.list"`',
            )
            return None
        sig = self._signature(facts, fn)
        if sig is None:
            return None
        body_expr, query_expr, params_expr, out_expr = sig
        ctx = Ctx(facts.module, facts.rel_path, {})
        request = self._part(body_expr, ctx)
        response = self._part(out_expr, ctx)
        query = self._query(query_expr, ctx, facts)
        params_type = self._params(path_params, params_expr, ctx, facts, fn)
        rate: RateLimit | None = None
        if "rate_limit" in kw:
            text = self._const(kw["rate_limit"], facts, "rate_limit", (str,))
            if isinstance(text, str):
                parsed_rate = routes.parse_rate_limit(text)
                if isinstance(parsed_rate, str):
                    self.error(
                        codes.RATE_LIMIT_INVALID,
                        parsed_rate,
                        facts,
                        kw["rate_limit"].anchor,
                        help='write it as `"100/minute"`, `"10/second"` or `"5000/1 hour"`',
                    )
                    ok = False
                else:
                    rate = parsed_rate
        status_value = self._const(kw.get("status"), facts, "status", (int,))
        status = int(status_value) if isinstance(status_value, int) else (200 if response is not None else 204)
        if not 200 <= status <= 299:
            self.error(
                codes.DECORATOR_ARGUMENT,
                f"`status` is the success status and must be 2xx, got `{status}`",
                facts,
                kw["status"].anchor,
            )
            ok = False
        modules = set(self._strings(kw.get("modules"), facts, "modules")) | {u.name for u in fn.module_uses}
        secrets = self._secrets(kw.get("secrets"), facts, fn)
        summary = self._const(kw.get("summary"), facts, "summary", (str,))
        doc = fn.docstring or ""
        description = doc or None
        if summary is None and doc:
            summary = doc.strip().splitlines()[0].strip()
        hooks = Hooks(
            before=self.route_hooks(facts, kw.get("before"), "before"),
            after=self.route_hooks(facts, kw.get("after"), "after"),
            catch=self.route_hooks(facts, kw.get("catch"), "catch"),
        )
        lifecycle, wire, decl_ok = self._contract_decl(kw, facts)
        if not ok or not decl_ok:
            return None
        return Handler(
            handlerId=handler_id,
            method=method,
            path=path,
            pathParams=path_params,
            module=facts.module,
            function=fn.name,
            isAsync=fn.is_async,
            summary=summary if isinstance(summary, str) else None,
            description=description,
            tags=self._strings(kw.get("tags"), facts, "tags") or (facts.module.rsplit(".", 1)[-1],),
            status=status,
            otherStatuses=tuple(s for s in fn.statuses if s != status),
            gtypes=HandlerGTypes(request=request, response=response, params=params_type, query=query),
            hooks=hooks,
            policies=Policies(
                roles=tuple(sorted(set(self._strings(kw.get("roles"), facts, "roles")))),
                rateLimit=rate,
                timeout=self._timeout(kw.get("timeout"), facts),
            ),
            dependencies=Dependencies(
                modules=tuple(sorted(modules)),
                plugins=tuple(sorted(set(self._strings(kw.get("plugins"), facts, "plugins")))),
                secrets=secrets,
            ),
            fingerprint="",
            source=SourceRef(file=facts.rel_path, line=fn.line),
            lifecycle=lifecycle,
            wire=wire,
        )

    def _secrets(self, expr: Expr | None, facts: ModuleFacts, fn: FunctionFact) -> tuple[str, ...]:
        """The declared secret names (GATI130 for one that is no name); GATI330 for each
        `gctx.secrets.get("<literal>")` in the body that they do not include."""
        declared = self._strings(expr, facts, "secrets")
        for name in declared:
            if not _SECRET_NAME.match(name):
                assert expr is not None
                self.error(
                    codes.SECRET_NAME_INVALID,
                    f"`{name}` is not a secret name",
                    facts,
                    expr.anchor,
                    help="use letters, digits, `_`, `.` and `-` (a Kubernetes secret key), not first `.` or `-`",
                )
        known = set(declared)
        for use in fn.secret_uses:
            if use.name not in known:
                listed = ", ".join(f'"{n}"' for n in sorted({*known, use.name}))
                self.error(
                    codes.SECRET_UNDECLARED,
                    f"handler `{fn.name}` reads secret `{use.name}` but does not declare it",
                    facts,
                    use.anchor,
                    help=f"add it to the handler's declaration: `secrets=[{listed}]`",
                )
        return tuple(sorted(known))

    def _signature(
        self, facts: ModuleFacts, fn: FunctionFact
    ) -> tuple[Expr | None, Expr | None, Expr | None, Expr | None] | None:
        """Check `(req: Request[...], res: Response[...], lctx, gctx) -> None`; return the type arguments."""
        positional = [p for p in fn.params if p.kind == "positional"]
        expected = "`(req: Request[Body], res: Response[Out], lctx: LocalContext, gctx: GlobalContext) -> None`"
        extra = [p for p in fn.params if p.kind != "positional" and not p.has_default]
        fastapi_help = self._fastapi_form(facts, fn)
        if len(positional) != 4 or extra:
            self.error(
                codes.HANDLER_SIGNATURE,
                f"handler `{fn.name}` must take {expected}, it takes {len(positional)} positional argument(s)",
                facts,
                (*fn.anchor, "name"),
                help=fastapi_help,
            )
            return None
        if fn.returns is not None and not (isinstance(fn.returns, ExConst) and fn.returns.value is None):
            self.error(
                codes.HANDLER_SIGNATURE,
                f"handler `{fn.name}` must return `None`; send the body with `res.json(...)`",
                facts,
                fn.returns.anchor,
                help=fastapi_help,
            )
            return None
        wanted = ("Request", "Response", "LocalContext", "GlobalContext")
        found: list[tuple[Expr, ...]] = []
        for param, name in zip(positional, wanted, strict=True):
            ann = param.annotation
            base = ann.base if isinstance(ann, ExSub) else ann
            target = self.project.resolve(facts.module, base.name) if isinstance(base, ExName) else None
            if not (isinstance(target, External) and canonical_name(target.qualname) == f"{RUNTIME}.{name}"):
                where = ann.anchor if ann is not None else param.anchor
                self.error(
                    codes.HANDLER_SIGNATURE,
                    f"parameter `{param.name}` of handler `{fn.name}` must be annotated `{name}`",
                    facts,
                    where,
                    help=f"the handler signature is {expected}",
                )
                return None
            found.append(ann.args if isinstance(ann, ExSub) else ())
        req_args, res_args = found[0], found[1]
        if len(req_args) > 3 or len(res_args) > 1:
            self.error(
                codes.GENERIC_ARITY,
                "`Request` takes up to three type arguments (body, query, params) and `Response` one",
                facts,
                (*fn.anchor, "name"),
            )
            return None
        pad = [*req_args, None, None, None]
        return pad[0], pad[1], pad[2], (res_args[0] if res_args else None)

    def _part(self, expr: Expr | None, ctx: Ctx) -> GType | None:
        if expr is None or (isinstance(expr, ExConst) and expr.value is None):
            return None
        return self.types.lower(expr, ctx)

    def _object_of(self, g: GType) -> ObjectType | None:
        if isinstance(g, RefType):
            g = self.types.named.get(g.ref, g)
        return g if isinstance(g, ObjectType) else None

    def _query(self, expr: Expr | None, ctx: Ctx, facts: ModuleFacts) -> GType | None:
        g = self._part(expr, ctx)
        if g is None or expr is None:
            return None
        obj = self._object_of(g)
        if obj is None or not all(_query_field(p.type, self.types.named) for p in obj.properties):
            self.error(
                codes.QUERY_NOT_OBJECT,
                "the query type must be a class whose fields are scalars or lists of scalars",
                facts,
                expr.anchor,
                help="query strings carry flat `name=value` pairs",
            )
            return None
        return g

    def _params(
        self, path_params: tuple[PathParam, ...], expr: Expr | None, ctx: Ctx, facts: ModuleFacts, fn: FunctionFact
    ) -> GType | None:
        names = {p.name for p in path_params}
        for use in fn.param_uses:
            if use.name not in names:
                self.error(
                    codes.PATH_PARAM_UNKNOWN,
                    f"`req.params[{use.name!r}]` is not a parameter of the path",
                    facts,
                    use.anchor,
                    help="declare it in the path as `{" + use.name + "}`",
                )
        props = {p.name: Property(name=p.name, type=_CONVERTER_TYPES[p.converter], required=True) for p in path_params}
        if expr is not None and not (isinstance(expr, ExConst) and expr.value is None):  # `None`: not declared
            declared = self._object_of(self._part(expr, ctx) or PrimitiveType(type="null"))
            if declared is None:
                self.error(
                    codes.UNSUPPORTED_ANNOTATION,
                    "the path parameter type must be a TypedDict of the path's parameters",
                    facts,
                    expr.anchor,
                )
            else:
                for prop in declared.properties:
                    if prop.name not in names:
                        self.error(
                            codes.PATH_PARAM_MISSING,
                            f"path parameter `{prop.name}` is declared but missing from the path",
                            facts,
                            expr.anchor,
                            help="add `{" + prop.name + "}` to the path or remove the field",
                        )
                    elif _wire_key(prop.type) != _wire_key(props[prop.name].type):
                        conv = next(p.converter for p in path_params if p.name == prop.name)
                        self.error(
                            codes.PATH_PARAM_TYPE,
                            f"path parameter `{prop.name}` is declared with another type than its `{conv}` converter",
                            facts,
                            expr.anchor,
                        )
                for name in sorted(names - {p.name for p in declared.properties}):
                    self.error(
                        codes.PATH_PARAM_UNKNOWN,
                        f"path parameter `{{{name}}}` is not declared in the params type",
                        facts,
                        expr.anchor,
                    )
        if not props:
            return None
        return ObjectType(properties=tuple(props.values()), extra="forbid")

    # -- modules ------------------------------------------------------------------------------

    # -- program ------------------------------------------------------------------------------

    def run(self) -> Program:
        handlers: list[tuple[Handler, ModuleFacts, Anchor]] = []
        modules: list[tuple[ModuleDecl, ModuleFacts, Anchor]] = []
        global_hooks: list[HookDef] = []
        for name in sorted(self.project.modules):
            facts = self.project.modules[name]
            for fn in facts.functions:
                for dec in self.runtime_decorators(facts.module, fn.decorators):
                    if dec.name in _ROUTE_DECORATORS:
                        h = self.handler(facts, fn, dec)
                        if h is not None:
                            handlers.append((h, facts, (*fn.anchor, "name")))
                    elif dec.name in _HOOK_ARITY:
                        hook = self.hook_of(facts, fn)
                        if hook is not None and hook.scope == "global":
                            global_hooks.append(hook)
            for cls in facts.classes:
                for dec in self.runtime_decorators(facts.module, cls.decorators):
                    if dec.name == "module":
                        decl = self.module_decl(facts, cls, dec)
                        if decl is not None:
                            modules.append((decl, facts, (*cls.anchor, "name")))
        self._check_unique(handlers, modules)
        from gati_compiler.stages.lower_topics import lower_topics

        self.topics = lower_topics(self.project, self.types, self.reporter)
        return self._finish([h for h, _, _ in handlers], [m for m, _, _ in modules], global_hooks)

    def _check_unique(
        self, handlers: list[tuple[Handler, ModuleFacts, Anchor]], modules: list[tuple[ModuleDecl, ModuleFacts, Anchor]]
    ) -> None:
        ids: dict[str, Handler] = {}
        shapes: dict[tuple[str, str], Handler] = {}
        for h, facts, anchor in handlers:
            first = ids.setdefault(h.handlerId, h)
            if first is not h:
                self.error(
                    codes.DUPLICATE_HANDLER_ID,
                    f"handler id `{h.handlerId}` is already used by `{first.module}.{first.function}` "
                    f"({first.source.file}:{first.source.line})",
                    facts,
                    anchor,
                    help="pass a unique `id=` to the decorator",
                )
            shape = (h.method, routes.route_shape(h.path))
            other = shapes.setdefault(shape, h)
            if other is not h:
                self.error(
                    codes.ROUTE_CONFLICT,
                    f"`{h.method} {h.path}` is already served by `{other.handlerId}` "
                    f"({other.source.file}:{other.source.line})",
                    facts,
                    anchor,
                    help="change the path or the method of one of them",
                )
        declared: dict[str, ModuleDecl] = {}
        for m, facts, anchor in modules:
            first_m = declared.setdefault(m.moduleId, m)
            if first_m is not m:
                self.error(
                    codes.DUPLICATE_MODULE_ID,
                    f"module id `{m.moduleId}` is already declared by `{first_m.module}.{first_m.className}`",
                    facts,
                    anchor,
                )
        for h, facts, anchor in handlers:
            for dep in h.dependencies.modules:
                if dep not in declared:
                    self.error(
                        codes.UNKNOWN_MODULE,
                        f"handler `{h.handlerId}` uses module `{dep}`, which no `@module` class declares",
                        facts,
                        anchor,
                        help='declare it with `@module("' + dep + '")` on a class',
                    )

    def _finish(self, handlers: list[Handler], modules: list[ModuleDecl], global_hooks: list[HookDef]) -> Program:
        rename = _final_names(self.types.named, self.types.display)

        def fix(g: GType | None) -> GType | None:
            return None if g is None else map_refs(g, rename.__getitem__)

        gtypes = {rename[k]: map_refs(v, rename.__getitem__) for k, v in self.types.named.items()}
        done: list[Handler] = []
        index = FingerprintIndex(gtypes)
        for h in handlers:
            parts = HandlerGTypes(
                request=fix(h.gtypes.request),
                response=fix(h.gtypes.response),
                params=fix(h.gtypes.params),
                query=fix(h.gtypes.query),
            )
            fingerprint = contract_fingerprint(h.method, h.path, parts, gtypes, index)
            done.append(h.model_copy(update={"gtypes": parts, "fingerprint": fingerprint}))
        done.sort(key=lambda h: routes.route_order(h.path, h.method))
        fixed_modules = [
            m.model_copy(
                update={
                    "methods": tuple(
                        mm.model_copy(
                            update={
                                "params": tuple((n, map_refs(t, rename.__getitem__)) for n, t in mm.params),
                                "returns": map_refs(mm.returns, rename.__getitem__),
                            }
                        )
                        for mm in m.methods
                    )
                }
            )
            for m in sorted(modules, key=lambda m: m.moduleId)
        ]
        order = {name: i for i, name in enumerate(self.options.global_hooks)}
        global_hooks.sort(key=lambda hk: (order.get(hk.module, len(order)), hk.source.line, hk.function))
        return Program(
            app=self.options.app,
            sourceRoots=self.options.source_roots,
            handlers=tuple(done),
            modules=tuple(fixed_modules),
            globalHooks=tuple(global_hooks),
            gtypes=dict(sorted(gtypes.items())),
            topics=tuple(t.model_copy(update={"type": map_refs(t.type, rename.__getitem__)}) for t in self.topics)
            or None,
        )


def _query_field(g: GType, named: Mapping[str, GType]) -> bool:
    from gati_compiler.ir.gtype import ArrayType, EnumType, LiteralType, UnionType

    if isinstance(g, RefType):
        g = named.get(g.ref, g)
    if isinstance(g, PrimitiveType | LiteralType | EnumType):
        return True
    if isinstance(g, UnionType):
        return all(_query_field(o, named) for o in g.options)
    if isinstance(g, ArrayType):
        return _query_field(g.items, named) and not isinstance(g.items, ArrayType)
    return False


def _wire_key(g: GType) -> str:
    return compact_json(g.model_dump(mode="json", exclude_none=True, exclude={"description"}))


def _final_names(named: Mapping[str, GType], display: Mapping[str, str]) -> dict[str, str]:
    """Short names where unique; the module-qualified name where two types share a short name."""
    short = {key: display.get(key, key.rsplit(".", 1)[-1]) for key in named}
    counts: dict[str, int] = {}
    for name in short.values():
        counts[name] = counts.get(name, 0) + 1
    out: dict[str, str] = {}
    for key, name in short.items():
        if counts[name] == 1:
            out[key] = name
        else:
            base = key.split("[", 1)[0]
            module = base.rsplit(".", 1)[0]
            out[key] = f"{module}.{name}"
    # a generic instance whose qualified name still collides gets a digest suffix
    seen: dict[str, str] = {}
    for key in sorted(out):
        name = out[key]
        if name in seen:
            out[key] = f"{name}_{hashlib.sha256(key.encode()).hexdigest()[:8]}"
        seen[out[key]] = key
    return out


def lower_program(project: ResolvedProject, options: LowerOptions, reporter: Reporter) -> Program:
    """Stage entry point: every handler, hook, module, named type and transformer of the project."""
    from gati_compiler.stages.lower_transformers import lower_transformers

    program = _Lowerer(project, options, reporter).run()
    transformers = lower_transformers(project, reporter)
    return program.model_copy(update={"transformers": transformers}) if transformers else program


__all__ = ["LowerOptions", "display_of", "lower_program"]
