"""Small builders for IR values in tests that start from a hand-made `Program`."""

from __future__ import annotations

from typing import Any

from gati_compiler.ir.models import Dependencies, Handler, HandlerGTypes, Hooks, Policies, SourceRef


def make_handler(hid: str, method: str, path: str, **fields: Any) -> Handler:
    """A handler of module `app.handlers` with empty hooks, policies and types unless given."""
    base: dict[str, Any] = {
        "handlerId": hid,
        "method": method,
        "path": path,
        "module": "app.handlers",
        "function": hid,
        "isAsync": True,
        "gtypes": HandlerGTypes(),
        "hooks": Hooks(),
        "policies": Policies(),
        "dependencies": Dependencies(),
        "fingerprint": "sha256:0",
        "source": SourceRef(file="app/handlers.py", line=1),
    }
    base.update(fields)
    return Handler(**base)
