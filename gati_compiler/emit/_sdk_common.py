"""What every client artifact (OpenAPI, Python SDK, TypeScript SDK) needs to know about a handler.

Input: an `ir.Program`. Output: `Operation` values, language-neutral and sorted like the handlers.
Pure: no templates, no identifiers of any target language.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict

from gati_compiler.ir.canonical import children
from gati_compiler.ir.gtype import ArrayType, GType, ObjectType, PrimitiveType, RefType, UnionType
from gati_compiler.ir.models import Handler, PathParam, Program

IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_PLACEHOLDER: Final = re.compile(r"\{([^{}:]+)(?::([^{}]+))?\}")

# the error classes every SDK ships, in this order: (status, class name, base class, docstring);
# `None` marks a base class with no status of its own
ERROR_CLASSES: Final[tuple[tuple[int | None, str, str, str], ...]] = (
    (400, "BadRequestError", "APIStatusError", "The request was rejected as invalid (400); see `issues`."),
    (401, "AuthenticationError", "APIStatusError", "No valid credentials were sent (401)."),
    (403, "PermissionDeniedError", "APIStatusError", "The credentials lack a required role (403)."),
    (404, "NotFoundError", "APIStatusError", "No route or resource matches (404)."),
    (405, "MethodNotAllowedError", "APIStatusError", "The path exists but not for this method (405)."),
    (413, "PayloadTooLargeError", "APIStatusError", "The request body is larger than the server accepts (413)."),
    (415, "UnsupportedMediaTypeError", "APIStatusError", "The request body is not JSON (415)."),
    (422, "UnprocessableEntityError", "APIStatusError", "The request was well formed but failed validation (422)."),
    (
        429,
        "RateLimitError",
        "APIStatusError",
        "Too many requests (429); the `Retry-After` header says when to come back.",
    ),
    (None, "ServerError", "APIStatusError", "The server failed (5xx)."),
    (500, "InternalServerError", "ServerError", "The handler crashed (500)."),
    (503, "ServiceUnavailableError", "ServerError", "The app is not ready yet (503)."),
    (504, "GatewayTimeoutError", "ServerError", "The handler did not finish in time (504)."),
)

Converter = Literal["str", "int", "float", "uuid", "path", "date"]
CONVERTER_TYPES: Final[Mapping[str, PrimitiveType]] = {
    "str": PrimitiveType(type="string"),
    "path": PrimitiveType(type="string"),
    "int": PrimitiveType(type="integer"),
    "float": PrimitiveType(type="number"),
    "uuid": PrimitiveType(type="string", format="uuid"),
    "date": PrimitiveType(type="string", format="date"),
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PathPart(_Frozen):
    """A literal run of the path (`param` is None) or one parameter."""

    text: str = ""
    param: str | None = None
    converter: Converter = "str"


class Field(_Frozen):
    """A path or query parameter: wire name, type, whether it must be sent."""

    name: str
    type: GType
    required: bool = True
    description: str | None = None


class Operation(_Frozen):
    handler_id: str
    method: str
    path: str  # OpenAPI form: `/users/{id}`
    parts: tuple[PathPart, ...]
    path_params: tuple[Field, ...]
    query: tuple[Field, ...]
    headers: tuple[Field, ...]
    body: GType | None
    response: GType | None
    status: int
    other_statuses: tuple[int, ...] = ()
    summary: str | None
    description: str | None
    tags: tuple[str, ...]
    roles: tuple[str, ...]
    rate_limited: bool
    idempotent: bool


def resolve(gtype: GType, gtypes: Mapping[str, GType]) -> GType:
    """Follow refs until a non-ref GType (a dangling or cyclic ref is returned as is)."""
    seen: set[str] = set()
    while isinstance(gtype, RefType) and gtype.ref in gtypes and gtype.ref not in seen:
        seen.add(gtype.ref)
        gtype = gtypes[gtype.ref]
    return gtype


def split_path(path: str, params: tuple[PathParam, ...]) -> tuple[PathPart, ...]:
    converters = {p.name: p.converter for p in params}
    parts: list[PathPart] = []
    pos = 0
    for match in _PLACEHOLDER.finditer(path):
        if match.start() > pos:
            parts.append(PathPart(text=path[pos : match.start()]))
        name = match.group(1)
        conv = match.group(2) or converters.get(name, "str")
        parts.append(PathPart(param=name, converter=conv if conv in CONVERTER_TYPES else "str"))
        pos = match.end()
    if pos < len(path):
        parts.append(PathPart(text=path[pos:]))
    return tuple(parts)


def _object_fields(gtype: GType | None, gtypes: Mapping[str, GType]) -> tuple[Field, ...]:
    if gtype is None:
        return ()
    target = resolve(gtype, gtypes)
    if not isinstance(target, ObjectType):
        return ()
    return tuple(
        Field(name=p.name, type=p.type, required=p.required, description=p.description) for p in target.properties
    )


def operation(handler: Handler, gtypes: Mapping[str, GType]) -> Operation:
    parts = split_path(handler.path, handler.pathParams)
    declared = {f.name: f for f in _object_fields(handler.gtypes.params, gtypes)}
    path_params = tuple(
        declared.get(p.param, Field(name=p.param, type=CONVERTER_TYPES[p.converter])).model_copy(
            update={"required": True}
        )
        for p in parts
        if p.param is not None
    )
    return Operation(
        handler_id=handler.handlerId,
        method=handler.method.upper(),
        path="".join(p.text if p.param is None else "{" + p.param + "}" for p in parts),
        parts=parts,
        path_params=path_params,
        query=_object_fields(handler.gtypes.query, gtypes),
        headers=_object_fields(handler.gtypes.headers, gtypes),
        body=handler.gtypes.request,
        response=None if handler.status == 204 else handler.gtypes.response,
        status=handler.status,
        other_statuses=handler.otherStatuses,
        summary=handler.summary,
        description=handler.description,
        tags=handler.tags,
        roles=handler.policies.roles,
        rate_limited=handler.policies.rateLimit is not None,
        idempotent=handler.method.upper() in IDEMPOTENT_METHODS,
    )


def operations(program: Program) -> tuple[Operation, ...]:
    """One `Operation` per handler, in the program's handler order."""
    return tuple(operation(h, program.gtypes) for h in program.handlers)


