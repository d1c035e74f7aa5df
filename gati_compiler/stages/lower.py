"""Lower: `ResolvedProject` → `ir.Program` (handlers, hooks, modules, named GTypes).

Input: the resolved project, the app configuration and a `Reporter`. Output: a frozen
`Program` with sorted collections, stable ids, final ref names and fingerprints. It reads no
files; every user mistake becomes a diagnostic and the offending piece is left out.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
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
    HookKind,
    Hooks,
    Lifecycle,
    ModuleDecl,
    ModuleMethod,
    PathParam,
    Policies,
    Program,
    RateLimit,
    ResponseHeader,
    SourceRef,
    WireDecl,
)
from gati_compiler.stages import routes
from gati_compiler.stages.facts import (
    Anchor,
    ClassFact,
    ExCall,
    ExConst,
    ExList,
    ExName,
    Expr,
    ExSub,
    FunctionFact,
    ModuleFacts,
)
from gati_compiler.stages.lower_classes import describe
from gati_compiler.stages.lower_common import Ctx, canonical_name, display_of
from gati_compiler.stages.lower_types import TypeLowerer, map_refs
from gati_compiler.stages.report import Reporter
from gati_compiler.stages.resolve import External, Missing, ProjectDef, ResolvedProject

RUNTIME: Final = "gati_runtime_min"
_ROUTE_DECORATORS: Final = {
    "handler": None,
    "get": "GET",
    "post": "POST",
    "put": "PUT",
    "patch": "PATCH",
    "delete": "DELETE",
}
# lifecycle and wire declarations read by Timescape (`_contract_decl`)
_CONTRACT_KEYWORDS: Final = (
    "deprecated",
    "sunset",
    "stability",
    "response_headers",
    "consumes",
    "produces",
    "streaming",
)
_STABILITY: Final = ("alpha", "beta", "stable")
_HANDLER_KEYWORDS: Final = frozenset(
    {
        "method",
        "path",
        "id",
        "roles",
        "rate_limit",
        "timeout",
        "modules",
        "plugins",
        "before",
        "after",
        "catch",
        "tags",
        "status",
        "summary",
        *_CONTRACT_KEYWORDS,
    }
)
_CONVERTER_TYPES: Final[dict[str, PrimitiveType]] = {
    "str": PrimitiveType(type="string"),
    "path": PrimitiveType(type="string"),
    "int": PrimitiveType(type="integer"),
    "float": PrimitiveType(type="number"),
    "uuid": PrimitiveType(type="string", format="uuid"),
    "date": PrimitiveType(type="string", format="date"),
}
_HOOK_ARITY: Final[dict[str, int]] = {"before": 4, "after": 4, "catch": 5}
# dot-separated parts of letters, digits, `_` and `-`, each starting with a letter or `_`
_HANDLER_ID: Final = re.compile(r"[^\W\d][\w-]*(?:\.[^\W\d][\w-]*)*")


@dataclass(frozen=True)
class LowerOptions:
    app: str
    source_roots: tuple[str, ...] = (".",)
    global_hooks: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Decorated:
    name: str  # the runtime name: handler, get, before, module, ...
    call: ExCall | None
    anchor: Anchor


class _Lowerer:
    def __init__(self, project: ResolvedProject, options: LowerOptions, reporter: Reporter) -> None:
        self.project = project
        self.options = options
        self.reporter = reporter
        self.types = TypeLowerer(project, reporter)
        self.hooks: dict[str, HookDef] = {}

    # -- shared -------------------------------------------------------------------------------

    def runtime_decorators(self, module: str, decorators: Sequence[Expr]) -> list[_Decorated]:
        out: list[_Decorated] = []
        for dec in decorators:
            func = dec.func if isinstance(dec, ExCall) else dec
            if not isinstance(func, ExName):
                continue
            target = self.project.resolve(module, func.name)
            if isinstance(target, External) and target.qualname.startswith(RUNTIME + "."):
                name = canonical_name(target.qualname).rsplit(".", 1)[-1]
                out.append(_Decorated(name, dec if isinstance(dec, ExCall) else None, dec.anchor))
        return out

    def error(
        self, code: codes.DiagnosticCode, message: str, facts: ModuleFacts, anchor: Anchor, help: str | None = None
    ) -> None:
        self.reporter.report(code, message, facts.rel_path, anchor, help=help)

    def _const(self, expr: Expr | None, facts: ModuleFacts, what: str, kinds: tuple[type, ...]) -> object:
        if expr is None:
            return None
        if (
            isinstance(expr, ExConst)
            and isinstance(expr.value, kinds)
            and not (isinstance(expr.value, bool) and bool not in kinds)
        ):
            return expr.value
        self.error(
            codes.DECORATOR_ARGUMENT,
            f"`{what}` must be a literal gati can read without running code",
            facts,
            expr.anchor,
        )
        return None

    def _strings(
        self,
        expr: Expr | None,
        facts: ModuleFacts,
        what: str,
        code: codes.DiagnosticCode = codes.DECORATOR_ARGUMENT,
    ) -> tuple[str, ...]:
        if expr is None:
            return ()
        if isinstance(expr, ExList) and all(isinstance(i, ExConst) and isinstance(i.value, str) for i in expr.items):
            return tuple(str(i.value) for i in expr.items if isinstance(i, ExConst))
        self.error(code, f"`{what}` must be a literal list of strings", facts, expr.anchor)
        return ()

    # -- hooks --------------------------------------------------------------------------------

    def hook_of(self, facts: ModuleFacts, fn: FunctionFact, kind_hint: str | None = None) -> HookDef | None:
        key = f"{facts.module}:{fn.name}"
        if key in self.hooks:
            return self.hooks[key]
        decs = [d for d in self.runtime_decorators(facts.module, fn.decorators) if d.name in _HOOK_ARITY]
        kind = decs[0].name if decs else kind_hint
        if kind is None:
            return None
        timeout: float | None = None
        retries = 0
        if decs and decs[0].call is not None:
            call = decs[0].call
            kw = dict(call.kwargs)
            if call.args:
                self.error(
                    codes.DECORATOR_ARGUMENT,
                    "hook options are keyword arguments: `timeout=`, `retries=`",
                    facts,
                    call.args[0].anchor,
                )
            for name in kw:
                if name not in ("timeout", "retries"):
                    self.error(
                        codes.DECORATOR_ARGUMENT,
                        f"unknown hook option `{name}`",
                        facts,
                        kw[name].anchor,
                        help="hooks take `timeout` (seconds) and `retries`",
                    )
            timeout = self._timeout(kw.get("timeout"), facts)
            r = self._const(kw.get("retries"), facts, "retries", (int,))
            if isinstance(r, int):
                if r < 0:
                    self.error(codes.DECORATOR_ARGUMENT, "`retries` must not be negative", facts, kw["retries"].anchor)
                retries = max(r, 0)
        positional = [p for p in fn.params if p.kind == "positional"]
        arity = _HOOK_ARITY[kind]
        if len(positional) != arity or any(p.kind == "keyword" and not p.has_default for p in fn.params):
            expected = "(error, req, res, lctx, gctx)" if kind == "catch" else "(req, res, lctx, gctx)"
            required_kw = [p.name for p in fn.params if p.kind == "keyword" and not p.has_default]
            found = (
                f"a required keyword argument `{required_kw[0]}`" if required_kw else f"{len(positional)} argument(s)"
            )
            self.error(
                codes.HOOK_SIGNATURE,
                f"{kind} hook `{fn.name}` must take `{expected}`, it takes {found}",
                facts,
                (*fn.anchor, "name"),
            )
            return None
        if fn.returns is not None and not (isinstance(fn.returns, ExConst) and fn.returns.value is None):
            self.error(codes.HOOK_SIGNATURE, f"{kind} hook `{fn.name}` must return `None`", facts, fn.returns.anchor)
            return None
        scope = "global" if facts.module in self.options.global_hooks else "route"
        hook = HookDef(
            id=key,
            kind=kind,
            module=facts.module,
            function=fn.name,
            isAsync=fn.is_async,
            timeout=timeout,
            retries=retries,
            scope=scope,
            source=SourceRef(file=facts.rel_path, line=fn.line),
        )
        self.hooks[key] = hook
        return hook

    def route_hooks(self, facts: ModuleFacts, expr: Expr | None, kind: HookKind) -> tuple[HookDef, ...]:
        if expr is None:
            return ()
        items = expr.items if isinstance(expr, ExList) else (expr,)
        out: list[HookDef] = []
        for item in items:
            if not isinstance(item, ExName):
                self.error(codes.UNRESOLVED_HOOK, f"`{kind}` hooks must be named functions", facts, item.anchor)
                continue
            target = self.project.resolve(facts.module, item.name)
            if isinstance(target, Missing) and target.broken:
                continue  # from a module that does not parse: its GATI101 is the report
            if not (isinstance(target, ProjectDef) and isinstance(target.fact, FunctionFact)):
                self.error(
                    codes.UNRESOLVED_HOOK,
                    f"`{item.name}` is not a function of this project",
                    facts,
                    item.anchor,
                    help="import the hook function from a project module",
                )
                continue
            owner = self.project.facts(target.module)
            assert owner is not None
            hook = self.hook_of(owner, target.fact, kind)
            if hook is None:
                continue
            if hook.kind != kind:
                self.error(
                    codes.UNRESOLVED_HOOK,
                    f"`{item.name}` is {'an' if hook.kind == 'after' else 'a'} {hook.kind} hook, listed under `{kind}`",
                    facts,
                    item.anchor,
                )
                continue
            out.append(hook)
        return tuple(out)

    def _timeout(self, expr: Expr | None, facts: ModuleFacts) -> float | None:
        if expr is None or (isinstance(expr, ExConst) and expr.value is None):
            return None
        value = self._const(expr, facts, "timeout", (int, float))
        if value is None:
            return None
        assert isinstance(value, int | float)
        if value <= 0:
            self.error(
                codes.TIMEOUT_INVALID,
                f"timeout must be a positive number of seconds, got `{value}`",
                facts,
                expr.anchor,
            )
            return None
        return float(value)

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
        for name, value in call.kwargs:
            if name not in _HANDLER_KEYWORDS:
                self.error(
                    codes.DECORATOR_ARGUMENT,
                    f"unknown handler option `{name}`",
                    facts,
                    value.anchor,
                    help="known options: " + ", ".join(sorted(_HANDLER_KEYWORDS - {"method", "path"})),
                )
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
            ),
            fingerprint="",
            source=SourceRef(file=facts.rel_path, line=fn.line),
            lifecycle=lifecycle,
            wire=wire,
        )

    def _contract_decl(
        self, kw: Mapping[str, Expr], facts: ModuleFacts
    ) -> tuple[Lifecycle | None, WireDecl | None, bool]:
        """The lifecycle (`deprecated`, `sunset`, `stability`) and wire declarations
        (`response_headers`, `consumes`, `produces`, `streaming`) of a handler decorator."""
        ok = True
        deprecated = self._const(kw.get("deprecated"), facts, "deprecated", (bool,))
        sunset = self._const(kw.get("sunset"), facts, "sunset", (str,))
        if isinstance(sunset, str):
            try:
                sunset = date.fromisoformat(sunset).isoformat()
            except ValueError:
                self.error(
                    codes.DECORATOR_ARGUMENT,
                    f"`sunset` must be an ISO date like `2027-06-30`, got `{sunset}`",
                    facts,
                    kw["sunset"].anchor,
                )
                ok, sunset = False, None
        stability = self._const(kw.get("stability"), facts, "stability", (str,))
        if stability is not None and stability not in _STABILITY:
            self.error(
                codes.DECORATOR_ARGUMENT,
                f"`stability` must be one of {', '.join(_STABILITY)}, got `{stability}`",
                facts,
                kw["stability"].anchor,
            )
            ok, stability = False, None
        lifecycle = None
        if deprecated is True or sunset is not None or stability is not None:
            lifecycle = Lifecycle(
                deprecated=deprecated is True or sunset is not None,
                sunset=sunset if isinstance(sunset, str) else None,
                stability=stability if stability in _STABILITY else None,
            )
        headers = tuple(
            ResponseHeader(name=h.rstrip("?"), required=not h.endswith("?"))
            for h in self._strings(kw.get("response_headers"), facts, "response_headers")
        )
        consumes = self._strings(kw.get("consumes"), facts, "consumes") if "consumes" in kw else None
        produces = self._strings(kw.get("produces"), facts, "produces") if "produces" in kw else None
        streaming = self._const(kw.get("streaming"), facts, "streaming", (bool,)) is True
        wire = None
        if headers or consumes is not None or produces is not None or streaming:
            wire = WireDecl(
                responseHeaders=tuple(sorted(headers, key=lambda h: h.name.lower())),
                consumes=consumes,
                produces=produces,
                streaming=streaming,
            )
        return lifecycle, wire, ok

    def _fastapi_form(self, facts: ModuleFacts, fn: FunctionFact) -> str | None:
        """For a FastAPI-shaped handler (`def get(id: int) -> Order`), the same handler in Gati's form.

        FastAPI-shaped: no parameter is annotated with the runtime's `Request`/`Response`."""
        for param in fn.params:
            ann = param.annotation
            base = ann.base if isinstance(ann, ExSub) else ann
            target = self.project.resolve(facts.module, base.name) if isinstance(base, ExName) else None
            if isinstance(target, External) and canonical_name(target.qualname) in (
                f"{RUNTIME}.Request",
                f"{RUNTIME}.Response",
            ):
                return None
        has_return = fn.returns is not None and not (isinstance(fn.returns, ExConst) and fn.returns.value is None)
        out = describe(fn.returns) if has_return and fn.returns is not None else "None"
        inputs = [p for p in fn.params if p.kind in ("positional", "keyword")]
        reads = ", ".join(f"`{p.name}` as `req.params[{p.name!r}]` or `req.query[{p.name!r}]`" for p in inputs[:3])
        prefix = "async " if fn.is_async else ""
        return (
            f"this looks like a FastAPI handler; the Gati form is `{prefix}def {fn.name}(req: Request[None], "
            f"res: Response[{out}], lctx: LocalContext, gctx: GlobalContext) -> None` ending in "
            f"`res.json(...)`" + (f"; read {reads} (typed by `Request[Body, Query, Params]`)" if reads else "")
        )

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

    def module_decl(self, facts: ModuleFacts, cls: ClassFact, dec: _Decorated) -> ModuleDecl | None:
        call = dec.call
        if (
            call is None
            or not call.args
            or not isinstance(call.args[0], ExConst)
            or not isinstance(call.args[0].value, str)
        ):
            self.error(
                codes.MODULE_DECLARATION,
                f'module class `{cls.name}` must be declared as `@module("<id>", ...)`',
                facts,
                dec.anchor,
            )
            return None
        kw = dict(call.kwargs)
        for name, value in call.kwargs:
            if name not in ("capabilities", "egress"):
                self.error(
                    codes.DECORATOR_ARGUMENT,
                    f"unknown module option `{name}`",
                    facts,
                    value.anchor,
                    help="modules take `capabilities` and `egress`",
                )
        ctx = Ctx(facts.module, facts.rel_path, {})
        methods: list[ModuleMethod] = []
        for m in cls.methods:
            if m.name.startswith("_"):
                continue
            params = [p for p in m.params if p.name not in ("self", "cls")]
            missing = [p.name for p in params if p.annotation is None]
            if missing or m.returns is None:
                what = f"parameter `{missing[0]}`" if missing else "its return type"
                self.error(
                    codes.MODULE_METHOD_UNTYPED,
                    f"module method `{cls.name}.{m.name}` must annotate {what}",
                    facts,
                    (*m.anchor, "name"),
                    help="module methods are called across processes; their types are the contract",
                )
                continue
            methods.append(
                ModuleMethod(
                    name=m.name,
                    isAsync=m.is_async,
                    params=tuple(
                        (p.name, self.types.lower(p.annotation, ctx)) for p in params if p.annotation is not None
                    ),
                    returns=self.types.lower(m.returns, ctx),
                    description=m.docstring,
                )
            )
        return ModuleDecl(
            moduleId=str(call.args[0].value),
            module=facts.module,
            className=cls.name,
            capabilities=tuple(
                sorted(set(self._strings(kw.get("capabilities"), facts, "capabilities", codes.MODULE_DECLARATION)))
            ),
            egress=tuple(sorted(set(self._strings(kw.get("egress"), facts, "egress", codes.MODULE_DECLARATION)))),
            description=cls.docstring,
            methods=tuple(methods),
            source=SourceRef(file=facts.rel_path, line=cls.line),
        )

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
    """Stage entry point: every handler, hook, module and named type of the project."""
    return _Lowerer(project, options, reporter).run()


__all__ = ["LowerOptions", "display_of", "lower_program"]
