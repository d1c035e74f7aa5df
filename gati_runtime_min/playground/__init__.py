"""The playground: request traces, snapshots, debug gates and replay, and the page that shows them.

`GatiApp` builds a `Playground` when tracing or the dev flag is on (`settings.py`); otherwise
nothing of it runs and the request path is as it was. See `docs/playground.md`.

The names below are imported when first used (`GatiApp` itself imports only `settings` and
`active`), so an app with the playground off does not pay for loading it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from gati_runtime_min.playground.active import ACTIVE, RECORDED
    from gati_runtime_min.playground.core import Playground
    from gati_runtime_min.playground.gates import Condition, Gate, Gates, Paused
    from gati_runtime_min.playground.recorder import Recorder
    from gati_runtime_min.playground.settings import PlaygroundSettings
    from gati_runtime_min.playground.snapshot import REDACTED, NotRestorable, Redactor, StateSnapshot, restore, take
    from gati_runtime_min.playground.span import Span
    from gati_runtime_min.playground.store import TraceFileError, TraceStore, read_traces
    from gati_runtime_min.playground.trace import Trace

_HOME: Final = {
    "ACTIVE": "active",
    "RECORDED": "active",
    "Playground": "core",
    "Condition": "gates",
    "Gate": "gates",
    "Gates": "gates",
    "Paused": "gates",
    "Recorder": "recorder",
    "PlaygroundSettings": "settings",
    "REDACTED": "snapshot",
    "NotRestorable": "snapshot",
    "Redactor": "snapshot",
    "StateSnapshot": "snapshot",
    "restore": "snapshot",
    "take": "snapshot",
    "Span": "span",
    "Trace": "trace",
    "TraceFileError": "store",
    "TraceStore": "store",
    "read_traces": "store",
}
__all__ = [
    "ACTIVE",
    "RECORDED",
    "REDACTED",
    "Condition",
    "Gate",
    "Gates",
    "NotRestorable",
    "Paused",
    "Playground",
    "PlaygroundSettings",
    "Recorder",
    "Redactor",
    "Span",
    "StateSnapshot",
    "Trace",
    "TraceFileError",
    "TraceStore",
    "read_traces",
    "restore",
    "take",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
