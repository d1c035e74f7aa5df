"""Route semantics shared by `lower`: path templates, rate limits, method names, router order.

Pure functions over strings; each returns a value or an error message, never raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, get_args

from gati_compiler.ir.models import PathParam, RateLimit

CONVERTERS: Final = get_args(PathParam.model_fields["converter"].annotation)
METHODS: Final = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_PARAM: Final = re.compile(r"^\{([^{}:]*)(?::([^{}]*))?\}$")
_IDENT: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SEGMENT: Final = re.compile(r"^[A-Za-z0-9._~!$&'()*+,;=:@%-]*$")
_RATE: Final = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)?\s*([A-Za-z]+)\s*$")
_UNITS: Final[dict[str, float]] = {
    "s": 1, "sec": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
}  # fmt: skip


@dataclass(frozen=True)
class PathError:
    message: str
    unknown_converter: bool = False


def parse_path(path: str) -> tuple[PathParam, ...] | PathError:
    """Check a path template and return its parameters in order."""
    if not path.startswith("/"):
        return PathError(f"path `{path}` must start with `/`")
    if "//" in path or (path.endswith("/") and path != "/"):
        return PathError(f"path `{path}` has an empty segment or a trailing `/`")
    params: list[PathParam] = []
    segments = path[1:].split("/") if path != "/" else []
    for i, segment in enumerate(segments):
        if "{" not in segment and "}" not in segment:
            if not _SEGMENT.match(segment):
                return PathError(f"path segment `{segment}` has characters that are not allowed in a URL path")
            continue
        m = _PARAM.match(segment)
        if m is None:
            return PathError(f"path segment `{segment}` must be a whole `{{name}}` or `{{name:converter}}`")
        name, converter = m.group(1), m.group(2) or "str"
        if not _IDENT.match(name):
            return PathError(f"path parameter `{name}` is not a valid identifier")
        if converter not in CONVERTERS:
            known = ", ".join(f"`{c}`" for c in CONVERTERS)
            return PathError(f"unknown converter `{converter}` in `{segment}` (known: {known})", unknown_converter=True)
        if converter == "path" and i != len(segments) - 1:
            return PathError(f"`{{{name}:path}}` must be the last segment")
        if any(p.name == name for p in params):
            return PathError(f"path parameter `{name}` appears twice")
        params.append(PathParam(name=name, converter=converter))
    return tuple(params)


def route_shape(path: str) -> str:
    """The path with parameter names erased: two routes with one shape and method conflict."""
    return re.sub(r"\{[^{}:]*(?::([^{}]*))?\}", lambda m: "{:" + (m.group(1) or "str") + "}", path)


def route_order(path: str, method: str) -> tuple[tuple[tuple[int, str], ...], int, str]:
    """Router precedence: static segments first, then typed parameters, then `str`, then `path`."""
    rank = {"int": 1, "uuid": 1, "date": 1, "float": 2, "str": 3, "path": 4}
    key: list[tuple[int, str]] = []
    for segment in path.strip("/").split("/"):
        m = _PARAM.match(segment)
        key.append((rank.get(m.group(2) or "str", 3), "") if m else (0, segment))
    return tuple(key), METHODS.index(method) if method in METHODS else len(METHODS), path


def parse_rate_limit(text: str) -> RateLimit | str:
    """`"100/minute"`, `"10/5s"`, `"1000 / 1 hour"` → `RateLimit`; an error message otherwise."""
    m = _RATE.match(text)
    if m is None:
        return f"rate limit `{text}` is not of the form `N/unit`"
    limit, count, unit = int(m.group(1)), float(m.group(2) or 1), m.group(3).lower()
    if unit not in _UNITS:
        return f"rate limit `{text}` has unknown unit `{unit}` (use second, minute, hour or day)"
    if limit <= 0 or count <= 0:
        return f"rate limit `{text}` must allow at least one request in a positive window"
    window = count * _UNITS[unit]
    return RateLimit(limit=limit, window=int(window) if window.is_integer() else window)
