"""`Playground`: what the playground keeps for one app (see the package's docstring)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gati_runtime_min.playground.gates import Gates
from gati_runtime_min.playground.recorder import Recorder
from gati_runtime_min.playground.settings import PlaygroundSettings
from gati_runtime_min.playground.snapshot import Redactor
from gati_runtime_min.playground.store import TraceStore

if TYPE_CHECKING:
    from gati_runtime_min.app import GatiApp
    from gati_runtime_min.playground.api import PlaygroundEndpoints


class Playground:
    """What the playground keeps for one app: its settings, the trace store and the recorder
    (tracing), the debug gates, and the page's endpoints (dev only)."""

    def __init__(self, app: GatiApp, settings: PlaygroundSettings, *, with_telemetry: bool = False) -> None:
        self.app = app
        self.settings = settings
        self.store = TraceStore(settings.capacity, settings.store)
        # what is secret in this app: its API-key header and keys, and each value its secrets store reads
        self.redactor = Redactor.for_app(app)
        self.store.redactor = self.redactor
        self.store.route_of = self.route_of
        self.gates = Gates(settings.gate_timeout, self.redactor)
        self.recorder = Recorder(self, with_telemetry=with_telemetry)
        self.endpoints: PlaygroundEndpoints | None = None  # the page and its API, with the dev flag only
        if settings.dev:
            from gati_runtime_min.playground.api import PlaygroundEndpoints

            self.endpoints = PlaygroundEndpoints(self)

    def carry_over(self, previous: Playground) -> None:
        """Keep `previous`'s traces and gates (a hot swap's new app takes over from the old one)."""
        self.store = self.recorder.store = previous.store
        self.gates = previous.gates  # armed gates stay armed, paused requests stay paused
        self.gates.redactor = self.redactor
        self.store.redactor = self.redactor
        self.store.route_of = self.route_of

    def route_of(self, method: str, path: str) -> tuple[str, str] | None:
        """The handler id and route template `method path` goes to (a trace names its route)."""
        resolve = self.app.router.resolve
        hit = resolve(method, path)
        if hit is None and method == "HEAD":
            hit = resolve("GET", path)
        return (hit[0].handler_id, hit[0].route.path) if hit is not None else None

    def close(self) -> None:
        self.store.close()
