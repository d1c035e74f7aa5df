"""The `gatic` console script: a no-op `gatic build` is answered here, before anything heavy loads.

`gatic build [DIR]` (text output, no other option) first asks `cache.index.noop_verdict` whether
anything changed since the last clean build, with stat and hash checks only: the standard
library, no libcst, pydantic, jinja2 or click, so the answer is cheap enough for a pre-commit
hook. Any doubt, any other command or option, goes to the full CLI (`gati_compiler.cli.run`).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def _noop_project(argv: list[str]) -> Path | None:
    """The project of a plain `build [DIR]` (with `--format text` at most), else None."""
    if not argv or argv[0] != "build":
        return None
    rest = argv[1:]
    if rest[:2] == ["--format", "text"]:
        rest = rest[2:]
    elif rest[-2:] == ["--format", "text"]:
        rest = rest[:-2]
    if len(rest) > 1 or any(a.startswith("-") for a in rest):
        return None
    project = Path(rest[0] if rest else ".")
    return project if project.is_dir() else None


def try_noop(argv: list[str]) -> bool:
    """Print the up-to-date line and return True when `argv` is a build that would change nothing."""
    started = time.perf_counter()
    project = _noop_project(argv)
    if project is None:
        return False
    from gati_compiler.cache.index import noop_verdict

    try:
        index = noop_verdict(project)
    except Exception:  # the full pipeline will say what is wrong
        return False
    if index is None:
        return False
    elapsed = time.perf_counter() - started
    if index.rendered:  # the warnings the build printed, printed again (a clean build has no error)
        sys.stdout.write(index.rendered if index.rendered.endswith("\n") else index.rendered + "\n")
        sys.stdout.flush()
    print(
        f"up to date: {index.summary} in {index.out}/ (nothing changed; 0 files written) in {elapsed:.2f}s",
        file=sys.stderr,
    )
    return True


def run() -> None:
    if try_noop(sys.argv[1:]):
        sys.stderr.flush()
        os._exit(0)
    from gati_compiler.cli import run as cli_run

    cli_run()