def first_line(text: str | None) -> str | None:
    if not text:
        return None
    line = text.strip().splitlines()[0].strip()
    return line or None


def _refs_of(gtype: GType) -> set[str]:
    """Every ref written inside `gtype`: its ref types, and (as its JSON dump would show them)
    any `{"kind": "ref", "ref": ...}` object inside a property's default value."""
    found: set[str] = set()
    stack: list[GType] = [gtype]
    while stack:
        g = stack.pop()
        if isinstance(g, RefType):
            found.add(g.ref)
        elif isinstance(g, ObjectType):
            for p in g.properties:
                stack.append(p.type)
                if isinstance(p.default, dict | list):
                    _json_refs(p.default, found)
        else:
            stack.extend(children(g))
    return found


def _json_refs(value: object, found: set[str]) -> None:
    stack: list[object] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("kind") == "ref" and isinstance(item.get("ref"), str):
                found.add(item["ref"])
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


def _reachable(roots: list[GType], gtypes: Mapping[str, GType]) -> set[str]:
    seen: set[str] = set()
    todo = [ref for root in roots for ref in _refs_of(root)]
    while todo:
        ref = todo.pop()
        if ref in seen or ref not in gtypes:
            continue
        seen.add(ref)
        todo.extend(_refs_of(gtypes[ref]))
    return seen


