"""`gatic`: a thin click group over `build()` and `check()`.

It parses options, runs the pipeline, renders diagnostics and returns an exit code:
0 clean or warnings only, 1 error diagnostics, 2 usage error (click), 3 internal error.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Final, Literal, NoReturn

import click
from pydantic import JsonValue

from gati_compiler.canonical import canonical_json
from gati_compiler.cli_deploy import deploy
from gati_compiler.cli_replay import replay
from gati_compiler.diagnostics.model import Diagnostic
from gati_compiler.diagnostics.render import (
    render_github,
    render_json,
    render_junit,
    render_sarif,
    render_text,
    summary_line,
)
from gati_compiler.pipeline import BuildResult
from gati_compiler.timescape.cli_diff import changelog_cmd, diff_cmd, gate_options, run_check_against
from gati_compiler.timescape.cli_transformers import transformers_group
from gati_compiler.timescape.cli_versions import version_group
from gati_compiler.timescape.report import ReportFormat
from gati_compiler.version import __version__

EXIT_OK: Final = 0
EXIT_ERRORS: Final = 1
EXIT_INTERNAL: Final = 3
Format = Literal["text", "json", "github", "sarif", "junit"]

_project_arg = click.argument(
    "project", default=".", type=click.Path(exists=True, file_okay=False, dir_okay=True, path_type=Path)
)


def _use_color() -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return sys.stdout.isatty()


def render(diags: list[Diagnostic], sources: dict[str, str], fmt: Format | ReportFormat) -> str:
    """Render diagnostics in the chosen format (a pure function of its inputs)."""
    if fmt == "json":
        return render_json(diags)
    if fmt == "github":
        return render_github(diags)
    if fmt == "sarif":
        return render_sarif(diags, __version__)
    if fmt == "junit":
        return render_junit(diags)
    return render_text(diags, sources, color=_use_color())


def _exit_code(result: BuildResult) -> int:
    if result.internal_error:
        return EXIT_INTERNAL
    return EXIT_OK if result.ok else EXIT_ERRORS


def _report(result: BuildResult, fmt: Format | ReportFormat, *, quiet_when_clean: bool = False) -> None:
    if fmt == "text" and not result.diagnostics:
        if not quiet_when_clean:
            click.echo(summary_line([]), err=True)
        return
    out = render(result.diagnostics, result.sources, fmt)
    click.echo(out, nl=not out.endswith("\n"))


# set by `run`: the process may end without tearing the interpreter down
_fast_exit = False


def run() -> None:
    """The `gatic` console script: `main`, then an exit that skips tearing the interpreter down.

    A build leaves a large heap behind (facts, the IR, generated text). Freeing it object by
    object at shutdown takes about a tenth of a second of a cold build and serves nothing, so
    once everything printed is flushed the process ends at once, with `main`'s exit code;
    `build` and `check` end that way themselves, before even their result is freed. Code that
    calls `main` itself (tests, `python -m`) gets the ordinary exit.
    """
    global _fast_exit
    _fast_exit = True
    try:
        main()
        code: int = EXIT_OK
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or EXIT_OK
        else:  # `sys.exit("message")`: print it, as the interpreter would
            print(exc.code, file=sys.stderr)
            code = EXIT_ERRORS
    _flush_and_exit(code)


def _flush_and_exit(code: int) -> NoReturn:
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # a closed pipe: nothing left to say
        pass
    os._exit(code)


def _finish(result: BuildResult) -> NoReturn:
    """End a `build` or `check` with its exit code; under `run`, while `result` is still alive
    (freeing it takes 15 ms of a cold build of 200 modules)."""
    code = _exit_code(result)
    if _fast_exit:
        _flush_and_exit(code)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, invoke_without_command=True)
@click.version_option(__version__, prog_name="gatic")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Gati compiler: reads typed handler modules statically and generates what the app needs."""
    if ctx.invoked_subcommand is None:  # bare `gatic`: the help, on stdout, and success
        click.echo(ctx.get_help())
        ctx.exit(EXIT_OK)


