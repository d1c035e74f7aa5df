"""The playground: request traces, snapshots, debug gates and replay, and the page that shows them.

`GatiApp` builds a `Playground` when tracing or the dev flag is on (`settings.py`); otherwise
nothing of it runs and the request path is as it was. See `docs/playground.md`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gati_runtime_min.playground.recorder import ACTIVE, RECORDED, Recorder
from gati_runtime_min.playground.settings import PlaygroundSettings
from gati_runtime_min.playground.trace import Span, Trace, TraceFileError, TraceStore, read_traces

if TYPE_CHECKING:
    from gati_runtime_min.app import GatiApp
    from gati_runtime_min.playground.api import PlaygroundEndpoints

__all__ = [
    "ACTIVE",
    "RECORDED",
    "Playground",
    "PlaygroundSettings",
    "Recorder",
    "Span",
    "Trace",
    "TraceFileError",
    "TraceStore",
    "read_traces",
]


class Playground:
    """What the playground keeps for one app: its settings, the trace store and the recorder
    (tracing), the debug gates, and the page's endpoints (dev only)."""

    def __init__(self, app: GatiApp, settings: PlaygroundSettings, *, with_telemetry: bool = False) -> None:
        self.app = app
        self.settings = settings
        self.store = TraceStore(settings.capacity, settings.store)
        self.recorder = Recorder(self, with_telemetry=with_telemetry)
        self.redactor: Any = None  # a `snapshot.Redactor` (helper "gates")
        self.gates: Any = None  # `gates.Gates`
        self.endpoints: PlaygroundEndpoints | None = None  # the page and its API, with the dev flag only
        if settings.dev:
            from gati_runtime_min.playground.api import PlaygroundEndpoints

            self.endpoints = PlaygroundEndpoints(self)

    def carry_over(self, previous: Playground) -> None:
        """Keep `previous`'s traces and gates (a hot swap's new app takes over from the old one)."""
        self.store = self.recorder.store = previous.store
        if previous.gates is not None:
            self.gates = previous.gates

    def close(self) -> None:
        self.store.close()
