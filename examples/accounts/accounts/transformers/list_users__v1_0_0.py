"""`list_users` from v1.0.0 to v2.0.0: each user's `full_name` became `name`, `avatar_url` went away."""

from __future__ import annotations

from typing import TYPE_CHECKING

from accounts.transformers._users import user_to_v1
from gati_runtime_min.timescape import downgrade_response

if TYPE_CHECKING:
    from gati_versions.steps.list_users__v2026_09_01T090000Z import NewResponse, OldResponse


@downgrade_response("list_users", "v1.0.0")
def list_users_to_v1_0_0(response: NewResponse) -> OldResponse:
    return [user_to_v1(user) for user in response]
