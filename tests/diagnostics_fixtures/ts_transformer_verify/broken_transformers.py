"""get_user's step from v1.0.0, in a module that cannot be imported."""

from __future__ import annotations

from typing import TYPE_CHECKING

import a_package_that_is_not_installed  # noqa: F401

from gati_runtime_min.timescape import downgrade_response

if TYPE_CHECKING:
    from gati_versions.steps.get_user__v2026_09_01T090000Z import NewResponse, OldResponse


@downgrade_response("get_user", "v1.0.0")
def get_user_down(response: NewResponse) -> OldResponse:  # E: GATI742
    plan = response["plan"]
    return {"id": response["id"], "plan": "pro" if plan == "team" else plan}
