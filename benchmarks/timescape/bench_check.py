"""Benchmark `gatic check --against REF` and the diff engine against one cold `gatic build`.

The performance goal (issue 10): on the 200-module build corpus, where the ref differs from the
working tree in a handful of files, `gatic check --against REF` takes at most 1.3x one cold
`gatic build` of the same tree; a diff of two versions of 200 handlers takes under 50 ms.

Measured, all in the same run (the two subprocess commands take turns for --rounds rounds, so a
slow spell of the machine hits both; each reports its best and its median):
  build (cold)    `gatic build DIR` with no build folder (the previous one moved aside first)
  check --against `gatic check DIR --against HEAD~1`: the working tree and the sources at
                  HEAD~1 (read through `git cat-file`, no checkout) analysed in memory, files
                  identical on both sides parsed once, the contracts diffed and reported
  diff (200)      `diff_contracts` of two versions of the first 200 handlers (best of --repeat)
  diff (all)      the same for every handler of the corpus
  diff (renamed)  every named type renamed on one side: no shortcut, every type compared by shape

The corpus is generated into a temporary git repository: HEAD~1 is the corpus, HEAD changes
--changed handler modules (a new endpoint and a new optional request property in each).

Usage:
    python benchmarks/timescape/bench_check.py [--rounds N] [--changed N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Final

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.build.make_corpus import generate

GOAL_RATIO: Final = 1.3
GOAL_DIFF_MS: Final = 50.0
CLI: Final = "from gati_compiler.cli import run; run()"


@dataclass
class Results:
    handlers: int
    changed_files: int
    findings: int
    build_best_ms: float
    build_median_ms: float
    check_best_ms: float
    check_median_ms: float
    ratio_best: float
    ratio_median: float
    diff_200_ms: float
    diff_all_ms: float
    diff_renamed_ms: float
    goal_met: bool
    load_average: tuple[float, float, float]


def _git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b"}
    env["GIT_COMMITTER_EMAIL"] = "b@b"
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


EXTRA = """

import gati_runtime_min as _bench_g


