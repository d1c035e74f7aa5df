"""What the deploy bundle costs a build: `emit_bundle` alone, against the in-process build of
the same 200-module corpus (`benchmarks/build/make_corpus.py`), in the same run.

Rows (best and median of --rounds): the bundle emitter (current build, and five live versions
in three groups), and the whole in-process build without writing (which includes the bundle).
Run: `.venv/bin/python benchmarks/deploy/bench_bundle.py [--rounds N]`.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from benchmarks.build.make_corpus import DEFAULT_OUT, generate
from gati_compiler.deploy import LiveVersion, emit_bundle
from gati_compiler.pipeline import build


def _times(fn: Callable[[], object], rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    if not (DEFAULT_OUT / "pyproject.toml").is_file():
        generate(DEFAULT_OUT)
    result = build(DEFAULT_OUT, write=False, jobs=1)
    assert result.ok and result.program is not None and result.config is not None
    program, cfg, artifacts = result.program, result.config, result.artifacts
    handlers = tuple(sorted(h.handlerId for h in program.handlers))
    versions = tuple(
        LiveVersion(tsv=f"2026-0{i + 1}-01T00:00:00Z", handlers=handlers[: len(handlers) - (i // 2)]) for i in range(5)
    )
    rows = {
        "emit_bundle (current build)": _times(lambda: emit_bundle(program, cfg, artifacts), args.rounds),
        "emit_bundle (5 versions, 3 groups)": _times(
            lambda: emit_bundle(program, cfg, artifacts, versions), args.rounds
        ),
        "build in-process, no write (jobs=1)": _times(lambda: build(DEFAULT_OUT, write=False, jobs=1), args.rounds),
    }
    whole = min(rows["build in-process, no write (jobs=1)"])
    print(f"{len(program.handlers)} handlers, {len(program.modules)} modules, {len(program.gtypes)} types")
    for name, times in rows.items():
        best, median = min(times), statistics.median(times)
        print(f"{name:40} best {best * 1000:8.1f} ms  median {median * 1000:8.1f} ms  {best / whole:6.1%} of the build")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
