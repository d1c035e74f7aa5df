"""Parse: source text → `ModuleFacts`, with libcst, never importing or executing user code.

Input: `SourceFile` values from `discover`. Output: one `ModuleFacts` per file (names, imports,
classes, functions, aliases as unresolved `Expr` trees). It must not resolve names or build IR.
It walks only the statements it needs (no whole-tree visitor, no metadata wrapper): positions
are computed lazily by `positions.locate`, and the line of a top-level definition by
`_TopLevelLines`. CST nodes become `Expr` trees in `cst_exprs`.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import libcst as cst

from gati_compiler.diagnostics import codes
from gati_compiler.diagnostics.model import DiagnosticSink, Span
from gati_compiler.stages.cst_exprs import (
    _attribute_doc,
    _block,
    _code,
    _config_expr,
    _docstring,
    _dotted,
    _functional_typeddict,
    _is_type_checking,
    _raises_not_implemented,
    _static_branch,
    _string_list,
    _target_names,
    _type_params,
    to_expr,
)
from gati_compiler.stages.facts import (
    AliasFact,
    Anchor,
    ClassFact,
    Expr,
    FieldFact,
    FunctionFact,
    ImportFact,
    ModuleFacts,
    ParamFact,
    Use,
)
from gati_compiler.stages.handler_uses import _collect_uses

_TOP_DEF = re.compile(r"^(?:async[ \t]+)?def[ \t]+(\w+)|^class[ \t]+(\w+)", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One discovered file: POSIX path relative to the project root, dotted module name, text."""

    rel_path: str
    module: str
    is_package: bool
    text: str
    sha256: str


class _TopLevelLines:
    """Lines of top-level `def`/`class` statements, found without computing positions.

    A top-level definition always starts in column 0, so a line regex finds every one of them;
    a `def` inside a string can add a hit, which the name check catches, and then the lines are
    recounted from the generated code of the preceding statements (exact, slower).
    """

    def __init__(self, text: str, module: cst.Module) -> None:
        self._text = text
        self._module = module
        self._lines: dict[int, int] | None = None

    def line_of(self, index: int) -> int:
        if self._lines is None:
            self._lines = self._compute()
        return self._lines.get(index, 0)

    def _compute(self) -> dict[int, int]:
        body = self._module.body
        wanted = [
            (i, s.name.value) for i, s in enumerate(body) if (type(s) is cst.FunctionDef or type(s) is cst.ClassDef)
        ]
        hits = list(_TOP_DEF.finditer(self._text))
        if [m.group(1) or m.group(2) for m in hits] == [name for _, name in wanted]:
            text = self._text
            lines: dict[int, int] = {}
            line, pos = 1, 0
            for (i, _), m in zip(wanted, hits, strict=True):
                line += text.count("\n", pos, m.start())
                pos = m.start()
                lines[i] = line
            return lines
        return self._recount(body)

    def _recount(self, body: Sequence[cst.BaseStatement]) -> dict[int, int]:
        line = 1 + sum(_code(e).count("\n") for e in self._module.header)
        out: dict[int, int] = {}
        for i, stmt in enumerate(body):
            if type(stmt) is cst.FunctionDef or type(stmt) is cst.ClassDef:
                before = len(stmt.leading_lines) + len(stmt.lines_after_decorators)
                before += sum(self._module.code_for_node(d).count("\n") for d in stmt.decorators)
                out[i] = line + before
            line += self._module.code_for_node(stmt).count("\n")
        return out


