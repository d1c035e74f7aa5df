"""Resolve: module facts → `ResolvedProject`, a symbol table that answers "what does this name mean here".

Input: the `ModuleFacts` of every parsed project module. Output: `ResolvedProject`, whose
`resolve(module, dotted)` follows local definitions, `import x as y`, relative imports and
re-exports across modules (as a separate pass, after every module is read). It must not build
GTypes; `lower` does that with the answers given here.
"""

from __future__ import annotations

import builtins
import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from gati_compiler.stages.facts import AliasFact, ClassFact, FunctionFact, ImportFact, ModuleFacts

_BUILTIN_NAMES = frozenset(dir(builtins))


@dataclass(frozen=True, slots=True)
class ProjectModule:
    module: str


@dataclass(frozen=True, slots=True)
class ProjectDef:
    """A top-level definition in a project module."""

    module: str
    name: str
    fact: ClassFact | AliasFact | FunctionFact | None  # None: a plain value (variable)

    @property
    def key(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass(frozen=True, slots=True)
class ClassMember:
    owner: ProjectDef
    name: str


@dataclass(frozen=True, slots=True)
class External:
    """A name from outside the project, as a canonical dotted path (`typing.Optional`)."""

    qualname: str

    @property
    def package(self) -> str:
        return self.qualname.split(".")[0]


@dataclass(frozen=True, slots=True)
class Missing:
    reason: str
    # True when the name would come from a module that does not parse: its GATI101 says why
    broken: bool = False


Target = ProjectModule | ProjectDef | ClassMember | External | Missing


@dataclass
class _Namespace:
    facts: ModuleFacts
    defs: dict[str, ClassFact | AliasFact | FunctionFact | None] = field(default_factory=dict)
    imports: dict[str, ImportFact] = field(default_factory=dict)
    star: list[ImportFact] = field(default_factory=list)


def absolute_module(current: str, is_package: bool, imp: ImportFact) -> str:
    """The absolute module an import names, resolving `from ..x import y` against `current`."""
    if imp.level == 0:
        return imp.module
    parts = current.split(".")
    package = parts if is_package else parts[:-1]
    keep = len(package) - (imp.level - 1)
    base = package[: max(keep, 0)]
    return ".".join([*base, imp.module] if imp.module else base)


# builtins and typing names that annotations use without importing (builtins) or often misspell
_COMMON_TYPE_NAMES: Final = ("int", "float", "str", "bool", "bytes", "list", "dict", "set", "tuple", "frozenset")


class ResolvedProject:
    """Name resolution over every parsed module of the project."""

    def __init__(self, modules: Sequence[ModuleFacts], known_modules: Iterable[str] = ()) -> None:
        self.modules: dict[str, ModuleFacts] = {m.module: m for m in modules}
        # every module that exists in the sources, parsed or not (imports of unparsed ones still resolve)
        self.known_modules = frozenset(known_modules) | frozenset(self.modules)
        # every dotted prefix of a known module is a package, even without an `__init__.py`
        self._packages = frozenset(
            ".".join(parts[:i]) for parts in (m.split(".") for m in self.known_modules) for i in range(1, len(parts))
        )
        self._ns: dict[str, _Namespace] = {}
        self._memo: dict[tuple[str, str], Target] = {}
        for facts in modules:
            ns = _Namespace(facts)
            for imp in facts.imports:
                if imp.name == "*":
                    ns.star.append(imp)
                else:
                    ns.imports[imp.local] = imp
            # later definitions shadow earlier ones, as at run time
            for name in facts.other_names:
                ns.defs[name] = None
            for alias in facts.aliases:
                ns.defs[alias.name] = alias
                ns.imports.pop(alias.name, None)
            for cls in facts.classes:
                ns.defs[cls.name] = cls
                ns.imports.pop(cls.name, None)
            for fn in facts.functions:
                ns.defs[fn.name] = fn
                ns.imports.pop(fn.name, None)
            self._ns[facts.module] = ns

    def suggest(self, module: str, dotted: str) -> tuple[str, str | None] | None:
        """The known name closest to an unresolved `dotted` written in `module` ("did you mean"), or `None`.

        A plain name is compared with the names `module` defines or imports, plus the builtins
        and `typing` names a type is usually spelled with; `pkg.Name` with the names of `pkg`.
        Returns the name to write and, for a name defined in another module that `module` does
        not import, that module."""
        head, _, last = dotted.rpartition(".")
        if head:
            found = self.resolve(module, head)
            if not isinstance(found, ProjectModule) or found.module not in self._ns:
                return None
            ns = self._ns[found.module]
            candidates = [*ns.defs, *ns.imports]
        else:
            ns_here = self._ns.get(module)
            if ns_here is None:
                return None
            candidates = [*ns_here.defs, *ns_here.imports]
            close = difflib.get_close_matches(last, sorted(set(candidates) - {last}), n=1, cutoff=0.6)
            if close:
                return close[0], None
            # defined elsewhere in the project (exactly or nearly): say where to import it from
            elsewhere = sorted((name, mod) for mod, ns in self._ns.items() if mod != module for name in ns.defs)
            names = [name for name, _ in elsewhere]
            close = difflib.get_close_matches(last, names, n=1, cutoff=0.6)
            if close:
                return close[0], next(mod for name, mod in elsewhere if name == close[0])
            candidates = list(_COMMON_TYPE_NAMES)
        close = difflib.get_close_matches(last, sorted(set(candidates) - {last}), n=1, cutoff=0.6)
        if not close:
            return None
        return (f"{head}.{close[0]}" if head else close[0]), None

    def is_project_module(self, module: str) -> bool:
        return module in self.known_modules

    def facts(self, module: str) -> ModuleFacts | None:
        return self.modules.get(module)

    def resolve(self, module: str, dotted: str) -> Target:
        """What `dotted`, written in `module`, refers to (memoised: the project does not change)."""
        key = (module, dotted)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = self._resolve(module, dotted)
        return found

    def _resolve(self, module: str, dotted: str) -> Target:
        head, *rest = dotted.split(".")
        target = self._local(module, head, set())
        for part in rest:
            target = self._member(target, part, set())
        return target

    def member(self, target: Target, name: str) -> Target:
        return self._member(target, name, set())

    def _local(self, module: str, name: str, seen: set[tuple[str, str]]) -> Target:
        if (module, name) in seen:
            return Missing(f"import cycle while looking up `{name}` in `{module}`")
        seen.add((module, name))
        ns = self._ns.get(module)
        if ns is None:
            return Missing(f"module `{module}` was not analysed")
        if name in ns.defs:
            return ProjectDef(module, name, ns.defs[name])
        imp = ns.imports.get(name)
        if imp is not None:
            return self._import_target(ns.facts, imp, seen)
        for star in ns.star:
            source = absolute_module(module, ns.facts.is_package, star)
            if source in self._ns:
                found = self._local(source, name, seen)
                if not isinstance(found, Missing):
                    return found
            elif not self.is_project_module(source):
                return External(f"{source}.{name}")
        if name in _BUILTIN_NAMES:
            return External(f"builtins.{name}")
        if ns.facts.broken:
            return Missing(f"`{module}` does not parse", broken=True)
        return Missing(f"`{name}` is not defined or imported in `{module}`")

    def _import_target(self, facts: ModuleFacts, imp: ImportFact, seen: set[tuple[str, str]]) -> Target:
        source = absolute_module(facts.module, facts.is_package, imp)
        if imp.name is None:
            # `import a.b.c` binds `a`; `import a.b.c as x` binds `a.b.c`
            bound = source if imp.asname else source.split(".")[0]
            return (
                ProjectModule(bound)
                if self.is_project_module(bound) or self._is_package_prefix(bound)
                else External(bound)
            )
        if self.is_project_module(source) or self._is_package_prefix(source):
            return self._member(ProjectModule(source), imp.name, seen)
        return External(f"{source}.{imp.name}")

    def _is_package_prefix(self, module: str) -> bool:
        return module in self._packages

    def _member(self, target: Target, name: str, seen: set[tuple[str, str]]) -> Target:
        match target:
            case ProjectModule(module=module):
                sub = f"{module}.{name}"
                if module in self._ns:
                    found = self._local(module, name, seen)
                    if not isinstance(found, Missing) or not (
                        self.is_project_module(sub) or self._is_package_prefix(sub)
                    ):
                        if isinstance(found, External) and found.qualname == f"builtins.{name}":
                            return Missing(f"`{module}` has no attribute `{name}`")
                        return found
                if self.is_project_module(sub) or self._is_package_prefix(sub):
                    return ProjectModule(sub)
                if module not in self._ns and self.is_project_module(module):
                    return Missing(f"module `{module}` was not analysed")
                return Missing(f"module `{module}` has no attribute `{name}`")
            case ProjectDef():
                return ClassMember(target, name)
            case External(qualname=q):
                return External(f"{q}.{name}")
            case Missing(broken=True):
                return target
            case ClassMember() | Missing():
                return Missing(f"cannot look up `{name}` here")


def imported_modules(facts: ModuleFacts, known: Mapping[str, object] | frozenset[str]) -> set[str]:
    """Project modules that `facts` imports (so the pipeline can parse them on demand)."""
    out: set[str] = set()
    for imp in facts.imports:
        source = absolute_module(facts.module, facts.is_package, imp)
        candidates = [source]
        if imp.name and imp.name != "*":
            candidates.append(f"{source}.{imp.name}")
        parts = source.split(".")
        candidates.extend(".".join(parts[:i]) for i in range(1, len(parts)))
        out.update(c for c in candidates if c in known)
    return out


def resolve_project(modules: Sequence[ModuleFacts], known_modules: Iterable[str] = ()) -> ResolvedProject:
    """Stage entry point: build the project-wide symbol table."""
    return ResolvedProject(modules, known_modules)
