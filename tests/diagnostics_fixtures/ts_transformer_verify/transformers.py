"""create_user's step from v1.0.0: the upgrade fails on older users, the downgrade leaks `team`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gati_runtime_min.timescape import downgrade_response, upgrade_request

if TYPE_CHECKING:
    from gati_versions.steps.create_user__v2026_09_01T090000Z import NewRequest, NewResponse, OldRequest, OldResponse


@upgrade_request("create_user", "v1.0.0")
def create_user_up(request: OldRequest) -> NewRequest:  # E: GATI740
    body = request["body"]
    if body["age"] > 120:
        raise ValueError("nobody is that old")
    return {"body": {"name": body["full_name"], "age": body["age"]}}


@downgrade_response("create_user", "v1.0.0")
def create_user_down(response: NewResponse) -> OldResponse:  # E: GATI741
    return {"id": response["id"], "plan": response["plan"]}  # type: ignore[typeddict-item]