class _ModuleReader:
    """Reads the statements of one module into facts."""

    def __init__(self, src: SourceFile, module: cst.Module) -> None:
        self.src = src
        self.module = module
        self.lines = _TopLevelLines(src.text, module)
        self.imports: list[ImportFact] = []
        self.classes: list[ClassFact] = []
        self.functions: list[FunctionFact] = []
        self.aliases: list[AliasFact] = []
        self.other: list[str] = []
        self.exports: tuple[str, ...] | None = None

    def read(self) -> ModuleFacts:
        self._statements(self.module.body, ("body",), top=True)
        return ModuleFacts(
            rel_path=self.src.rel_path,
            module=self.src.module,
            is_package=self.src.is_package,
            docstring=_docstring(self.module.body),
            imports=tuple(self.imports),
            classes=tuple(self.classes),
            functions=tuple(self.functions),
            aliases=tuple(self.aliases),
            other_names=tuple(sorted(set(self.other))),
            exports=self.exports,
        )

    def _statements(self, body: Sequence[cst.BaseStatement], at: Anchor, *, top: bool) -> None:
        for i, stmt in enumerate(body):
            anchor = (*at, i)
            if type(stmt) is cst.SimpleStatementLine:
                for j, small in enumerate(stmt.body):
                    self._small(small, (*anchor, "body", j))
            elif type(stmt) is cst.FunctionDef:
                self.functions.append(self._function(stmt, anchor, self.lines.line_of(i) if top else 0))
            elif type(stmt) is cst.ClassDef:
                self.classes.append(self._class(stmt, anchor, self.lines.line_of(i) if top else 0))
            elif type(stmt) is cst.If and _is_type_checking(stmt.test) and type(stmt.orelse) is cst.Else:
                # `if TYPE_CHECKING: class X(Protocol) ... else: X = Sequence`: pydantic sees the
                # run-time branch, so its definitions win; the checker-only ones are dropped
                self._statements(_block(stmt.orelse.body), (*anchor, "orelse", "body", "body"), top=False)
                runtime = {c.name for c in self.classes} | {a.name for a in self.aliases}
                runtime |= {f.name for f in self.functions} | set(self.other)
                marks = (len(self.classes), len(self.aliases), len(self.functions))
                self._statements(_block(stmt.body), (*anchor, "body", "body"), top=False)
                self.classes[marks[0] :] = [c for c in self.classes[marks[0] :] if c.name not in runtime]
                self.aliases[marks[1] :] = [a for a in self.aliases[marks[1] :] if a.name not in runtime]
                self.functions[marks[2] :] = [f for f in self.functions[marks[2] :] if f.name not in runtime]
            elif type(stmt) is cst.If:
                self._module_if(stmt, anchor)
            elif type(stmt) is cst.Try:
                self._statements(_block(stmt.body), (*anchor, "body", "body"), top=False)

    def _module_if(self, stmt: cst.If, anchor: Anchor) -> None:
        """A module-level `if`. A pydantic version switch (`if PYDANTIC_V1:`) runs its pydantic 2
        branch only; `if TYPE_CHECKING:` imports and any other condition: both branches define
        names (the `TYPE_CHECKING`/`else` pair is handled by `_statements`)."""
        test = stmt.test
        taken = None if _is_type_checking(test) else _static_branch(test)
        if taken is not False:
            self._statements(_block(stmt.body), (*anchor, "body", "body"), top=False)
        if taken is True:
            return
        orelse = stmt.orelse
        if type(orelse) is cst.If:
            self._module_if(orelse, (*anchor, "orelse"))
        elif type(orelse) is cst.Else:
            self._statements(_block(orelse.body), (*anchor, "orelse", "body", "body"), top=False)

    def _small(self, small: cst.BaseSmallStatement, anchor: Anchor) -> None:
        if type(small) is cst.Import:
            for k, alias in enumerate(small.names):
                name = _dotted(alias.name) or ""
                asname = alias.asname.name.value if alias.asname and type(alias.asname.name) is cst.Name else None
                self.imports.append(ImportFact(name, None, asname, 0, (*anchor, "names", k)))
        elif type(small) is cst.ImportFrom:
            module = _dotted(small.module) if small.module is not None else ""
            level = len(small.relative)
            if isinstance(small.names, cst.ImportStar):
                self.imports.append(ImportFact(module or "", "*", None, level, anchor))
                return
            for k, alias in enumerate(small.names):
                name = _dotted(alias.name) or ""
                asname = alias.asname.name.value if alias.asname and type(alias.asname.name) is cst.Name else None
                self.imports.append(ImportFact(module or "", name, asname, level, (*anchor, "names", k)))
        elif type(small) is cst.Assign:
            if len(small.targets) == 1 and type(small.targets[0].target) is cst.Name:
                name = small.targets[0].target.value
                if name == "__all__":
                    self.exports = _string_list(small.value)
                    return
                functional = _functional_typeddict(name, small.value, anchor)
                if functional is not None:
                    self.classes.append(functional)
                    return
                self.aliases.append(AliasFact(name, to_expr(small.value, (*anchor, "value")), False, (), anchor))
            else:
                for target in small.targets:
                    self.other.extend(_target_names(target.target))
        elif type(small) is cst.AnnAssign and type(small.target) is cst.Name:
            name = small.target.value
            ann = _code(small.annotation.annotation)
            if small.value is not None and ann.split(".")[-1] == "TypeAlias":
                self.aliases.append(AliasFact(name, to_expr(small.value, (*anchor, "value")), True, (), anchor))
            else:
                self.other.append(name)
        elif type(small) is cst.TypeAlias:
            params = _type_params(small.type_parameters)
            self.aliases.append(
                AliasFact(small.name.value, to_expr(small.value, (*anchor, "value")), True, params, anchor)
            )

    def _function(self, fn: cst.FunctionDef, anchor: Anchor, line: int) -> FunctionFact:
        params: list[ParamFact] = []
        groups: tuple[tuple[str, Sequence[cst.Param], str], ...] = (
            ("posonly_params", fn.params.posonly_params, "positional"),
            ("params", fn.params.params, "positional"),
            ("kwonly_params", fn.params.kwonly_params, "keyword"),
        )
        for field, group, kind in groups:
            for k, p in enumerate(group):
                params.append(self._param(p, (*anchor, "params", field, k), kind))
        if type(fn.params.star_arg) is cst.Param:
            params.append(self._param(fn.params.star_arg, (*anchor, "params", "star_arg"), "star"))
        if fn.params.star_kwarg is not None:
            params.append(self._param(fn.params.star_kwarg, (*anchor, "params", "star_kwarg"), "starstar"))
        returns = fn.returns
        decorators = tuple(
            to_expr(d.decorator, (*anchor, "decorators", k, "decorator")) for k, d in enumerate(fn.decorators)
        )
        body = fn.body.body if type(fn.body) is cst.IndentedBlock else ()
        module_uses: tuple[Use, ...] = ()
        param_uses: tuple[Use, ...] = ()
        secret_uses: tuple[Use, ...] = ()
        statuses: tuple[int, ...] = ()
        stub = False
        nested = tuple(
            self._function(stmt, (*anchor, "body", "body", k), 0)
            for k, stmt in enumerate(body)
            if type(stmt) is cst.FunctionDef and stmt.decorators
        )
        if decorators:
            stub = _raises_not_implemented(body)
            uses = _collect_uses(fn)
            module_uses = tuple(Use(name, (*anchor, "#module_use", k)) for k, (name, _) in enumerate(uses.modules))
            param_uses = tuple(Use(name, (*anchor, "#param_use", k)) for k, (name, _) in enumerate(uses.params))
            statuses = tuple(sorted(uses.statuses))
            secret_uses = tuple(Use(name, (*anchor, "#secret_use", k)) for k, (name, _) in enumerate(uses.secrets))
        return FunctionFact(
            name=fn.name.value,
            is_async=fn.asynchronous is not None,
            params=tuple(params),
            returns=to_expr(returns.annotation, (*anchor, "returns", "annotation")) if returns else None,
            decorators=decorators,
            docstring=_docstring(body),
            line=line,
            anchor=anchor,
            module_uses=module_uses,
            param_uses=param_uses,
            statuses=statuses,
            stub=stub,
            nested=nested,
            secret_uses=secret_uses,
        )

    def _param(self, p: cst.Param, anchor: Anchor, kind: str) -> ParamFact:
        ann = to_expr(p.annotation.annotation, (*anchor, "annotation", "annotation")) if p.annotation else None
        return ParamFact(p.name.value, ann, kind, p.default is not None, anchor)  # type: ignore[arg-type]

    def _class_body(
        self, body: Sequence[cst.BaseStatement], at: Anchor, fields: list[FieldFact], methods: list[FunctionFact]
    ) -> None:
        """Fields and methods of a class body, in order; `if` blocks as pydantic sees them at run
        time (see `_class_if`)."""
        for i, stmt in enumerate(body):
            here: Anchor = (*at, i)
            if type(stmt) is cst.FunctionDef:
                methods.append(self._function(stmt, here, 0))
            elif type(stmt) is cst.If:
                self._class_if(stmt, here, fields, methods)
            elif type(stmt) is cst.SimpleStatementLine and len(stmt.body) == 1:
                small = stmt.body[0]
                description = _attribute_doc(body, i)
                if type(small) is cst.AnnAssign and type(small.target) is cst.Name:
                    fields.append(
                        FieldFact(
                            small.target.value,
                            to_expr(small.annotation.annotation, (*here, "body", 0, "annotation", "annotation")),
                            _config_expr(small.value, (*here, "body", 0, "value")) if small.value is not None else None,
                            description,
                            (*here, "body", 0),
                        )
                    )
                elif (
                    type(small) is cst.Assign and len(small.targets) == 1 and type(small.targets[0].target) is cst.Name
                ):
                    fields.append(
                        FieldFact(
                            small.targets[0].target.value,
                            None,
                            _config_expr(small.value, (*here, "body", 0, "value")),
                            description,
                            (*here, "body", 0),
                        )
                    )

    def _class_if(self, stmt: cst.If, at: Anchor, fields: list[FieldFact], methods: list[FunctionFact]) -> None:
        """An `if` in a class body. `if TYPE_CHECKING:` never runs, and a pydantic version switch
        (`if PYDANTIC_V1:` as the SDK generators write it) runs its pydantic 2 branch: only that
        branch is read. Any other condition cannot be known statically: both branches are read,
        the later definition of a name winning as it would in Python."""
        taken = _static_branch(stmt.test)
        orelse = stmt.orelse
        if taken is not False:
            self._class_body(_block(stmt.body), (*at, "body", "body"), fields, methods)
        if taken is True:
            return
        if type(orelse) is cst.If:
            self._class_if(orelse, (*at, "orelse"), fields, methods)
        elif type(orelse) is cst.Else:
            self._class_body(_block(orelse.body), (*at, "orelse", "body", "body"), fields, methods)

    def _class(self, node: cst.ClassDef, anchor: Anchor, line: int) -> ClassFact:
        bases: list[Expr] = []
        keywords: list[tuple[str, Expr]] = []
        for k, arg in enumerate(node.bases):
            bases.append(to_expr(arg.value, (*anchor, "bases", k, "value")))
        for k, arg in enumerate(node.keywords):
            if arg.keyword is not None:
                keywords.append((arg.keyword.value, to_expr(arg.value, (*anchor, "keywords", k, "value"))))
        body = node.body.body if type(node.body) is cst.IndentedBlock else ()
        fields: list[FieldFact] = []
        methods: list[FunctionFact] = []
        self._class_body(body, (*anchor, "body", "body"), fields, methods)
        return ClassFact(
            name=node.name.value,
            bases=tuple(bases),
            keywords=tuple(keywords),
            decorators=tuple(
                to_expr(d.decorator, (*anchor, "decorators", k, "decorator")) for k, d in enumerate(node.decorators)
            ),
            type_params=_type_params(node.type_parameters),
            fields=tuple(fields),
            methods=tuple(methods),
            docstring=_docstring(body),
            line=line,
            anchor=anchor,
        )


