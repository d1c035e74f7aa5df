"""`get_user` from v2.0.0 to v3.0.0: the answer's `balance` became cents, `disabled` became `suspended`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from accounts.transformers._users import user_to_v2
from gati_runtime_min.timescape import downgrade_response

if TYPE_CHECKING:
    from gati_versions.steps.get_user__v2026_10_01T090000Z import NewResponse, OldResponse


@downgrade_response("get_user", "v2.0.0")
def get_user_to_v2_0_0(response: NewResponse) -> OldResponse:
    return user_to_v2(response)
