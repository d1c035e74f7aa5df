"""When the playground is on, and how: the dev flag, tracing, and `[tool.gati.playground]`.

- The page and its API (`/_gati/playground`) need the dev flag: `GatiApp(dev=True)`, which
  `gatic serve --dev` and `gatic watch --serve --dev` pass on as `GATI_DEV=1`. Without it those
  paths answer 404 like any unknown path, whatever the build's settings say.
- Tracing (the trace store) is on with the dev flag, or alone with `GATI_TRACE=1` (a production
  server keeping traces in a file for `gatic replay`); `GATI_TRACE=0` turns it off even in dev.
- Snapshots: the routes `[tool.gati.playground] snapshots` names (or all, `true`); `GATI_SNAPSHOTS=1`
  turns them on for every route without a rebuild, `GATI_SNAPSHOTS=0` off.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

ENV_DEV: Final = "GATI_DEV"
ENV_TRACE: Final = "GATI_TRACE"
ENV_TRACE_FILE: Final = "GATI_TRACE_FILE"  # wins over `store`
ENV_SNAPSHOTS: Final = "GATI_SNAPSHOTS"  # 1: every route takes snapshots; 0: none (wins over `snapshots`)
_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})


def _flag(name: str) -> bool | None:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return None
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    from gati_runtime_min.errors import ManifestError

    raise ManifestError("environment", f"{name}={raw!r} is neither 1 nor 0")


@dataclasses.dataclass(frozen=True, slots=True)
class PlaygroundSettings:
    """The resolved settings; `tracing` False means nothing of the playground runs."""

    dev: bool = False  # the page and its API are served
    tracing: bool = False  # requests are recorded in the trace store
    capacity: int = 1000
    store: Path | None = None  # the JSON Lines file of every trace
    snapshots: bool | frozenset[str] = False  # every route, or these handler ids
    gate_timeout: float = 60.0
    max_body_bytes: int = 65_536

    @classmethod
    def resolve(
        cls,
        settings: Mapping[str, Any] | None,
        project_root: Path,
        *,
        dev: bool | None = None,
        trace: bool | None = None,
    ) -> PlaygroundSettings:
        """From the build's `settings.playground`, the dev flag (the argument, else `GATI_DEV`)
        and tracing (the argument, else `GATI_TRACE`; unset: on with the dev flag), and
        `GATI_TRACE_FILE`."""
        s = dict(settings or {})
        is_dev = dev if dev is not None else bool(_flag(ENV_DEV))
        if trace is None:
            trace = _flag(ENV_TRACE)
        tracing = is_dev if trace is None else trace
        store_name = os.environ.get(ENV_TRACE_FILE) or s.get("store")
        store = None
        if store_name:
            store = Path(store_name)
            if not store.is_absolute():
                store = project_root / store
        snapshots = s.get("snapshots", False)
        every = _flag(ENV_SNAPSHOTS)
        if every is not None:
            snapshots = every
        return cls(
            dev=is_dev,
            tracing=tracing,
            capacity=int(s.get("capacity") or 1000),
            store=store,
            snapshots=snapshots if isinstance(snapshots, bool) else frozenset(snapshots),
            gate_timeout=float(s.get("gateTimeout") or 60.0),
            max_body_bytes=int(s.get("maxBodyBytes", 65_536)),
        )

    def snapshots_for(self, handler_id: str) -> bool:
        s = self.snapshots
        return s if isinstance(s, bool) else handler_id in s
