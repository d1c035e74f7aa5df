"""The in-process storage module the handlers share through `gctx.modules["store"]`."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime
from uuid import UUID, uuid4

from bookstore.models import Author, Book, BookPatch, Category, Money, NewAuthor, NewBook, NewOrder, Order, OrderStatus
from gati_runtime_min import module

_PRICES_CENTS = {"EUR": 1, "USD": 1, "GBP": 1}


@module("store", capabilities=["storage.read", "storage.write"], egress=[])
class Store:
    """Books, authors and orders kept in memory, guarded by one lock."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._book_ids = itertools.count(1)
        self._author_ids = itertools.count(1)
        self._books: dict[int, Book] = {}
        self._authors: dict[int, Author] = {}
        self._orders: dict[UUID, Order] = {}
        self._tree: Category = {
            "slug": "all",
            "name": "All books",
            "children": [
                {
                    "slug": "fiction",
                    "name": "Fiction",
                    "children": [
                        {"slug": "crime", "name": "Crime", "children": []},
                    ],
                },
                {"slug": "science", "name": "Science", "children": []},
            ],
        }

    async def add_book(self, book: NewBook) -> Book:
        async with self._lock:
            stored: Book = {**book, "id": next(self._book_ids), "in_stock": 0}
            self._books[stored["id"]] = stored
            return stored

    async def get_book(self, book_id: int) -> Book | None:
        return self._books.get(book_id)

    async def list_books(self) -> list[Book]:
        return [self._books[k] for k in sorted(self._books)]

    async def update_book(self, book_id: int, patch: BookPatch) -> Book | None:
        async with self._lock:
            book = self._books.get(book_id)
            if book is None:
                return None
            updated: Book = {**book, **patch}
            self._books[book_id] = updated
            return updated

    async def delete_book(self, book_id: int) -> bool:
        async with self._lock:
            return self._books.pop(book_id, None) is not None

    async def add_author(self, author: NewAuthor) -> Author:
        async with self._lock:
            stored = Author(id=next(self._author_ids), **author.model_dump())
            self._authors[stored.id] = stored
            return stored

    async def get_author(self, author_id: int) -> Author | None:
        return self._authors.get(author_id)

    async def list_authors(self) -> list[Author]:
        return [self._authors[k] for k in sorted(self._authors)]

    async def place_order(self, order: NewOrder, total: Money) -> Order:
        async with self._lock:
            stored = Order(
                id=uuid4(),
                status="pending",
                lines=order["lines"],
                ship_to=order["ship_to"],
                total=total,
                created_at=datetime.now(UTC),
                gift_note=order.get("gift_note"),
            )
            if "priority" in order:
                stored.priority = order["priority"]
            self._orders[stored.id] = stored
            return stored

    async def get_order(self, order_id: UUID) -> Order | None:
        return self._orders.get(order_id)

    async def list_orders(self) -> list[Order]:
        return sorted(self._orders.values(), key=lambda o: o.created_at)

    async def set_status(self, order_id: UUID, status: OrderStatus) -> Order | None:
        async with self._lock:
            order = self._orders.get(order_id)
            if order is not None:
                order.status = status
            return order

    async def categories(self) -> Category:
        return self._tree
