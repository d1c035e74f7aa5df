"""The two contexts a handler receives: `LocalContext` (one request) and `GlobalContext` (the app)."""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, NamedTuple, TypeVar, overload

from gati_runtime_min.bus import MessageBus, Subscription, Topic, topic_name
from gati_runtime_min.current import AUDIT, CURRENT, audit
from gati_runtime_min.errors import CapabilityError, PublishTimeout
from gati_runtime_min.membus import Bus
from gati_runtime_min.secrets import Secrets, SecretStore
from gati_runtime_min.telemetry import Metrics

if TYPE_CHECKING:
    from gati_runtime_min.authoring import CatchFunc, HookFunc
    from gati_runtime_min.state.base import StateBackend
    from gati_runtime_min.versions import Timescape

_LOG: Final = logging.getLogger("gati.request")
T = TypeVar("T")
Thunk = Callable[[], Awaitable[None] | None]
# (seconds since the request started, event name, details)
Event = tuple[float, str, Mapping[str, Any] | None]


_NO_FLAGS: Final[Mapping[str, bool]] = MappingProxyType({})
_GET_FLAGS: Final[Mapping[str, bool]] = MappingProxyType({"head": False})
_HEAD_FLAGS: Final[Mapping[str, bool]] = MappingProxyType({"head": True})
_new_object: Final[Any] = object.__new__


class RequestMeta(NamedTuple):
    request_id: str
    path: str
    version: str | None
    flags: Mapping[str, bool] = _NO_FLAGS