# CPython refuses brackets nested deeper than 200; libcst's native parser overflows its stack (the
# process dies, no exception) at a few thousand, so deeper text is checked with CPython first.
_MAX_BRACKET_DEPTH: Final = 200
_BRACKETS: Final = re.compile(r"[()\[\]{}]")
_LINE_BREAK: Final = re.compile(r"\r\n|\r|\n")


def nested_too_deeply(text: str, limit: int = _MAX_BRACKET_DEPTH) -> bool:
    """Whether brackets in `text` (counted everywhere, strings included) nest deeper than `limit`."""
    if len(text) <= limit:
        return False
    depth = 0
    for match in _BRACKETS.finditer(text):
        if match.group() in "([{":
            depth += 1
            if depth > limit:
                return True
        elif depth:
            depth -= 1
    return False


def _python_syntax_error(text: str, rel_path: str) -> tuple[Span | None, str] | None:
    """Where CPython's parser puts a syntax error, and its message; `None` if it accepts the text.

    libcst's native parser reports positions that can be a line off and messages that list
    tokens; CPython's are precise ("'(' was never closed"). The span is `None` when CPython gives
    no position. `ast.parse` compiles to a tree in memory and never runs the code.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
    except SyntaxError as exc:
        if not exc.lineno:
            return None, exc.msg.rstrip(".")
        lines = _LINE_BREAK.split(text)
        line = min(max(exc.lineno, 1), len(lines))
        width = len(lines[line - 1])
        col = min(max(exc.offset or 1, 1), width + 1)
        end_col = col + 1
        if exc.end_lineno == exc.lineno and exc.end_offset is not None and exc.end_offset > col:
            end_col = min(exc.end_offset, width + 1)
        span = Span(path=rel_path, line=line, col=col, end_line=line, end_col=max(end_col, col + 1))
        return span, exc.msg.rstrip(".")
    except (ValueError, RecursionError, MemoryError) as exc:
        return None, str(exc).rstrip(".") or type(exc).__name__
    return None


def _broken(src: SourceFile, span: Span, message: str) -> ModuleFacts:
    sink = DiagnosticSink()
    sink.emit(
        codes.SYNTAX_ERROR,
        f"cannot parse `{src.rel_path}`: {message}",
        span,
        help="fix the syntax; the other files are still analysed",
    )
    return ModuleFacts(src.rel_path, src.module, src.is_package, diagnostics=tuple(sink.diagnostics), broken=True)


# libcst checks every node it builds (`CSTNode.__post_init__` runs `_validate`), a sixth of a
# parse. On parser output the one check that can fail is a name the tokenizer let through that
# Python rejects, which takes a non-ASCII character; ASCII sources skip the checks. Private API,
# so it is looked up defensively: without it every source is checked, as before.
_NODE_CHECKS: Final = getattr(getattr(cst, "CSTNode", None), "__post_init__", None)


def _no_checks(node: object) -> None:
    return None


def _parse_module(text: str) -> cst.Module:
    """`cst.parse_module`, without libcst's per-node checks when they cannot fail (ASCII text)."""
    node_class = cst.CSTNode
    if _NODE_CHECKS is None or "__post_init__" not in node_class.__dict__ or not text.isascii():
        return cst.parse_module(text)
    node_class.__post_init__ = _no_checks  # type: ignore[method-assign, assignment]
    try:
        return cst.parse_module(text)
    finally:
        node_class.__post_init__ = _NODE_CHECKS  # type: ignore[method-assign]


