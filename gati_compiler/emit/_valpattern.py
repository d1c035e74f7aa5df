"""String tests that decide a `pattern` without calling into `re`, for the simplest patterns.

Input: a field's pattern as the decoders compile it (`$` already read as end of input). Output,
when the pattern is one of two shapes, the fast checks' conditions that reject a string exactly
when the compiled regex finds no match (a call into `re` costs about 100 ns whatever the pattern;
these tests cost a third of that):

- one run of a class, `^[0-9]{5}$`, `^[a-z]+$`, `^\\d{1,8}$`: a length test and `str` methods
  (`isdigit`, `isalpha`, `isalnum`, `islower`, `isupper` on ASCII text; `isdecimal` for `\\d`,
  which is what `re` itself tests for it);
- a fixed-length sequence of ASCII classes and characters, `^[A-Z]{3}-[0-9]{4}$`: each ASCII
  character becomes its class's first member (one `bytes.translate`), and the result must equal
  the pattern's shape (`b"AAA-0000"`). This holds only where the classes are pairwise equal or
  disjoint, so that each character has one class.

Every class must lie in ASCII (or be `\\d` alone), so text outside ASCII never matches, as in
the regex. Anything else (alternation, unanchored patterns, flags, negated classes, `\\w`, `.`,
groups that repeat more than one character) keeps the regex. The full checks, which run only
where a fast check failed, still use the regex, and report the same issue.
"""

from __future__ import annotations

import importlib
import warnings
from dataclasses import dataclass
from typing import Any, Final

_sre: Any = importlib.import_module("re._parser")

# A position's class: the ASCII codes it matches, or `DECIMAL` for `\d` (any Unicode decimal digit)
DECIMAL: Final = "decimal"
_Class = frozenset[int] | str

# the longest shape written into the generated code (a longer fixed pattern keeps its regex)
MAX_SHAPE: Final = 64
_DIGITS: Final = frozenset(range(48, 58))
_UPPER: Final = frozenset(range(65, 91))
_LOWER: Final = frozenset(range(97, 123))
# str methods that test a whole ASCII string for one class (they are false on "")
_METHODS: Final[dict[_Class, tuple[str, ...]]] = {
    _DIGITS: ("isdigit",),
    _UPPER | _LOWER: ("isalpha",),
    _UPPER | _LOWER | _DIGITS: ("isalnum",),
    _LOWER: ("isalpha", "islower"),
    _UPPER: ("isalpha", "isupper"),
}


@dataclass(frozen=True)
class FastPattern:
    """How to test a pattern with `str` methods. `conditions(s, table)` are the bad conditions
    (any true: no match); `table` is the (from, to) pair of the `bytes.maketrans` table that
    `table` names, for a shape test."""

    runs: tuple[tuple[_Class, int, int], ...]  # (class, min, max) in order; max -1: unbounded
    table: tuple[bytes, bytes] | None
    shape: bytes | None

    def conditions(self, s: str, table: str | None = None) -> list[str]:
        if self.shape is not None:
            assert table is not None
            return [f"not {s}.isascii()", f"{s}.encode().translate({table}) != {bytes_literal(self.shape)}"]
        cls, low, high = self.runs[0]
        out: list[str] = []
        if low == high:
            out.append(f"len({s}) != {low}")
        else:
            if low > 1:
                out.append(f"len({s}) < {low}")
            if high >= 0:
                out.append(f"len({s}) > {high}")
        if cls == DECIMAL:
            return [*out, f"not {s}.isdecimal()"]
        return [*out, f"not {s}.isascii()", *(f"not {s}.{method}()" for method in _METHODS[cls])]


def fast_pattern(pattern: str) -> FastPattern | None:
    """The `str` tests for `pattern` (a Python regex, searched), or None where it keeps the regex."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = _sre.parse(pattern)
    except Exception:  # not a regex we can read: the compiled one says what it means
        return None
    if parsed.state.flags != _sre.SRE_FLAG_UNICODE or parsed.state.groupdict:
        return None
    items = list(parsed)
    starts = ((_sre.AT, _sre.AT_BEGINNING), (_sre.AT, _sre.AT_BEGINNING_STRING))
    if len(items) < 3 or items[0] not in starts or items[-1] != (_sre.AT, _sre.AT_END_STRING):
        return None
    runs = _runs(items[1:-1])
    if not runs:
        return None
    if len(runs) == 1:
        cls, low, high = runs[0]
        if low >= 1 and (high < 0 or high >= low) and (cls == DECIMAL or cls in _METHODS):
            return FastPattern(runs, None, None)
    return _shaped(runs)


def _shaped(runs: tuple[tuple[_Class, int, int], ...]) -> FastPattern | None:
    classes: list[frozenset[int]] = []
    for cls, low, high in runs:
        if isinstance(cls, str) or low != high or not cls:
            return None
        classes.append(cls)
    distinct = set(classes)
    if any(a != b and a & b for a in distinct for b in distinct):
        return None
    source, target = bytearray(), bytearray()
    shape = bytearray()
    for (_, count, _), cls in zip(runs, classes, strict=True):
        shape += bytes([min(cls)]) * count
    for cls in sorted(distinct, key=min):
        for code in sorted(cls):
            if code != min(cls):
                source.append(code)
                target.append(min(cls))
    if not 0 < len(shape) <= MAX_SHAPE:
        return None
    return FastPattern(runs, (bytes(source), bytes(target)), bytes(shape))


def _runs(items: list[tuple[Any, Any]]) -> tuple[tuple[_Class, int, int], ...] | None:
    """The pattern's body as runs of one class, or None where it is anything else."""
    out: list[tuple[_Class, int, int]] = []
    for op, av in items:
        if op == _sre.SUBPATTERN:
            _group, add_flags, del_flags, body = av
            inner = None if add_flags or del_flags else _runs(list(body))
            if inner is None:
                return None
            out.extend(inner)
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT):
            low, high, body = av
            inner = _runs(list(body))
            if inner is None or len(inner) != 1 or inner[0][1:] != (1, 1):
                return None
            out.append((inner[0][0], low, -1 if high == _sre.MAXREPEAT else high))
        else:
            cls = _class(op, av)
            if cls is None:
                return None
            out.append((cls, 1, 1))
    return tuple(out)


def _class(op: Any, av: Any) -> _Class | None:
    if op == _sre.LITERAL:
        return frozenset((av,)) if av < 128 else None
    if op != _sre.IN:
        return None
    if av == [(_sre.CATEGORY, _sre.CATEGORY_DIGIT)]:
        return DECIMAL
    codes: set[int] = set()
    for kind, value in av:
        if kind == _sre.LITERAL and value < 128:
            codes.add(value)
        elif kind == _sre.RANGE and value[1] < 128:
            codes.update(range(value[0], value[1] + 1))
        else:  # a negation, a category, a character outside ASCII
            return None
    return frozenset(codes)


def bytes_literal(data: bytes) -> str:
    """A `bytes` literal in double quotes, as `ruff format` writes it."""
    out = []
    for code in data:
        ch = chr(code)
        out.append(ch if 32 <= code < 127 and ch not in '"\\' else f"\\x{code:02x}")
    return 'b"' + "".join(out) + '"'
