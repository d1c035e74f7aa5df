"""Transformer markers gati cannot read: a computed version, a method, a nested function."""

from __future__ import annotations

from gati_runtime_min.timescape import downgrade_response, upgrade_request

VERSION = "v1.0.0"


@upgrade_request("create_user", VERSION)  # E: GATI730
def create_user_from_v1(request: dict[str, object]) -> dict[str, object]:
    return request


@upgrade_request("create_user")  # E: GATI730
def create_user_from_v1_again(request: dict[str, object]) -> dict[str, object]:
    return request


class Transformers:
    @downgrade_response("create_user", "v1.0.0")  # E: GATI731
    def to_v1(self, response: None) -> None:
        return response


def factory() -> None:
    @downgrade_response("create_user", "v1.0.0")  # E: GATI731
    def to_v1(response: None) -> None:
        return response
