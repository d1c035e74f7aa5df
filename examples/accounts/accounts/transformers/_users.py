"""Conversions of the `User` body between versions, shared by the step modules (wire form)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from gati_versions import v2026_09_01T090000Z as v1
    from gati_versions import v2026_10_01T090000Z as v2
    from gati_versions import v2026_11_02T090000Z as v3

STATUS_TO_V2: Final[dict[v3.UserStatus, v2.UserStatus]] = {"active": "active", "suspended": "disabled"}
STATUS_TO_V3: Final[dict[v2.UserStatus, v3.UserStatus]] = {"active": "active", "disabled": "suspended"}


def cents_to_decimal(cents: int) -> str:
    """`1234` -> `"12.34"`, exactly, for any number of cents."""
    return f"{cents // 100}.{cents % 100:02d}"


def decimal_to_cents(amount: str) -> int:
    """`"12.3"` -> `1230`; the v2 decoder admits at most two decimal places, so nothing is lost."""
    return int(Decimal(amount) * 100)


def user_to_v1(user: v2.User) -> v1.User:
    """v2 renamed `full_name` to `name` and dropped `avatar_url` (always null by then)."""
    return {
        "id": user["id"],
        "full_name": user["name"],
        "email": user["email"],
        "status": user["status"],
        "balance": user["balance"],
        "avatar_url": None,
    }


def user_to_v2(user: v3.User) -> v2.User:
    """v3 counts the balance in integer cents and calls a `disabled` account `suspended`."""
    return {
        "id": user["id"],
        "name": user["name"],
        "email": user["email"],
        "status": STATUS_TO_V2[user["status"]],
        "balance": cents_to_decimal(user["balance_cents"]),
    }
