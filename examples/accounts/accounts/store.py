"""The in-process storage module the handlers share through `gctx.modules["store"]`: no database."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass

from gati_runtime_min import module


@dataclass
class Account:
    """An account as stored; the handlers turn it into the public `User`."""

    id: int
    name: str
    email: str
    status: str
    balance_cents: int = 0


@module("store", capabilities=["storage.read", "storage.write"], egress=[])
class Store:
    """Accounts kept in memory, guarded by one lock."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._ids = itertools.count(1)
        self._accounts: dict[int, Account] = {}

    async def add(self, name: str, email: str, status: str) -> Account:
        async with self._lock:
            account = Account(next(self._ids), name, email, status)
            self._accounts[account.id] = account
            return account

    async def get(self, account_id: int) -> Account | None:
        return self._accounts.get(account_id)

    async def all(self) -> list[Account]:
        return [self._accounts[k] for k in sorted(self._accounts)]

    async def deposit(self, account_id: int, cents: int) -> Account | None:
        async with self._lock:
            account = self._accounts.get(account_id)
            if account is not None:
                account.balance_cents += cents
            return account
