"""Types shared by every handler of the bookstore."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import (
    Annotated,
    Generic,
    Literal,
    NotRequired,  # pydantic validates typing_extensions' TypedDict on 3.11
    TypeAlias,
    TypeVar,
)
from uuid import UUID

from annotated_types import Ge, Le, MaxLen, MinLen
from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

T = TypeVar("T")

Isbn: TypeAlias = Annotated[str, Field(pattern=r"^(97[89])?\d{9}[\dX]$")]
"""An ISBN-10 or ISBN-13 without separators."""

Title = Annotated[str, MinLen(1), MaxLen(200)]


class Genre(StrEnum):
    """What shelf a book sits on."""

    FICTION = "fiction"
    SCIENCE = "science"
    HISTORY = "history"
    CHILDREN = "children"


class Priority(IntEnum):
    NORMAL = 0
    EXPRESS = 1


class Money(TypedDict):
    """An amount in minor units (cents) and an ISO 4217 currency."""

    amount: Annotated[int, Ge(0)]
    currency: Literal["EUR", "USD", "GBP"]


class NewBook(TypedDict):
    title: Title
    isbn: Isbn
    author_id: Annotated[int, Ge(1)]
    genre: Genre
    price: Money
    published: NotRequired[date]
    tags: NotRequired[Annotated[list[Annotated[str, MaxLen(30)]], MaxLen(10)]]


class Book(NewBook):
    """A book in the catalogue."""

    id: int
    in_stock: int


class BookPatch(TypedDict, total=False):
    """Fields to change; absent fields stay as they are."""

    title: Title
    price: Money
    genre: Genre
    in_stock: Annotated[int, Ge(0)]


@dataclass
class BookQuery:
    """Filters for the catalogue listing."""

    genre: Genre | None = None
    author_id: int | None = None
    limit: Annotated[int, Ge(1), Le(100)] = 20
    offset: Annotated[int, Ge(0)] = 0


class Page(TypedDict, Generic[T]):
    """One page of a listing."""

    items: list[T]
    total: int
    next_offset: int | None


class Author(BaseModel):
    """Someone who wrote books."""

    model_config = ConfigDict(extra="forbid")

    id: int
    name: str = Field(min_length=1, max_length=120, description="Full name as printed on covers")
    born: date | None = None
    website: str | None = Field(default=None, pattern=r"^https?://")


class NewAuthor(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, MinLen(1), MaxLen(120)]
    born: date | None = None
    website: str | None = Field(default=None, pattern=r"^https?://")


class Category(TypedDict):
    """A node of the category tree; categories nest without limit."""

    slug: Annotated[str, Field(pattern=r"^[a-z0-9-]+$")]
    name: str
    children: list[Category]


class OrderLine(TypedDict):
    book_id: Annotated[int, Ge(1)]
    quantity: Annotated[int, Ge(1), Le(50)]


class ShippingAddress(TypedDict):
    name: Annotated[str, MinLen(1)]
    street: str
    city: str
    postcode: Annotated[str, MinLen(3), MaxLen(10)]
    country: Annotated[str, MinLen(2), MaxLen(2)]


class NewOrder(TypedDict):
    lines: Annotated[list[OrderLine], MinLen(1), MaxLen(20)]
    ship_to: ShippingAddress
    priority: NotRequired[Priority]
    gift_note: NotRequired[str | None]


OrderStatus = Literal["pending", "paid", "shipped", "cancelled"]


@dataclass
class Order:
    """An order as stored."""

    id: UUID
    status: OrderStatus
    lines: list[OrderLine]
    ship_to: ShippingAddress
    total: Money
    created_at: datetime
    priority: Priority = Priority.NORMAL
    gift_note: str | None = None


class OrderFilter(TypedDict, total=False):
    status: OrderStatus
    limit: Annotated[int, Ge(1), Le(100)]


class Receipt(TypedDict):
    """An order's total, signed with the shop's receipt key (HMAC-SHA256 of `id:amount:currency`)."""

    order_id: UUID
    total: Money
    signature: Annotated[str, MinLen(64), MaxLen(64)]


class Stats(TypedDict):
    books: int
    authors: int
    orders_by_status: dict[str, int]
    revenue: Decimal
