"""Where the runtime keeps what every worker and replica must share: one protocol, two backends.

`memory` (default): this process only, no dependency. `redis`: shared through Redis (rate limits
by an atomic script, usage counters, pub/sub on Streams with consumer groups, `gctx.store`).
See `docs/scaling.md`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gati_runtime_min.state.base import (
    ENV_STATE_URL,
    PER_WORKER,
    StateBackend,
    StateError,
    StateSettings,
    per_worker_refusal,
    redact,
)
from gati_runtime_min.state.memory import MemoryState

if TYPE_CHECKING:
    from gati_runtime_min.state.redis_state import RedisState

__all__ = [
    "ENV_STATE_URL",
    "PER_WORKER",
    "MemoryState",
    "StateBackend",
    "StateError",
    "StateSettings",
    "open_backend",
    "per_worker_refusal",
    "redact",
]


def open_backend(settings: StateSettings, current_version: str | None = None) -> MemoryState | RedisState:
    """The backend `settings` name (not yet started: `await backend.start()`)."""
    if settings.backend == "redis":
        from gati_runtime_min.state.redis_state import RedisState

        return RedisState(settings, current_version)
    return MemoryState(current_version)
