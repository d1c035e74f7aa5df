"""The watch loop: build, then rebuild after every batch of relevant changes until stopped.

Relevant: `.py` files under the source roots that discovery would read (not excluded, not in
`.venv`, `.git`, `node_modules`, `__pycache__`, hidden folders or the build folder), the two
configuration files, and any file in the folder of an out-of-process module's command (so that
editing a Node module reloads it in the served app). Changes are debounced by watchfiles (a
batch ends after `step` ms without a new change); an edit saved before the watcher runs is
caught up by modification time once it does (`changed_since`). Each rebuild goes through the same `build()`
as `gatic build`, with the build cache kept in memory, so only changed files are parsed again. A
broken edit prints its diagnostics and the loop goes on; the next good build says the problems
are gone. With `serve=True` uvicorn runs in a thread of this process and every good build is
swapped into it (`gati_runtime_min.hotswap`).

SIGINT and SIGTERM end the loop after the build in progress; the server then stops, its socket
is closed and the rebuild-time percentiles are printed. The loop starts no child process of its
own; the processes of out-of-process modules stop with the server.
"""

from __future__ import annotations

import fnmatch
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from gati_compiler.cache.index import CONFIG_FILES, SKIP_DIRS, configured_out
from gati_compiler.cache.store import BuildCache
from gati_compiler.config import GatiConfig
from gati_compiler.diagnostics.render import render_text
from gati_compiler.pipeline import BuildResult, build
from gati_compiler.watch.prime import prime
from gati_compiler.watch.report import changes_line, exit_line, rebuild_line

# a batch of changes ends after this long without a new one
STEP_MS = 30


@dataclass
class WatchStats:
    """What a watch session did (returned when it ends)."""

    rebuilds: list[float] = field(default_factory=list)  # seconds, each rebuild after a change
    swaps: int = 0
    failed_swaps: int = 0


class SourceFilter:
    """watchfiles' filter: True for the changes a rebuild needs to see."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.sources: tuple[str, ...] = (".",)
        self.exclude: tuple[str, ...] = ()
        self.out = configured_out(root)
        # the folders of the files out-of-process modules run (`command=[...]`), relative to the root:
        # a change there reloads the module (a hot swap replaces a process module whose files changed)
        self.module_dirs: tuple[str, ...] = ()

    def configure(self, cfg: GatiConfig | None) -> None:
        if cfg is not None:
            self.sources, self.exclude, self.out = tuple(cfg.sources), tuple(cfg.exclude), cfg.out

    def note_modules(self, result: BuildResult) -> None:
        """Remember the folders of the process modules' command files of the last good build."""
        if result.program is None:
            return
        dirs: set[str] = set()
        for m in result.program.modules:
            for arg in m.command or ():
                file = (self.root / arg).resolve()
                if file.is_file() and file.is_relative_to(self.root):
                    dirs.add(file.parent.relative_to(self.root).as_posix())
        self.module_dirs = tuple(sorted(dirs))

    def __call__(self, _change: object, path: str) -> bool:
        try:
            rel = Path(path).resolve().relative_to(self.root)
        except ValueError:
            return False
        parts = rel.parts
        if not parts:
            return False
        if len(parts) == 1 and parts[0] in CONFIG_FILES:
            return True
        posix = rel.as_posix()
        out = Path(self.out).as_posix().strip("/")
        if posix == out or posix.startswith(out + "/"):
            return False
        if any(p in SKIP_DIRS or p.startswith(".") for p in parts[:-1]):
            return False
        folder = rel.parent.as_posix()
        if any(folder == d or folder.startswith(d.rstrip("/") + "/") or d == "." for d in self.module_dirs):
            return True  # a process module's own files (any language)
        if not parts[-1].endswith(".py"):
            return False
        if not any(src in (".", "") or posix.startswith(src.rstrip("/") + "/") for src in self.sources):
            return False
        return not any(fnmatch.fnmatch(posix, pattern) for pattern in self.exclude)


def changed_since(root: Path, flt: SourceFilter, since: float) -> list[str]:
    """The relevant files (by `flt`) under `root` modified after `since` (a `time.time()`): what the
    watcher cannot have seen, changed between the first build's start and the watcher's."""
    late: list[str] = []
    for folder, dirs, files in os.walk(root):  # (Path.walk is Python 3.12+)
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.startswith(".")]
        for name in files:
            path = (Path(folder) / name).resolve()
            if not flt(None, str(path)):
                continue
            try:
                if path.stat().st_mtime > since:
                    late.append(str(path))
            except OSError:  # gone meanwhile
                continue
    return sorted(late)


def _watch_cache(out_dir: Path) -> BuildCache:
    """The build cache the loop keeps in memory: it saves the lowered program of the last rebuild
    (`BuildCache.flush`) once the watcher has been quiet for half a second, and on exit; until
    then `program.bin` holds an older build's, which the index's lower key keeps from reuse."""
    cache = BuildCache.load(out_dir)
    cache.defer = True
    return cache


