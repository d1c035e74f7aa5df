"""Which differential disagreements come from the one documented `Iterable[X]` difference.

pydantic's JSON mode validates `Iterable[X]` lazily and iterates whatever JSON value it is given:
a string's characters, an object's keys. gati decodes `Iterable[X]` eagerly from a JSON array only,
so `Union[str, Iterable[X]]` keeps a JSON string as the `str` (docs/pydantic.md, "Where gati
differs"). A disagreement on a document is put down to that difference only when pydantic's own
core schema, walked alongside the document, reaches an `Iterable` (a `generator` schema) holding a
string or an object; every other disagreement counts as one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter

Schema = Mapping[str, Any]

# schemas that wrap one inner schema under the key "schema"
_WRAPPERS = frozenset(
    {
        "nullable",
        "default",
        "model",
        "dataclass",
        "function-after",
        "function-before",
        "function-wrap",
        "function-plain",
        "json-or-python",
    }
)


def iterates_text_or_object(adapter: TypeAdapter[Any], document: Any) -> bool:
    """True when pydantic would iterate a JSON string or object as an `Iterable` in `document`."""
    return _Walk().visit(adapter.core_schema, document)


class _Walk:
    def __init__(self) -> None:
        self.definitions: dict[str, Schema] = {}
        self.seen: set[tuple[int, int]] = set()

    def visit(self, schema: Schema, value: Any) -> bool:
        key = (id(schema), id(value))
        if key in self.seen:  # a reference cycle that consumes nothing of the document
            return False
        self.seen.add(key)
        try:
            return self._visit(schema, value)
        finally:
            self.seen.discard(key)

    def _visit(self, schema: Schema, value: Any) -> bool:
        kind = schema.get("type")
        if "ref" in schema:
            self.definitions[schema["ref"]] = schema
        if kind == "definitions":
            for definition in schema["definitions"]:
                self.definitions[definition["ref"]] = definition
            return self.visit(schema["schema"], value)
        if kind == "definition-ref":
            target = self.definitions.get(schema["schema_ref"])
            return target is not None and self.visit(target, value)
        if kind == "generator":
            if isinstance(value, str | dict):
                return True
            inner = schema.get("items_schema")
            return isinstance(value, list) and inner is not None and any(self.visit(inner, v) for v in value)
        if kind == "union":
            return any(self.visit(c[0] if isinstance(c, tuple) else c, value) for c in schema["choices"])
        if kind == "tagged-union":
            return any(self.visit(c, value) for c in schema["choices"].values())
        if kind == "lax-or-strict":
            return self.visit(schema["strict_schema"], value) or self.visit(schema["lax_schema"], value)
        if kind == "chain":
            return any(self.visit(step, value) for step in schema["steps"])
        if kind in ("model-fields", "typed-dict"):
            return isinstance(value, dict) and any(
                self.visit(field["schema"], value[name])
                for name, field in _fields(schema["fields"].items())
                if name in value
            )
        if kind == "dataclass-args":
            return isinstance(value, dict) and any(
                self.visit(field["schema"], value[name])
                for name, field in _fields((f["name"], f) for f in schema["fields"])
                if name in value
            )
        if kind in ("list", "set", "frozenset"):
            inner = schema.get("items_schema")
            return isinstance(value, list) and inner is not None and any(self.visit(inner, v) for v in value)
        if kind == "tuple":
            items = schema.get("items_schema", [])
            return isinstance(value, list) and any(self.visit(s, v) for s in items for v in value)
        if kind == "dict":
            inner = schema.get("values_schema")
            return isinstance(value, dict) and inner is not None and any(self.visit(inner, v) for v in value.values())
        if kind in _WRAPPERS and "schema" in schema:
            return self.visit(schema["schema"], value)
        return False


def _fields(pairs: Any) -> list[tuple[str, Schema]]:
    """(key in the JSON document, field schema): the validation alias when it is a plain name."""
    out = []
    for name, field in pairs:
        alias = field.get("validation_alias")
        out.append((alias if isinstance(alias, str) else name, field))
    return out


__all__ = ["iterates_text_or_object"]
