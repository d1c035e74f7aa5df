"""The pub/sub fabric behind `gctx.publish` / `gctx.subscribe` / `gctx.request` (see `docs/pubsub.md`).

`MessageBus` is the interface every state backend implements: `membus.Bus` keeps messages in this
process (the memory backend); `gati_runtime_min.state.streams.StreamBus` carries them across
workers and replicas on Redis Streams. Both have the same semantics:

- Topics are names. `topic("orders.placed", OrderPlaced)` declares a typed one (`Topic[T]`): mypy
  checks what is published on it, and the build checks the message type and generates a check
  the runtime runs before a message leaves the publisher (GATI548 when it does not match). A
  plain string is an untyped topic.
- `subscribe(topic)` alone: the subscription receives every message published on `topic` after
  it subscribed (fan-out). `subscribe(topic, group="name")`: the subscriptions that share a group
  share the work; each message goes to one of them.
- At-least-once: `receive()` hands out a `Delivery` (id, topic, data, attempt) that stays pending
  until `ack()`. A delivery not acknowledged within the subscription's `ack_timeout`, one
  `nack()`ed, or one held by a subscription that closes is delivered again (`attempt` + 1), to
  another member of the group when there is one. The convenience `get()` / `async for` returns
  the data alone and acknowledges the previous message when asked for the next one (or on
  `ack()` / `close()`).
- Backpressure: every subscription has a bounded queue (`maxsize`). `publish` waits (up to
  `timeout`, then `TimeoutError`) while a receiver's queue is full; `publish_nowait` never waits
  (a full receiver misses the message, counted in `dropped`).
- Request/reply: `request(topic, message, timeout)` publishes with a reply address and returns
  the first `delivery.reply(value)` (which also acknowledges the delivery).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, Generic, Protocol, Self, TypeVar

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
DEFAULT_ACK_TIMEOUT = 30.0


class Topic(Generic[T]):
    """A typed topic: `ORDER_PLACED = topic("orders.placed", OrderPlaced)`.

    `check` is the generated encoder of the message type (set when the app loads `topics.json`):
    it raises on a message that does not match, and returns its JSON value.
    """

    __slots__ = ("check", "decode", "message_type", "name")

    def __init__(self, name: str, message_type: Any = None) -> None:
        self.name = name
        self.message_type = message_type
        self.check: Callable[[Any], Any] | None = None
        self.decode: Callable[[Any], Any] | None = None

    def __repr__(self) -> str:
        return f"Topic({self.name!r})"

    def validate(self, message: Any) -> None:
        """Refuse (`MessageTypeError`, GATI548) a message that does not match the declared type."""
        if self.check is None:
            return
        try:
            self.check(message)
        except Exception as exc:
            from gati_runtime_min.errors import MessageTypeError

            raise MessageTypeError(self.name, exc) from None


def topic(name: str, message_type: type[T]) -> Topic[T]:
    """Declare a typed topic at module level; `name` must be a string literal (the build reads it)."""
    return Topic(name, message_type)


def topic_name(t: Topic[Any] | str) -> str:
    return t.name if isinstance(t, Topic) else t


class Delivery(Generic[T_co]):
    """One message handed to one subscription: `id`, `topic`, `data`, `attempt` (1 the first time)."""

    __slots__ = ("_owner", "attempt", "data", "id", "reply_to", "settled", "topic")

    def __init__(self, owner: Any, id: str, topic: str, data: T_co, attempt: int, reply_to: str | None) -> None:
        self._owner = owner
        self.id = id
        self.topic = topic
        self.data = data
        self.attempt = attempt
        self.reply_to = reply_to
        self.settled = False

    def __repr__(self) -> str:
        return f"Delivery(id={self.id!r}, topic={self.topic!r}, attempt={self.attempt})"

    def ack(self) -> None:
        """Done with it: it will not be delivered again."""
        if not self.settled:
            self.settled = True
            self._owner._ack(self)

    def nack(self) -> None:
        """Not done: deliver it again now (to another member of the group if there is one)."""
        if not self.settled:
            self.settled = True
            self._owner._nack(self)

    async def reply(self, value: Any) -> None:
        """Answer a `request`: the value goes back to the requester; the delivery is acknowledged."""
        if self.reply_to is not None:
            await self._owner._reply(self.reply_to, value)
        self.ack()


class Subscription(Protocol[T_co]):
    """Messages of one topic: `receive()` (a `Delivery`), or `get()` / `async for` (the data)."""

    @property
    def topic(self) -> str: ...

    @property
    def group(self) -> str | None: ...

    async def ready(self) -> None: ...

    async def receive(self) -> Delivery[T_co]: ...

    async def get(self) -> T_co: ...

    def ack(self) -> None: ...

    def close(self) -> None: ...

    def deliveries(self) -> AsyncIterator[Delivery[T_co]]: ...

    def __aiter__(self) -> Subscription[T_co]: ...

    async def __anext__(self) -> T_co: ...


class MessageBus(Protocol):
    """What `gctx.publish`, `gctx.subscribe` and `gctx.request` need from a backend."""

    def subscribe(
        self,
        topic: str,
        maxsize: int = 100,
        group: str | None = None,
        ack_timeout: float | None = DEFAULT_ACK_TIMEOUT,
        decode: Callable[[Any], Any] | None = None,
    ) -> Subscription[Any]: ...

    async def publish(
        self, topic: str, message: Any, timeout: float | None = None, reply_to: str | None = None
    ) -> int: ...

    def publish_nowait(self, topic: str, message: Any) -> int: ...

    async def request(self, topic: str, message: Any, timeout: float) -> Any: ...


class NoSubscriber(LookupError):
    """`request` on a topic nobody subscribes to."""


class SubscriptionClosed(RuntimeError):
    """`receive` on a subscription that was closed (while waiting, or before): `async for` ends."""


class Receiving:
    """What both backends' subscriptions share on top of `receive()`: `get()` and `ack()` for the
    data alone, `async for`, and `deliveries()`."""

    _current: Delivery[Any] | None  # what `get()` returned last

    async def receive(self) -> Delivery[Any]:
        raise NotImplementedError

    async def get(self) -> Any:
        """The next message's data; acknowledges the one `get` returned before."""
        self.ack()
        delivery = await self.receive()
        self._current = delivery
        return delivery.data

    def ack(self) -> None:
        """Acknowledge the message `get` returned last."""
        current, self._current = self._current, None
        if current is not None:
            current.ack()

    async def deliveries(self) -> AsyncIterator[Delivery[Any]]:
        """Every delivery, acknowledged by the caller, until the subscription closes."""
        while True:
            try:
                delivery = await self.receive()
            except SubscriptionClosed:
                return
            yield delivery

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.get()
        except SubscriptionClosed:
            raise StopAsyncIteration from None
