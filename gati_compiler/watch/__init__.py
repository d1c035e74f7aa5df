"""`gatic watch`: incremental rebuilds on every save, and with `--serve` a server that takes the
new code without restarting.

| module | role |
| --- | --- |
| `loop` | `watch_project`: the watch loop, its filter, signals and exit statistics |
| `report` | what each rebuild prints; p50/p95 of rebuild times |
| `server` | uvicorn in a thread of this process, serving `gati_runtime_min.hotswap.HotSwapApp` |
"""

from gati_compiler.watch.loop import WatchStats, watch_project

__all__ = ["WatchStats", "watch_project"]
