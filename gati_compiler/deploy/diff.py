"""What would change between the bundle on disk and a new build: objects added, changed, removed.

Input: two sets of bundle files (relative to `bundle/`). Output: a `BundleDiff` with a unified
diff of each changed object's YAML. Pure; `command` reads the disk and prints.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gati_compiler.deploy.overlay import KUSTOMIZATION, bundle_objects
from gati_compiler.deploy.yamlio import dump_yaml


@dataclass(frozen=True)
class Change:
    kind: str  # added | changed | removed
    what: str  # `Kind/name` (with `namespace/` when set), or `file <path>` for non-object files
    diff: str = ""


@dataclass
class BundleDiff:
    changes: list[Change] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.changes

    def counts(self) -> dict[str, int]:
        return {k: sum(c.kind == k for c in self.changes) for k in ("added", "changed", "removed")}


def _key(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata", {})
    ns = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('kind')}/{ns}{meta.get('name')}"


def _by_key(files: Mapping[str, bytes], env: str | None) -> dict[str, dict[str, Any]]:
    if KUSTOMIZATION not in files:
        return {}
    return {_key(o): o for o in bundle_objects(files, env).values()}


def _udiff(old: str, new: str, name: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), fromfile=f"disk/{name}", tofile=f"build/{name}"
    )
    return "".join(lines)


def diff_bundles(old: Mapping[str, bytes], new: Mapping[str, bytes], env: str | None = None) -> BundleDiff:
    """Objects (after `env`'s overlay) and the other bundle files (Dockerfile, overlays) that differ."""
    out = BundleDiff()
    before, after = _by_key(old, env), _by_key(new, env)
    for key in sorted(before.keys() | after.keys()):
        if key not in before:
            out.changes.append(Change("added", key, _udiff("", dump_yaml(after[key]), key)))
        elif key not in after:
            out.changes.append(Change("removed", key, _udiff(dump_yaml(before[key]), "", key)))
        elif before[key] != after[key]:
            out.changes.append(Change("changed", key, _udiff(dump_yaml(before[key]), dump_yaml(after[key]), key)))
    plain = {p for p in old.keys() | new.keys() if not p.endswith(".yaml") or p.startswith("overlays/")}
    plain |= {KUSTOMIZATION}
    plain.discard("index.json")  # follows from the rest
    for path in sorted(plain):
        a, b = old.get(path), new.get(path)
        if a == b:
            continue
        kind = "added" if a is None else "removed" if b is None else "changed"
        text = _udiff((a or b"").decode(errors="replace"), (b or b"").decode(errors="replace"), path)
        out.changes.append(Change(kind, f"file {path}", text))
    return out
