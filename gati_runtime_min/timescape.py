"""Timescape transformer markers: `@upgrade_request`, `@downgrade_response`, `@downgrade_error`.

A transformer bridges one step of a handler's history: from the contract that version `version`
serves to the handler's next contract. The compiler finds these decorators statically (it never
imports user code); the build lists each transformer in `.gati/timescape/serving.json`, and the
runtime imports it from there. The decorators return the function unchanged and only mark it, so
importing a transformer module has no side effect.

Transformers take and return the wire form (JSON values; query, path parameters and headers as
their strings); their parameter and return types are the generated
`gati_versions.steps.<handler>__<version>` shapes (`OldRequest` → `NewRequest`, `NewResponse` →
`OldResponse`, `ErrorBody` → `ErrorBody`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Literal, TypeVar

__all__ = ["MARK", "downgrade_error", "downgrade_response", "upgrade_request"]

F = TypeVar("F", bound=Callable[..., Any])
Kind = Literal["request", "response", "error"]
MARK: Final = "__gati_transformer__"  # the attribute the markers set: (kind, handler id, version)


def _marker(kind: Kind, handler: str, version: str) -> Callable[[F], F]:
    if not isinstance(handler, str) or not isinstance(version, str):
        raise TypeError("a transformer names its handler id and its version as string literals")

    def mark(fn: F) -> F:
        setattr(fn, MARK, (kind, handler, version))
        return fn

    return mark


def upgrade_request(handler: str, version: str) -> Callable[[F], F]:
    """Mark `fn(request: OldRequest) -> NewRequest`: a request of `handler` in the shape of
    `version` (a TSV, tag, label or timestamp) upgraded to the handler's next contract."""
    return _marker("request", handler, version)


def downgrade_response(handler: str, version: str) -> Callable[[F], F]:
    """Mark `fn(response: NewResponse) -> OldResponse`: a success body of the handler's next
    contract downgraded to the shape `version` serves."""
    return _marker("response", handler, version)


def downgrade_error(handler: str, version: str) -> Callable[[F], F]:
    """Mark `fn(error: ErrorBody) -> ErrorBody`: an error body of the next contract as the
    clients of `version` expect it (without one, error bodies pass unchanged)."""
    return _marker("error", handler, version)
