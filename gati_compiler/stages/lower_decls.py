"""Lowering the declarations around handlers: runtime decorators and their keyword arguments,
hooks (route, local and global), timeouts and the contract keywords of a handler decorator
(`deprecated`, `sunset`, `stability`, wire declarations). `@module` classes: `lower_modules`.

`_Declarations` is the base of `lower._Lowerer` (through `lower_modules._ModuleDeclarations`); it reads no
files and reports every mistake.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from gati_compiler.diagnostics import codes
from gati_compiler.ir.gtype import PrimitiveType
from gati_compiler.ir.models import (
    HookDef,
    HookKind,
    Lifecycle,
    ResponseHeader,
    SourceRef,
    WireDecl,
)
from gati_compiler.stages.facts import (
    Anchor,
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
from gati_compiler.stages.lower_common import canonical_name
from gati_compiler.stages.lower_types import TypeLowerer
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
        "secrets",
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


class _Declarations:
    """The declaration half of `_Lowerer` (see the module docstring)."""

    project: ResolvedProject
    options: LowerOptions
    reporter: Reporter
    types: TypeLowerer
    hooks: dict[str, HookDef]

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

    def unknown_options(self, call: ExCall, known: Collection[str], what: str, facts: ModuleFacts, help: str) -> bool:
        """Report each keyword of `call` not in `known` (GATI104, "unknown <what> option"); whether any was."""
        found = False
        for name, value in call.kwargs:
            if name not in known:
                self.error(codes.DECORATOR_ARGUMENT, f"unknown {what} option `{name}`", facts, value.anchor, help=help)
                found = True
        return found

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
            self.unknown_options(
                call, ("timeout", "retries"), "hook", facts, "hooks take `timeout` (seconds) and `retries`"
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
