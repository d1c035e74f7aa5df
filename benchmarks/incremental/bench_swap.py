"""Benchmark the in-process hot swap alone on the 200-module corpus (benchmarks/build).

A `HotSwapApp` serves the built corpus in this process; each round edits the leaf handler module,
rebuilds with `gatic build` (a real process, not timed) and times `HotSwapApp.swap()`, then checks
the swapped-in app answers the new string through the app itself. Rows (milliseconds, p50/p95
over --rounds edits):

  body-only edit   the same route answering another string: no artifact changes, one module of
                   the app is imported again
  new route        a new route in the leaf module: its handler manifest, manifest.json and the
                   generated validators change

Usage: python benchmarks/incremental/bench_swap.py [--rounds N] [--corpus DIR] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.build.make_corpus import generate
from benchmarks.incremental.bench_incremental import CLI, Corpus, leaf_block, summary
from gati_runtime_min.hotswap import HotSwapApp


def build(root: Path) -> None:
    subprocess.run([sys.executable, "-c", CLI, "build", "."], cwd=root, check=True, capture_output=True)


def answer(app: HotSwapApp, path: str) -> str:
    """The body the current app gives `GET path`, through the ASGI interface."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [],
        "http_version": "1.1",
        "scheme": "http",
        "server": ("127.0.0.1", 80),
        "root_path": "",
    }
    asyncio.run(app(scope, receive, send))
    return b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body").decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--corpus", type=Path, default=Path(tempfile.gettempdir()) / "gati-bench-swap" / "app")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    root: Path = args.corpus
    generate(root)
    corpus = Corpus(root)
    n = args.rounds
    corpus.leaf.write_text(corpus.leaf_text + leaf_block(0))
    build(root)
    app = HotSwapApp(root / ".gati")
    assert answer(app, "/bench/edit0") == '"v0"'
    r: dict[str, Any] = {"rounds": n, "cpus": os.cpu_count(), "load": os.getloadavg()}
    body, route = [], []
    for i in range(n):
        corpus.leaf.write_text(corpus.leaf_text + leaf_block(0).replace('"v0"', f'"b{i}"'))
        build(root)
        report = app.swap()
        assert report.ok, report.line()
        body.append(report.seconds * 1000)
        assert answer(app, "/bench/edit0") == f'"b{i}"'
    for i in range(1, n + 1):
        corpus.leaf.write_text(corpus.leaf_text + leaf_block(0) + leaf_block(i))
        build(root)
        report = app.swap()
        assert report.ok, report.line()
        route.append(report.seconds * 1000)
        assert answer(app, f"/bench/edit{i}") == f'"v{i}"'
    corpus.reset()
    r["swap: body-only edit"] = summary(body)
    r["swap: new route"] = summary(route)
    if args.json:
        print(json.dumps(r, indent=2))
        return
    print(f"corpus: {root} ({n} edits per row; load average {r['load']})")
    for key, value in r.items():
        if isinstance(value, dict):
            print(f"  {key:<24} p50 {value['p50']:8.1f} ms  p95 {value['p95']:8.1f} ms  min {value['min']:8.1f} ms")


if __name__ == "__main__":
    main()
