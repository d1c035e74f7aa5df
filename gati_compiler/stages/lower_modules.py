"""Lowering `@module` classes: the declaration's id and options, and each public method's typed
signature and call policy (`@method(timeout=..., retries=..., idempotent=...)`).

Every spelling `gati_runtime_min.authoring.module` accepts is accepted here: the id positional or
as `id=`; `capabilities` and `egress` as list, tuple or set literals of strings, or as the name of
a module-level constant bound to such a literal; `description`, `command` (argv: the module runs
out of process and the class is its typed interface), `pool`, `timeout` and `retries`. Bad values
are diagnostics (GATI113 for the declaration, GATI104/GATI112 for arguments, GATI738/GATI739 for
method policies); the module is still lowered where its id is known, so handlers that use it do
not also get GATI307.
"""

from __future__ import annotations

import re
from typing import Final

from gati_compiler.diagnostics import codes
from gati_compiler.ir.models import ModuleDecl, ModuleMethod, SourceRef
from gati_compiler.stages.facts import AliasFact, ClassFact, ExConst, ExList, ExName, Expr, FunctionFact, ModuleFacts
from gati_compiler.stages.lower_common import Ctx
from gati_compiler.stages.lower_decls import _Declarations, _Decorated
from gati_compiler.stages.resolve import ProjectDef

MODULE_OPTIONS: Final = ("id", "capabilities", "egress", "description", "command", "pool", "timeout", "retries")
METHOD_OPTIONS: Final = ("timeout", "retries", "idempotent")
# dot-separated parts of letters, digits, `_` and `-`, each starting with a letter or `_` (file and SDK safe)
MODULE_ID: Final = re.compile(r"[^\W\d][\w-]*(?:\.[^\W\d][\w-]*)*")
_DECLARE: Final = '`@module("<id>", ...)` or `@module(id="<id>", ...)`'


