"""The last pass over a generated function body: the block shapes a type-directed emitter writes
naturally, said the way `ruff check` (rules SIM102, SIM108, SIM114) asks of our own code.

The emitters write one `if` per check and one assignment per branch, which keeps them simple; this
pass then merges what reads better merged, on the lines themselves:

- `if a:` whose whole body is `if b: <body>` (and no `else`) becomes `if a and b: <body>`;
- `if a: <body>` directly followed by `elif b: <the same body>` becomes `if a or b: <body>`;
- `if c: x = a` / `else: x = b` becomes `x = a if c else b`;
- an `else:` holding only `pass` goes.

Each rewrite keeps the order of evaluation and short-circuiting exactly, and compiles to the same
jumps, so answers and speed are unchanged. The pass understands the shapes our writer produces (four
spaces a level, a bracket opened at a line's end closed at the start of a line at the same level);
anything else is left as written.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

# what a merged `if` line may take, indentation included: the writer keeps lines to this soft
# limit so `ruff format` leaves them alone at its default width as well as at ours
_FITS: Final = 84
# what `ruff check` measures a suggested one-liner against (the project's line length)
_RUFF_WIDTH: Final = 120
_ASSIGN: Final = re.compile(r"([A-Za-z_][\w.]*(?:\[[^\]=]+\])?) = (.+)")
# operands that need parentheses inside `and` / `or` / a conditional expression
# a flat dict display of `"key": name` items, the shape of a rebuilt object
_DICT: Final = re.compile(r'\{((?:"[^"\\]*": [A-Za-z_]\w*)(?:, "[^"\\]*": [A-Za-z_]\w*)*)\}')
_LOOSE_IN_OR: Final = re.compile(r" if |lambda|:=")


@dataclass(slots=True)
class _Stmt:
    """One statement: its physical lines without the block's indentation, and its block if any."""

    head: list[str]
    body: list[_Stmt] | None = None


def tidy(lines: list[str]) -> list[str]:
    """`lines` (one function body or a whole function, any indentation) with the merges above."""
    return list(_tidy(tuple(lines))) if lines else lines


# a build writes the same decoder into several modules (the server's, each SDK client's, each
# version's): the pass runs once per distinct function
@lru_cache(maxsize=4096)
def _tidy(source: tuple[str, ...]) -> tuple[str, ...]:
    lines = list(source)
    indents = [len(line) - len(line.lstrip(" ")) if line else -1 for line in lines]
    pad = indents[0]
    parsed = _parse(lines, indents, 0, pad)
    if parsed is None or parsed[1] != len(lines):
        return source
    out: list[str] = []
    _render(_rewrite(parsed[0], pad), pad, out)
    return tuple(out)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _parse(lines: list[str], indents: list[int], i: int, pad: int) -> tuple[list[_Stmt], int] | None:
    """The statements from line `i` at indentation `pad` (`indents`: each line's, -1 when blank)."""
    stmts: list[_Stmt] = []
    n = len(lines)
    while i < n:
        line = lines[i]
        ind = indents[i]
        if ind < 0:
            stmts.append(_Stmt([""]))
            i += 1
            continue
        if ind < pad:
            break
        if ind > pad:
            return None
        text = line[pad:]
        head = [text]
        i += 1
        if text[-1] in "([{" and text[0] != "#":
            while i < n and indents[i] != pad:
                if 0 <= indents[i] < pad:
                    return None
                head.append(lines[i][pad:])
                i += 1
            if i == n:
                return None
            head.append(lines[i][pad:])
            i += 1
        stmt = _Stmt(head)
        if head[-1][-1] == ":" and head[0][0] != "#":
            inner = _parse(lines, indents, i, pad + 4)
            if inner is None or not inner[0]:
                return None
            stmt.body, i = inner
        stmts.append(stmt)
    return stmts, i


def _render(stmts: list[_Stmt], pad: int, out: list[str]) -> None:
    prefix = " " * pad
    for stmt in stmts:
        out.extend(prefix + text if text else "" for text in stmt.head)
        if stmt.body is not None:
            _render(stmt.body, pad + 4, out)


