"""The deploy bundle (`.gati/bundle/`): Dockerfile, Kubernetes objects, kustomize overlays, index.

Stages: `model` (live versions → version groups) → `objects` (dicts) → `bundle` (files, index)
→ `yamlio` (canonical YAML). `checks` holds the validity rules schema validation misses.

Integration with Timescape: call `emit_bundle(program, cfg, artifacts, versions)` with
`versions` the lock's live versions as `LiveVersion`s (tsv, tags, labels, status, sunset, handler
ids); with `versions=()` the bundle deploys the current build as one group named `current`.
"""

from gati_compiler.deploy.bundle import BUNDLE, INDEX, build_objects, emit_bundle
from gati_compiler.deploy.model import LiveVersion, VersionGroup, version_groups

__all__ = ["BUNDLE", "INDEX", "LiveVersion", "VersionGroup", "build_objects", "emit_bundle", "version_groups"]
