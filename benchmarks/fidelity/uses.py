"""Which top-level definitions of a corpus a type's source reaches, read with `ast` alone.

The corpus report counts a sampled type as built without a diagnostic only when nothing it
reaches has one. Named types show in the lowered program (their refs carry their origin), but a
type alias is inlined where it is used, so an alias with a diagnostic (`Base64FileInput =
Union[IO[bytes], PathLike]` in an `if`/`else` block) leaves no trace there. This module follows
the source instead: the names a class's bases, keywords and field annotations use, and an
alias's value, through each module's imports. It reads a little more than the compiler does
(both branches of every `if`), so it can only count a type as reaching a diagnostic too often,
never too rarely.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

Def = tuple[str, str]  # (module, name)


def definitions(body: list[ast.stmt]) -> Iterator[tuple[str, ast.stmt, list[ast.expr]]]:
    """Top-level definitions, also inside `if`/`else` and `try` blocks: (name, statement, the
    expressions naming what it uses)."""
    for node in body:
        if isinstance(node, ast.ClassDef):
            used = [*node.bases, *(k.value for k in node.keywords), *node.decorator_list]
            used += [s.annotation for s in node.body if isinstance(s, ast.AnnAssign)]
            yield node.name, node, used
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            yield node.targets[0].id, node, [node.value]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            yield node.target.id, node, [node.value]
        elif isinstance(node, ast.If):
            yield from definitions(node.body)
            yield from definitions(node.orelse)
        elif isinstance(node, ast.Try):
            yield from definitions(node.body)
            for handler in node.handlers:
                yield from definitions(handler.body)
            yield from definitions(node.orelse)
            yield from definitions(node.finalbody)


def _imports(body: list[ast.stmt], module: str, is_package: bool) -> dict[str, Def]:
    """Local name → (module, name) it imports; `import a.b as c` maps `c` to (`a.b`, "")."""
    out: dict[str, Def] = {}
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.Module(body=body, type_ignores=[])):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            for alias in node.names:
                out[alias.asname or alias.name] = (base, alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    out[alias.asname] = (alias.name, "")
    return out


def _names(expr: ast.expr) -> Iterator[tuple[str, str]]:
    """(name, attribute or "") for each name `expr` uses; string annotations are read too."""
    for node in ast.walk(expr):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            yield node.value.id, node.attr
        elif isinstance(node, ast.Name):
            yield node.id, ""
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                inner = ast.parse(node.value, mode="eval").body
            except SyntaxError:
                continue
            yield from _names(inner)


class Uses:
    """The source of one package: its modules' definitions and imports, parsed once."""

    def __init__(self, root: Path, package: str) -> None:
        self.defs: dict[Def, list[ast.expr]] = {}
        self.imports: dict[str, dict[str, Def]] = {}
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            module = ".".join(parts[:-1] if is_package else parts)
            tree = ast.parse(path.read_text(encoding="utf-8"))
            self.imports[module] = _imports(tree.body, module, is_package)
            for name, _, used in definitions(tree.body):
                self.defs.setdefault((module, name), []).extend(used)

    def resolve(self, module: str, name: str, attr: str = "", depth: int = 0) -> Def | None:
        """The definition `name` (or `name.attr`) means in `module`, through imports."""
        if depth > 20:
            return None
        if (module, name) in self.defs and not attr:
            return (module, name)
        target = self.imports.get(module, {}).get(name)
        if target is None:
            return None
        other, imported = target
        if imported and f"{other}.{imported}" in self.imports:  # `from pkg import submodule`
            other, imported = f"{other}.{imported}", ""
        if not imported:
            return self.resolve(other, attr, "", depth + 1) if attr else None
        return self.resolve(other, imported, attr, depth + 1)

    def reached(self, start: Def) -> set[Def]:
        """Every definition `start` reaches, itself included."""
        seen = {start}
        todo = [start]
        while todo:
            module, name = todo.pop()
            for expr in self.defs.get((module, name), []):
                for used, attr in _names(expr):
                    found = self.resolve(module, used, attr)
                    if found is not None and found not in seen:
                        seen.add(found)
                        todo.append(found)
        return seen