def parse_source(src: SourceFile) -> ModuleFacts:
    """Read one file into facts. Never raises: a syntax error becomes a GATI101 diagnostic."""
    if nested_too_deeply(src.text):
        problem = _python_syntax_error(src.text, src.rel_path)
        if problem is not None:
            return _broken(src, problem[0] or Span.point(src.rel_path), problem[1])
    try:
        module = _parse_module(src.text)
    except cst.ParserSyntaxError as exc:
        line, col = exc.editor_line, exc.editor_column
        span = Span(path=src.rel_path, line=line, col=col, end_line=line, end_col=col + 1)
        message = exc.message.rstrip(".")
        precise = _python_syntax_error(src.text, src.rel_path)
        if precise is not None and precise[0] is not None:
            span, message = precise[0], precise[1]
        return _broken(src, span, message)
    except cst.CSTValidationError as exc:
        # libcst's tokenizer accepted something its node checks reject, e.g. an identifier with
        # a character Python does not allow in names; CPython says where
        found = _python_syntax_error(src.text, src.rel_path)
        if found is None:
            return _broken(src, Span.point(src.rel_path), str(exc).rstrip("."))
        return _broken(src, found[0] or Span.point(src.rel_path), found[1])
    except RecursionError:
        return _broken(src, Span.point(src.rel_path), "it is nested too deeply")
    return _ModuleReader(src, module).read()


def _parse_batch(batch: list[SourceFile]) -> list[ModuleFacts]:
    return [parse_source(src) for src in batch]


def parse_sources(
    sources: Sequence[SourceFile],
    sink: DiagnosticSink,
    *,
    jobs: int = 1,
    while_waiting: Callable[[], None] | None = None,
) -> list[ModuleFacts]:
    """Parse many files, in a process pool when `jobs > 1`; results keep the input order.
    `while_waiting` runs in this process while the pool's workers parse."""
    if jobs > 1 and len(sources) >= 8:
        from gati_compiler.stages._pool import run_batches

        results = run_batches(_parse_batch, list(sources), jobs, while_waiting=while_waiting)
    else:
        results = [parse_source(src) for src in sources]
    for facts in results:
        sink.extend(facts.diagnostics)
    return results
