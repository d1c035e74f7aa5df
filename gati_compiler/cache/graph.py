"""The module dependency graph of a project, from its parse facts.

`imports[m]` holds the project modules `m` imports; `affected(changed)` is `changed` plus every
module that imports one of them, directly or not: the modules whose resolved types may differ
after an edit, and the ones a running server must import again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ModuleGraph:
    imports: Mapping[str, frozenset[str]]

    @classmethod
    def from_edges(cls, edges: Mapping[str, Iterable[str]]) -> ModuleGraph:
        return cls({m: frozenset(deps) for m, deps in edges.items()})

    def importers(self) -> dict[str, set[str]]:
        back: dict[str, set[str]] = {m: set() for m in self.imports}
        for m, deps in self.imports.items():
            for d in deps:
                back.setdefault(d, set()).add(m)
        return back

    def affected(self, changed: Iterable[str]) -> set[str]:
        """`changed` and every module that imports one of them, transitively."""
        back = self.importers()
        seen = set(changed)
        todo = list(seen)
        while todo:
            for m in back.get(todo.pop(), ()):
                if m not in seen:
                    seen.add(m)
                    todo.append(m)
        return seen

    def to_json(self) -> dict[str, list[str]]:
        return {m: sorted(deps) for m, deps in sorted(self.imports.items())}