@dataclass(frozen=True, slots=True)
class LocalHook:
    fn: Callable[..., Awaitable[None] | None]
    timeout: float | None = None
    retries: int = 0


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A copy of the request state (and the published messages) taken by `lctx.snapshot()`."""

    state: Mapping[str, Any]
    published: tuple[tuple[str, Any], ...]


class LocalContext:
    """Per-request state, hooks registered at run time, request-scoped messages and the event log."""

    # Only what every request uses is set per request. The rest starts as the class attribute
    # (None) and lands in the instance `__dict__` when a hook or handler first sets it; `meta` is
    # built from the slots `_rid`, `_path`, `_version`, `_head` on first use (see `_new`).
    __slots__ = ("__dict__", "_head", "_path", "_rid", "_version", "events", "t0")

    _rid: str
    _path: str
    _version: str | None
    _head: bool
    _meta: RequestMeta | None = None
    _published: list[tuple[str, Any]] | None = None
    _state: dict[str, Any] | None = None
    _before: list[LocalHook] | None = None
    _after: list[LocalHook] | None = None
    _catch: list[LocalHook] | None = None
    _compensations: list[Thunk] | None = None
    _on_timeout: list[Thunk] | None = None
    _subscribers: dict[str, list[Callable[[Any], None]]] | None = None

    def __init__(self, meta: RequestMeta, t0: float | None = None) -> None:
        self._meta = meta
        self.t0 = time.perf_counter() if t0 is None else t0
        self.events: list[Event] = []

    @classmethod
    def _new(cls, request_id: str, path: str, version: str | None, head: bool, t0: float) -> LocalContext:
        """The runtime's constructor: `meta` is only built if someone reads it."""
        lctx: LocalContext = _new_object(cls)
        lctx._rid = request_id
        lctx._path = path
        lctx._version = version
        lctx._head = head
        lctx.t0 = t0
        lctx.events = []
        return lctx

    @property
    def meta(self) -> RequestMeta:
        meta = self._meta
        if meta is None:
            flags = _HEAD_FLAGS if self._head else _GET_FLAGS
            meta = self._meta = RequestMeta(self._rid, self._path, self._version, flags)
        return meta

    @property
    def published(self) -> list[tuple[str, Any]]:
        """The messages published in this request, in order."""
        published = self._published
        if published is None:
            published = self._published = []
        return published

    @published.setter
    def published(self, value: list[tuple[str, Any]]) -> None:
        self._published = value

    # state
    def get(self, key: str, default: Any = None) -> Any:
        return default if self._state is None else self._state.get(key, default)

    def set(self, key: str, value: Any) -> None:
        if self._state is None:
            self._state = {}
        self._state[key] = value

    def delete(self, key: str) -> None:
        if self._state is not None:
            self._state.pop(key, None)

    def clean(self) -> None:
        """Drop every state entry."""
        if self._state is not None:
            self._state.clear()

    def snapshot(self) -> Snapshot:
        return Snapshot(MappingProxyType(copy.deepcopy(self._state or {})), tuple(self._published or ()))

    def restore(self, snapshot: Snapshot) -> None:
        self._state = copy.deepcopy(dict(snapshot.state))
        self.published = list(snapshot.published)

    # local hooks: run after the global and route hooks of the same kind
    def before(self, fn: HookFunc, *, timeout: float | None = None, retries: int = 0) -> HookFunc:
        if self._before is None:
            self._before = []
        self._before.append(LocalHook(fn, timeout, retries))
        return fn

    def after(self, fn: HookFunc, *, timeout: float | None = None, retries: int = 0) -> HookFunc:
        if self._after is None:
            self._after = []
        self._after.append(LocalHook(fn, timeout, retries))
        return fn

    def catch(self, fn: CatchFunc, *, timeout: float | None = None, retries: int = 0) -> CatchFunc:
        if self._catch is None:
            self._catch = []
        self._catch.append(LocalHook(fn, timeout, retries))
        return fn

    def compensate(self, fn: Thunk) -> Thunk:
        """Register an action that undoes work if the request fails; they run in reverse order."""
        if self._compensations is None:
            self._compensations = []
        self._compensations.append(fn)
        return fn

    def on_timeout(self, fn: Thunk) -> Thunk:
        """Register a cleanup action that runs (in reverse order) if the request times out."""
        if self._on_timeout is None:
            self._on_timeout = []
        self._on_timeout.append(fn)
        return fn

    # request-scoped messages: seen by this request only, gone when it ends
    @overload
    def publish(self, topic: Topic[T], message: T) -> None: ...
    @overload
    def publish(self, topic: str, message: Any) -> None: ...
    def publish(self, topic: Topic[Any] | str, message: Any) -> None:
        """Deliver `message` to this request's subscribers of `topic`, synchronously (in order,
        before `publish` returns). On a typed topic a message that does not match is refused
        (GATI548) and reaches nobody."""
        if isinstance(topic, Topic):
            topic.validate(message)
        name = topic_name(topic)
        self.published.append((name, message))
        self.event("publish", topic=name)
        if self._subscribers is not None:
            for callback in self._subscribers.get(name, ()):
                callback(message)

    @overload
    def subscribe(self, topic: Topic[T], callback: Callable[[T], None]) -> None: ...
    @overload
    def subscribe(self, topic: str, callback: Callable[[Any], None]) -> None: ...
    def subscribe(self, topic: Topic[Any] | str, callback: Callable[[Any], None]) -> None:
        """Call `callback(message)` for every message this request publishes on `topic` from now on."""
        if self._subscribers is None:
            self._subscribers = {}
        self._subscribers.setdefault(topic_name(topic), []).append(callback)

    # logging and events
    def log(self, message: str, level: str = "info", **fields: Any) -> None:
        """Log with the request id attached, and record a `log` event."""
        self.event("log", message=message, level=level, **fields)
        lvl = logging.getLevelName(level.upper())
        if isinstance(lvl, int) and _LOG.isEnabledFor(lvl):
            _LOG.log(lvl, message, extra={"request_id": self.meta.request_id, "fields": fields})

    def event(self, name: str, /, **detail: Any) -> None:
        self.events.append((time.perf_counter() - self.t0, name, detail or None))

    def events_json(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for t, name, detail in self.events:
            item: dict[str, Any] = {"event": name, "ms": round(t * 1000, 3)}
            if detail:
                item.update(detail)
            out.append(item)
        return out


class Modules:
    """The modules a handler may use: `gctx.modules["db"]` or `gctx.modules.db`."""

    # `__dict__`: the attribute form caches each module it found, so `gctx.modules.db` costs a plain
    # attribute read from the second call on
    __slots__ = ("__dict__", "_allowed", "_instances", "_owner")

    def __init__(self, instances: Mapping[str, Any], allowed: frozenset[str] | None = None, owner: str = "") -> None:
        self._instances = instances
        self._allowed = allowed
        self._owner = owner

    def __getitem__(self, module_id: str) -> Any:
        if self._allowed is not None and module_id not in self._allowed:
            raise self._refuse(module_id)
        try:
            return self._instances[module_id]
        except KeyError:
            raise self._refuse(module_id) from None

    def _refuse(self, module_id: str) -> CapabilityError:
        """GATI505, with an audit entry (WARNING on `gati.audit`) naming who reached for what."""
        if AUDIT.isEnabledFor(logging.WARNING):
            info = CURRENT.get()
            module = self._owner.removeprefix("module:") if self._owner.startswith("module:") else None
            entry = {
                "event": "capability.refused",
                "capability": f"module:{module_id}",
                "requestId": info.request_id if info is not None else None,
                "handlerId": (info.handler_id if info is not None else None) or (None if module else self._owner),
            }
            if module is not None:
                entry["moduleId"] = module
            audit(logging.WARNING, entry)
        return CapabilityError(module_id, self._owner)

    def __getattr__(self, module_id: str) -> Any:
        if module_id.startswith("__"):
            raise AttributeError(module_id)
        instance = self[module_id]
        self.__dict__[module_id] = instance
        return instance

    def __contains__(self, module_id: object) -> bool:
        return module_id in self._instances and (self._allowed is None or module_id in self._allowed)

    def __iter__(self) -> Iterator[str]:
        return (m for m in self._instances if self._allowed is None or m in self._allowed)

    def restrict(self, allowed: frozenset[str], owner: str) -> Modules:
        return Modules(self._instances, allowed, owner)


def freeze(value: Any) -> Any:
    """Deep read-only copy: dicts become MappingProxyType, lists become tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


class GlobalContext:
    """What every request shares: read-only `config`, `modules`, the message bus, the shared
    `store` (a key-value store every worker and replica sees with the Redis backend), app identity."""

    __slots__ = (
        "_bus",
        "_deadlines",
        "_topics",
        "app",
        "config",
        "manifest_hash",
        "metrics",
        "modules",
        "secrets",
        "store",
        "timescape",
        "version",
        "versions",
    )

    def __init__(
        self,
        *,
        config: Mapping[str, Any] | None = None,
        modules: Modules | Mapping[str, Any] | None = None,
        bus: MessageBus | None = None,
        store: StateBackend | None = None,
        app: str = "app",
        version: str | None = None,
        versions: tuple[str, ...] = (),
        manifest_hash: str | None = None,
        timescape: Timescape | None = None,
        deadlines: Mapping[asyncio.Task[Any], float] | None = None,
        topics: Mapping[str, Topic[Any]] | None = None,
        secrets: Secrets | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.config: Mapping[str, Any] = freeze(config or {})
        self.modules = modules if isinstance(modules, Modules) else Modules(modules or {})
        self._bus: MessageBus = bus or Bus()
        # the running requests' deadlines (`Deadlines.live`): a publish inside a request waits no longer
        self._deadlines: Mapping[asyncio.Task[Any], float] = deadlines if deadlines is not None else {}
        # the build's typed topics by name: publishing on a typed topic's name is checked too
        self._topics: Mapping[str, Topic[Any]] = topics or {}
        if store is None:
            from gati_runtime_min.state.memory import MemoryState

            self.store: StateBackend = MemoryState(version)
        else:
            self.store = store
        self.app = app
        self.version = version
        self.versions = versions
        self.manifest_hash = manifest_hash
        if timescape is None:
            from gati_runtime_min.versions import Timescape, VersionResolver

            timescape = Timescape(VersionResolver(versions), self.store)
        # the recorded versions, the current one, resolution and usage counts (`versions.Timescape`)
        self.timescape: Timescape = timescape
        # `await gctx.secrets.get(name)` (`secrets.py`) and `gctx.metrics.counter(name)` (`telemetry.py`)
        self.secrets: Secrets = secrets if secrets is not None else Secrets(SecretStore.from_settings(None))
        self.metrics: Metrics = metrics if metrics is not None else Metrics(None)

    def with_modules(self, modules: Modules, secrets: Secrets | None = None) -> GlobalContext:
        """A copy with other modules (and secrets: a handler's own, restricted views)."""
        return GlobalContext(
            config=self.config,
            modules=modules,
            bus=self._bus,
            store=self.store,
            app=self.app,
            version=self.version,
            versions=self.versions,
            manifest_hash=self.manifest_hash,
            timescape=self.timescape,
            deadlines=self._deadlines,
            topics=self._topics,
            secrets=self.secrets if secrets is None else secrets,
            metrics=self.metrics,
        )

    # the pub/sub fabric (docs/pubsub.md)
    def _typed(self, topic: Topic[Any] | str, message: Any) -> str:
        """The topic's name, once the message passed its type's check (GATI548 otherwise)."""
        if isinstance(topic, str):
            declared = self._topics.get(topic)
            if declared is None:
                return topic
            topic = declared
        topic.validate(message)
        return topic.name

    def _budget(self, timeout: float | None) -> tuple[float | None, bool]:
        """How long a publish may wait: `timeout`, cut to what is left of the running request's
        deadline (True when the deadline is the limit)."""
        if not self._deadlines:
            return timeout, False
        try:
            task = asyncio.current_task()
        except RuntimeError:
            return timeout, False
        deadline = self._deadlines.get(task) if task is not None else None
        if deadline is None:
            return timeout, False
        left = max(0.0, deadline - time.perf_counter() - 0.002)  # before the deadline's own timer
        if timeout is None or left < timeout:
            return left, True
        return timeout, False

    @overload
    async def publish(self, topic: Topic[T], message: T, timeout: float | None = None) -> int: ...
    @overload
    async def publish(self, topic: str, message: Any, timeout: float | None = None) -> int: ...
    async def publish(self, topic: Topic[Any] | str, message: Any, timeout: float | None = None) -> int:
        """Publish to every subscriber (one member per group); returns how many received it.

        Waits while a receiver's queue is full: up to `timeout`, and inside a request no longer
        than its deadline (then `PublishTimeout`, GATI547, 504: the request fails through the
        lifecycle). A typed topic refuses a message that does not match (GATI548); it is not
        delivered.
        """
        name = self._typed(topic, message)
        limit, by_deadline = self._budget(timeout)
        t0 = time.perf_counter()
        try:
            return await self._bus.publish(name, message, limit)
        except TimeoutError:
            if by_deadline:
                raise PublishTimeout(name, time.perf_counter() - t0) from None
            raise

    @overload
    def publish_nowait(self, topic: Topic[T], message: T) -> int: ...
    @overload
    def publish_nowait(self, topic: str, message: Any) -> int: ...
    def publish_nowait(self, topic: Topic[Any] | str, message: Any) -> int:
        """Publish without waiting: a receiver whose queue is full misses the message."""
        return self._bus.publish_nowait(self._typed(topic, message), message)

    @overload
    def subscribe(
        self, topic: Topic[T], maxsize: int = 100, group: str | None = None, ack_timeout: float | None = 30.0
    ) -> Subscription[T]: ...
    @overload
    def subscribe(
        self, topic: str, maxsize: int = 100, group: str | None = None, ack_timeout: float | None = 30.0
    ) -> Subscription[Any]: ...
    def subscribe(
        self, topic: Topic[Any] | str, maxsize: int = 100, group: str | None = None, ack_timeout: float | None = 30.0
    ) -> Subscription[Any]:
        """Messages of `topic` from now on: all of them, or with `group`, a share of the group's.
        A `receive()`d delivery not acknowledged within `ack_timeout` seconds is delivered again."""
        declared = topic if isinstance(topic, Topic) else self._topics.get(topic)
        decode = declared.decode if declared is not None else None
        return self._bus.subscribe(topic_name(topic), maxsize, group, ack_timeout, decode)

    @overload
    async def request(self, topic: Topic[T], message: T, timeout: float = 10.0) -> Any: ...
    @overload
    async def request(self, topic: str, message: Any, timeout: float = 10.0) -> Any: ...
    async def request(self, topic: Topic[Any] | str, message: Any, timeout: float = 10.0) -> Any:
        """Publish `message` and wait (up to `timeout`, and the request's deadline) for the first
        subscriber's `delivery.reply(value)`; returns that value. `NoSubscriber` if nobody listens."""
        name = self._typed(topic, message)
        limit, by_deadline = self._budget(timeout)
        t0 = time.perf_counter()
        try:
            return await self._bus.request(name, message, limit if limit is not None else timeout)
        except TimeoutError:
            if by_deadline:
                raise PublishTimeout(name, time.perf_counter() - t0) from None
            raise
