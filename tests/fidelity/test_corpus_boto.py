"""A real corpus in CI: mypy-boto3-ec2 (thousands of TypedDicts, functional ones with keys that are
not identifiers, `Required`/`NotRequired`, `Literal` unions, aliases), pinned and downloaded from
PyPI at test time into a cache, never committed. The other corpora are
`benchmarks/fidelity/bench_fidelity.py`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks.fidelity.corpus import CORPORA, DEFAULT_CACHE, run_corpus

CACHE = Path(os.environ.get("GATI_CORPUS_CACHE", str(DEFAULT_CACHE)))


@pytest.mark.slow
def test_mypy_boto3_ec2_corpus_builds_clean_and_agrees_with_pydantic(tmp_path: Path) -> None:
    report = run_corpus(CORPORA["mypy-boto3-ec2"], tmp_path, sample=40, cache=CACHE, differential=3)
    print("\n".join(report.lines()))
    assert report.sampled == 40
    assert report.clean_share >= 0.95, report.lines()
    assert report.differential.get("types compared", 0) >= 0.9 * report.clean, report.differential
    assert report.differential["disagreements"] == 0, report.differential
