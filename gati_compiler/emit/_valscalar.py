"""Code for scalar GTypes: primitives (with formats and bounds), literals and enums.

Input: one GType and the local holding its value. Output: lines written to the function being
generated, and the expression of the converted value. Fast mode fails through `self.fail` (returns
`_FAIL`, or raises `_Miss` inside a one-pass decoder); slow mode records an issue and carries on.
"""

from __future__ import annotations

from gati_compiler.emit._valbase import (
    ENCODE_FORMAT,
    FORMAT_NAMES,
    GenBase,
    describe,
    ecma_anchors,
    merge_ranges,
    py_literal,
    value_jtype,
)
from gati_compiler.emit._valpattern import bytes_literal, fast_pattern
from gati_compiler.emit.render import py_ident, py_str
from gati_compiler.ir.gtype import (
    EnumType,
    LiteralType,
    PrimitiveType,
)


class ScalarGen(GenBase):
    # -- scalars --------------------------------------------------------------------------

    def primitive(self, t: PrimitiveType, s: str, path: str) -> str:
        if t.type == "null":
            self.check(f"{s} is not None", path, "type", "`null`", s)
            return s
        if t.type == "boolean":
            self.check(f"type({s}) is not bool", path, "type", "`bool`", s)
            return s
        if t.format == "decimal":
            return self.decimal(t, s, path)
        if t.type == "integer":
            return self.integer(t, s, path)
        if t.type == "number":
            return self.number(t, s, path)
        if t.format in ENCODE_FORMAT or (t.format == "bytes"):
            return self.formatted(t, s, path)
        return self.string(t, s, path)

    def as_int(self, v: str, s: str) -> None:
        """`v` = `s`, with an integral float turned into an int (SPEC section 4), without a call."""
        self.w.line(f"{v}: Any = {s}")
        self.w.line(f"if type({v}) is float and {v}.is_integer():")
        with self.w.indent():
            self.w.line(f"{v} = int({v})")

    def integer(self, t: PrimitiveType, s: str, path: str) -> str:
        if self.fast:
            self.w.fail_if(
                merge_ranges([f"type({s}) is not int", *(c for c, _, _ in self.bounds(t, s, "int"))]), self.fail
            )
            return s
        v = self.tmp("n")
        if self.enc:
            self.w.line(f"{v}: Any = _enc_int({s})")
        else:
            self.as_int(v, s)
        if self.type_guard(f"type({v}) is not int", path, "int", v):
            with self.w.indent():
                self.bound_checks(t, v, path, "int")
        return v

    def number(self, t: PrimitiveType, s: str, path: str) -> str:
        v = self.out_var("f")
        self.w.line(f"if type({s}) is float:")
        with self.w.indent():
            self.w.line(f"{v} = {s}")
        self.w.line(f"elif type({s}) is int:")
        with self.w.indent():
            self.w.line(f"{v} = {s}" if self.enc else f"{v} = float({s})")
        self.w.line("else:")
        with self.w.indent():
            if self.fast:
                self.w.line(self.fail)
            else:
                self.issue(path, "type", "`float`", s)
        if self.fast:
            self.w.fail_if(merge_ranges([c for c, _, _ in self.bounds(t, v, "float")]), self.fail)
        else:
            self.w.line(f"if {v} is not None:")
            with self.w.indent():
                self.bound_checks(t, v, path, "float")
        return v

    def decimal(self, t: PrimitiveType, s: str, path: str) -> str:
        v = self.out_var("d")
        if self.enc:
            ok = f"isinstance({s}, (_Decimal, int, float)) and type({s}) is not bool"
            self.w.line(f"if {ok}:")
            with self.w.indent():
                self.w.line(f"{v} = str({s}) if isinstance({s}, _Decimal) else {s}")
            parsed = self.tmp("j")
            # the JSON form the decoder accepts (`"10.50"`), as for every other type
            self.w.line(f"elif type({s}) is str and ({parsed} := _parse_decimal({s})) is not None:")
            with self.w.indent():
                self.w.line(f"{v} = str({parsed})")
            self.w.line("else:")
            with self.w.indent():
                if self.fast:
                    self.w.line(self.fail)
                else:
                    self.issue(path, "type", "`decimal`", s)
            return v
        self.w.line(f"{v} = _parse_decimal({s})")
        if self.fast:
            self.w.fail_if(merge_ranges([f"{v} is None", *(c for c, _, _ in self.bounds(t, v, "decimal"))]), self.fail)
            return v
        self.w.line(f"if {v} is None:")
        with self.w.indent():
            self.issue(path, "type", "`decimal`", s)
        self.w.line("else:")
        with self.w.indent():
            self.bound_checks(t, v, path, "decimal")
        return v

    def bounds(self, t: PrimitiveType, v: str, name: str) -> list[tuple[str, str, str]]:
        """(bad-condition, code, expected) for each numeric constraint."""
        out: list[tuple[str, str, str]] = []
        if t.minimum is not None:
            out.append((f"{v} < {t.minimum!r}", "minimum", f"`{name}` >= {t.minimum!r}"))
        if t.exclusiveMinimum is not None:
            out.append((f"{v} <= {t.exclusiveMinimum!r}", "exclusive_minimum", f"`{name}` > {t.exclusiveMinimum!r}"))
        if t.maximum is not None:
            out.append((f"{v} > {t.maximum!r}", "maximum", f"`{name}` <= {t.maximum!r}"))
        if t.exclusiveMaximum is not None:
            out.append((f"{v} >= {t.exclusiveMaximum!r}", "exclusive_maximum", f"`{name}` < {t.exclusiveMaximum!r}"))
        if t.multipleOf is not None:
            m = t.multipleOf
            bad = f"{v} % {m!r}" if isinstance(m, int) and name == "int" else f"_not_multiple({v}, {m!r})"
            out.append((bad, "multiple_of", f"`{name}` that is a multiple of {m!r}"))
        return out

    def bound_checks(self, t: PrimitiveType, v: str, path: str, name: str) -> None:
        for bad, code, expected in self.bounds(t, v, name):
            self.check(bad, path, code, expected, v, number=name != "decimal")

    def string_checks(self, t: PrimitiveType, s: str) -> list[tuple[str, str, str]]:
        out: list[tuple[str, str, str]] = []
        if t.minLength is not None:
            out.append((f"len({s}) < {t.minLength}", "min_length", f"`str` of length >= {t.minLength}"))
        if t.maxLength is not None:
            out.append((f"len({s}) > {t.maxLength}", "max_length", f"`str` of length <= {t.maxLength}"))
        if t.pattern is not None:
            regex = self.state.regex(t.pattern)
            out.append((f"{regex}.search({s}) is None", "pattern", f"`str` matching regex '{t.pattern}'"))
        return out

    def string_fast(self, t: PrimitiveType, s: str) -> list[str]:
        """The fast checks' conditions for a `str`: those of `string_checks`, with a simple
        pattern tested by `str` methods (see `_valpattern`) rather than by its regex."""
        conditions = [f"type({s}) is not str"]
        for bad, code, _ in self.string_checks(t, s):
            plan = fast_pattern(ecma_anchors(t.pattern)) if code == "pattern" and t.pattern is not None else None
            if plan is None:
                conditions.append(bad)
                continue
            table = None
            if plan.table is not None:
                source, target = (bytes_literal(part) for part in plan.table)
                flat = f"bytes.maketrans({source}, {target})"
                lines = [flat] if len(flat) < 70 else ["bytes.maketrans(", f"    {source},", f"    {target},", ")"]
                table = self.state.const("TR", lines)
            conditions.extend(plan.conditions(s, table))
        return merge_ranges(conditions)

    def string(self, t: PrimitiveType, s: str, path: str) -> str:
        checks = self.string_checks(t, s)
        if self.fast:
            self.w.fail_if(self.string_fast(t, s), self.fail)
            return s
        v = s
        if self.enc:
            v = self.tmp("s")
            self.w.line(f"{v}: Any = _enc_str({s})")
            checks = self.string_checks(t, v)
        if self.type_guard(f"type({v}) is not str", path, "str", v):
            with self.w.indent():
                for bad, code, expected in checks:
                    self.check(bad, path, code, expected, v)
        return v

    def formatted(self, t: PrimitiveType, s: str, path: str) -> str:
        fmt = t.format or ""
        name = FORMAT_NAMES[fmt]
        v = self.out_var("x")
        if self.enc:
            # one rule for every type: the annotated Python type, or the JSON form its decoder accepts
            cls, expr = ENCODE_FORMAT[fmt]
            good = f"isinstance({s}, {cls})"
            if fmt == "date":
                good += f" and not isinstance({s}, _datetime)"
            self.w.line(f"if {good}:")
            with self.w.indent():
                self.w.line(f"{v} = " + expr.format(s=s))
            if fmt == "bytes":
                self.w.line(f"elif type({s}) is str:")
                with self.w.indent():
                    self.w.line(f"{v} = {s}")
            else:
                parsed = self.tmp("j")
                self.w.line(f"elif type({s}) is str and ({parsed} := _parse_{py_ident(fmt)}({s})) is not None:")
                with self.w.indent():
                    self.w.line(f"{v} = " + expr.format(s=parsed))
            self.w.line("else:")
            with self.w.indent():
                if self.fast:
                    self.w.line(self.fail)
                else:
                    self.issue(path, "type", f"`{name}`", s)
            return v
        checks = self.string_checks(t, s)
        parse = f"{s}.encode()" if fmt == "bytes" else f"_parse_{py_ident(fmt)}({s})"
        if self.fast:
            self.w.fail_if(self.string_fast(t, s), self.fail)
            self.w.line(f"{v} = {parse}")
            if fmt != "bytes":
                self.w.fail_if([f"{v} is None"], self.fail)
            return v
        if self.type_guard(f"type({s}) is not str", path, name, s):
            with self.w.indent():
                for bad, code, expected in checks:
                    self.check(bad, path, code, expected, s)
                self.w.line(f"{v} = {parse}")
                if fmt != "bytes":
                    self.check(f"{v} is None", path, "format", f"`{name}`", s)
        return v

    def literal(self, t: LiteralType, s: str, path: str) -> str:
        has_int = any(type(v) is int for v in t.values)
        v = s
        if has_int and not self.enc:  # the fast checks too: a union takes the first they pass
            v = self.tmp("n")
            self.as_int(v, s)
        good = self.membership(list(t.values), v)
        expected = "`" + describe(t, self.state.gtypes) + "`"
        if self.fast:
            self.w.fail_if([f"not ({good})"], self.fail)
        else:
            self.w.line(f"if not ({good}):")
            with self.w.indent():
                self.issue(path, "literal", expected, v)
        return v

    def membership(self, values: list[str | int | float | bool | None], v: str) -> str:
        """A condition true when `v` equals one of `values` by JSON type and value."""
        conds: list[str] = []
        strs = [x for x in values if isinstance(x, str)]
        ints = [x for x in values if type(x) is int]
        floats = [x for x in values if type(x) is float]
        if strs:
            if len(strs) <= 3:
                conds.extend(f"{v} == {py_str(x)}" for x in strs)
            else:
                name = self.state.frozen("S", [py_str(x) for x in sorted(strs)])
                conds.append(f"(type({v}) is str and {v} in {name})")
        for typ, group in (("int", ints), ("float", floats)):
            if not group:
                continue
            if len(group) == 1:
                conds.append(f"(type({v}) is {typ} and {v} == {group[0]!r})")
            else:
                name = self.state.frozen("N", [repr(x) for x in sorted(group)])
                conds.append(f"(type({v}) is {typ} and {v} in {name})")
        for special in (True, False, None):
            if any(x is special for x in values):
                conds.append(f"{v} is {special!r}")
        if len(conds) == 1 and conds[0].startswith("("):
            return conds[0][1:-1]
        return " or ".join(conds) if conds else "False"

    def enum(self, t: EnumType, s: str, path: str, owner: str | None) -> str:
        cls = self.enum_class(t, owner)
        expected = f"`{t.name}`"
        if self.enc:
            v = self.tmp("e")
            if cls is not None:
                self.w.line(f"{v} = {s}.value if isinstance({s}, {cls}) else {s}")
            else:
                self.w.line(f"{v} = {s}")
            good = self.membership([m.value for m in t.members], v)
            if self.fast:
                self.w.fail_if([f"not ({good})"], self.fail)
            else:
                self.w.line(f"if not ({good}):")
                with self.w.indent():
                    self.issue(path, "enum", expected, v)
            return v
        groups: dict[str, list[str]] = {}
        for member in t.members:
            typ = value_jtype(member.value)
            target = f"{cls}[{py_str(member.name)}]" if cls is not None else py_literal(member.value)
            groups.setdefault(typ, []).append(f"    {py_literal(member.value)}: {target},")
        lookups: list[str] = []
        for typ in sorted(groups):
            table = self.state.const("EN", ["{", *groups[typ], "}"])
            lookups.append(f"{table}.get({s}) if type({s}) is {typ}")
        src = s
        if not self.fast and "int" in groups:
            src = self.tmp("n")
            self.as_int(src, s)
            lookups = [lk.replace(f"({s})", f"({src})") for lk in lookups]
        v = self.tmp("e")
        expr = " else ".join(lookups) + " else None"
        if self.w.fits(f"{v}: Any = {expr}"):
            self.w.line(f"{v}: Any = {expr}")
        else:
            self.w.line(f"{v}: Any = None")
            for typ in sorted(groups):
                table = self.state.const("EN", ["{", *groups[typ], "}"])
                self.w.line(f"if type({src}) is {typ}:")
                with self.w.indent():
                    self.w.line(f"{v} = {table}.get({src})")
        if self.fast:
            self.w.fail_if([f"{v} is None"], self.fail)
        else:
            self.w.line(f"if {v} is None:")
            with self.w.indent():
                self.issue(path, "enum", expected, src)
        return v

    def enum_class(self, t: EnumType, owner: str | None) -> str | None:
        target = self.state.class_map.get(owner) if owner is not None else None
        if target is not None:
            return self.state.class_expr(target.module, target.name)
        if t.origin is not None:
            return self.state.class_expr(t.origin.module, t.origin.qualname)
        return None
