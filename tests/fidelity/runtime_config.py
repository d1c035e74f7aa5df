"""Which differential disagreements come from the documented `__pydantic_config__` difference.

Some SDKs attach pydantic configuration to a TypedDict by a call at import time
(`setattr(cls, "__pydantic_config__", {"extra": "allow"})` inside a helper); pydantic honours it,
gati reads declarations statically and cannot see it (docs/pydantic.md). A disagreement counts
as that difference only when pydantic, built again with those run-time settings taken away,
agrees with the decoder on the same document; every other disagreement counts as one.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from pydantic import TypeAdapter

from gati_compiler.ir.gtype import GType, ObjectType
from gati_compiler.ir.models import Program

ON_RUNTIME_CONFIG = "on `__pydantic_config__` set by a call at run time (documented difference)"


def runtime_configured(program: Program, refs: set[str]) -> list[type]:
    """The TypedDict classes among `refs` whose run-time `__pydantic_config__` sets an `extra`
    other than the one gati read from the source."""
    found: list[type] = []
    for ref in sorted(refs):
        g: GType = program.gtypes[ref]
        if not isinstance(g, ObjectType) or g.origin is None or g.origin.kind != "typeddict":
            continue
        try:
            cls = getattr(importlib.import_module(g.origin.module), g.origin.qualname)
        except (ImportError, AttributeError):
            continue
        config = vars(cls).get("__pydantic_config__")
        if isinstance(config, Mapping) and config.get("extra", "ignore") != g.extra:
            found.append(cls)
    return found


@contextmanager
def _without(classes: list[type]) -> Iterator[None]:
    saved = {cls: vars(cls)["__pydantic_config__"] for cls in classes}
    try:
        for cls in classes:
            delattr(cls, "__pydantic_config__")
        yield
    finally:
        for cls, config in saved.items():
            cls.__pydantic_config__ = config  # type: ignore[attr-defined]


def adapter_as_read(tp: Any, classes: list[type]) -> TypeAdapter[Any] | None:
    """pydantic's validator for `tp` with the run-time configuration of `classes` taken away (None
    when there is none)."""
    if not classes:
        return None
    with _without(classes):
        return TypeAdapter(tp)
