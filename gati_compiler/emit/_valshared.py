"""A validators module that uses another one's copy of the validators runtime.

Every client of the Python SDK has a private `_validators/` package; the root client's holds the
runtime (`templates/validators/_runtime.py.j2`: `Issue`, `DecodeError`, `HandlerCodec`, the
helpers the generated functions call). A client pinned to an older API version
(`versions/<slug>/_validators/`) imports what it uses of it from there instead of carrying a
copy: the runtime's names its own code refers to, and the standard library names it refers to
itself. Pure: text in, text out.
"""

from __future__ import annotations

import ast
from functools import cache
from typing import Final

from gati_compiler.emit.render import make_environment

RUNTIME_TEMPLATE: Final = "validators/_runtime.py.j2"
STDLIB_TEMPLATE: Final = "validators/_stdlib.py.j2"
STDLIB_MARK: Final = "# gati: the standard library imports this module uses"
RUNTIME_MARK: Final = "# gati: the runtime names this module uses"


@cache
def runtime_names(formats: tuple[tuple[str, str], ...]) -> frozenset[str]:
    """The top-level names the runtime defines (classes, functions, constants, aliases)."""
    text = make_environment().get_template(RUNTIME_TEMPLATE).render(formats=formats)
    names: set[str] = set()
    for node in ast.parse(text).body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return frozenset(names)


@cache
def stdlib_imports() -> tuple[ast.Import | ast.ImportFrom, ...]:
    """The standard library imports of a validators module, in their order."""
    text = make_environment().get_template(STDLIB_TEMPLATE).render()
    return tuple(n for n in ast.parse(text).body if isinstance(n, ast.Import | ast.ImportFrom))


def _used(text: str) -> set[str]:
    """The names the module's code refers to, and those its `__all__` exports."""
    tree = ast.parse(text)
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            used.update(
                e.value for e in ast.walk(node.value) if isinstance(e, ast.Constant) and isinstance(e.value, str)
            )
    return used


def _alias(a: ast.alias) -> str:
    return a.name if a.asname is None else f"{a.name} as {a.asname}"


def _member_key(name: str) -> tuple[int, str, str]:
    """The order ruff's isort gives the names of a `from` import: constants, classes, the rest."""
    kind = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return kind, name.lower(), name


def link_runtime(text: str, runtime_from: str, formats: tuple[tuple[str, str], ...]) -> str:
    """Replace the two marks of a module rendered with `runtime_from` by its imports."""
    used = _used(text)
    lines: list[str] = []
    for node in stdlib_imports():
        kept = [a for a in node.names if (a.asname or a.name).split(".")[0] in used]
        if kept and isinstance(node, ast.ImportFrom):
            lines.append(f"from {node.module} import {', '.join(_alias(a) for a in kept)}")
        elif kept:
            lines.extend(f"import {_alias(a)}" for a in kept)
    names = sorted(used & runtime_names(formats), key=_member_key)
    runtime = f"from {runtime_from} import (\n" + "".join(f"    {n},\n" for n in names) + ")"
    return text.replace(STDLIB_MARK, "\n".join(lines)).replace(RUNTIME_MARK, runtime)
