"""Hooks. Every hook in this module is global (listed in `[tool.gati].global_hooks`)."""

from __future__ import annotations

import time
from typing import Any

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, after, before


@before
def start_timer(req: Request[Any], res: Response[Any], lctx: LocalContext, gctx: GlobalContext) -> None:
    """Remember when the request started."""
    lctx.set("started", time.perf_counter())


@after(timeout=1.0)
def server_timing(req: Request[Any], res: Response[Any], lctx: LocalContext, gctx: GlobalContext) -> None:
    """Tell the client how long the handler took, in the standard `Server-Timing` header."""
    started = lctx.get("started")
    if isinstance(started, float):
        res.header("server-timing", f"app;dur={(time.perf_counter() - started) * 1000:.2f}")