def _require_project(project: Path) -> None:
    """A usage error unless `project` is a Gati project (so `gatic build` in `~` scans nothing)."""
    from gati_compiler.project import find_project_problem

    problem = find_project_problem(project)
    if problem is not None:
        raise click.UsageError(problem)


main.add_command(version_group)
main.add_command(diff_cmd)
main.add_command(changelog_cmd)
main.add_command(transformers_group)  # `gatic transformers write`: gati_compiler/timescape/cli_transformers.py


_format_opt = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="How to print diagnostics.",
)
_jobs_opt = click.option(
    "--jobs", "-j", type=click.IntRange(min=1), default=None, help="Parser processes (default: all cores)."
)


@main.command()
@_project_arg
@_format_opt
@_jobs_opt
@click.option(
    "--dump",
    type=click.Choice(["facts", "resolved", "ir"]),
    default=None,
    help="Print the canonical JSON of a stage instead of writing artifacts.",
)
def build(project: Path, fmt: Format, jobs: int | None, dump: Literal["facts", "resolved", "ir"] | None) -> None:
    """Analyse PROJECT and write its build folder (default `.gati/`)."""
    from gati_compiler.pipeline import build as run_build

    _require_project(project)
    started = time.perf_counter()
    result = run_build(project, jobs=jobs, dump=dump)
    if dump is not None and result.dump is not None:
        click.echo(result.dump, nl=False)
    summary = build_summary(result, time.perf_counter() - started) if dump is None else None
    if fmt == "json":
        click.echo(render_build_json(result, summary))
        _finish(result)
    _report(result, fmt, quiet_when_clean=True)
    if fmt == "text" and summary is not None:
        click.echo(
            f"built {summary['handlers']} handlers, {summary['modules']} modules, {summary['types']} types "
            f"into {summary['out']} ({summary['filesWritten']} files written) in {summary['seconds']:.2f}s",
            err=True,
        )
    _finish(result)


def build_summary(result: BuildResult, seconds: float) -> dict[str, JsonValue] | None:
    """What a successful build made: counts, the output folder, files written and the time taken."""
    if not result.ok or result.config is None or result.program is None:
        return None
    written = result.written
    return {
        "handlers": len(result.program.handlers),
        "modules": len(result.program.modules),
        "types": len(result.program.gtypes),
        "artifacts": len(result.artifacts),
        "filesWritten": len(written.written) if written else 0,
        "out": f"{result.config.out}/",
        "outDir": str(result.config.out_dir.resolve()),
        "seconds": round(seconds, 3),
    }


def render_build_json(result: BuildResult, summary: dict[str, JsonValue] | None) -> str:
    """`--format json` of `gatic build`: the diagnostics document plus `build` (null unless it succeeded)."""
    doc = json.loads(render_json(result.diagnostics))
    doc["build"] = summary
    return canonical_json(doc)


@main.command()
@_project_arg
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github", "sarif", "junit", "markdown"]),
    default="text",
    show_default=True,
    help="How to print the report (markdown: with --against only).",
)
@_jobs_opt
@click.option("--against", default=None, metavar="REF", help="Compare the contract with the sources at a git ref.")
@gate_options
def check(
    project: Path,
    fmt: ReportFormat,
    jobs: int | None,
    against: str | None,
    fail_on: str | None,
    categories: tuple[str, ...],
) -> None:
    """The CI gate: fail on errors and on build artifacts that are out of date; with --against,
    fail on breaking changes of the contract since a git ref (Timescape)."""
    if against is not None:
        run_check_against(project, against, fmt, fail_on, categories, jobs)
    if fmt == "markdown":
        raise click.UsageError("--format markdown needs --against")
    from gati_compiler.pipeline import check as run_check

    _require_project(project)
    result = run_check(project, jobs=jobs)
    _report(result, fmt)
    _finish(result)