class _ModuleDeclarations(_Declarations):
    """`module_decl` for `_Lowerer` (see the module docstring)."""

    def _constant(self, expr: Expr | None, facts: ModuleFacts) -> Expr | None:
        """`expr`, or the literal a module-level constant it names is bound to (`EGRESS = [...]`),
        anchored where `expr` is written (so a diagnostic points at the use)."""
        here, module = expr, facts.module
        for _ in range(8):  # a chain of constants, never a cycle
            if not isinstance(here, ExName) or expr is None:
                break
            target = self.project.resolve(module, here.name)
            if not (isinstance(target, ProjectDef) and isinstance(target.fact, AliasFact)):
                break
            if target.fact.explicit or target.fact.type_params:
                break  # a type alias, not a value
            here, module = target.fact.value, target.module
            if isinstance(here, ExConst | ExList):
                return here._replace(anchor=expr.anchor)
        return expr

    def _module_strings(
        self, expr: Expr | None, facts: ModuleFacts, what: str, *, sort: bool
    ) -> tuple[str, ...] | None:
        """A list/tuple/set literal of strings (or a constant bound to one); None when it is not."""
        if expr is None:
            return ()
        value = self._constant(expr, facts)
        if isinstance(value, ExList) and all(
            isinstance(i, ExConst) and isinstance(i.value, str) and i.value.strip() for i in value.items
        ):
            items = tuple(str(i.value) for i in value.items if isinstance(i, ExConst))
            return tuple(sorted(set(items))) if sort else items
        self.error(
            codes.MODULE_DECLARATION,
            f"`{what}` must be a list, tuple or set of non-empty string literals (or a constant bound to one)",
            facts,
            expr.anchor,
        )
        return None

    def _module_int(self, expr: Expr | None, facts: ModuleFacts, what: str, minimum: int) -> int | None:
        if expr is None:
            return None
        value = self._constant(expr, facts)
        if (
            isinstance(value, ExConst)
            and isinstance(value.value, int)
            and not isinstance(value.value, bool)
            and value.value >= minimum
        ):
            return value.value
        self.error(
            codes.MODULE_DECLARATION,
            f"`{what}` must be an integer literal of at least {minimum}",
            facts,
            expr.anchor,
        )
        return None

    def _module_id(self, cls: ClassFact, dec: _Decorated, facts: ModuleFacts) -> str | None:
        call = dec.call
        if call is None:
            self.error(
                codes.MODULE_DECLARATION,
                f"module class `{cls.name}` must be declared as {_DECLARE}",
                facts,
                dec.anchor,
            )
            return None
        kw = dict(call.kwargs)
        given = [e for e in (*call.args[:1], kw.get("id")) if e is not None]
        if len(call.args) > 1:
            self.error(
                codes.MODULE_DECLARATION,
                "`@module` takes the id as its only positional argument; options are keywords",
                facts,
                call.args[1].anchor,
            )
        if len(given) != 1:
            self.error(
                codes.MODULE_DECLARATION,
                f"module class `{cls.name}` must give its id once, as {_DECLARE}",
                facts,
                given[1].anchor if given else dec.anchor,
            )
            return None
        value = self._constant(given[0], facts)
        if not (isinstance(value, ExConst) and isinstance(value.value, str)):
            self.error(
                codes.MODULE_DECLARATION,
                f"the id of module class `{cls.name}` must be a string literal (or a constant bound to one)",
                facts,
                given[0].anchor,
            )
            return None
        if not MODULE_ID.fullmatch(value.value):
            self.error(
                codes.MODULE_DECLARATION,
                f"module id `{value.value}` is not a dotted identifier",
                facts,
                given[0].anchor,
                help='use letters, digits, `_`, `.` and `-`, starting with a letter or `_`: `@module("pricing")`',
            )
            return None
        return value.value

    def module_decl(self, facts: ModuleFacts, cls: ClassFact, dec: _Decorated) -> ModuleDecl | None:
        module_id = self._module_id(cls, dec, facts)
        if module_id is None or dec.call is None:
            return None
        kw = dict(dec.call.kwargs)
        self.unknown_options(
            dec.call,
            MODULE_OPTIONS,
            "module",
            facts,
            "modules take `capabilities`, `egress`, `description`, `command`, `pool`, `timeout` and `retries`",
        )
        capabilities = self._module_strings(kw.get("capabilities"), facts, "capabilities", sort=True) or ()
        egress = self._module_strings(kw.get("egress"), facts, "egress", sort=True) or ()
        command: tuple[str, ...] | None = None
        if "command" in kw:
            command = self._module_strings(kw["command"], facts, "command", sort=False)
            if command == ():
                self.error(
                    codes.MODULE_DECLARATION,
                    '`command` must name a program: `command=["node", "modules/pricing.mjs"]`',
                    facts,
                    kw["command"].anchor,
                )
                command = None
        pool = self._module_int(kw.get("pool"), facts, "pool", 1)
        if pool is not None and "command" not in kw:
            self.error(
                codes.MODULE_DECLARATION,
                "`pool` is the number of processes of an out-of-process module; it needs `command=`",
                facts,
                kw["pool"].anchor,
            )
        retries = self._module_int(kw.get("retries"), facts, "retries", 0) or 0
        timeout = self._timeout(self._constant(kw.get("timeout"), facts), facts)
        described = self._constant(kw.get("description"), facts)
        if isinstance(described, ExConst) and described.value is None:
            described = None  # `description=None`: the docstring, as at run time
        description = self._const(described, facts, "description", (str,))
        process = "command" in kw
        ctx = Ctx(facts.module, facts.rel_path, {})
        methods: list[ModuleMethod] = []
        for m in cls.methods:
            if m.name.startswith("_"):
                continue
            params = [p for p in m.params if p.name not in ("self", "cls")]
            star = [p for p in params if p.kind in ("star", "starstar")]
            if star:
                self.error(
                    codes.MODULE_METHOD_UNTYPED,
                    f"module method `{cls.name}.{m.name}` must name its parameters, not take `*{star[0].name}`",
                    facts,
                    star[0].anchor,
                    help="arguments travel by name; declare each with its type",
                )
                continue
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
            if process and not m.is_async:
                self.error(
                    codes.MODULE_METHOD_SYNC,
                    f"method `{cls.name}.{m.name}` of out-of-process module `{module_id}` must be `async def`",
                    facts,
                    (*m.anchor, "name"),
                    help="calls to a module with `command=` go over a pipe; the interface says they are awaited",
                )
            m_timeout, m_retries, idempotent = self._method_policy(facts, m)
            effective_retries = (m_retries if m_retries is not None else retries) if idempotent else 0
            methods.append(
                ModuleMethod(
                    name=m.name,
                    isAsync=m.is_async,
                    params=tuple(
                        (p.name, self.types.lower(p.annotation, ctx)) for p in params if p.annotation is not None
                    ),
                    optional=tuple(p.name for p in params if p.has_default),
                    returns=self.types.lower(m.returns, ctx),
                    timeout=m_timeout if m_timeout is not None else timeout,
                    retries=effective_retries,
                    idempotent=idempotent,
                    description=m.docstring,
                )
            )
        return ModuleDecl(
            moduleId=module_id,
            module=facts.module,
            className=cls.name,
            runtime="process" if process else "python",
            command=command if process else None,
            pool=pool or 1,
            capabilities=capabilities,
            egress=egress,
            description=description if isinstance(description, str) else cls.docstring,
            methods=tuple(methods),
            source=SourceRef(file=facts.rel_path, line=cls.line),
        )

    def _method_policy(self, facts: ModuleFacts, fn: FunctionFact) -> tuple[float | None, int | None, bool]:
        """`@method(timeout=..., retries=..., idempotent=...)`: (timeout, retries or None, idempotent)."""
        decs = [d for d in self.runtime_decorators(facts.module, fn.decorators) if d.name == "method"]
        if not decs or decs[0].call is None:
            return None, None, False
        call = decs[0].call
        if call.args:
            self.error(
                codes.DECORATOR_ARGUMENT,
                "`@method` options are keyword arguments: `timeout=`, `retries=`, `idempotent=`",
                facts,
                call.args[0].anchor,
            )
        kw = dict(call.kwargs)
        self.unknown_options(
            call, METHOD_OPTIONS, "method", facts, "`@method` takes `timeout` (seconds), `retries` and `idempotent`"
        )
        timeout = self._timeout(self._constant(kw.get("timeout"), facts), facts)
        retries: int | None = None
        if "retries" in kw:
            number = self._const(self._constant(kw["retries"], facts), facts, "retries", (int,))
            if isinstance(number, int) and number < 0:
                self.error(codes.DECORATOR_ARGUMENT, "`retries` must not be negative", facts, kw["retries"].anchor)
            elif isinstance(number, int):
                retries = number
        idempotent = self._const(self._constant(kw.get("idempotent"), facts), facts, "idempotent", (bool,)) is True
        if retries and not idempotent:
            self.error(
                codes.MODULE_RETRY_NOT_IDEMPOTENT,
                f"method `{fn.name}` declares `retries={retries}` but is not idempotent, so it is never retried",
                facts,
                kw["retries"].anchor,
                help="add `idempotent=True` if calling it twice is safe, or drop `retries`",
            )
        return timeout, retries, idempotent
