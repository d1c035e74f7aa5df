"""The recorded versions both SDKs pin a client to, and the changelog their READMEs carry.

Input: a checked Timescape `Lock` and the build's current `Program`. Output: `SdkVersions`, a pure
value the SDK emitters render (one client per live version, the changelog as Markdown). No I/O;
without a lock there is no `SdkVersions` and the SDKs are exactly what they were before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from gati_compiler.ir.models import Program
    from gati_compiler.timescape.lock import Lock

_HEADING: Final = re.compile(r"^(#+) ", re.MULTILINE)


@dataclass(frozen=True)
class VersionedProgram:
    """One live recorded version as the emitters see it: its handlers and types as a `Program`."""

    tsv: str
    slug: str  # `v2026_09_01T090000Z`: the Python subpackage and the TypeScript namespace
    tags: tuple[str, ...]
    labels: tuple[str, ...]
    status: str
    sunset: str | None
    program: Program


@dataclass(frozen=True)
class SdkVersions:
    """Everything the SDK emitters add when the project has a `timescape.lock`."""

    versions: tuple[VersionedProgram, ...]  # live versions, oldest first
    changelog: str  # Markdown, headings from `##` down (a README section)


def sdk_versions(lock: Lock | None, program: Program) -> SdkVersions | None:
    """The live versions of `lock` (same rule as `Timeline.live`: not retired) as programs, and the
    changelog of every recorded version; None without a lock, so the SDKs stay as they were."""
    if lock is None:
        return None
    from gati_compiler.timescape.changelog import build_changelog, render_markdown
    from gati_compiler.timescape.steps import version_program, version_slug

    live = tuple(
        VersionedProgram(
            tsv=v.tsv,
            slug=version_slug(v.tsv),
            tags=tuple(v.tags),
            labels=tuple(v.labels),
            status=v.status,
            sunset=v.sunset,
            program=version_program(lock.contract(v.tsv), program, timescape_current=v.tsv),
        )
        for v in lock.versions
        if v.status != "retired"
    )
    # recorded versions only: an "Unreleased" section would depend on the day of the build
    markdown = render_markdown(build_changelog(lock, program.app, None, date(1970, 1, 1)))
    return SdkVersions(versions=live, changelog=demote_headings(markdown))


def demote_headings(markdown: str) -> str:
    """Every Markdown heading one level down (`# Changelog` -> `## Changelog`)."""
    return _HEADING.sub(lambda m: "#" + m.group(1) + " ", markdown)


def describe(version: VersionedProgram) -> str:
    """`2026-09-01T09:00:00Z (v1.0.0; deprecated, sunset 2027-06-30)`: a version for docs and docstrings."""
    extra = list(version.tags) + list(version.labels)
    if version.status != "active":
        extra.append(version.status + (f", sunset {version.sunset}" if version.sunset else ""))
    return version.tsv + (f" ({'; '.join(extra)})" if extra else "")
