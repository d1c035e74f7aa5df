"""Route table: static paths by dictionary lookup, templates by compiled regex, Starlette-style `Match`."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Generic, NamedTuple, TypeVar

T = TypeVar("T")

CONVERTERS: Final[dict[str, str]] = {
    "str": r"[^/]+",
    "int": r"-?[0-9]+",
    "float": r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?",
    "uuid": r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}",
    "date": r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
    "path": r".*",
}
_PARAM: Final = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z_]+))?\}")


class Match(enum.Enum):
    NONE = 0
    PARTIAL = 1
    FULL = 2


class RouteError(ValueError):
    """A path template that cannot be compiled."""


def compile_path(template: str) -> tuple[re.Pattern[str] | None, tuple[str, ...]]:
    """The regex of `template` and its parameter names; `None` for a static path."""
    if not template.startswith("/"):
        raise RouteError(f"path {template!r} must start with '/'")
    parts: list[str] = []
    names: list[str] = []
    pos = 0
    for m in _PARAM.finditer(template):
        name, conv = m.group(1), m.group(2) or "str"
        if conv not in CONVERTERS:
            raise RouteError(f"unknown converter {conv!r} in {template!r}")
        if conv == "path" and m.end() != len(template):
            raise RouteError(f"'{{{name}:path}}' must be the last part of {template!r}")
        if name in names:
            raise RouteError(f"parameter {name!r} appears twice in {template!r}")
        parts.append(re.escape(template[pos : m.start()]))
        parts.append(f"(?P<{name}>{CONVERTERS[conv]})")
        names.append(name)
        pos = m.end()
    if not names:
        return None, ()
    parts.append(re.escape(template[pos:]))
    return re.compile("^" + "".join(parts) + "$"), tuple(names)


@dataclass(slots=True)
class _Template(Generic[T]):
    regex: re.Pattern[str]
    methods: dict[str, T] = field(default_factory=dict)


_EMPTY: Final[Mapping[str, str]] = MappingProxyType({})


class Found(NamedTuple, Generic[T]):
    match: Match
    target: T | None = None
    params: Mapping[str, str] = _EMPTY
    allow: tuple[str, ...] = ()


class Router(Generic[T]):
    """Maps (method, path) to a target. Routes are tried in the order given (the manifest's order)."""

    def __init__(self, routes: Iterable[tuple[str, str, T]]) -> None:
        self._static: dict[str, dict[str, Found[T]]] = {}  # FULL results, built once
        self._static_targets: dict[str, dict[str, tuple[T, Mapping[str, str]]]] = {}  # path -> method -> hit
        self._templates: list[_Template[T]] = []
        # per method, the templates that have a route for it, in order: `resolve` tries only those
        self._by_method: dict[str, list[tuple[Callable[[str], re.Match[str] | None], T]]] = {}
        by_template: dict[str, _Template[T]] = {}
        for method, template, target in routes:
            regex, _ = compile_path(template)
            method = method.upper()
            if regex is None:
                static = self._static.setdefault(template, {})
                if method in static:
                    raise RouteError(f"two routes for {method} {template}")
                static[method] = Found(Match.FULL, target, _EMPTY)
                self._static_targets.setdefault(template, {})[method] = (target, _EMPTY)
                continue
            tpl = by_template.get(template)
            if tpl is None:
                tpl = by_template[template] = _Template(regex)
                self._templates.append(tpl)
            if method in tpl.methods:
                raise RouteError(f"two routes for {method} {template}")
            tpl.methods[method] = target
            self._by_method.setdefault(method, []).append((regex.match, target))

    def resolve(self, method: str, path: str) -> tuple[T, Mapping[str, str]] | None:
        """The target and raw parameters of a FULL match, else None (then `match` tells NONE from PARTIAL)."""
        static = self._static_targets.get(path)
        if static is not None:
            hit = static.get(method)
            if hit is not None:
                return hit
        for match, target in self._by_method.get(method, ()):
            m = match(path)
            if m is not None:
                return target, m.groupdict()
        return None

    def match(self, method: str, path: str) -> Found[T]:
        """FULL with the target and raw parameters, PARTIAL with the allowed methods, or NONE."""
        allowed: set[str] = set()
        static = self._static.get(path)
        if static is not None:
            found = static.get(method)
            if found is not None:
                return found
            allowed.update(static)
        for tpl in self._templates:
            m = tpl.regex.match(path)
            if m is None:
                continue
            target = tpl.methods.get(method)
            if target is not None:
                return Found(Match.FULL, target, m.groupdict())
            allowed.update(tpl.methods)
        if allowed:
            return Found(Match.PARTIAL, allow=allow_header(allowed))
        return Found(Match.NONE)


def allow_header(methods: Iterable[str]) -> tuple[str, ...]:
    """The methods to list in `Allow`: the routes' methods plus HEAD (with GET) and OPTIONS."""
    out = set(methods)
    if "GET" in out:
        out.add("HEAD")
    out.add("OPTIONS")
    return tuple(sorted(out))
