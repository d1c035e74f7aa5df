"""The state protocol: what the runtime keeps per app, and where it lives.

`StateBackend` is one interface with two implementations: `MemoryState` (this process only,
no dependencies, the default) and `RedisState` (shared by every worker and replica). What a
backend holds:

- rate limit windows per (client, handler): `hit`;
- Timescape usage counters per (handler, version): `counts` and `usage`; per version, requests,
  5xx answers and the time of the last request (`tally` and `versions`, what the operator reads
  to roll a version out and to decommission it once drained);
- the pub/sub fabric behind `gctx.publish` / `gctx.subscribe`: `bus`;
- a small key-value store for state handlers and modules share (`gctx.store`): `get`, `set`,
  `incr`, `delete`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, Protocol
from urllib.parse import urlsplit, urlunsplit

from gati_runtime_min.bus import MessageBus

ENV_STATE_URL: Final = "GATI_STATE_URL"
ENV_ENVIRONMENT: Final = "GATI_ENV"
SECRETS_DIR: Final = Path("/run/secrets")

# What lives in the state backend; named when several workers would each keep their own.
PER_WORKER: Final = (
    "rate limits (each worker would admit the full limit)",
    "pub/sub (gctx.publish would reach only the publishing worker's subscribers)",
    "Timescape usage counters (each worker would count only its own requests)",
    "the shared store gctx.store (each worker would keep its own values)",
)


class StateError(Exception):
    """The state backend is misconfigured or unreachable at start-up (a clear message, no traceback)."""


class StateUnavailable(Exception):
    """The shared store was lost while serving; the runtime reconnects by itself."""


@dataclass(frozen=True, slots=True)
class StateSettings:
    """`settings.state` of the build, resolved against the environment."""

    backend: Literal["memory", "redis"] = "memory"
    url: str | None = None
    namespace: str = "gati:app:default"
    allow_per_worker_state: bool = False
    rate_limit_failure: Literal["closed", "open"] = "closed"
    stream_maxlen: int = 10_000
    claim_idle: float = 30.0

    @classmethod
    def resolve(
        cls, settings: Mapping[str, Any] | None, app: str, environ: Mapping[str, str] | None = None
    ) -> StateSettings:
        """Read `settings.state`; `GATI_STATE_URL` wins over `url` and `url_secret` (and selects
        Redis); `url_secret` names an environment variable or a file in `/run/secrets/`."""
        env = os.environ if environ is None else environ
        raw = dict(settings or {})
        backend: Any = raw.get("backend") or "memory"
        url: str | None = env.get(ENV_STATE_URL) or None
        if url is not None:
            backend = "redis"
        elif raw.get("urlSecret"):
            url = _read_secret(str(raw["urlSecret"]), env)
        else:
            url = raw.get("url")
        if backend not in ("memory", "redis"):
            raise StateError(f"settings.state.backend: unknown backend {backend!r} (memory or redis)")
        if backend == "redis":
            if not url:
                raise StateError(
                    "the redis state backend needs a URL: set [tool.gati.state] url (or url_secret), "
                    f"or the {ENV_STATE_URL} environment variable"
                )
            if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
                raise StateError(f"state URL {redact(url)}: the scheme must be redis://, rediss:// or unix://")
        failure: Any = raw.get("rateLimitFailure") or "closed"
        if failure not in ("closed", "open"):
            raise StateError(f"settings.state.rateLimitFailure: {failure!r} is not closed or open")
        namespace = raw.get("namespace") or f"gati:{app}:{env.get(ENV_ENVIRONMENT) or 'default'}"
        return cls(
            backend=backend,
            url=url,
            namespace=str(namespace),
            allow_per_worker_state=bool(raw.get("allowPerWorkerState", False)),
            rate_limit_failure=failure,
            stream_maxlen=int(raw.get("streamMaxlen") or 10_000),
            claim_idle=float(raw.get("claimIdle") or 30.0),
        )


def _read_secret(name: str, env: Mapping[str, str]) -> str:
    value = env.get(name)
    if value:
        return value.strip()
    path = SECRETS_DIR / name
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        raise StateError(
            f"settings.state.urlSecret: {name} is neither set in the environment nor readable at {path}"
        ) from None


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, parts.fragment))


def per_worker_refusal(workers: int) -> str:
    """The message that refuses several workers on the memory backend."""
    kept = "\n".join(f"  - {item}" for item in PER_WORKER)
    return (
        f"refusing to start {workers} workers with the memory state backend: each worker would keep its own\n"
        f"{kept}\n"
        "Share them through Redis:\n"
        '  [tool.gati.state]\n  backend = "redis"\n  url = "redis://localhost:6379/0"\n'
        f"  (or set {ENV_STATE_URL}=redis://...)\n"
        "or accept per-worker state explicitly: `allow_per_worker_state = true` in [tool.gati.state], "
        "or `gatic serve --allow-per-worker-state`."
    )


class StateBackend(Protocol):
    """What the runtime needs from a state backend (see the module docstring)."""

    kind: str
    shared: bool  # one state for every worker and replica
    counts: dict[tuple[str, str | None], int]  # usage not yet flushed: the request path adds here
    tally: VersionTally  # 5xx answers and last requests per version: the request path adds here

    @property
    def bus(self) -> MessageBus: ...

    @property
    def healthy(self) -> bool: ...

    async def check(self) -> bool: ...

    async def start(self, *, wait: bool = False) -> None: ...

    async def close(self) -> None: ...

    async def hit(self, client: str, handler_id: str, limit: int, window: float) -> None: ...

    async def usage(self) -> dict[str, dict[str, int]]: ...

    async def versions(self, usage: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, Any]]:
        """Per version: requests (summed from `usage`, what `usage()` returned), 5xx answers and
        the last request."""
        ...

    async def get(self, key: str, default: Any = None) -> Any: ...

    async def set(self, key: str, value: Any, ttl: float | None = None) -> None: ...

    async def incr(self, key: str, amount: int = 1) -> int: ...

    async def delete(self, key: str) -> None: ...


def usage_table(counts: Mapping[tuple[str, str | None], int], current: str | None) -> dict[str, dict[str, int]]:
    """{handler: {version: requests}}; requests that asked for no version count for `current`."""
    out: dict[str, dict[str, int]] = {}
    for (handler, version), n in counts.items():
        row = out.setdefault(handler, {})
        key = version or current or "current"
        row[key] = row.get(key, 0) + n
    return out


class VersionTally:
    """Per version (None: the current one), the 5xx answers and the moment of the last request.

    The request path writes `errors` and `seen` directly (`seen` holds `time.perf_counter()`
    values, free on that path); `wall` turns them into Unix times."""

    def __init__(self) -> None:
        self.errors: dict[str | None, int] = {}
        self.seen: dict[str | None, float] = {}
        self._epoch = time.time() - time.perf_counter()

    def wall(self, counter: float) -> float:
        return self._epoch + counter

    def take(self) -> tuple[dict[str | None, int], dict[str | None, float]]:
        """The errors and last-seen Unix times since the last `take`, and start over."""
        errors, seen = dict(self.errors), {v: self.wall(t) for v, t in self.seen.items()}
        self.errors.clear()  # in place: the request path holds these very dicts
        self.seen.clear()
        return errors, seen


def version_name(version: str | None, current: str | None) -> str:
    return version or current or "current"


def versions_table(
    usage: Mapping[str, Mapping[str, int]], errors: Mapping[str, int], seen: Mapping[str, float]
) -> dict[str, dict[str, Any]]:
    """{version: {requests, errors, lastSeen}} (`lastSeen` an ISO 8601 UTC time, or None)."""
    requests: dict[str, int] = {}
    for row in usage.values():
        for version, n in row.items():
            requests[version] = requests.get(version, 0) + n
    out: dict[str, dict[str, Any]] = {}
    for version in sorted({*requests, *errors, *seen}):
        last = seen.get(version)
        out[version] = {
            "requests": requests.get(version, 0),
            "errors": errors.get(version, 0),
            "lastSeen": None if last is None else _iso(last),
        }
    return out


def _iso(unix: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(unix))
