"""What the watch loop prints: one block per rebuild, and the rebuild-time percentiles on exit."""

from __future__ import annotations

import math
from collections.abc import Sequence

from gati_compiler.pipeline import BuildResult


def percentile(values: Sequence[float], q: float) -> float:
    """The `q` quantile (0..1) by the nearest-rank method; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def _names(items: Sequence[str], limit: int = 4) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


def changes_line(paths: Sequence[str]) -> str:
    return f"changed: {_names(sorted(paths))}"


def rebuild_line(result: BuildResult, seconds: float) -> str:
    """`rebuilt: re-analysed 1 file (206 from cache), 3 modules affected; 12 files written in 84 ms`"""
    parts: list[str] = []
    inc = result.incremental
    if inc is not None:
        if inc.full and inc.reanalysed:
            parts.append(f"full build: analysed {len(inc.reanalysed)} files")
        else:
            parts.append(f"re-analysed {len(inc.reanalysed)} file(s) ({inc.reused} from cache)")
        if inc.affected and not inc.full:
            parts.append(f"affected modules: {_names(inc.affected)}")
    if result.written is not None:
        w = result.written
        parts.append(f"{len(w.written)} written, {len(w.removed)} removed, {len(w.unchanged)} unchanged")
        if inc is not None and not inc.emitted:
            parts.append("generated code unchanged")
    elif not result.ok:
        parts.append("nothing written")
    return f"rebuilt in {seconds * 1000:.0f} ms: " + "; ".join(parts)


def exit_line(times: Sequence[float]) -> str:
    if not times:
        return "watch stopped: no rebuilds"
    p50, p95 = percentile(times, 0.5) * 1000, percentile(times, 0.95) * 1000
    return f"watch stopped: {len(times)} rebuild(s), p50 {p50:.0f} ms, p95 {p95:.0f} ms"