def _condition(stmt: _Stmt, keyword: str) -> str | None:
    """The condition of a one-line `if`/`elif` head, else None."""
    if len(stmt.head) != 1 or stmt.body is None:
        return None
    text = stmt.head[0]
    start = keyword + " "
    if not text.startswith(start) or not text.endswith(":"):
        return None
    return text[len(start) : -1]


def _is_branch(stmt: _Stmt | None) -> bool:
    return stmt is not None and stmt.body is not None and stmt.head[0].startswith(("elif ", "else:"))


def _wrap(cond: str, loose: re.Pattern[str]) -> str:
    return f"({cond})" if loose.search(cond) else cond


def _split(cond: str, joiner: str) -> list[str]:
    """`cond` cut at each top-level ` and ` / ` or ` (outside brackets and strings)."""
    parts: list[str] = []
    depth = 0
    quote = ""
    start = 0
    i = 0
    sep = f" {joiner} "
    while i < len(cond):
        ch = cond[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0 and cond.startswith(sep, i):
            parts.append(cond[start:i])
            start = i + len(sep)
            i = start
            continue
        i += 1
    parts.append(cond[start:])
    return parts


def _operands(cond: str, joiner: str) -> list[str]:
    """The operands `cond` brings to a chain joined by `joiner`, parenthesised where needed."""
    if joiner == "and":
        if len(_split(cond, "or")) > 1 or _LOOSE_IN_OR.search(cond):
            return [f"({cond})"]
        return _split(cond, "and")
    return [_wrap(cond, _LOOSE_IN_OR)]


def _head(keyword: str, conds: list[str], joiner: str, pad: int) -> list[str] | None:
    """`keyword a joiner b:` on one line while it fits the project's width (`ruff format` joins
    such a line at 120 columns), else one operand a line as `ruff format` writes it."""
    operands = [op for cond in conds for op in _operands(cond, joiner)]
    flat = f"{keyword} {f' {joiner} '.join(operands)}:"
    if pad + len(flat) <= _RUFF_WIDTH:
        return [flat]
    if any(pad + 4 + len(joiner) + 1 + len(op) > _FITS for op in operands):
        return None
    return [f"{keyword} (", f"    {operands[0]}", *(f"    {joiner} {op}" for op in operands[1:]), "):"]


def _body_text(stmt: _Stmt) -> list[str]:
    out: list[str] = []
    _render(stmt.body or [], 0, out)
    return out


def _rewrite(stmts: list[_Stmt], pad: int) -> list[_Stmt]:
    blocks = False
    for stmt in stmts:
        if stmt.body is not None:
            stmt.body = _rewrite(stmt.body, pad + 4)
            blocks = True
    if not blocks:  # plain statements only: nothing to merge
        return stmts
    stmts = _drop_empty_else(stmts)
    stmts = _merge_same_arms(stmts, pad)
    stmts = _collapse_nested(stmts, pad)
    return _ternaries(stmts, pad)


def _drop_empty_else(stmts: list[_Stmt]) -> list[_Stmt]:
    """`else: pass` (the writer's filler for a branch with nothing left to check) does nothing."""
    return [
        stmt
        for stmt in stmts
        if not (stmt.head == ["else:"] and stmt.body is not None and len(stmt.body) == 1 and _is_pass(stmt.body[0]))
    ]


def _is_pass(stmt: _Stmt) -> bool:
    return stmt.body is None and stmt.head == ["pass"]


def _merge_same_arms(stmts: list[_Stmt], pad: int) -> list[_Stmt]:
    """`if a: X` `elif b: X` -> `if a or b: X` (also between two `elif`s)."""
    out: list[_Stmt] = []
    for stmt in stmts:
        prev = out[-1] if out else None
        cond = _condition(stmt, "elif") if prev is not None and stmt.body is not None else None
        if prev is not None and cond is not None:
            keyword = "if" if prev.head[0].startswith("if ") else "elif"
            first = _condition(prev, keyword)
            if first is not None and _body_text(prev) == _body_text(stmt):
                head = _head(keyword, [first, cond], "or", pad)
                if head is not None:
                    prev.head = head
                    continue
        out.append(stmt)
    return out


def _collapse_nested(stmts: list[_Stmt], pad: int) -> list[_Stmt]:
    """`if a:` holding only `if b: X` (neither with another branch) -> `if a and b: X`."""
    for index, stmt in enumerate(stmts):
        if stmt.body is None or len(stmt.body) != 1:
            continue
        keyword = "elif" if stmt.head[0].startswith("elif ") else "if"
        outer = _condition(stmt, keyword)
        if outer is None:
            continue
        if _is_branch(stmts[index + 1] if index + 1 < len(stmts) else None):
            continue
        inner = stmt.body[0]
        cond = _condition(inner, "if")
        if cond is None:
            continue
        head = _head(keyword, [outer, cond], "and", pad)
        if head is not None:
            stmt.head = head
            stmt.body = inner.body
    return stmts


def _single_assign(stmt: _Stmt) -> tuple[str, str] | None:
    """`(target, value)` when the block is one assignment; an exploded dict display comes back flat."""
    if stmt.body is None or len(stmt.body) != 1:
        return None
    only = stmt.body[0]
    if only.body is not None:
        return None
    if len(only.head) == 1:
        match = _ASSIGN.fullmatch(only.head[0])
        return (match[1], match[2]) if match else None
    first, *items, last = only.head
    if not first.endswith(" = {") or last != "}" or not all(i.startswith("    ") and i.endswith(",") for i in items):
        return None
    match = _ASSIGN.fullmatch(first)
    if match is None:
        return None
    return match[1], "{" + ", ".join(i.strip()[:-1] for i in items) + "}"


def _ternaries(stmts: list[_Stmt], pad: int) -> list[_Stmt]:
    """`if c: x = a` `else: x = b` -> `x = a if c else b`, where that fits a line."""
    out: list[_Stmt] = []
    index = 0
    while index < len(stmts):
        stmt = stmts[index]
        following = stmts[index + 1] if index + 1 < len(stmts) else None
        cond = _condition(stmt, "if") if following is not None and following.head == ["else:"] else None
        if cond is not None and following is not None:
            yes, no = _single_assign(stmt), _single_assign(following)
            if yes is not None and no is not None and yes[0] == no[0]:
                parts = (_wrap(yes[1], _LOOSE_IN_OR), _wrap(cond, _LOOSE_IN_OR), _wrap(no[1], _LOOSE_IN_OR))
                line = f"{yes[0]} = {parts[0]} if {parts[1]} else {parts[2]}"
                if pad + len(line) <= _FITS:
                    out.append(_Stmt([line]))
                    index += 2
                    continue
                # wider than the writer's lines but within what `ruff check` would join: the
                # layout `ruff format` keeps at every width (the dict exploded, trailing comma)
                items = _DICT.fullmatch(parts[2])
                if pad + len(line) <= _RUFF_WIDTH and items is not None and pad + 8 + len(parts[1]) <= _FITS:
                    entries = [f"        {item}," for item in items[1].split(", ")]
                    out.append(_Stmt([f"{yes[0]} = (", f"    {parts[0]}", f"    if {parts[1]}", "    else {"]))
                    out[-1].head += [*entries, "    }", ")"]
                    index += 2
                    continue
        out.append(stmt)
        index += 1
    return out


def tidy_predicate(lines: list[str]) -> list[str]:
    """A whole `def ...: ... return True` predicate: `tidy`, then its last test returned directly
    (`if c: return False` / `return True` -> `return <not c>`, a final `for` loop -> `all(...)`)."""
    lines = tidy(lines)
    indents = [_indent(line) if line else -1 for line in lines]
    parsed = _parse(lines, indents, 0, indents[0])
    if parsed is None or len(parsed[0]) != 1 or parsed[0][0].body is None:
        return lines
    function = parsed[0][0]
    body = function.body
    assert body is not None
    if len(body) < 2 or body[-1].head != ["return True"]:
        return lines
    last = body[-2]
    cond = _condition(last, "if")
    if cond is not None and _returns_false(last):
        function.body = [*body[:-2], _Stmt([f"return {negate(cond)}"])]
    elif len(last.head) == 1 and last.head[0].startswith("for ") and last.body and len(last.body) == 1:
        loop = re.fullmatch(r"for ([A-Za-z_]\w*) in (.+):", last.head[0])
        inner = last.body[0]
        test = _condition(inner, "if")
        if loop is None or test is None or not _returns_false(inner):
            return lines
        name, items = loop[1], loop[2]
        call = re.fullmatch(rf"not ([A-Za-z_]\w*)\({name}\)", test)
        # `map` over a named check runs the loop in C: no generator frame resumed per item
        found = f"all(map({call[1]}, {items}))" if call else f"all({negate(test)} for {name} in {items})"
        function.body = [*body[:-2], _Stmt([f"return {found}"])]
    else:
        return lines
    if any(len(line) + 4 > _FITS for line in function.body[-1].head):
        return lines
    out: list[str] = []
    _render([function], _indent(lines[0]), out)
    return out


def _returns_false(stmt: _Stmt) -> bool:
    return stmt.body is not None and len(stmt.body) == 1 and stmt.body[0].head == ["return False"]


# the generated checks (`gati_compiler/timescape/emit_checks.py`), each returning a `bool`
_CHECK: Final = re.compile(r"_chk_\d+")
_NEGATED: Final = {"is not": "is", "is": "is not", "not in": "in", "in": "not in", "<": ">=", ">=": "<"}
_NEGATED_MORE: Final = {">": "<=", "<=": ">", "==": "!=", "!=": "=="}


def negate(cond: str, predicate: re.Pattern[str] = _CHECK) -> str:
    """The condition true exactly when `cond` is false, and a `bool` like `not cond`: comparisons
    turned round, `and`/`or` swapped (De Morgan), `not f(x)` unwrapped when `f` is a `predicate`
    (a function returning `bool`); `not (...)` around anything else."""
    fallback = f"not ({cond})"
    if not cond.isascii():  # the parser's offsets count bytes
        return fallback
    try:
        tree = ast.parse(cond, mode="eval").body
    except SyntaxError:
        return fallback
    if isinstance(tree, ast.UnaryOp) and isinstance(tree.op, ast.Not):
        fallback = f"bool({_segment(cond, tree.operand)})"
    for node in ast.walk(tree):
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            operand = node.operand
            func = operand.func if isinstance(operand, ast.Call) else None
            named = isinstance(func, ast.Name) and predicate.fullmatch(func.id) is not None
            if not (isinstance(operand, ast.Compare) or named):
                return fallback
        elif isinstance(node, ast.BoolOp) and not all(
            isinstance(v, (ast.Compare, ast.BoolOp, ast.UnaryOp)) for v in node.values
        ):
            return fallback
    if not isinstance(tree, (ast.Compare, ast.BoolOp, ast.UnaryOp)):
        return fallback
    return _negate(cond, tree)[0]


def _segment(text: str, node: ast.expr) -> str:
    return text[node.col_offset : node.end_col_offset]


def _negate(text: str, node: ast.expr) -> tuple[str, str]:
    """`(negated text, precedence)`: "or", "and" or "not" (binds at least as tightly as `not`)."""
    if isinstance(node, ast.BoolOp):
        joiner, kind = ("and", "and") if isinstance(node.op, ast.Or) else ("or", "or")
        parts = []
        for value in node.values:
            part, part_kind = _negate(text, value)
            parts.append(f"({part})" if part_kind not in ("not", kind) else part)
        return f" {joiner} ".join(parts), kind
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        operand = node.operand
        inner = _segment(text, operand)
        kind = "or" if isinstance(operand, ast.BoolOp) and isinstance(operand.op, ast.Or) else "not"
        if isinstance(operand, ast.BoolOp) and isinstance(operand.op, ast.And):
            kind = "and"
        if isinstance(operand, (ast.IfExp, ast.Lambda, ast.NamedExpr)):
            return f"({inner})", "not"
        return inner, kind
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        left, right = node.left, node.comparators[0]
        assert left.end_col_offset is not None
        between = text[left.end_col_offset : right.col_offset]
        op = " ".join(between.split())
        flipped = _NEGATED.get(op) or _NEGATED_MORE.get(op)
        if flipped is not None:
            return f"{_segment(text, left)} {flipped} {_segment(text, right)}", "not"
    return f"not {_wrapped(text, node)}", "not"


def _wrapped(text: str, node: ast.expr) -> str:
    inner = _segment(text, node)
    simple = (ast.Name, ast.Call, ast.Attribute, ast.Subscript, ast.Constant)
    return inner if isinstance(node, simple) else f"({inner})"
