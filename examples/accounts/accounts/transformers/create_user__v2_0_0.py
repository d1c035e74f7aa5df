"""`create_user` from v2.0.0 to v3.0.0: status `disabled` became `suspended`, `balance` became cents."""

from __future__ import annotations

from typing import TYPE_CHECKING

from accounts.transformers._users import STATUS_TO_V3, user_to_v2
from gati_runtime_min.timescape import downgrade_response, upgrade_request

if TYPE_CHECKING:
    from gati_versions.steps.create_user__v2026_10_01T090000Z import NewRequest, NewResponse, OldRequest, OldResponse


@upgrade_request("create_user", "v2.0.0")
def create_user_from_v2_0_0(request: OldRequest) -> NewRequest:
    body = request["body"]
    upgraded: NewRequest = {"body": {"name": body["name"], "email": body["email"]}}
    if "status" in body:
        upgraded["body"]["status"] = STATUS_TO_V3[body["status"]]
    return upgraded


@downgrade_response("create_user", "v2.0.0")
def create_user_to_v2_0_0(response: NewResponse) -> OldResponse:
    return user_to_v2(response)
