"""`gatic`: a thin click group over `build()` and `check()`.

It parses options, runs the pipeline, renders diagnostics and returns an exit code:
0 clean or warnings only, 1 error diagnostics, 2 usage error (click), 3 internal error.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Final, Literal, NoReturn

import click

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


def render(diags: list[Diagnostic], sources: dict[str, str], fmt: Format) -> str:
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


def _report(result: BuildResult, fmt: Format, *, quiet_when_clean: bool = False) -> None:
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gatic")
def main() -> None:
    """Gati compiler: reads typed handler modules statically and generates what the app needs."""


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

    started = time.perf_counter()
    result = run_build(project, jobs=jobs, dump=dump)
    if dump is not None and result.dump is not None:
        click.echo(result.dump, nl=False)
    _report(result, fmt, quiet_when_clean=True)
    if fmt == "text" and result.ok and dump is None and result.config is not None and result.program is not None:
        written = len(result.written.written) if result.written else 0
        click.echo(
            f"built {len(result.program.handlers)} handlers, {len(result.program.modules)} modules, "
            f"{len(result.program.gtypes)} types into {result.config.out}/ "
            f"({written} files written) in {time.perf_counter() - started:.2f}s",
            err=True,
        )
    _finish(result)


@main.command()
@_project_arg
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github", "sarif", "junit"]),
    default="text",
    show_default=True,
    help="How to print the report.",
)
@_jobs_opt
def check(project: Path, fmt: Format, jobs: int | None) -> None:
    """The CI gate: fail on errors and on build artifacts that are out of date."""
    from gati_compiler.pipeline import check as run_check

    result = run_check(project, jobs=jobs)
    _report(result, fmt)
    _finish(result)


@main.command()
@_project_arg
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1))
@click.option("--build/--no-build", "rebuild", default=True, show_default=True, help="Build before serving.")
def serve(project: Path, host: str, port: int, workers: int, rebuild: bool) -> None:
    """Serve PROJECT's build with the minimal runtime on uvicorn."""
    from gati_compiler.pipeline import build as run_build
    from gati_runtime_min import ManifestError
    from gati_runtime_min.serving import serve as run_serve

    out = ".gati"
    if rebuild:
        result = run_build(project)
        if not result.ok:
            _report(result, "text")
            sys.exit(_exit_code(result))
        assert result.config is not None
        out = result.config.out
    try:
        run_serve(project / out, host=host, port=port, workers=workers)
    except ManifestError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERRORS)


@main.command()
@_project_arg
@click.option("--serve", "serve_too", is_flag=True, help="Also serve the app; each good build is swapped in live.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to serve on (with --serve).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
def watch(project: Path, serve_too: bool, host: str, port: int) -> None:
    """Rebuild PROJECT on every change; a broken edit reports diagnostics and keeps watching."""
    from gati_compiler.watch import watch_project

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
def init(name: str, directory: Path | None) -> None:
    """Scaffold a new app called NAME."""
    from gati_compiler.scaffold import project_name_problem, scaffold_files
    from gati_compiler.writer import write_artifacts

    problem = project_name_problem(name)
    if problem is not None:
        raise click.UsageError(problem)
    target = directory or Path(name)
    if target.exists() and any(target.iterdir()):
        raise click.UsageError(f"`{target}` exists and is not empty")
    files = scaffold_files(name)
    write_artifacts(files, target)
    click.echo(f"created {len(files)} files in {target}/; next: gatic build {target}", err=True)
