"""`deposit` from v2.0.0 to v3.0.0: the decimal-string `amount` became integer `amount_cents`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from accounts.transformers._users import decimal_to_cents, user_to_v2
from gati_runtime_min.timescape import downgrade_response, upgrade_request

if TYPE_CHECKING:
    from gati_versions.steps.deposit__v2026_10_01T090000Z import NewRequest, NewResponse, OldRequest, OldResponse


@upgrade_request("deposit", "v2.0.0")
def deposit_from_v2_0_0(request: OldRequest) -> NewRequest:
    return {"body": {"amount_cents": decimal_to_cents(request["body"]["amount"])}, "params": request["params"]}


@downgrade_response("deposit", "v2.0.0")
def deposit_to_v2_0_0(response: NewResponse) -> OldResponse:
    return user_to_v2(response)
