"""Shared helpers: build an example (or a variant of one) and read its bundle back."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from gati_compiler.config import GatiConfig
from gati_compiler.deploy import BUNDLE, LiveVersion, emit_bundle
from gati_compiler.ir.models import Program
from gati_compiler.pipeline import build

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted(p for p in (ROOT / "examples").iterdir() if (p / "pyproject.toml").is_file())
BOOKSTORE = ROOT / "examples" / "bookstore"

REDIS_TWO_REPLICAS = """
[tool.gati.state]
backend = "redis"
url_secret = "bookstore-state"

[tool.gati.deploy.production]
replicas = 4
max_replicas = 12
host = "api.bookstore.example.com"
cpu_request = "250m"
"""


def built(project: Path) -> tuple[Program, GatiConfig, dict[str, bytes]]:
    result = build(project, write=False, jobs=1)
    assert result.ok, [d.message for d in result.diagnostics]
    assert result.program is not None and result.config is not None
    return result.program, result.config, result.artifacts


def bundle_files(artifacts: dict[str, bytes]) -> dict[str, bytes]:
    """The bundle's files, keyed relative to `bundle/`."""
    prefix = BUNDLE + "/"
    return {k.removeprefix(prefix): v for k, v in artifacts.items() if k.startswith(prefix)}


def unversioned(tmp_path: Path) -> Path:
    """The bookstore copied into `tmp_path` without its `timescape.lock`: no recorded version, so
    the bundle deploys the current build as one group."""
    project = tmp_path / "bookstore"
    shutil.copytree(BOOKSTORE, project, ignore=shutil.ignore_patterns(".gati", "__pycache__", "timescape.lock"))
    return project


def redis_variant(tmp_path: Path, extra: str = REDIS_TWO_REPLICAS, replicas: int = 2) -> Path:
    """The bookstore with a redis state backend and `replicas` replicas, copied into `tmp_path`
    without its lock (tests give the versions they need)."""
    project = unversioned(tmp_path)
    config = project / "pyproject.toml"
    text = config.read_text(encoding="utf-8").replace("replicas = 1 ", f"replicas = {replicas} ")
    config.write_text(text + extra, encoding="utf-8")
    return project


def two_versions(program: Program) -> tuple[LiveVersion, ...]:
    """An older version serving all handlers but one, and the current one (labelled stable)."""
    handlers = tuple(sorted(h.handlerId for h in program.handlers))
    return (
        LiveVersion(tsv="2026-11-21T10:30:00Z", tags=("v1.0.0",), handlers=handlers[:-1], status="deprecated"),
        LiveVersion(tsv="2026-12-01T09:00:00Z", tags=("v1.1.0",), labels=("stable",), handlers=handlers),
        LiveVersion(tsv="2026-01-01T00:00:00Z", handlers=handlers[:1], status="retired"),
    )


def versioned_bundle(project: Path) -> dict[str, bytes]:
    program, cfg, artifacts = built(project)
    return bundle_files(emit_bundle(program, cfg, artifacts, two_versions(program)))


def by_kind(objs: dict[str, dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objs.values() if o["kind"] == kind]