_dev_opt = click.option(
    "--dev",
    is_flag=True,
    help="Development: record requests and serve the playground at /_gati/playground (sets GATI_DEV=1).",
)


def _set_dev(dev: bool) -> None:
    """The dev flag reaches the server's workers through the environment (`GATI_DEV`)."""
    if dev:
        os.environ["GATI_DEV"] = "1"


@main.command()
@_project_arg
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1))
@click.option("--build/--no-build", "rebuild", default=True, show_default=True, help="Build before serving.")
@click.option(
    "--allow-per-worker-state",
    is_flag=True,
    help="Run several workers on the memory state backend (each keeps its own rate limits, pub/sub, usage).",
)
@_dev_opt
def serve(
    project: Path, host: str, port: int, workers: int, rebuild: bool, allow_per_worker_state: bool, dev: bool
) -> None:
    """Serve PROJECT's build with the minimal runtime on uvicorn."""
    from gati_compiler.pipeline import build as run_build
    from gati_runtime_min import ManifestError
    from gati_runtime_min.serving import serve as run_serve
    from gati_runtime_min.state import StateError

    _require_project(project)
    if dev and workers > 1:
        raise click.UsageError(
            "--dev keeps traces, snapshots and debug gates in the serving process: use one worker (--workers 1)"
        )
    _set_dev(dev)
    out = ".gati"
    if rebuild:
        result = run_build(project)
        if not result.ok:
            _report(result, "text")
            sys.exit(_exit_code(result))
        assert result.config is not None
        out = result.config.out
    try:
        run_serve(project / out, host=host, port=port, workers=workers, allow_per_worker_state=allow_per_worker_state)
    except (ManifestError, StateError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERRORS)


@main.command()
@_project_arg
@click.option("--serve", "serve_too", is_flag=True, help="Also serve the app; each good build is swapped in live.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to serve on (with --serve).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@_dev_opt
def watch(project: Path, serve_too: bool, host: str, port: int, dev: bool) -> None:
    """Rebuild PROJECT on every change; a broken edit reports diagnostics and keeps watching."""
    from gati_compiler.watch import watch_project

    _require_project(project)
    _set_dev(dev)
    watch_project(project, serve=serve_too, host=host, port=port, echo=click.echo, color=_use_color())


@main.command()
@click.argument("name")
@click.option(
    "--directory",
    "-d",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to create the app (default: ./NAME).",
)
@click.option(
    "--gati",
    "gati_source",
    default=None,
    help="Where the app installs gati from: a folder, a wheel or a URL "
    "(default: where this gati was installed from, if that was a local checkout or wheel).",
)
def init(name: str, directory: Path | None, gati_source: str | None) -> None:
    """Scaffold a new app called NAME."""
    from gati_compiler.scaffold import local_gati_requirement, project_name_problem, scaffold_files
    from gati_compiler.writer import write_artifacts

    problem = project_name_problem(name)
    if problem is not None:
        raise click.UsageError(problem)
    target = directory or Path(name)
    if target.exists() and any(target.iterdir()):
        raise click.UsageError(f"`{target}` exists and is not empty")
    if gati_source is None:
        requirement = local_gati_requirement()
    elif "://" in gati_source:
        requirement = f"gati @ {gati_source}"
    else:
        requirement = f"gati @ {Path(gati_source).resolve().as_uri()}"
    files = scaffold_files(name, requirement)
    write_artifacts(files, target)
    click.echo(f"created {len(files)} files in {target}/; next: see {target}/README.md", err=True)
    if requirement is None:
        click.echo(
            "note: gati was not installed from a local checkout or wheel, so the app does not list it; "
            "install gati into the app's environment yourself, or pass --gati PATH",
            err=True,
        )


main.add_command(deploy)  # `gatic deploy --dry-run`: gati_compiler/cli_deploy.py
main.add_command(replay)  # `gatic replay`: gati_compiler/cli_replay.py
