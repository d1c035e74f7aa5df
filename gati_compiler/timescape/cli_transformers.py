"""`gatic transformers write [PROJECT]`: write the missing Timescape transformers into the app.

Analyses the project (nothing is written to the build folder), binds its transformers to the
steps of the timeline and, for every breaking step without a complete transformer on a side it
breaks, writes one module per step (`transformer_code`) into `<first source root>/<package of the
handler>/transformers/` or `[tool.gati.timescape] transformers`. A file someone edited (its body
no longer matches the hash in its first line) is never overwritten; an untouched one is rewritten.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import click

from gati_compiler.config import GatiConfig
from gati_compiler.diagnostics.model import DiagnosticSink
from gati_compiler.ir.models import TransformerDecl
from gati_compiler.timescape.contract import contract_from_program
from gati_compiler.timescape.steps import BoundStep, Timeline, timeline
from gati_compiler.timescape.transformer_code import generated_body, render_step
from gati_compiler.timescape.transformers import bind_transformers, needs

_INIT = '"""Timescape transformers (see docs/timescape.md, "Transformers")."""\n'


@dataclass(frozen=True)
class Planned:
    rel_path: str  # project-relative POSIX path of the step's module
    bound: BoundStep
    sides: tuple[bool, bool]


def transformers_dir(cfg: GatiConfig, handler_module: str) -> str:
    """Where new transformer modules go, relative to the project root."""
    if cfg.timescape.transformers:
        return cfg.timescape.transformers.replace("\\", "/").strip("/")
    root = cfg.sources[0].replace("\\", "/").strip("/") if cfg.sources else "."
    package = handler_module.split(".")[0] if "." in handler_module else ""
    parts = [p for p in (root, package, "transformers") if p and p != "."]
    return "/".join(parts)


def _ours(decl: TransformerDecl | None, rel_path: str) -> bool:
    """Whether a side may be (re)written: nothing declares it, or only our own file does."""
    return decl is None or decl.source.file == rel_path


def plan(cfg: GatiConfig, line: Timeline, bound: dict[tuple[str, str], BoundStep], today: date) -> list[Planned]:
    """The step modules to write: breaking steps whose breaking sides lack a complete transformer."""
    accepts = [a for a in cfg.timescape.accept if a.expires is None or a.expires >= today]
    out: list[Planned] = []
    for step in line.steps():
        b = bound.get(step.key) or BoundStep(step=step)
        request, response = needs(step, accepts)
        rel = f"{transformers_dir(cfg, step.new.contract.module)}/{step.module}.py"
        want_up = request and (b.upgrade is None or b.upgrade.stub) and _ours(b.upgrade, rel)
        want_down = response and (b.downgrade is None or b.downgrade.stub) and _ours(b.downgrade, rel)
        if want_up or want_down:
            out.append(Planned(rel, b, (want_up, want_down)))
    return out


def write_transformers(project: Path, echo: bool = True) -> int:
    """Analyse `project` and write its missing transformers; the exit status."""
    from gati_compiler.cli import render
    from gati_compiler.pipeline import build

    result = build(project, write=False)
    if not result.ok or result.config is None or result.program is None:
        out = render(result.diagnostics, result.sources, "text")
        click.echo(out, nl=not out.endswith("\n"), err=True)
        click.echo("error: the project must build before transformers can be written", err=True)
        return 1
    cfg = result.config
    lock = result.lock
    if lock is None or not lock.versions:
        click.echo("error: no version is recorded yet; record one with `gatic version record`", err=True)
        return 1
    line = timeline(lock, contract_from_program(result.program))
    bound = bind_transformers(line, result.program.transformers, DiagnosticSink())
    tags = {v.tsv: v.tags for v in lock.versions}
    todo = plan(cfg, line, bound, date.today())
    if not todo:
        accepts = [a for a in cfg.timescape.accept if a.expires is None or a.expires >= date.today()]
        stubs = sorted(
            f"{t.source.file}:{t.source.line} `{t.function}`"
            for b in bound.values()
            if any(needs(b.step, accepts))
            for t in (b.upgrade, b.downgrade)
            if t is not None and t.stub
        )
        if stubs:
            click.echo("nothing to write; these stubs still need filling in: " + ", ".join(stubs))
        else:
            click.echo("every breaking change has its transformers; nothing to write")
        return 0
    for item in todo:
        target = project / item.rel_path
        code = render_step(item.bound.step, item.sides, tags)
        state = ", ".join(
            f"{'upgrade' if kind == 'request' else 'downgrade'} `{code.functions[kind]}` "
            + ("complete" if done else "a stub to fill in")
            for kind, done in code.complete.items()
        )
        if target.is_file():
            old = target.read_text(encoding="utf-8")
            if generated_body(old) is None:
                click.echo(f"kept {item.rel_path}: it was edited by hand (gatic never overwrites it)")
                continue
            if old == code.text:
                click.echo(f"unchanged {item.rel_path}: {state}")
                continue
        target.parent.mkdir(parents=True, exist_ok=True)
        init = target.parent / "__init__.py"
        if not init.exists():
            init.write_text(_INIT, encoding="utf-8", newline="")
            click.echo(f"wrote {init.relative_to(project).as_posix()}")
        target.write_text(code.text, encoding="utf-8", newline="")
        click.echo(f"wrote {item.rel_path}: {state}")
    return 0


@click.group("transformers", context_settings={"help_option_names": ["-h", "--help"]})
def transformers_group() -> None:
    """Timescape transformers: the request upgrades and response downgrades between versions."""


@transformers_group.command("write")
@click.argument("project", default=".", type=click.Path(exists=True, file_okay=False, dir_okay=True, path_type=Path))
def write_cmd(project: Path) -> None:
    """Write the missing transformers of PROJECT's breaking changes, one module per step."""
    sys.exit(write_transformers(project))
