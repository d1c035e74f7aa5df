"""Collecting decoders that check in one pass: fast checks first, full checks only where they fail.

Input: one GType and the local holding its value, inside a collecting decoder (`GenBase.guard`).
Output: lines that check each leaf value as the fast function does, inside a `try`; a failed check
raises `_Miss`, and the `except` runs the full checks of that one value, which record its issues.
Objects and arrays are walked here, so a bad item re-checks that item only: the valid values
around it are checked once, and the issues come out in the order a full walk gives them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Final

from gati_compiler.emit._valbase import _PLAIN_LITERAL, FAIL, describe, merge_ranges
from gati_compiler.emit._valcontainer import ContainerGen, array_bounds
from gati_compiler.emit._valwriter import CodeWriter
from gati_compiler.emit.render import py_str
from gati_compiler.ir.gtype import AnyType, ArrayType, GType, ObjectType, Property, RefType, UnionType

MISS: Final = "raise _Miss"


class GuardedGen(ContainerGen):
    # -- one-pass collecting decoders ---------------------------------------------------------

    def guarded(self, t: GType, s: str, path: str, owner: str | None, missing: Property | None = None) -> str:
        """Check the value in `s` (the required field `missing`, when given, may be absent)."""
        if isinstance(t, RefType):
            target = self.state.gtypes[t.ref]
            if isinstance(target, ObjectType) and self._inlinable(t.ref, target):
                self._inlining.append(t.ref)
                try:
                    return self.guarded(target, s, path, t.ref, missing)
                finally:
                    self._inlining.pop()
        elif isinstance(t, ObjectType):
            return self.guarded_obj(t, s, path, owner, missing)
        elif isinstance(t, ArrayType):
            return self.guarded_array(t, s, path, missing)
        return self.unit(t, s, path, owner, missing)

    @contextmanager
    def mode(self, fast: bool) -> Iterator[None]:
        """Generate plain fast (failing with `_Miss`) or plain full checks for a while."""
        saved = (self.fast, self.fail, self.guard)
        self.fast, self.fail, self.guard = fast, MISS if fast else FAIL, False
        try:
            yield
        finally:
            self.fast, self.fail, self.guard = saved

    def side(self, make: Callable[[], str]) -> tuple[list[str], str]:
        """Lines generated one level deeper, apart: (lines, result expression)."""
        saved = self.w
        self.w = CodeWriter(saved.level + 1)
        try:
            result = make()
            return self.w.lines, result
        finally:
            self.w = saved

    def unit(self, t: GType, s: str, path: str, owner: str | None, missing: Property | None) -> str:
        if missing is not None and not self.rejects_missing(t):
            # the fast checks would take the absent field for a value: test it first
            self.w.line(f"if {s} is _MISSING:")
            with self.w.indent():
                self.w.line("failed = True")
                self.missing_issue(missing, path)
            self.w.line("else:")
            with self.w.indent():
                return self.unit(t, s, path, owner, None)
        with self.mode(fast=True):
            lines, result = self.side(lambda: self.gen(t, s, path, owner))
        if result != s and not result.isidentifier():
            var = self.tmp("r")
            lines.append(f"{self.w._pad}    {var} = {result}")
            result = var
        if MISS not in (line.strip() for line in lines):  # nothing can fail (`Any`)
            self.w.lines.extend(line[4:] for line in lines)
            return result
        self.open_guard(lines)
        with self.w.indent():
            self.w.line("failed = True")
            if missing is not None:
                self.w.line(f"if {s} is _MISSING:")
                with self.w.indent():
                    self.missing_issue(missing, path)
                self.w.line("else:")
                with self.w.indent():
                    self.full(t, s, path, owner, result)
            else:
                self.full(t, s, path, owner, result)
        return result

    def open_guard(self, lines: list[str]) -> None:
        """The fast checks `lines`, then the head of the block their failure runs."""
        if len(lines) == 2 and lines[0].rstrip().endswith(":") and lines[1].strip() == MISS:
            # one test: its own branch does (a raise costs more than a jump)
            self.w.line(lines[0].strip())
            return
        self.w.line("try:")
        self.w.lines.extend(lines)
        self.w.line("except _Miss:")

    def full(self, t: GType, s: str, path: str, owner: str | None, result: str) -> None:
        """The full checks of one value, their result put where the fast checks put theirs."""
        with self.mode(fast=False):
            slow = self.gen(t, s, path, owner)
        if slow != result:
            self.w.line(f"{result} = {slow}")

    def missing_issue(self, p: Property, path: str) -> None:
        expected = "`" + describe(p.type, self.state.gtypes) + "`"
        self.issue(path, "missing", expected, "_MISSING", py_str(f"Object missing required field `{p.name}`"))

    def rejects_missing(self, t: GType, depth: int = 0) -> bool:
        """Whether the fast checks of `t` fail on `_MISSING` (all but `Any` and unions with it)."""
        target = self.state.deref(t)
        if isinstance(target, AnyType | RefType):
            return False
        if isinstance(target, UnionType):
            return depth < 20 and all(self.rejects_missing(o, depth + 1) for o in target.options)
        return True

    def loop(self, head: str, j: str, lines: list[str], indexed: bool) -> None:
        """A loop over items; `j`, the index, is counted by hand when something reads it (cheaper
        than `enumerate`, whose pairs are built and unpacked for every item)."""
        if indexed:
            self.w.line(f"{j} = -1")
        self.w.line(head)
        if indexed:
            with self.w.indent():
                self.w.line(f"{j} += 1")
        self.w.lines.extend(lines)

    def declare(self, out: str) -> None:
        """Declare an object's or array's variable. It is set only where nothing failed before
        it, and read only then; a return value starts as `None`, and an item as the input item
        (which the loop then takes for unchanged: no copy of the list is started)."""
        if self.init_out is not None:
            self.w.line(f"{out}: Any = {self.init_out}")
            self.init_out = None
        else:
            self.w.line(f"{out}: Any")

    def not_a(self, s: str, path: str, missing: Property | None, expected: str) -> None:
        """The branch of a failed container type check: the field is absent, or of another type."""
        self.w.line("failed = True")
        if missing is None:
            self.issue(path, "type", f"`{expected}`", s)
            return
        self.w.line(f"if {s} is _MISSING:")
        with self.w.indent():
            self.missing_issue(missing, path)
        self.w.line("else:")
        with self.w.indent():
            self.issue(path, "type", f"`{expected}`", s)

    def checks(self, fast: Callable[[], None], full: Callable[[], None]) -> None:
        """Checks that produce no value: `fast` fails with `_Miss`, `full` records issues."""

        def run() -> str:
            fast()
            return ""

        with self.mode(fast=True):
            lines, _ = self.side(run)
        self.open_guard(lines)
        with self.w.indent():
            self.w.line("failed = True")
            with self.mode(fast=False):
                full()

    def guarded_obj(self, t: ObjectType, s: str, path: str, owner: str | None, missing: Property | None) -> str:
        kind, cls = self.obj_target(t, owner)
        out = self.tmp("o")
        self.declare(out)
        self.w.line(f"if type({s}) is not dict:")
        with self.w.indent():
            self.not_a(s, path, missing, "object")
        self.w.line("else:")
        with self.w.indent():
            raw = {p.name: self.tmp("a") for p in t.properties}
            required = [p for p in t.properties if p.required]
            if required:
                self.w.line("try:")
                with self.w.indent():
                    for p in required:
                        self.w.line(f"{raw[p.name]} = {s}[{py_str(p.name)}]")
                self.w.line("except KeyError:")
                with self.w.indent():
                    self.w.line("failed = True")
                    for p in required:
                        self.w.line(f"{raw[p.name]} = {s}.get({py_str(p.name)}, _MISSING)")
            for p in t.properties:
                if not p.required:
                    self.w.line(f"{raw[p.name]} = {s}.get({py_str(p.name)}, _MISSING)")
            results: dict[str, str] = {}
            for p in t.properties:
                child = self.child(path, p.name)
                if p.required:
                    results[p.name] = self.guarded(p.type, raw[p.name], child, None, p)
                    continue
                self.w.line(f"if {raw[p.name]} is not _MISSING:")
                with self.w.indent():
                    results[p.name] = self.guarded(p.type, raw[p.name], child, None)
            if t.extra == "forbid":
                # with a required field absent, the count of the known ones is no proof
                counted = "failed" if required else ""
                self.checks(lambda: self.forbid(t, s, path, raw, counted), lambda: self.forbid(t, s, path, raw))
            self.predeclared = True
            try:
                self.w.line("if not failed:")
                with self.w.indent(), self.mode(fast=True):
                    self.build(t, kind, cls, s, out, raw, results)
                self.w.line("elif len(issues) == k0:")
                with self.w.indent(), self.mode(fast=False):
                    self.build(t, kind, cls, s, out, raw, results)
            finally:
                self.predeclared = False
        return out

    def guarded_array(self, t: ArrayType, s: str, path: str, missing: Property | None) -> str:
        out = self.tmp("l")
        self.declare(out)
        self.w.line(f"if type({s}) is not list:")
        with self.w.indent():
            self.not_a(s, path, missing, "array")
        self.w.line("else:")
        with self.w.indent():
            length = array_bounds(t, s)
            if length:

                def fast() -> None:
                    self.w.fail_if(merge_ranges([c for c, _, _ in length]), self.fail)

                def full() -> None:
                    for bad, code, expected in length:
                        self.check(bad, path, code, expected, s)

                self.checks(fast, full)
            x, j = self.tmp("i"), self.tmp("j")
            self.init_out = x
            lines, result = self.side(lambda: self.guarded(t.items, x, item_path(path, j), None))
            self.init_out = None
            indexed = re.search(rf"\b{j}\b", "\n".join(lines)) is not None
            loop = f"for {x} in {s}:"
            if result == x and not indexed:  # nothing can fail, nor be converted
                if lines:
                    self.loop(loop, j, lines, False)
                self.w.line("if not failed or len(issues) == k0:")
                with self.w.indent():
                    self.w.line(f"{out} = {self._wrap(t.container, s)}")
                return out
            acc = self.tmp("acc")
            if self.always_converted(t.items):
                self.w.line(f"{acc}: list[Any] = []")
                self.loop(loop, j, lines, indexed)
                with self.w.indent():
                    self.w.line(f"{acc}.append({result})")
                self.w.line("if not failed or len(issues) == k0:")
                with self.w.indent():
                    self.w.line(f"{out} = {self._wrap(t.container, acc)}")
                return out
            # The copy starts at the first item that decodes to another object; an item that
            # decodes to itself when valid changes only where its fast checks failed.
            changed = f"failed and {x} is not {s}[{j}]" if result == x else f"{result} is not {x}"
            self.w.line(f"{acc}: list[Any] | None = None")
            self.loop(loop, j, lines, True)
            with self.w.indent():
                self.w.line(f"if {acc} is not None:")
                with self.w.indent():
                    self.w.line(f"{acc}.append({result})")
                self.w.line(f"elif {changed}:")
                with self.w.indent():
                    self.w.line(f"{acc} = [*{s}[:{j}], {result}]")
            self.w.line("if not failed or len(issues) == k0:")
            with self.w.indent():
                self.w.line(f"{out} = {self._wrap(t.container, f'{s} if {acc} is None else {acc}')}")
        return out


def item_path(path: str, j: str) -> str:
    """The expression of item `j`'s path (an f-string where it can be one)."""
    if path.isidentifier():
        return f'f"{{{path}}}[{{{j}}}]"'
    head, plus, last = path.rpartition(" + ")
    if plus and head.isidentifier() and _PLAIN_LITERAL.fullmatch(last):
        return f'f"{{{head}}}{last[1:-1]}[{{{j}}}]"'
    if path.startswith('f"') and path.endswith('"') and '"' not in path[2:-1]:
        return path[:-1] + f'[{{{j}}}]"'
    return f'{path} + f"[{{{j}}}]"'
