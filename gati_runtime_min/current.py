"""The request being served, for code that is not handed `lctx`: secret audits, refused module
reaches (`capability.refused`) and module-call spans.

`CURRENT` is set only when something needs it (secrets, modules or telemetry in use, see
`secrets.bind_request` and `telemetry.Telemetry.instrument`); otherwise it stays `None` and the
request path never touches it.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any, Final

import orjson

AUDIT: Final = logging.getLogger("gati.audit")


class RequestInfo:
    """Who is asking: the request id, the handler id and the API version (filled in as known)."""

    __slots__ = ("handler_id", "request_id", "version")

    def __init__(self, request_id: str | None, handler_id: str | None, version: str | None) -> None:
        self.request_id = request_id
        self.handler_id = handler_id
        self.version = version

    def __repr__(self) -> str:
        return f"RequestInfo({self.request_id!r}, {self.handler_id!r}, {self.version!r})"


CURRENT: Final[ContextVar[RequestInfo | None]] = ContextVar("gati_current_request", default=None)


def current() -> RequestInfo | None:
    """The request this code runs for, or None outside one (or when nothing asked to track it)."""
    return CURRENT.get()


def audit(level: int, entry: dict[str, Any]) -> None:
    """One entry on the audit trail (`gati.audit`): the message is the entry as JSON (like the
    request's own audit line), and `extra={"gati": entry}` gives log handlers its fields."""
    if AUDIT.isEnabledFor(level):
        AUDIT.log(level, orjson.dumps(entry, default=str).decode(), extra={"gati": entry})
