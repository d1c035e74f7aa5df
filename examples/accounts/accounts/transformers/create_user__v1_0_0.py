"""`create_user` from v1.0.0 to v2.0.0: `full_name` became `name`, `avatar_url` went away."""

from __future__ import annotations

from typing import TYPE_CHECKING

from accounts.transformers._users import user_to_v1
from gati_runtime_min.timescape import downgrade_response, upgrade_request

if TYPE_CHECKING:
    from gati_versions.steps.create_user__v2026_09_01T090000Z import NewRequest, NewResponse, OldRequest, OldResponse


@upgrade_request("create_user", "v1.0.0")
def create_user_from_v1_0_0(request: OldRequest) -> NewRequest:
    body = request["body"]
    upgraded: NewRequest = {"body": {"name": body["full_name"], "email": body["email"]}}
    if "status" in body:
        upgraded["body"]["status"] = body["status"]
    return upgraded


@downgrade_response("create_user", "v1.0.0")
def create_user_to_v1_0_0(response: NewResponse) -> OldResponse:
    return user_to_v1(response)
