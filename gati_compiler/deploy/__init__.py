"""The deploy bundle (`.gati/bundle/`): Dockerfile, Kubernetes objects, kustomize overlays, index.

Stages: `model` (live versions → version groups) → `objects` (dicts) → `bundle` (files, index)
→ `yamlio` (canonical YAML). `checks` holds the validity rules schema validation misses.

Integration with Timescape: the pipeline calls `emit_bundle(program, cfg, artifacts,
live_versions(lock))`: one `LiveVersion` per recorded version (tsv, tags, labels, status, sunset,
handler ids); with no version recorded the bundle deploys the current build as one group named
`current`.
"""

from gati_compiler.deploy.bundle import BUNDLE, INDEX, build_objects, emit_bundle
from gati_compiler.deploy.model import LiveVersion, VersionGroup, live_versions, version_groups

__all__ = [
    "BUNDLE",
    "INDEX",
    "LiveVersion",
    "VersionGroup",
    "build_objects",
    "emit_bundle",
    "live_versions",
    "version_groups",
]
