"""Lower the typed pub/sub topics: module facts → `TopicDecl`s.

Input: the resolved project, the `TypeLowerer` of the program being lowered (so a message type
is a named GType like any handler's) and a `Reporter`. Output: one `TopicDecl` per module-level
`NAME = topic("orders.placed", OrderPlaced)` (any import spelling of `gati_runtime_min.topic`),
sorted by topic name; one declaration kept per name. A name that is not a string literal, or a
message type that is missing or `Any`, is GATI745; two declarations of one name with different
message types are GATI746. The refs in the types are still the lowerer's keys: the caller maps
them to the final names with the handlers' types (`lower._Lowerer._finish`).
"""

from __future__ import annotations

from typing import Final

from gati_compiler.canonical import compact_json
from gati_compiler.diagnostics import codes
from gati_compiler.diagnostics.model import Severity
from gati_compiler.ir.gtype import AnyType, GType
from gati_compiler.ir.models import SourceRef, TopicDecl
from gati_compiler.stages.facts import AliasFact, ExCall, ExConst, ExName, ModuleFacts
from gati_compiler.stages.lower_common import Ctx, canonical_name
from gati_compiler.stages.lower_types import TypeLowerer
from gati_compiler.stages.report import Reporter
from gati_compiler.stages.resolve import External, ResolvedProject

TOPIC: Final = "gati_runtime_min.topic"
_HELP: Final = 'declare it as `NAME = topic("orders.placed", OrderPlaced)`: a string literal and a type'


class TopicLowerer:
    """Finds the `topic(...)` declarations of every module."""

    def __init__(self, project: ResolvedProject, types: TypeLowerer, reporter: Reporter) -> None:
        self.project = project
        self.types = types
        self.reporter = reporter

    def _is_topic_call(self, module: str, alias: AliasFact) -> ExCall | None:
        call = alias.value
        if not isinstance(call, ExCall) or not isinstance(call.func, ExName):
            return None
        target = self.project.resolve(module, call.func.name)
        if not isinstance(target, External):
            return None
        if canonical_name(target.qualname) not in (TOPIC, "gati_runtime_min.bus.topic"):
            return None
        return call

    def decl(self, facts: ModuleFacts, alias: AliasFact) -> TopicDecl | None:
        call = self._is_topic_call(facts.module, alias)
        if call is None:
            return None
        slots = dict(zip(("name", "message_type"), call.args, strict=False))
        slots.update(call.kwargs)
        name_expr = slots.get("name")
        if not isinstance(name_expr, ExConst) or not isinstance(name_expr.value, str) or not name_expr.value:
            where = name_expr.anchor if name_expr is not None else call.anchor
            self._error(
                codes.TOPIC_DECLARATION, f"topic `{alias.name}` needs its name as a string literal", facts, where
            )
            return None
        type_expr = slots.get("message_type")
        if type_expr is None:
            self._error(codes.TOPIC_DECLARATION, f"topic `{name_expr.value}` has no message type", facts, call.anchor)
            return None
        before = self._errors()
        gtype = self.types.lower(type_expr, Ctx(facts.module, facts.rel_path, {}))
        if isinstance(gtype, AnyType):
            if self._errors() == before:  # `Any`: the type lowerer said nothing
                self._error(
                    codes.TOPIC_DECLARATION,
                    f"topic `{name_expr.value}` has no usable message type (`Any` checks nothing)",
                    facts,
                    type_expr.anchor,
                )
            return None
        return TopicDecl(
            name=name_expr.value,
            type=gtype,
            module=facts.module,
            variable=alias.name,
            source=SourceRef(file=facts.rel_path, line=self._line(facts, alias)),
        )

    def _line(self, facts: ModuleFacts, alias: AliasFact) -> int:
        return self.reporter.span(facts.rel_path, alias.anchor).line

    def _errors(self) -> int:
        return sum(1 for d in self.reporter.sink.diagnostics if d.severity is Severity.ERROR)

    def _error(
        self, code: codes.DiagnosticCode, message: str, facts: ModuleFacts, anchor: tuple[str | int, ...]
    ) -> None:
        self.reporter.report(code, message, facts.rel_path, anchor, help=_HELP)

    def run(self) -> list[TopicDecl]:
        found: dict[str, TopicDecl] = {}
        for module in sorted(self.project.modules):
            facts = self.project.modules[module]
            for alias in facts.aliases:
                decl = self.decl(facts, alias)
                if decl is None:
                    continue
                first = found.setdefault(decl.name, decl)
                if first is not decl and _key(first.type) != _key(decl.type):
                    self.reporter.report(
                        codes.TOPIC_CONFLICT,
                        f"topic `{decl.name}` is already declared with another message type by "
                        f"`{first.module}.{first.variable}` ({first.source.file}:{first.source.line})",
                        facts.rel_path,
                        alias.anchor,
                        help="one topic name has one message type: rename one of the topics or use the same type",
                    )
        return [found[name] for name in sorted(found)]


def _key(g: GType) -> str:
    return compact_json(g.model_dump(mode="json", exclude_none=True, exclude={"description"}))


def lower_topics(project: ResolvedProject, types: TypeLowerer, reporter: Reporter) -> list[TopicDecl]:
    """Every typed topic declared in the project, sorted by name."""
    return TopicLowerer(project, types, reporter).run()
