"""`gatic deploy --dry-run [--env E] [PROJECT]`: what a build would change in `.gati/bundle/`.

Exit codes (for CI): 0 the bundle on disk is current, 4 it would change, 1 the build has errors,
2 usage error (unknown environment, no `--dry-run`), 3 internal error. Imports stay lazy so
`gatic` starts as fast without this command as with it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Final, Literal

import click

EXIT_CURRENT: Final = 0
EXIT_ERRORS: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERNAL: Final = 3
EXIT_CHANGES: Final = 4


def _read_bundle(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@click.command()
@click.argument("project", default=".", type=click.Path(exists=True, file_okay=False, dir_okay=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Print what would change; write nothing (required for now).")
@click.option("--env", "env", default=None, metavar="ENV", help="Compare with `[tool.gati.deploy.ENV]` applied.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def deploy(project: Path, dry_run: bool, env: str | None, fmt: Literal["text", "json"]) -> None:
    """Compare PROJECT's bundle on disk with a fresh build (exit 0 current, 4 changes, 1 errors)."""
    if not dry_run:
        raise click.UsageError("only `--dry-run` is available: apply the bundle with `kubectl apply -k`")
    from gati_compiler.cli import render
    from gati_compiler.deploy.bundle import BUNDLE
    from gati_compiler.deploy.diff import diff_bundles
    from gati_compiler.deploy.overlay import OverlayError
    from gati_compiler.pipeline import build

    result = build(project, write=False)
    if not result.ok or result.config is None:
        click.echo(render(result.diagnostics, result.sources, "text"), err=True, nl=False)
        sys.exit(EXIT_INTERNAL if result.internal_error else EXIT_ERRORS)
    prefix = BUNDLE + "/"
    new = {k.removeprefix(prefix): v for k, v in result.artifacts.items() if k.startswith(prefix)}
    on_disk = result.config.out_dir / BUNDLE
    old = _read_bundle(on_disk)
    if env is not None and f"overlays/{env}/kustomization.yaml" not in new:
        known = ", ".join(sorted(result.config.deploy.environments)) or "none"
        raise click.UsageError(f"no environment `{env}` in `[tool.gati.deploy]` (known: {known})")
    try:
        changes = diff_bundles(old, new, env)
    except OverlayError as exc:
        click.echo(f"error: the bundle on disk in {on_disk} cannot be read: {exc}", err=True)
        sys.exit(EXIT_ERRORS)
    if fmt == "json":
        payload = {
            "environment": env,
            "counts": changes.counts(),
            "changes": [{"change": c.kind, "object": c.what, "diff": c.diff} for c in changes.changes],
        }
        click.echo(json.dumps(payload, indent=2))
    else:
        for c in changes.changes:
            mark = {"added": "+", "changed": "~", "removed": "-"}[c.kind]
            click.echo(f"{mark} {c.what} ({c.kind})")
            if c.diff:
                click.echo(c.diff.rstrip("\n"))
        counts = changes.counts()
        where = f" for environment `{env}`" if env else ""
        summary = ", ".join(f"{n} {k}" for k, n in counts.items())
        verdict = "up to date" if changes.empty else summary
        click.echo(f"{result.config.out}/{BUNDLE}{where}: {verdict}", err=True)
    sys.exit(EXIT_CURRENT if changes.empty else EXIT_CHANGES)