@_bench_g.get("/bench/extra{n}")
def bench_extra_{n}(
    req: _bench_g.Request[None], res: _bench_g.Response[str], lctx: _bench_g.LocalContext, gctx: _bench_g.GlobalContext
) -> None: ...
"""


def make_repo(root: Path, changed: int) -> int:
    """The corpus as HEAD~1; HEAD adds an endpoint and an optional property to `changed` modules."""
    generate(root)
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "corpus")
    modules = sorted((root / "app" / "handlers").glob("*.py")) if (root / "app").is_dir() else []
    if not modules:
        modules = sorted(p for p in root.rglob("handlers/*.py") if p.name != "__init__.py")
    done = 0
    for n, path in enumerate(m for m in modules if m.name != "__init__.py"):
        if done == changed:
            break
        text = path.read_text(encoding="utf-8")
        # a new optional property in the first TypedDict of the module, if it has one
        text = re.sub(
            r"(class \w+\(TypedDict(?:, total=False)?\):\n)", r"\1    bench_note: NotRequired[str]\n", text, count=1
        )
        if "NotRequired" in text and "import NotRequired" not in text and " NotRequired," not in text:
            text = "from typing import NotRequired\n" + text
        path.write_text(text + EXTRA.replace("{n}", str(n)), encoding="utf-8")
        done += 1
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "change a handful of modules")
    return done


def _run(args: list[str], cwd: Path, ok: tuple[int, ...] = (0,)) -> float:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "NO_COLOR": "1"}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CLI, *args], cwd=cwd, capture_output=True, text=True, env=env)
    elapsed = (time.perf_counter() - start) * 1000
    if proc.returncode not in ok:
        raise SystemExit(
            f"gatic {' '.join(args)} exited {proc.returncode}:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
        )
    return elapsed


def _best_ms(fn: object, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best * 1000


def measure(args: argparse.Namespace) -> Results:
    from gati_compiler.timescape.check import compare_sides
    from gati_compiler.timescape.contract import ApiContract
    from gati_compiler.timescape.diff import diff_contracts

    tmp = Path(tempfile.mkdtemp(prefix="gati-bench-ts-"))
    try:
        repo = tmp / "corpus"
        repo.mkdir()
        changed = make_repo(repo, args.changed)
        aside = tmp / "aside"
        aside.mkdir()
        builds: list[float] = []
        checks: list[float] = []
        for i in range(args.rounds):
            if (repo / ".gati").exists():
                shutil.move(repo / ".gati", aside / str(i))
            builds.append(_run(["build", "."], repo))
            checks.append(_run(["check", ".", "--against", "HEAD~1"], repo, ok=(0, 1)))
        outcome = compare_sides(repo, old_ref="HEAD~1", today=date.today(), jobs=None)
        assert outcome.old.contract is not None and outcome.new.contract is not None, outcome.diagnostics
        new = outcome.new.contract
        old = outcome.old.contract
        old200 = old.model_copy(update={"handlers": old.handlers[:200]})
        new200 = new.model_copy(update={"handlers": tuple(h for h in new.handlers if old200.handler(h.handlerId))})
        today = date.today()
        diff_200 = _best_ms(lambda: diff_contracts(old200, new200, today=today), args.repeat)
        diff_all = _best_ms(lambda: diff_contracts(old, new, today=today), args.repeat)
        text = new200.model_dump_json()
        for name in sorted(new200.gtypes, key=len, reverse=True):
            text = text.replace(f'"ref":"{name}"', f'"ref":"R_{name}"')
        data = json.loads(text)
        data["gtypes"] = {f"R_{k}": v for k, v in data["gtypes"].items()}
        renamed = ApiContract.model_validate(data)
        diff_renamed = _best_ms(lambda: diff_contracts(old200, renamed, today=today), args.repeat)
        ratio_best = min(checks) / min(builds)
        ratio_median = statistics.median(checks) / statistics.median(builds)
        return Results(
            handlers=len(new.handlers),
            changed_files=changed,
            findings=len(outcome.findings),
            build_best_ms=min(builds),
            build_median_ms=statistics.median(builds),
            check_best_ms=min(checks),
            check_median_ms=statistics.median(checks),
            ratio_best=ratio_best,
            ratio_median=ratio_median,
            diff_200_ms=diff_200,
            diff_all_ms=diff_all,
            diff_renamed_ms=diff_renamed,
            goal_met=ratio_best <= GOAL_RATIO and max(diff_200, diff_renamed) < GOAL_DIFF_MS,
            load_average=os.getloadavg(),
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def table(r: Results) -> str:
    rows = [
        f"corpus: {r.handlers} handlers; {r.changed_files} modules changed since HEAD~1; {r.findings} findings",
        f"build (cold)                {r.build_best_ms:8.0f} ms best   {r.build_median_ms:8.0f} ms median",
        f"check --against HEAD~1      {r.check_best_ms:8.0f} ms best   {r.check_median_ms:8.0f} ms median",
        f"ratio check/build           {r.ratio_best:8.2f} best     {r.ratio_median:8.2f} median"
        f"   (goal <= {GOAL_RATIO})",
        f"diff, 200 handlers          {r.diff_200_ms:8.1f} ms        (goal < {GOAL_DIFF_MS:.0f} ms)",
        f"diff, 200 handlers, renamed {r.diff_renamed_ms:8.1f} ms        (every type compared by shape)",
        f"diff, all handlers          {r.diff_all_ms:8.1f} ms",
        f"load average                {' '.join(f'{x:.2f}' for x in r.load_average)}",
        f"goal met: {r.goal_met}",
    ]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="build/check rounds, taking turns")
    parser.add_argument("--changed", type=int, default=5, help="handler modules changed between the refs")
    parser.add_argument("--repeat", type=int, default=20, help="diff runs (best of)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    r = measure(args)
    print(json.dumps(asdict(r), indent=2) if args.json else table(r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
