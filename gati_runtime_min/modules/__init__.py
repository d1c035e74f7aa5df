"""Out-of-process modules: the supervised JSON-RPC client (`ProcessModule`) and its policies.

The protocol is in docs/module-protocol.md; module authors use `gati_runtime_min.modules.server`
(Python) or the dependency-free `js/gati-module.mjs` (Node) shipped with this package.
"""

from __future__ import annotations

from gati_runtime_min.errors import (
    ModuleCallError,
    ModuleCapabilityError,
    ModuleContractError,
    ModuleTimeout,
    ModuleUnavailable,
)
from gati_runtime_min.modules.client import (
    MethodPolicy,
    MethodSpec,
    ModuleHealth,
    ProcessModule,
    RestartPolicy,
    from_manifest,
)
from gati_runtime_min.modules.sandbox import note_in_process

__all__ = [
    "MethodPolicy",
    "MethodSpec",
    "ModuleCallError",
    "ModuleCapabilityError",
    "ModuleContractError",
    "ModuleHealth",
    "ModuleTimeout",
    "ModuleUnavailable",
    "ProcessModule",
    "RestartPolicy",
    "from_manifest",
    "js_helper",
    "note_in_process",
]


def js_helper() -> str:
    """The path of the Node helper `gati-module.mjs` shipped with the runtime."""
    from pathlib import Path

    return str(Path(__file__).with_name("js") / "gati-module.mjs")
