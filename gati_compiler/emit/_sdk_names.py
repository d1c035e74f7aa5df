"""Naming for the generated SDKs: identifiers, reserved words and collision-free name maps.

Input: GType refs, handler ids and field names. Output: identifiers that are valid and unique in
the target language. Pure string work; it must not know about templates or the IR layout.
"""

from __future__ import annotations

import keyword
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Final

PY_KEYWORDS: Final = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist)

TS_RESERVED: Final = frozenset(
    (
        "break",
        "case",
        "catch",
        "class",
        "const",
        "continue",
        "debugger",
        "default",
        "delete",
        "do",
        "else",
        "enum",
        "export",
        "extends",
        "false",
        "finally",
        "for",
        "function",
        "if",
        "import",
        "in",
        "instanceof",
        "new",
        "null",
        "return",
        "super",
        "switch",
        "this",
        "throw",
        "true",
        "try",
        "typeof",
        "var",
        "void",
        "while",
        "with",
        "as",
        "implements",
        "interface",
        "let",
        "package",
        "private",
        "protected",
        "public",
        "static",
        "yield",
        "any",
        "boolean",
        "number",
        "string",
        "symbol",
        "type",
        "from",
        "of",
        "never",
        "unknown",
        "object",
        "bigint",
        "undefined",
        "readonly",
        "keyof",
        "infer",
        "is",
        "asserts",
        "declare",
        "module",
        "namespace",
        "require",
        "global",
        "Array",
        "Record",
        "Promise",
        "Partial",
        "Error",
        "Date",
        "Map",
        "Set",
        "Object",
        "String",
        "Number",
        "Boolean",
        "Symbol",
        "Response",
        "Request",
        "Headers",
        "URL",
        "URLSearchParams",
        "RequestInit",
        "AbortController",
        "JSON",
        "Math",
    )
)

_WORD: Final = re.compile(r"[A-Za-z0-9]+")
_IDENT: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TS_IDENT: Final = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


def is_py_identifier(name: str) -> bool:
    return bool(_IDENT.match(name)) and name not in PY_KEYWORDS


def is_ts_identifier(name: str) -> bool:
    return bool(_TS_IDENT.match(name))


_HUMP: Final = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+|[0-9]+|[A-Z]+")


def words(name: str) -> list[str]:
    """Split `name` into words at non-alphanumerics and camelCase humps (`getUserID2` -> get, User, ID2)."""
    out: list[str] = []
    for chunk in _WORD.findall(name):
        out.extend(_HUMP.findall(chunk))
    return out


def snake(name: str) -> str:
    return "_".join(w.lower() for w in words(name)) or "_"


def pascal(name: str) -> str:
    return "".join(w[:1].upper() + w[1:] for w in words(name)) or "_"


def camel(name: str) -> str:
    p = pascal(name)
    return p[:1].lower() + p[1:]


def py_identifier(name: str) -> str:
    """A valid Python identifier for `name`; keywords get a trailing underscore (`class` -> `class_`)."""
    ident = name if _IDENT.match(name) else snake(name)
    if ident[:1].isdigit():
        ident = "_" + ident
    if ident in PY_KEYWORDS:
        ident += "_"
    return ident


def ts_identifier(name: str) -> str:
    ident = name if _TS_IDENT.match(name) else camel(name)
    if ident[:1].isdigit():
        ident = "_" + ident
    if ident in TS_RESERVED:
        ident += "_"
    return ident


def short_name(ref: str) -> str:
    """The last dotted or colon-separated segment of a ref (`app.models:User` -> `User`)."""
    return re.split(r"[.:/]", ref)[-1]


def unique(name: str, taken: set[str]) -> str:
    """`name`, or `name2`, `name3`, ... whichever is first free; records the result in `taken`."""
    candidate, n = name, 2
    while candidate in taken:
        candidate = f"{name}{n}"
        n += 1
    taken.add(candidate)
    return candidate


def type_name_map(refs: Iterable[str], *, reserved: frozenset[str], ts: bool = False) -> Mapping[str, str]:
    """Map each ref to a class name: its short name when unique, the qualified name when two collide (msgspec).

    Unique short names are assigned first, so a qualified or numbered fallback never steals one.
    """
    ident = ts_identifier if ts else py_identifier
    by_short: dict[str, list[str]] = {}
    for ref in sorted(set(refs)):
        by_short.setdefault(ident(short_name(ref)), []).append(ref)
    wanted: dict[str, str] = {}
    for short, group in by_short.items():
        for ref in group:
            base = short if len(group) == 1 else ident(pascal(ref))
            wanted[ref] = base + "Model" if base in reserved else base
    counts = Counter(wanted.values())
    taken = set(reserved) | {base for base, n in counts.items() if n == 1}
    out = {ref: base if counts[base] == 1 else unique(base, taken) for ref, base in sorted(wanted.items())}
    return dict(sorted(out.items()))
