"""`gatic watch`: rebuild on every change with `build()`; there is no second code path.

A broken edit prints its diagnostics and the loop goes on; with `serve=True` a server runs in a
child process and is restarted after each build that succeeds.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from gati_compiler.diagnostics.render import render_text, summary_line
from gati_compiler.pipeline import build


def _relevant(path: str) -> bool:
    return path.endswith((".py", ".toml")) and "/.gati/" not in path.replace("\\", "/")


def watch_project(project: Path, *, serve: bool, port: int, echo: Callable[[str], None]) -> None:
    """Build once, then after every batch of changes under `project`, until interrupted."""
    import watchfiles

    server: subprocess.Popen[bytes] | None = None

    def rebuild() -> None:
        nonlocal server
        result = build(project)
        if result.diagnostics:
            echo(render_text(result.diagnostics, result.sources).rstrip("\n"))
        else:
            echo(summary_line([]))
        if serve and result.ok and result.config is not None:
            if server is not None:
                server.terminate()
                server.wait(timeout=10)
            cmd = [sys.executable, "-m", "gati_runtime_min", str(project / result.config.out), "--port", str(port)]
            server = subprocess.Popen(cmd)

    rebuild()
    try:
        for changes in watchfiles.watch(project, watch_filter=lambda _change, path: _relevant(path)):
            echo(f"{len(changes)} change(s); rebuilding")
            rebuild()
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
