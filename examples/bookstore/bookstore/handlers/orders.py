"""Orders: place, look up, list and cancel."""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal

import bookstore.models as m
from bookstore.checks import count_failures
from bookstore.events import ORDER_PLACED, Confirmation, OrderPlaced
from gati_runtime_min import GlobalContext, HTTPError, LocalContext, Request, Response, get, post

_UNIT_PRICE_CENTS = 1250


@post("/orders", rate_limit="10/hour", catch=[count_failures], status=201, timeout=5)
async def place_order(
    req: Request[m.NewOrder], res: Response[m.Order], lctx: LocalContext, gctx: GlobalContext
) -> None:
    """Place an order for one or more books."""
    store = gctx.modules["store"]
    amount = 0
    for line in req.body["lines"]:
        book = await store.get_book(line["book_id"])
        if book is None:
            raise HTTPError(422, "book_not_found", f"no book with id {line['book_id']}")
        amount += book["price"]["amount"] * line["quantity"]
    currency = gctx.config.get("currency", "EUR")
    order = await store.place_order(req.body, {"amount": amount, "currency": currency})
    books = sum(line["quantity"] for line in req.body["lines"])
    gctx.metrics.counter("bookstore.orders.placed", unit="{order}").add(1, {"currency": currency})
    gctx.metrics.histogram("bookstore.order.books", unit="{book}").record(books)
    # the mailer confirms it (at-least-once); a full queue holds this request back, up to its deadline
    placed: OrderPlaced = {"order_id": order.id, "name": order.ship_to["name"], "books": books, "total": order.total}
    await gctx.publish(ORDER_PLACED, placed)
    res.status(201).json(order)


@get("/orders/{id:uuid}/confirmation", modules=["mailer"])
async def order_confirmation(
    req: Request[None], res: Response[Confirmation], lctx: LocalContext, gctx: GlobalContext
) -> None:
    """The confirmation the mailer sent for an order (404 until it has)."""
    sent = await gctx.modules["mailer"].confirmation(req.params["id"])
    if sent is None:
        raise HTTPError(404, "not_confirmed_yet", "no confirmation has been sent for this order yet")
    res.json(sent)


@get("/orders/{id:uuid}")
async def get_order(req: Request[None], res: Response[m.Order], lctx: LocalContext, gctx: GlobalContext) -> None:
    """Look an order up by id."""
    order = await gctx.modules["store"].get_order(req.params["id"])
    if order is None:
        raise HTTPError(404, "order_not_found", "no such order")
    res.json(order)


@get("/orders/{id:uuid}/receipt", secrets=["receipt_key"])
async def order_receipt(req: Request[None], res: Response[m.Receipt], lctx: LocalContext, gctx: GlobalContext) -> None:
    """The order's total, signed with the receipt key (a secret: never logged, audited on every read)."""
    order = await gctx.modules["store"].get_order(req.params["id"])
    if order is None:
        raise HTTPError(404, "order_not_found", "no such order")
    key = await gctx.secrets.get("receipt_key")
    signed = f"{order.id}:{order.total['amount']}:{order.total['currency']}".encode()
    signature = hmac.new(key.reveal().encode(), signed, hashlib.sha256).hexdigest()
    res.json({"order_id": order.id, "total": order.total, "signature": signature})


@get("/orders")
async def list_orders(
    req: Request[None, m.OrderFilter], res: Response[list[m.Order]], lctx: LocalContext, gctx: GlobalContext
) -> None:
    """Orders, oldest first, optionally only those in one status."""
    status = req.query.get("status")
    limit = req.query.get("limit", 50)
    orders = [o for o in await gctx.modules["store"].list_orders() if status is None or o.status == status]
    res.json(orders[:limit])


@post("/orders/{id:uuid}/cancel", roles=["clerk"], catch=[count_failures])
async def cancel_order(req: Request[None], res: Response[m.Order], lctx: LocalContext, gctx: GlobalContext) -> None:
    """Cancel an order that has not shipped yet."""
    store = gctx.modules["store"]
    order = await store.get_order(req.params["id"])
    if order is None:
        raise HTTPError(404, "order_not_found", "no such order")
    if order.status == "shipped":
        raise HTTPError(409, "already_shipped", "a shipped order cannot be cancelled")
    cancelled = await store.set_status(order.id, "cancelled")
    if cancelled is None:  # removed meanwhile
        raise HTTPError(404, "order_not_found", "no such order")
    res.json(cancelled)


@get("/stats", roles=["admin"])
async def stats(req: Request[None], res: Response[m.Stats], lctx: LocalContext, gctx: GlobalContext) -> None:
    """Counts for the back office."""
    store = gctx.modules["store"]
    orders = await store.list_orders()
    by_status: dict[str, int] = {}
    revenue = Decimal(0)
    for order in orders:
        by_status[order.status] = by_status.get(order.status, 0) + 1
        if order.status != "cancelled":
            revenue += Decimal(order.total["amount"]) / 100
    res.json(
        {
            "books": len(await store.list_books()),
            "authors": len(await store.list_authors()),
            "orders_by_status": by_status,
            "revenue": revenue,
        }
    )
