"""Transformers that bind to no step, to one twice, or with another step's types."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gati_runtime_min.timescape import downgrade_error, upgrade_request

if TYPE_CHECKING:
    from gati_versions.steps import create_user__v2026_10_01T090000Z as later
    from gati_versions.steps.create_user__v2026_09_01T090000Z import ErrorBody, NewRequest, OldRequest


@upgrade_request("create_user", "v1.0.0")
def create_user_from_v1(request: OldRequest) -> NewRequest:
    return {"body": {"name": request["body"]["full_name"]}}


@upgrade_request("create_user", "2026-09-01T09:00:00Z")
def create_user_from_v1_again(request: OldRequest) -> NewRequest:  # E: GATI735
    return {"body": {"name": request["body"]["full_name"]}}


@upgrade_request("delete_user", "v1.0.0")
def delete_user_from_v1(request: OldRequest) -> NewRequest:  # E: GATI732
    return {"body": {"name": request["body"]["full_name"]}}


@upgrade_request("create_user", "v0.9.0")
def create_user_from_v0(request: OldRequest) -> NewRequest:  # E: GATI733
    return {"body": {"name": request["body"]["full_name"]}}


@upgrade_request("ping", "v1.0.0")
def ping_from_v1(request: OldRequest) -> NewRequest:  # E: GATI734
    return {"body": {"name": request["body"]["full_name"]}}


@downgrade_error("create_user", "v1.0.0")
def create_user_error_to_v1(error: later.ErrorBody) -> ErrorBody:  # E: GATI736
    return error
