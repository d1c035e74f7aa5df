"""Fidelity on real-world corpora: large typed packages from PyPI built as project source.

For each corpus (pinned wheels, downloaded once into the cache with pip): handlers over a sample
of its TypedDicts and pydantic models, one cold in-process build, and per corpus the sampled types
built without a diagnostic (goal >= 95%), the diagnostics by code, the differential against
pydantic strict JSON on documents drawn from each type's schema (goal 0 disagreements), and the
build time against `ast.parse` of the same files. The machine is shared: times are indicative.

    .venv/bin/python benchmarks/fidelity/bench_fidelity.py [--sample 300] [--differential 5]
        [--corpus openai --corpus anthropic] [--cache ~/.cache/gati-corpora] [--json]

The CI test `tests/fidelity/test_corpus_boto.py` runs the mypy-boto3-ec2 corpus on a smaller sample.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.fidelity.corpus import CORPORA, DEFAULT_CACHE, main_json, run_corpus  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", action="append", choices=sorted(CORPORA), help="default: all")
    parser.add_argument("--sample", type=int, default=300, help="types per corpus (default 300)")
    parser.add_argument("--differential", type=int, default=5, help="documents drawn per type (0: skip)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--json", action="store_true", help="one JSON line per corpus")
    args = parser.parse_args(argv)
    worst = 1.0
    with tempfile.TemporaryDirectory(prefix="gati-fidelity-") as work:
        for name in args.corpus or sorted(CORPORA):
            report = run_corpus(
                CORPORA[name], Path(work), sample=args.sample, cache=args.cache, differential=args.differential
            )
            print(main_json(report) if args.json else "\n".join(report.lines()), flush=True)
            worst = min(worst, report.clean_share)
    print(f"\ngoal: >= 95% of sampled types build without a diagnostic; worst corpus {worst:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
