"""The one jinja2 Environment every code emitter renders through, and the filters it registers.

Input: template names and view objects built by emitters. Output: text. Templates hold loops,
ifs and filters only; every decision (names, order, escaping) is made in Python before rendering.
"""

from __future__ import annotations

import json
import keyword
import re
from functools import cache, lru_cache
from pathlib import Path
from typing import Final

import jinja2

from gati_compiler.canonical import canonical_json

_IDENT_BAD: Final = re.compile(r"[^0-9A-Za-z_]")


def template_root() -> Path:
    """The top-level `templates/` folder of a source checkout, else the copy shipped in the wheel."""
    package = Path(__file__).resolve().parent.parent
    source = package.parent / "templates"
    if source.is_dir():
        return source
    return package / "_templates"


@lru_cache(maxsize=65536)
def py_str(value: str) -> str:
    """A Python string literal for `value`, quoted the way `ruff format` leaves it unchanged."""
    quote = "'" if value.count('"') > value.count("'") else '"'
    if value.isprintable() and "\\" not in value:
        # fast path: only the chosen quote needs escaping
        return quote + (value.replace(quote, "\\" + quote) if quote in value else value) + quote
    out = [quote]
    for ch in value:
        if ch == quote or ch == "\\":
            out.append("\\" + ch)
        elif ch.isprintable() or ch in "\"'":
            out.append(ch)
        else:
            out.append(repr(ch)[1:-1])
    out.append(quote)
    return "".join(out)


def py_ident(value: str) -> str:
    """A valid, non-keyword Python identifier derived from `value` (not unique: callers dedupe)."""
    ident = _IDENT_BAD.sub("_", value) or "_"
    if ident[0].isdigit():
        ident = "_" + ident
    if keyword.iskeyword(ident) or keyword.issoftkeyword(ident):
        ident += "_"
    return ident


# a pattern's literal on its own line (4 of indentation, a comma) within the project's 120
# columns stays whole: `ruff format` would join the pieces of one that fits
_WHOLE: Final = 115
# a piece of a longer one: its literal stays within the lines our writer keeps
_PIECE: Final = 76


def pattern_literals(pattern: str) -> tuple[str, ...]:
    """`pattern` as one literal, or as literals of at most `_PIECE` characters that Python joins
    back (implicit concatenation); a cut falls after a `|` where one is near, else after a group
    or a class, never after `\\`."""
    whole = py_str(pattern)
    if len(whole) <= _WHOLE:
        return (whole,)
    pieces: list[str] = []
    rest = pattern
    while rest:
        end = min(len(rest), _PIECE - 2)
        while end > 1 and len(py_str(rest[:end])) > _PIECE:
            end -= 1
        if end < len(rest):
            for marks in ("|", ")]"):
                cut = max(rest.rfind(mark, 0, end) for mark in marks)
                if cut >= end // 2:
                    end = cut + 1
                    break
            while end > 1 and rest[end - 1] == "\\":
                end -= 1
        pieces.append(py_str(rest[:end]))
        rest = rest[end:]
    return tuple(pieces)


def ts_str(value: str) -> str:
    """A TypeScript string literal (JSON string syntax is valid TS)."""
    return json.dumps(value, ensure_ascii=False)


@cache
def make_environment() -> jinja2.Environment:
    """The shared Environment: strict undefined, no autoescape, our own filters only."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_root())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        auto_reload=False,
    )
    env.filters["py_str"] = py_str
    env.filters["py_ident"] = py_ident
    env.filters["pattern_literals"] = pattern_literals
    env.filters["ts_str"] = ts_str
    env.filters["canonical_json"] = canonical_json
    return env
