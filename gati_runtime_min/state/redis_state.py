"""`RedisState`: state shared by every worker and replica, in Redis (`pip install 'gati[redis]'`).

One connection pool per worker. The request path costs one script call per rate-limited
request and nothing else: usage counters are added up in memory and flushed in one pipeline
every `FLUSH_EVERY` seconds. When Redis is lost, `healthy` turns false (so `/_gati/ready`
answers 503), rate limits fail closed (GATI506) or open as configured, and one task reconnects
with exponential backoff; service resumes by itself once Redis answers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import orjson

from gati_runtime_min.errors import GatiError
from gati_runtime_min.state.base import (
    StateError,
    StateSettings,
    VersionTally,
    redact,
    usage_table,
    version_name,
    versions_table,
)
from gati_runtime_min.state.pipe import ScriptPipe, bulk
from gati_runtime_min.state.scripts import LATEST, RATE_LIMIT

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from gati_runtime_min.state.streams import StreamBus

_LOG: Final = logging.getLogger("gati.state")
FLUSH_EVERY: Final = 0.25
BACKOFF_FIRST: Final = 0.05
BACKOFF_MAX: Final = 2.0
CONNECT_TIMEOUT: Final = 2.0
COMMAND_TIMEOUT: Final = 2.0
CHECK_TIMEOUT: Final = 1.0
PACKED_MAX: Final = 10_000  # (client, handler) windows whose packed script arguments are kept


def connection_errors() -> tuple[type[BaseException], ...]:
    """What means "Redis is not there" (as opposed to a bug or a script error)."""
    from redis.exceptions import BusyLoadingError, ConnectionError, TimeoutError

    return (ConnectionError, TimeoutError, BusyLoadingError, OSError)


def client_for(url: str, *, socket_timeout: float | None = COMMAND_TIMEOUT) -> Redis:
    """An asyncio client from a `redis://` / `rediss://` (TLS) / `unix://` URL, with the ACL user and
    password the URL carries; TLS options (`ssl_ca_certs`, `ssl_cert_reqs`, ...) come as query
    parameters, as redis-py reads them."""
    try:
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
    except ImportError:
        raise StateError(
            "the redis state backend needs the redis package: pip install 'gati[redis]' (or pip install redis)"
        ) from None
    # One immediate retry: a pooled connection that Redis closed (a restart) is replaced at once;
    # beyond that, fail fast and let `RedisState.lost` reconnect with backoff, off the request path.
    return Redis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=socket_timeout,
        health_check_interval=0,
        retry=Retry(NoBackoff(), 1),
    )


class RedisState:
    """The Redis backend (see the module docstring). Keys: `<namespace>:<kind>:...`."""

    kind = "redis"
    shared = True

    def __init__(self, settings: StateSettings, current_version: str | None = None) -> None:
        assert settings.url is not None
        self.settings = settings
        self.url = settings.url
        self.ns = settings.namespace
        self.counts: dict[tuple[str, str | None], int] = {}
        self.tally = VersionTally()
        self._current = current_version
        self._healthy = False
        self._fail_open = settings.rate_limit_failure == "open"
        self._client: Redis | None = None
        self._rate: ScriptPipe | None = None
        # (client, handler, limit, window) -> the check's key and arguments, packed once
        self._packed: dict[tuple[str, str, int, float], tuple[bytes, bytes]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._reconnecting: asyncio.Task[None] | None = None
        self._closing = False
        self._unstarted = False  # started with `wait` while Redis was away: `_connected` still to run
        from gati_runtime_min.state.streams import StreamBus

        self.bus: StreamBus = StreamBus(self)

    @property
    def healthy(self) -> bool:
        return self._healthy

    @property
    def client(self) -> Redis:
        if self._client is None:
            self._client = client_for(self.url)
        return self._client

    def key(self, *parts: str) -> str:
        return ":".join((self.ns, *parts))

    async def start(self, *, wait: bool = False) -> None:
        """Connect and check; raises `StateError` naming the (redacted) URL if Redis is not there.
        With `wait` (a worker that `gatic serve` starts after it reached Redis itself: uvicorn
        replaces a dead worker at once, maybe during an outage), an unreachable Redis is not an
        error: the backend starts not ready and finishes starting when the reconnection succeeds."""
        self._closing = False
        from redis.exceptions import RedisError

        self.bus.prepare()
        try:
            await self.client.ping()
        except connection_errors() as exc:
            if wait:
                _LOG.warning("state store at %s not reachable at start-up: %s; waiting for it", redact(self.url), exc)
                self._unstarted = True
                self.lost(exc)
                return
            await self._abandon()
            raise StateError(f"cannot reach the state store at {redact(self.url)}: {exc}") from None
        except RedisError as exc:
            await self._abandon()
            raise StateError(f"cannot reach the state store at {redact(self.url)}: {exc}") from None
        await self._connected()

    async def _abandon(self) -> None:
        await self.client.aclose()
        self._client = None

    async def _connected(self) -> None:
        """The rest of `start`, once Redis answers: the scripts, the bus, the usage flush."""
        from redis.exceptions import RedisError

        if self._rate is None:
            self._rate = ScriptPipe(self.client, RATE_LIMIT, 2)
        await self.client.script_load(RATE_LIMIT)
        try:
            await self.bus.start()  # writes the first key: a user without rights fails here
        except (RedisError, OSError) as exc:
            if self._unstarted:  # (re)tried by `_reconnect`
                raise
            await self.close()
            raise StateError(f"cannot use the state store at {redact(self.url)} under {self.ns}: {exc}") from None
        self._unstarted = False
        self._healthy = True
        self._tasks.append(asyncio.create_task(self._flush_loop(), name="gati-state-usage"))

    async def close(self) -> None:
        self._closing = True
        await self.bus.close()
        for task in [*self._tasks, *([self._reconnecting] if self._reconnecting else [])]:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self._rate is not None:
            await self._rate.close()
        with contextlib.suppress(Exception):
            await self.flush()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # faults
    def lost(self, exc: BaseException) -> None:
        """Redis stopped answering: not ready until the reconnect task gets a PING through."""
        if self._closing:
            return
        if self._healthy:
            _LOG.error("lost the state store at %s: %s; reconnecting", redact(self.url), exc)
        self._healthy = False
        if self._reconnecting is None or self._reconnecting.done():
            self._reconnecting = asyncio.create_task(self._reconnect(), name="gati-state-reconnect")

    async def _reconnect(self) -> None:
        delay = BACKOFF_FIRST
        errors = connection_errors()
        while not self._closing:
            await asyncio.sleep(delay)
            try:
                await self.client.ping()
                if self._unstarted:  # it was not there when this worker started
                    await self._connected()
            except errors:
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            except Exception as exc:  # e.g. a password changed under us: keep trying, say why
                _LOG.error("state store at %s refuses: %s", redact(self.url), exc)
                delay = BACKOFF_MAX
                continue
            self._healthy = True
            _LOG.info("state store at %s is back", redact(self.url))
            return

    async def check(self) -> bool:
        """For `/_gati/ready`: a PING now (a lost store is noticed by the probe, not by a request)."""
        if not self._healthy:
            return False
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                await self.client.ping()
        except TimeoutError as exc:
            self.lost(exc)
            return False
        except connection_errors() as exc:
            self.lost(exc)
            return False
        return True

    def unavailable(self) -> GatiError:
        return GatiError("GATI506", headers={"retry-after": "1"})

    # rate limits
    async def hit(self, client: str, handler_id: str, limit: int, window: float) -> None:
        """Count one request in the shared window: one script call. Raises GATI532 over the limit,
        GATI506 while Redis is lost (unless `rate_limit_failure = "open"`, which admits)."""
        if not self._healthy:
            if self._fail_open:
                return
            raise self.unavailable()
        packed = self._packed.get((client, handler_id, limit, window))
        if packed is None:
            packed = self._pack(client, handler_id, limit, window)
        try:
            assert self._rate is not None
            wait_ms = await self._rate.call(*packed)
        except connection_errors() as exc:
            self.lost(exc)
            if self._fail_open:
                return
            raise self.unavailable() from None
        if wait_ms:
            raise GatiError(
                "GATI532",
                f"rate limit of {limit} per {window:g}s exceeded",
                headers={"retry-after": str(max(1, math.ceil(int(wait_ms) / 1000)))},
            )

    def _pack(self, client: str, handler_id: str, limit: int, window: float) -> tuple[bytes, bytes]:
        """The script's key and arguments for one (client, handler) window, kept for the next
        request (up to `PACKED_MAX` windows, then the memo starts over)."""
        if len(self._packed) >= PACKED_MAX:
            self._packed.clear()
        key = bulk(f"{self.ns}:rl:{handler_id}:{client}".encode())
        packed = key, bulk(b"%d" % limit) + bulk(b"%d" % int(window * 1000))
        self._packed[(client, handler_id, limit, window)] = packed
        return packed

    # usage counters
    async def flush(self) -> None:
        """Add the usage counted here since the last flush to the shared hashes (one pipeline):
        requests per (handler, version), 5xx answers per version, and each version's last request
        (the latest of every worker's)."""
        if not self.counts and not self.tally.errors and not self.tally.seen:
            return
        batch = dict(self.counts)
        self.counts.clear()
        errors, seen = self.tally.take()
        current = self._current
        try:
            pipe = self.client.pipeline(transaction=False)
            key = self.key("usage")
            for (handler, version), n in batch.items():
                pipe.hincrby(key, f"{handler}\x1f{version_name(version, current)}", n)
            for version, n in errors.items():
                pipe.hincrby(self.key("usage-errors"), version_name(version, current), n)
            if seen:
                latest: dict[str, float] = {}
                for version, t in seen.items():
                    name = version_name(version, current)
                    latest[name] = max(latest.get(name, 0.0), t)
                args = [x for name, t in sorted(latest.items()) for x in (name, f"{t:.3f}")]
                pipe.eval(LATEST, 1, self.key("usage-seen"), *args)
            await pipe.execute()
        except BaseException:
            for k, n in batch.items():  # keep them for the next flush
                self.counts[k] = self.counts.get(k, 0) + n
            for v, n in errors.items():
                self.tally.errors[v] = self.tally.errors.get(v, 0) + n
            raise

    async def _flush_loop(self) -> None:
        errors = connection_errors()
        while True:
            await asyncio.sleep(FLUSH_EVERY)
            if not self._healthy:
                continue
            try:
                await self.flush()
            except errors as exc:
                self.lost(exc)
            except Exception:
                _LOG.exception("flushing usage counters failed")

    async def usage(self) -> dict[str, dict[str, int]]:
        """Requests per handler and version, across every worker and replica (this worker's
        unflushed counts included)."""
        await self.flush()
        raw = await self.client.hgetall(self.key("usage"))
        out: dict[str, dict[str, int]] = {}
        for field, n in raw.items():
            name = field.decode() if isinstance(field, bytes) else field
            handler, _, version = name.partition("\x1f")
            out.setdefault(handler, {})[version] = int(n)
        return out if out else usage_table({}, self._current)

    async def versions(self, usage: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, Any]]:
        """Per version, across every worker and replica: requests (from `usage`, which flushed this
        worker's counts), 5xx answers and the last request."""
        raw_errors = await self.client.hgetall(self.key("usage-errors"))
        raw_seen = await self.client.hgetall(self.key("usage-seen"))
        errors = {_text(k): int(v) for k, v in raw_errors.items()}
        seen = {_text(k): float(v) for k, v in raw_seen.items()}
        return versions_table(usage, errors, seen)

    # the shared store (gctx.store)
    async def get(self, key: str, default: Any = None) -> Any:
        raw = await self.client.get(self.key("kv", key))
        return default if raw is None else orjson.loads(raw)

    async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        px = None if ttl is None else max(1, int(ttl * 1000))
        await self.client.set(self.key("kv", key), orjson.dumps(value), px=px)

    async def incr(self, key: str, amount: int = 1) -> int:
        return int(await self.client.incrby(self.key("kv", key), amount))

    async def delete(self, key: str) -> None:
        await self.client.delete(self.key("kv", key))


def check_reachable(settings: StateSettings) -> None:
    """Before any worker starts: PING the store once, or raise `StateError` naming the URL."""
    assert settings.url is not None

    async def ping() -> None:
        client = client_for(settings.url or "")
        try:
            await client.ping()
        finally:
            await client.aclose()

    from redis.exceptions import RedisError

    try:
        asyncio.run(ping())
    except (RedisError, OSError) as exc:
        raise StateError(f"cannot reach the state store at {redact(settings.url)}: {exc}") from None


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