def _install_stop_handlers(stop: threading.Event) -> dict[int, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    return {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}


def watch_project(
    project: Path,
    *,
    serve: bool,
    port: int,
    echo: Callable[[str], None],
    host: str = "127.0.0.1",
    stop: threading.Event | None = None,
    color: bool = False,
) -> WatchStats:
    """Build once, then after every batch of relevant changes under `project`, until `stop` is set
    or SIGINT/SIGTERM arrives (see the module docstring)."""
    import watchfiles

    from gati_compiler.watch.server import ServerThread
    from gati_runtime_min.serving import playground_line

    stop = stop or threading.Event()
    previous = _install_stop_handlers(stop)
    stats = WatchStats()
    root = project.resolve()
    flt = SourceFilter(root)
    cache = _watch_cache(root / flt.out)
    server: ServerThread | None = None
    had_problems = False

    def run_build(jobs: int | None) -> tuple[BuildResult, float]:
        nonlocal cache
        started = time.perf_counter()
        result = build(root, cache=cache, jobs=jobs)
        seconds = time.perf_counter() - started
        if result.config is not None:
            flt.configure(result.config)
            if cache.out_dir != root / result.config.out:
                cache.flush()
                cache = _watch_cache(root / result.config.out)
        flt.note_modules(result)
        return result, seconds

    def show(result: BuildResult) -> None:
        nonlocal had_problems
        if result.diagnostics:
            echo(render_text(result.diagnostics, result.sources, color=color).rstrip("\n"))
            had_problems = True
        elif had_problems:
            echo("problems fixed: no diagnostics")
            had_problems = False

    def serve_or_swap(result: BuildResult) -> None:
        nonlocal server
        if not serve:
            return
        if not result.ok or result.config is None:
            if server is not None:
                echo(f"build failed: the last good app keeps serving (generation {server.app.generation})")
            return
        if server is None:
            from gati_runtime_min.errors import ManifestError

            try:
                candidate = ServerThread(root / result.config.out, host, port)
            except ManifestError as exc:
                echo(f"cannot serve yet: {exc}")
                return
            except Exception as exc:  # the app's own code failed to import
                echo(f"cannot serve yet: {type(exc).__name__}: {exc}")
                return
            if not candidate.start():
                echo(f"error: the server could not start on {host}:{port}")
                return
            server = candidate
            echo(f"serving on http://{host}:{port} (hot swap on every good build)")
            said = playground_line(server.app.app, host, port)  # `--dev`
            if said is not None:
                echo(said)
            return
        report = server.app.swap()
        if report.ok:
            stats.swaps += 1
        else:
            stats.failed_swaps += 1
        echo(report.line())

    try:
        if sys.stderr.isatty():
            echo(f"building {project} (first build; later ones are incremental)...")
        built_at = time.time()  # an edit from here until the watcher runs is caught up below
        result, seconds = run_build(None)
        echo(rebuild_line(result, seconds).replace("rebuilt", "built", 1))
        show(result)
        serve_or_swap(result)
        cache.flush()
        first: BuildResult | None = result
        echo(f"watching {project} for changes (Ctrl-C to stop)")
        caught_up = False
        seen: set[str] = set()  # the files the watcher reported before the catch-up
        for changes in watchfiles.watch(
            root,
            watch_filter=flt,
            stop_event=stop,
            step=STEP_MS,
            raise_interrupt=False,
            rust_timeout=500,
            yield_on_timeout=True,
        ):
            if stop.is_set():
                break
            if not changes:  # a quiet half second: the watcher runs, so what it missed starting is on disk
                # the last rebuild's program for the next `gatic build` (pickling it takes about as
                # long as a rebuild: done while the developer is not waiting on one)
                cache.flush()
                late = [] if caught_up else [p for p in changed_since(root, flt, built_at) if p not in seen]
                caught_up = True
                if not late:
                    if first is not None:  # the emit memo, from the first build's program (`prime`)
                        prime(cache, first, root)
                        first = None
                    continue
                changes = {(watchfiles.Change.modified, path) for path in late}
            elif not caught_up:
                seen.update(str(Path(p).resolve()) for _, p in changes)
            rels = sorted({Path(p).resolve().relative_to(root).as_posix() for _, p in changes})
            echo(changes_line(rels))
            # with a server thread running, no forked worker processes
            first = None  # this rebuild fills the memo itself
            result, seconds = run_build(1 if server is not None else None)
            stats.rebuilds.append(seconds)
            echo(rebuild_line(result, seconds))
            show(result)
            serve_or_swap(result)
    finally:
        cache.flush()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if server is not None:
            server.stop()
        echo(exit_line(stats.rebuilds))
    return stats
