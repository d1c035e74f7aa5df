"""Property 29, secrets caching: `gctx.secrets` (a `Secrets` over the app's `SecretStore`) serves
a name from its cache while the last fetch of that name is younger than `ttl`, and asks the
provider again from `ttl` on; `ttl = 0` caches nothing and a name the provider does not have is
never cached. Checked against a model for generated sequences of (advance the clock by dt, read
a name), on a vault-style provider (an object with `name` and an async `fetch`) that counts its
calls and rotates its values, so a cached read is also seen to give the value of its fetch.

Times are multiples of 1/4 second, exact in binary floating point, so the model and the store
agree on the boundary `now == fetched + ttl` (a fresh fetch).
"""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gati_runtime_min.secrets import SecretError, Secrets, SecretStore

NAMES = ("db_password", "stripe_key", "absent")  # `absent`: the vault does not have it


class CountingVault:
    """A vault-style provider: each fetch of a name it has returns a new value (a rotation)."""

    name = "vault"

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def fetch(self, key: str) -> str | None:
        self.calls.append(key)
        if key == "absent":
            return None
        return f"{key}-v{self.calls.count(key)}"


quarters = st.integers(0, 160).map(lambda q: q / 4)  # 0 to 40 s


@given(
    ttl=st.one_of(st.just(0.0), quarters),
    steps=st.lists(st.tuples(quarters, st.sampled_from(NAMES)), min_size=1, max_size=30),
)
def test_property_29_secrets_caching(ttl: float, steps: list[tuple[float, str]]) -> None:
    now = [1000.0]
    vault = CountingVault()
    secrets = Secrets(SecretStore([vault], ttl=ttl, clock=lambda: now[0]))
    fetched: dict[str, tuple[float, str]] = {}  # the model: name -> (time of the last fetch, its value)
    fetches: dict[str, int] = {}

    async def steps_run() -> None:
        for dt, name in steps:
            now[0] += dt
            calls = len(vault.calls)
            last = fetched.get(name)
            cached = last is not None and now[0] < last[0] + ttl
            if name == "absent":
                with pytest.raises(SecretError) as info:
                    await secrets.get(name)
                assert info.value.code == "GATI546"
                assert vault.calls[calls:] == [name]  # a missing name is asked for every time
                continue
            secret = await secrets.get(name)
            if cached:
                assert last is not None
                assert vault.calls[calls:] == []  # within ttl: the cache, not the provider
                assert secret.reveal() == last[1]
            else:
                assert vault.calls[calls:] == [name]  # after ttl (or never read): the provider
                fetches[name] = fetches.get(name, 0) + 1
                assert secret.reveal() == f"{name}-v{fetches[name]}"
                if ttl > 0:
                    fetched[name] = (now[0], secret.reveal())

    asyncio.run(steps_run())