def with_output_fields_required(program: Program) -> dict[str, GType]:
    """`program.gtypes` (sorted) where a dataclass or model that only responses use has every
    field required: it always sends them, defaults included, so the SDKs type them as present.
    A class that requests use too keeps its input shape (its defaulted fields may be left out)."""
    inputs: list[GType] = []
    outputs: list[GType] = []
    for h in program.handlers:
        g = h.gtypes
        inputs += [t for t in (g.request, g.params, g.query, g.headers) if t is not None]
        if g.response is not None:
            outputs.append(g.response)
    output_only = _reachable(outputs, program.gtypes) - _reachable(inputs, program.gtypes)
    out: dict[str, GType] = {}
    for ref, gtype in sorted(program.gtypes.items()):
        if (
            ref in output_only
            and isinstance(gtype, ObjectType)
            and gtype.origin is not None
            and gtype.origin.kind in ("dataclass", "model")
            and not all(p.required for p in gtype.properties)
        ):
            props = tuple(p.model_copy(update={"required": True}) for p in gtype.properties)
            gtype = gtype.model_copy(update={"properties": props})
        out[ref] = gtype
    return out


# -- pagination, recognised structurally --------------------------------------------------------

_ITEMS_KEYS: Final = ("items", "data", "results", "entries", "records")
# the field naming the next page -> query parameters that take it, in order of preference
_NEXT_TO_PARAM: Final[Mapping[str, tuple[str, ...]]] = {
    "next_offset": ("offset",),
    "nextOffset": ("offset",),
    "next_cursor": ("cursor", "after", "page_token"),
    "nextCursor": ("cursor", "after", "pageToken"),
    "next_page_token": ("page_token", "cursor"),
    "nextPageToken": ("pageToken", "cursor"),
    "next_token": ("token", "next_token", "cursor"),
    "nextToken": ("token", "nextToken", "cursor"),
    "next_page": ("page",),
    "nextPage": ("page",),
    "cursor": ("cursor",),
}


class PageShape(_Frozen):
    """A GET whose response is a page: `items_key` holds the items, `next_key` what to send as
    query parameter `param` for the next page (`null` or absent: the last page)."""

    items_key: str
    item: GType
    next_key: str
    param: str


def _scalar_kind(gtype: GType, gtypes: Mapping[str, GType]) -> str | None:
    target = resolve(gtype, gtypes)
    if isinstance(target, UnionType):
        kinds = {_scalar_kind(o, gtypes) for o in target.options} - {"null"}
        return kinds.pop() if len(kinds) == 1 else None
    if isinstance(target, PrimitiveType) and target.type in ("integer", "string", "null"):
        return target.type
    return None


def page_shape(op: Operation, gtypes: Mapping[str, GType]) -> PageShape | None:
    """The page structure of `op`'s response, or `None`. Recognised by shape, never by type name:
    a GET answering an object with a list (`items`, `data`, `results` ...) and a next-page field
    (`next_cursor`, `next_offset`, `next_page_token` ...) whose value an optional query parameter
    of the same kind takes (`cursor`, `offset`, `page_token` ...)."""
    if op.method != "GET" or op.response is None:
        return None
    target = resolve(op.response, gtypes)
    if not isinstance(target, ObjectType):
        return None
    props = {p.name: p for p in target.properties}
    items = next((k for k in _ITEMS_KEYS if k in props and isinstance(resolve(props[k].type, gtypes), ArrayType)), None)
    if items is None:
        return None
    array = resolve(props[items].type, gtypes)
    assert isinstance(array, ArrayType)
    query = {f.name: f for f in op.query}
    for next_key, params in _NEXT_TO_PARAM.items():
        if next_key not in props:
            continue
        kind = _scalar_kind(props[next_key].type, gtypes)
        for param in params:
            field = query.get(param)
            if (
                field is not None
                and not field.required
                and kind in ("integer", "string")
                and _scalar_kind(field.type, gtypes) == kind
            ):
                return PageShape(items_key=items, item=array.items, next_key=next_key, param=param)
    return None
