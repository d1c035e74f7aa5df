"""Shaping the OpenAPI document for the tools and people that read it (pure functions on dicts).

Two rewrites of the JSON Schemas `ir.jsonschema` produces, which are written for validators:

- Date and time formats carry the decoders' anchored patterns, some of them kilobytes long. In
  the public document a `date` keeps only its standard `format` (RFC 3339 full-date is exactly
  what the decoders take). `date-time`, `time`, `duration` and `uuid` strings are looser in the
  decoders (pydantic's rules) than their standard formats, so the exact pattern must stay for
  validators and fuzzers to agree with the server: it is written once, in a named component
  (`GatiDateTime`, `GatiTime`, `GatiDuration`, `GatiUuid`) with a description and an example,
  and every such field is a `$ref` to it. A user's own constraints stay beside the `$ref`.
- A dataclass or pydantic model always sends every field, defaults included, while its input
  schema marks the defaulted fields optional. Response schemas list them in `required`, so a
  client generated from the document does not make them optional. A component used both ways
  gets a second, output-only component, `<Name>Output` (what pydantic calls "-Output").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from pydantic import JsonValue

from gati_compiler.ir.jsonschema import FORMAT_PATTERNS

SCHEMAS_PREFIX: Final = "#/components/schemas/"
_PUBLIC_FORMATS: Final = frozenset({"date-time", "date", "time", "duration", "uuid"})
_ALWAYS_SENT: Final = frozenset({"dataclass", "model"})


_SHARED_FORMATS: Final[Mapping[str, tuple[str, str, str]]] = {
    # format -> (component, description, example)
    "date-time": (
        "GatiDateTime",
        "A date and time. The server reads what pydantic reads (RFC 3339 date-times, also without "
        "seconds or zone, with a space for `T`, or a Unix timestamp in seconds or milliseconds): "
        "exactly the strings `pattern` matches. Answers are always RFC 3339.",
        "2026-01-02T03:04:05Z",
    ),
    "time": (
        "GatiTime",
        "A time of day, `HH:MM[:SS[.ffffff]]` with an optional zone: exactly the strings `pattern` matches.",
        "03:04:05",
    ),
    "duration": (
        "GatiDuration",
        "A duration, ISO 8601 (`P1DT2H`) or `[-][D day[s], ]HH:MM[:SS[.ffffff]]`: exactly the strings "
        "`pattern` matches. Answers are ISO 8601.",
        "P1DT2H",
    ),
    "uuid": (
        "GatiUuid",
        "A UUID, as pydantic reads it (with or without hyphens, braces or a `urn:uuid:` prefix): "
        "exactly the strings `pattern` matches. Answers use the hyphenated form.",
        "12345678-1234-5678-1234-567812345678",
    ),
}


def public_formats(doc: dict[str, JsonValue]) -> dict[str, JsonValue]:
    """`doc` with the format patterns rewritten as the module docstring says."""
    components = doc.get("components")
    schemas = components.get("schemas") if isinstance(components, dict) else None
    taken = set(schemas) if isinstance(schemas, dict) else set()
    names: dict[str, str] = {}
    for fmt, (name, _, _) in _SHARED_FORMATS.items():
        while name in taken:  # a user type of the same name keeps it
            name += "_"
        names[fmt] = name
    used: set[str] = set()
    out = _rewrite(doc, names, used)
    assert isinstance(out, dict)
    new_components = out.get("components")
    if used and isinstance(new_components, dict):
        rewritten = new_components.get("schemas")
        shared: dict[str, JsonValue] = dict(rewritten) if isinstance(rewritten, dict) else {}
        for fmt in sorted(used):
            _, description, example = _SHARED_FORMATS[fmt]
            shared[names[fmt]] = {
                "type": "string",
                "x-gati-format": fmt,
                "pattern": FORMAT_PATTERNS[fmt],
                "description": description,
                "examples": [example],
            }
        out["components"] = {**new_components, "schemas": dict(sorted(shared.items()))}
    return out


def _rewrite(value: JsonValue, names: Mapping[str, str], used: set[str]) -> JsonValue:
    if isinstance(value, list):
        return [_rewrite(item, names, used) for item in value]
    if not isinstance(value, dict):
        return value
    out = {key: _rewrite(item, names, used) for key, item in value.items()}
    fmt = out.get("format", out.get("x-gati-format"))
    if not (isinstance(fmt, str) and fmt in _PUBLIC_FORMATS and out.get("pattern") == FORMAT_PATTERNS.get(fmt)):
        return out
    del out["pattern"]
    extra = out.get("allOf")
    # the user's own pattern sat in `allOf` beside the format's: it becomes the pattern
    if isinstance(extra, list) and len(extra) == 1 and isinstance(extra[0], dict) and set(extra[0]) == {"pattern"}:
        out["pattern"] = extra[0]["pattern"]
        del out["allOf"]
    if fmt not in names:  # exact as a standard format (`date`): the format says it
        return out
    used.add(fmt)
    rest = {k: v for k, v in out.items() if k not in ("type", "format", "x-gati-format")}
    return {"$ref": SCHEMAS_PREFIX + names[fmt], **rest}


def refs_in(value: JsonValue) -> set[str]:
    """The component names `value` points at (`#/components/schemas/<name>`)."""
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and ref.startswith(SCHEMAS_PREFIX):
                found.add(ref[len(SCHEMAS_PREFIX) :])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def reachable(roots: Iterable[JsonValue], schemas: Mapping[str, JsonValue]) -> set[str]:
    """Every component reachable from `roots` through `$ref`s."""
    seen: set[str] = set()
    todo = [name for root in roots for name in refs_in(root)]
    while todo:
        name = todo.pop()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        todo.extend(refs_in(schemas[name]))
    return seen


def _sent_always(schema: JsonValue) -> JsonValue:
    """The output form of one object schema: every property of a dataclass or model is required."""
    if not isinstance(schema, dict):
        return schema
    origin = schema.get("x-gati-origin")
    props = schema.get("properties")
    if not (isinstance(origin, dict) and origin.get("kind") in _ALWAYS_SENT and isinstance(props, dict)):
        return schema
    required = schema.get("required")
    listed = list(required) if isinstance(required, list) else []
    missing = [name for name in props if name not in listed]
    if not missing:
        return schema
    out = dict(schema)
    out["required"] = [*listed, *missing]
    return out


def _rename_refs(value: JsonValue, names: Mapping[str, str]) -> JsonValue:
    if isinstance(value, list):
        return [_rename_refs(item, names) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, JsonValue] = {}
    for key, item in value.items():
        if key == "$ref" and isinstance(item, str) and item.startswith(SCHEMAS_PREFIX):
            target = item[len(SCHEMAS_PREFIX) :]
            out[key] = SCHEMAS_PREFIX + names.get(target, target)
        else:
            out[key] = _rename_refs(item, names)
    return out


class OutputSchemas:
    """Output forms of the components that responses use.

    Build it from the components and the request/response root schemas; `schemas` is the final
    component table and `response(schema)` rewrites a response root to point at output forms.
    """

    def __init__(
        self, schemas: Mapping[str, JsonValue], inputs: Iterable[JsonValue], outputs: Iterable[JsonValue]
    ) -> None:
        used_in = reachable(inputs, schemas)
        used_out = reachable(outputs, schemas)
        # a component needs an output form if it differs itself or points at one that does
        differs = {name for name in used_out if _sent_always(schemas[name]) != schemas[name]}
        changed = True
        while changed:
            changed = False
            for name in used_out - differs:
                if refs_in(schemas[name]) & differs:
                    differs.add(name)
                    changed = True
        taken = set(schemas)
        self.names: dict[str, str] = {}
        for name in sorted(differs):
            if name not in used_in:
                self.names[name] = name  # only ever sent: the component itself becomes the output form
                continue
            candidate, n = f"{name}Output", 2
            while candidate in taken:
                candidate, n = f"{name}Output{n}", n + 1
            taken.add(candidate)
            self.names[name] = candidate
        table = dict(schemas)
        for name, out_name in sorted(self.names.items()):
            table[out_name] = _rename_refs(_sent_always(schemas[name]), self.names)
        self.schemas: dict[str, JsonValue] = dict(sorted(table.items()))

    def response(self, schema: JsonValue) -> JsonValue:
        return _rename_refs(_sent_always(schema), self.names)
