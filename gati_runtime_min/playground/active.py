"""The request being recorded (`ACTIVE`) and the scope key of a request already inside its trace
(`RECORDED`): all `GatiApp`'s request path needs of the playground, in a module that loads nothing else."""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from gati_runtime_min.playground.trace import Trace

ACTIVE: Final[ContextVar[Trace | None]] = ContextVar("gati_playground_trace", default=None)
RECORDED: Final = "gati.recorded"
