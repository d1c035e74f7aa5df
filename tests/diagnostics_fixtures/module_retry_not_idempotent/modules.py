"""A method that declares retries without being idempotent is never retried."""

from gati_runtime_min import method, module


@module("payments", retries=3)
class Payments:
    @method(idempotent=True)
    async def status(self, payment_id: str) -> str:
        return "settled"

    @method(retries=2)  # W: GATI738
    async def charge(self, amount: int) -> str:
        return "ok"

    # the module's retries apply to idempotent methods only: no warning here
    async def refund(self, payment_id: str) -> bool:
        return True
