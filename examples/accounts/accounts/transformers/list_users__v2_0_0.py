"""`list_users` from v2.0.0 to v3.0.0: the `?status=disabled` filter is `?status=suspended` now."""

from __future__ import annotations

from typing import TYPE_CHECKING

from accounts.transformers._users import user_to_v2
from gati_runtime_min.timescape import downgrade_response, upgrade_request

if TYPE_CHECKING:
    from gati_versions.steps.list_users__v2026_10_01T090000Z import NewRequest, NewResponse, OldRequest, OldResponse


@upgrade_request("list_users", "v2.0.0")
def list_users_from_v2_0_0(request: OldRequest) -> NewRequest:
    query = request["query"]
    upgraded: NewRequest = {"query": {}}
    if "status" in query:
        # a query value is the raw string: one the v2 decoder accepted is "active" or "disabled"
        upgraded["query"]["status"] = "suspended" if query["status"] == "disabled" else query["status"]
    if "limit" in query:
        upgraded["query"]["limit"] = query["limit"]
    return upgraded


@downgrade_response("list_users", "v2.0.0")
def list_users_to_v2_0_0(response: NewResponse) -> OldResponse:
    return [user_to_v2(user) for user in response]
