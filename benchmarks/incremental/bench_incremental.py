"""Benchmark incremental builds and the watch loop on the 200-module corpus (benchmarks/build).

Measured in one run, next to the cold build of the same corpus (all as real processes except where
said; times in milliseconds, p50/p95 over --rounds edits):

  cold build          `gatic build` with no build folder (and so no cache)
  no-op build         `gatic build` right after a build, nothing changed (answered by the
                      no-op check: stat and hash only)
  leaf handler edit   `gatic build` after adding a new route to one handler module
                      (its facts are parsed again, the rest come from the cache; the whole
                      program is lowered and emitted again because the API changed)
  body-only edit      `gatic build` after an edit inside a handler body that changes no
                      artifact (the cache sees the same lowered program and emits nothing)
  model edit          `gatic build` after adding a field to `Money`, which all 200 handler
                      modules import
  watch: save-to-artifacts   in a warm `gatic watch`, from writing the leaf edit to its handler
                      manifest appearing in the build folder (the model edit likewise, to the
                      new field appearing in gtypes.json)
  watch --serve: save-to-answer   in a warm `gatic watch --serve`, from writing the leaf edit
                      (a new route answering a new string) to that route answering over HTTP;
                      and for a body-only edit (the same route answering another string: no
                      artifact changes, one module is imported again)

Usage: python benchmarks/incremental/bench_incremental.py [--rounds N] [--corpus DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.build.make_corpus import generate

CLI = "from gati_compiler.entry import run; run()"  # what the `gatic` console script runs
LEAF = "corpusapp/handlers/{}"
MONEY_FIELD = "    currency: Currency\n"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def summary(values: list[float]) -> dict[str, float]:
    return {"p50": percentile(values, 0.5), "p95": percentile(values, 0.95), "min": min(values), "n": len(values)}


def gatic(*args: str, cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", CLI, *args], cwd=cwd, check=True, capture_output=True)
    return (time.perf_counter() - started) * 1000


def leaf_block(i: int) -> str:
    return (
        f'\n\n@get("/bench/edit{i}")\n'
        f"async def bench_edit_{i}(\n"
        "    req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext\n"
        ") -> None:\n"
        f'    res.json("v{i}")\n'
    )


class Corpus:
    def __init__(self, root: Path) -> None:
        self.root = root
        handlers = sorted((root / "corpusapp" / "handlers").glob("*.py"))
        self.leaf = next(p for p in handlers if p.name != "__init__.py")
        self.leaf_text = self.leaf.read_text()
        self.models = root / "corpusapp" / "models.py"
        self.models_text = self.models.read_text()
        assert MONEY_FIELD in self.models_text

    def leaf_edit(self, i: int) -> None:
        self.leaf.write_text(self.leaf_text + leaf_block(i))

    def body_edit(self, i: int) -> None:
        self.leaf.write_text(self.leaf_text + f"\n\ndef _helper() -> int:\n    return {i}\n")

    def model_edit(self, i: int) -> None:
        extra = f"    note_{i}: NotRequired[str]\n" if i % 2 == 0 else f"    memo_{i}: NotRequired[int]\n"
        self.models.write_text(self.models_text.replace(MONEY_FIELD, MONEY_FIELD + extra, 1))

    def reset(self) -> None:
        self.leaf.write_text(self.leaf_text)
        self.models.write_text(self.models_text)


def wait_until(check: Callable[[], bool], timeout: float = 60.0) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if check():
            return (time.perf_counter() - started) * 1000
        time.sleep(0.002)
    raise TimeoutError("the change never showed up")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def http_text(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return str(r.read().decode())
    except (urllib.error.URLError, OSError):
        return None


def start_watch(root: Path, *extra: str) -> tuple[subprocess.Popen[bytes], Path]:
    log = root.parent / "watch.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", CLI, "watch", str(root), *extra], stdout=out, stderr=subprocess.STDOUT, cwd=root
        )
    wait_until(lambda: "watching" in log.read_text(errors="replace"), timeout=120)
    time.sleep(0.5)  # let the watcher settle
    return proc, log


def stop_watch(proc: subprocess.Popen[bytes], log: Path) -> str:
    proc.terminate()
    proc.wait(30)
    lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.startswith("watch stopped")]
    return lines[-1] if lines else "(no exit line)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--corpus", type=Path, default=Path(tempfile.gettempdir()) / "gati-bench-incremental" / "app")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    root: Path = args.corpus
    generate(root)
    corpus = Corpus(root)
    out = root / ".gati"
    r: dict[str, object] = {"rounds": args.rounds, "cpus": os.cpu_count(), "load": os.getloadavg()}
    n = args.rounds

    cold = []
    for _ in range(3):
        shutil.rmtree(out, ignore_errors=True)
        cold.append(gatic("build", ".", cwd=root))
    r["cold build"] = summary(cold)
    r["no-op build"] = summary([gatic("build", ".", cwd=root) for _ in range(n)])

    def edits(edit: Callable[[int], None]) -> list[float]:
        times = []
        for i in range(n):
            edit(i)
            times.append(gatic("build", ".", cwd=root))
        corpus.reset()
        gatic("build", ".", cwd=root)
        return times

    r["leaf handler edit (process)"] = summary(edits(corpus.leaf_edit))
    r["body-only edit (process)"] = summary(edits(corpus.body_edit))
    r["model edit (process)"] = summary(edits(corpus.model_edit))

    # warm watch, no server: save to artifacts
    proc, log = start_watch(root)
    try:
        leaf, model = [], []
        for i in range(n):
            manifest = out / "handlers" / f"bench_edit_{i}.json"
            corpus.leaf_edit(i)
            leaf.append(wait_until(manifest.is_file))
        for i in range(n):
            field = f"note_{i}" if i % 2 == 0 else f"memo_{i}"
            gtypes = out / "gtypes.json"
            corpus.model_edit(i)
            model.append(wait_until(lambda f=field, g=gtypes: f in g.read_text()))  # type: ignore[misc]
        corpus.reset()
        time.sleep(2)
    finally:
        r["watch exit line"] = stop_watch(proc, log)
    r["watch: leaf edit save-to-artifacts"] = summary(leaf)
    r["watch: model edit save-to-artifacts"] = summary(model)

    # warm watch --serve: save to the new code answering
    port = free_port()
    proc, log = start_watch(root, "--serve", "--port", str(port))
    try:
        wait_until(lambda: http_text(f"http://127.0.0.1:{port}/_gati/health") is not None, timeout=60)
        answer, body = [], []
        for i in range(n):
            corpus.leaf_edit(100 + i)
            url = f"http://127.0.0.1:{port}/bench/edit{100 + i}"
            answer.append(wait_until(lambda u=url, want=f'"v{100 + i}"': http_text(u) == want))  # type: ignore[misc]
        # the same route answering something else: only its module's code changes, no artifact
        url = f"http://127.0.0.1:{port}/bench/edit{100 + n - 1}"
        for i in range(n):
            corpus.leaf.write_text(corpus.leaf_text + leaf_block(100 + n - 1).replace(f'"v{100 + n - 1}"', f'"b{i}"'))
            body.append(wait_until(lambda u=url, want=f'"b{i}"': http_text(u) == want))  # type: ignore[misc]
        corpus.reset()
        time.sleep(2)
    finally:
        r["serve exit line"] = stop_watch(proc, log)
    r["watch --serve: new-route edit save-to-new-code-answering"] = summary(answer)
    r["watch --serve: body-only edit save-to-new-code-answering"] = summary(body)

    if args.json:
        print(json.dumps(r, indent=2))
        return
    base = statistics.median(cold)
    print(f"corpus: {root} ({args.rounds} edits per row; load average {r['load']})")
    for key, value in r.items():
        if isinstance(value, dict):
            ratio = value["p50"] / base
            print(f"  {key:<52} p50 {value['p50']:8.1f} ms  p95 {value['p95']:8.1f} ms  ({ratio:6.3f}x the cold build)")
    print(f"  {r['watch exit line']}")
    print(f"  {r['serve exit line']}")


if __name__ == "__main__":
    main()
