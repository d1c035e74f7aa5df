"""Lower the Timescape transformers: module facts → `TransformerDecl`s.

Input: the resolved project and a `Reporter`. Output: the `TransformerDecl` of every module-level
function decorated with `upgrade_request` / `downgrade_response` / `downgrade_error` from
`gati_runtime_min.timescape` (any import spelling), sorted by (handler, version, kind). A marker
whose arguments are not two string literals, or that decorates a method or a nested function, is
a diagnostic. Binding a transformer to a step of the timeline is `timescape.transformers`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Final, assert_never

from gati_compiler.diagnostics import codes
from gati_compiler.ir.models import SourceRef, TransformerDecl, TransformerKind
from gati_compiler.stages.facts import (
    Anchor,
    ExBad,
    ExCall,
    ExConst,
    ExList,
    ExName,
    ExOr,
    Expr,
    ExSub,
    FunctionFact,
    ModuleFacts,
)
from gati_compiler.stages.lower_common import canonical_name
from gati_compiler.stages.report import Reporter
from gati_compiler.stages.resolve import External, ResolvedProject

MARKERS: Final[dict[str, TransformerKind]] = {
    "upgrade_request": "request",
    "downgrade_response": "response",
    "downgrade_error": "error",
}
_RUNTIME: Final = "gati_runtime_min."
# types are named by their fully qualified name when they come from the generated package
VERSIONS_PACKAGE: Final = "gati_versions."


def expr_text(expr: Expr) -> str:
    """An annotation expression as source-like text (for messages and `TransformerDecl.params`)."""
    match expr:
        case ExName(name=name):
            return name
        case ExConst(value=value):
            return repr(value) if not isinstance(value, str) else value
        case ExSub(base=base, args=args):
            return f"{expr_text(base)}[{', '.join(expr_text(a) for a in args)}]"
        case ExOr(items=items):
            return " | ".join(expr_text(i) for i in items)
        case ExList(items=items):
            return "[" + ", ".join(expr_text(i) for i in items) + "]"
        case ExCall(func=func):
            return f"{expr_text(func)}(...)"
        case ExBad(text=text):
            return text
        case _:
            assert_never(expr)


class TransformerLowerer:
    """Finds the transformer markers of every module."""

    def __init__(self, project: ResolvedProject, reporter: Reporter) -> None:
        self.project = project
        self.reporter = reporter

    def _markers(self, module: str, decorators: Sequence[Expr]) -> Iterator[tuple[TransformerKind, Expr]]:
        for dec in decorators:
            func = dec.func if isinstance(dec, ExCall) else dec
            if not isinstance(func, ExName):
                continue
            target = self.project.resolve(module, func.name)
            if not isinstance(target, External) or not target.qualname.startswith(_RUNTIME):
                continue
            name = canonical_name(target.qualname).rsplit(".", 1)[-1]
            if name in MARKERS:
                yield MARKERS[name], dec

    def annotation(self, module: str, expr: Expr | None) -> str:
        """The annotation's text; a name that resolves into `gati_versions` is fully qualified
        (so `OldRequest`, `steps_mod.OldRequest` and an aliased import all compare equal)."""
        if expr is None:
            return ""
        dotted = None
        if isinstance(expr, ExName):
            dotted = expr.name
        elif isinstance(expr, ExConst) and isinstance(expr.value, str) and expr.value.replace(".", "").isidentifier():
            dotted = expr.value  # a quoted forward reference
        if dotted is not None:
            target = self.project.resolve(module, dotted)
            if isinstance(target, External) and target.qualname.startswith(VERSIONS_PACKAGE):
                return target.qualname
        return expr_text(expr)

    def _arguments(self, facts: ModuleFacts, dec: Expr, kind: TransformerKind) -> tuple[str, str] | None:
        marker = next(k for k, v in MARKERS.items() if v == kind)
        if not isinstance(dec, ExCall):
            self._bad(facts, dec.anchor, f"`@{marker}` needs its handler id and version: `@{marker}(handler, version)`")
            return None
        slots: dict[str, Expr] = {}
        names = ("handler", "version")
        extra = len(dec.args) > 2 or any(k not in names for k, _ in dec.kwargs)
        for name, arg in zip(names, dec.args, strict=False):
            slots[name] = arg
        for key, arg in dec.kwargs:
            if key in slots:
                extra = True
            slots[key] = arg
        if extra or set(slots) != set(names):
            self._bad(facts, dec.anchor, f"`@{marker}` takes exactly two arguments, the handler id and the version")
            return None
        values: list[str] = []
        for name in names:
            arg = slots[name]
            if not isinstance(arg, ExConst) or not isinstance(arg.value, str):
                self._bad(facts, arg.anchor, f"the {name} of `@{marker}` must be a string literal")
                return None
            values.append(arg.value)
        return values[0], values[1]

    def _bad(self, facts: ModuleFacts, anchor: Anchor, message: str) -> None:
        self.reporter.report(codes.TRANSFORMER_MARKER, message, facts.rel_path, anchor)

    def _misplaced(self, facts: ModuleFacts, fn: FunctionFact, where: str) -> None:
        for _kind, dec in self._markers(facts.module, fn.decorators):
            self.reporter.report(
                codes.TRANSFORMER_MISPLACED,
                f"transformer `{fn.name}` is {where}; transformers are module-level functions",
                facts.rel_path,
                dec.anchor,
                help="move it to the top level of a module",
            )
        for inner in fn.nested:
            self._misplaced(facts, inner, "a nested function")

    def decl(self, facts: ModuleFacts, fn: FunctionFact) -> list[TransformerDecl]:
        out: list[TransformerDecl] = []
        for kind, dec in self._markers(facts.module, fn.decorators):
            args = self._arguments(facts, dec, kind)
            if args is None:
                continue
            out.append(
                TransformerDecl(
                    kind=kind,
                    handlerId=args[0],
                    version=args[1],
                    module=facts.module,
                    function=fn.name,
                    params=tuple(self.annotation(facts.module, p.annotation) for p in fn.params),
                    returns=self.annotation(facts.module, fn.returns) if fn.returns is not None else None,
                    stub=fn.stub,
                    source=SourceRef(file=facts.rel_path, line=fn.line),
                )
            )
        return out

    def run(self) -> tuple[TransformerDecl, ...]:
        found: list[TransformerDecl] = []
        for name in sorted(self.project.modules):
            facts = self.project.modules[name]
            for fn in facts.functions:
                found.extend(self.decl(facts, fn))
                for inner in fn.nested:
                    self._misplaced(facts, inner, "a nested function")
            for cls in facts.classes:
                for method in cls.methods:
                    self._misplaced(facts, method, f"a method of `{cls.name}`")
                    for inner in method.nested:
                        self._misplaced(facts, inner, "a nested function")
        found.sort(key=lambda t: (t.handlerId, t.version, t.kind, t.module, t.function))
        return tuple(found)


def lower_transformers(project: ResolvedProject, reporter: Reporter) -> tuple[TransformerDecl, ...]:
    """Every transformer declared in the project, sorted by (handler, version, kind)."""
    return TransformerLowerer(project, reporter).run()
