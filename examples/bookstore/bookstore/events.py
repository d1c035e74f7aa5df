"""The bookstore's typed topics, and the in-process mailer that consumes one of them.

`ORDER_PLACED` is a typed topic: `gatic build` checks its message type (a GType in
`topics.json`), mypy checks what `gctx.publish(ORDER_PLACED, ...)` carries, and the runtime refuses
a message that does not match it (GATI548). The mailer takes its share of the messages in the
`mailer` group, on the memory backend in this process and on Redis across every worker; a
message is acknowledged once its confirmation is recorded, so one that a crashed worker had taken
is delivered again (at-least-once), and a repeat is recognised by its order id.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from typing_extensions import TypedDict

from bookstore.models import Money
from gati_runtime_min import GlobalContext, module, topic


class OrderPlaced(TypedDict):
    order_id: UUID
    name: str
    books: int
    total: Money


class Confirmation(TypedDict):
    order_id: UUID
    to: str
    subject: str
    sent_at: datetime


ORDER_PLACED = topic("orders.placed", OrderPlaced)


@module("mailer")
class Mailer:
    """Order confirmations, one per `orders.placed` message."""

    def __init__(self, gctx: GlobalContext) -> None:
        self._gctx = gctx
        self._sent: dict[UUID, Confirmation] = {}
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Mailer:
        subscription = self._gctx.subscribe(ORDER_PLACED, group="mailer")
        await subscription.ready()
        self._task = asyncio.create_task(self._run(subscription))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self, subscription: Any) -> None:
        try:
            async for delivery in subscription.deliveries():
                placed: OrderPlaced = delivery.data
                if placed["order_id"] not in self._sent:  # a redelivered message is sent once
                    self._sent[placed["order_id"]] = {
                        "order_id": placed["order_id"],
                        "to": placed["name"],
                        "subject": f"Your order of {placed['books']} book(s) is confirmed",
                        "sent_at": datetime.now(UTC),
                    }
                delivery.ack()
        finally:
            subscription.close()

    async def confirmation(self, order_id: UUID) -> Confirmation | None:
        """The confirmation sent for `order_id`, once the mailer has processed its message."""
        return self._sent.get(order_id)
