"""`gatic replay [PROJECT] --request RID [--version V]`: a recorded request sent again as an API
version and as the current one, and what differs (the playground's replay, from a terminal or CI).

Offline (the default) it loads PROJECT's build in-process with tracing on, reads the recorded
request from the trace file (`--trace-file`, default `[tool.gati.playground] store`) and runs
`gati_runtime_min.playground.replay.compare`; replays are not written to that file. With `--url`
it asks a running dev server (`gatic serve --dev`) to replay a request it recorded.
`--export FILE` writes the request (or every recorded one: `--request all`) as a pytest module.

Exit codes: 0 the two answers are the same (or the tests were written), 1 they differ, 2 usage or
input errors (no build, no trace file, a corrupt one, an unknown request id or version), 3 an
internal error. Imports stay lazy so `gatic` starts as fast without this command as with it.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, NoReturn

import click

if TYPE_CHECKING:
    from gati_runtime_min.app import GatiApp
    from gati_runtime_min.playground.trace import Trace

EXIT_SAME: Final = 0
EXIT_DIFFER: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERNAL: Final = 3
API: Final = "/_gati/playground/api"


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _headers(pairs: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition(":")
        if not sep or not name.strip():
            raise click.BadParameter(f"{pair!r} is not NAME:VALUE", param_hint="--header")
        out[name.strip().lower()] = value.strip()
    return out


@click.command()
@click.argument("project", default=".", type=click.Path(exists=True, file_okay=False, dir_okay=True, path_type=Path))
@click.option("--request", "rid", required=True, metavar="RID", help="The recorded request's id (`all` with --export).")
@click.option("--version", "version", default=None, metavar="V", help="Replay as this API version (tag, TSV, label).")
@click.option(
    "--trace-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The JSON Lines trace file (default: `[tool.gati.playground] store`).",
)
@click.option("--url", default=None, metavar="URL", help="Ask a running dev server instead (http://127.0.0.1:PORT).")
@click.option(
    "--export",
    "export",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="Write the request (or all: --request all) as a pytest module instead.",
)
@click.option("--header", "header", multiple=True, metavar="NAME:VALUE", help="Send this header (a redacted one).")
@click.option("--ignore", "ignore", multiple=True, metavar="KEY", help="Leave this body key out of comparisons.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def replay(
    project: Path,
    rid: str,
    version: str | None,
    trace_file: Path | None,
    url: str | None,
    export: Path | None,
    header: tuple[str, ...],
    ignore: tuple[str, ...],
    fmt: Literal["text", "json"],
) -> None:
    """Replay a recorded request as API version V and as the current one (exit 0 same, 1 differ).

    With --export FILE, write it (or all recorded requests: --request all) as a pytest module."""
    if url is not None and trace_file is not None:
        raise click.UsageError("give --trace-file or --url, not both")
    if rid == "all" and export is None:
        raise click.UsageError("--request all needs --export FILE")
    headers = _headers(header)
    try:
        if url is not None:
            code = _remote(url.rstrip("/"), rid, version, export, headers, frozenset(ignore), fmt)
        else:
            code = _offline(project, rid, version, trace_file, export, headers, frozenset(ignore), fmt)
    except SystemExit:
        raise
    except Exception as exc:  # a bug of ours, not the user's input
        click.echo(f"internal error: {type(exc).__name__}: {exc}", err=True)
        code = EXIT_INTERNAL
    sys.exit(code)


def _build_dir(project: Path) -> Path:
    from gati_compiler.config import load_config
    from gati_compiler.diagnostics.model import DiagnosticSink

    cfg = load_config(project, DiagnosticSink())
    build_dir = project / (cfg.out if cfg is not None else ".gati")
    if not (build_dir / "manifest.json").is_file():
        _fail(f"no build in {build_dir}: run `gatic build {project}` first")
    return build_dir


def _offline(
    project: Path,
    rid: str,
    version: str | None,
    trace_file: Path | None,
    export: Path | None,
    headers: Mapping[str, str],
    ignore: frozenset[str],
    fmt: str,
) -> int:
    from gati_runtime_min.app import GatiApp
    from gati_runtime_min.errors import ManifestError
    from gati_runtime_min.playground.store import TraceFileError, TraceStore

    build_dir = _build_dir(project)
    try:
        app = GatiApp(build_dir, dev=False, trace=True)
    except ManifestError as exc:
        _fail(str(exc))
    playground = app.playground
    assert playground is not None  # tracing is on
    path = trace_file or playground.settings.store
    if path is None:
        _fail("no trace file: give --trace-file, or set `store` in [tool.gati.playground] (or GATI_TRACE_FILE)")
    playground.store.path = None  # the replays stay in memory: the recorded file is only read
    try:
        store = TraceStore.load(path)
    except TraceFileError as exc:
        _fail(str(exc))
    if export is not None:
        traces = [t for t in store if t.replay_of is None] if rid == "all" else [_find(store, rid, path)]
        return _write_tests(traces, export, ignore)
    from gati_runtime_min.playground.replay import ReplayError

    trace = _find(store, rid, path)
    try:
        result = asyncio.run(_compare(app, trace, version or trace.version, headers, ignore))
    except ReplayError as exc:
        _fail(f"{exc.code} {exc.message}")
    labels = {v["tsv"]: _label(v) for v in app.versions.describe()}
    return _show(result, fmt, labels)


def _find(store: Any, rid: str, path: Path) -> Trace:
    trace: Trace | None = store.get(rid)
    if trace is None:
        newest = ", ".join(t.request_id for t in store.recent(3, include_replays=False)) or "none"
        _fail(f"no request {rid} in {path} ({len(store)} traces; the newest: {newest})")
    return trace


def _label(version: Mapping[str, Any]) -> str:
    names = [*version.get("tags", ()), *version.get("labels", ())]
    return f"{names[0]} ({version['tsv']})" if names else str(version["tsv"])


async def _compare(
    app: GatiApp, trace: Trace, version: str | None, headers: Mapping[str, str], ignore: frozenset[str]
) -> dict[str, Any]:
    from gati_runtime_min.playground.replay import compare

    await app.startup()
    try:
        return (await compare(app, trace, version, headers=headers, ignore=ignore)).to_json()
    finally:
        await app.shutdown()


def _write_tests(traces: Sequence[Trace], export: Path, ignore: frozenset[str]) -> int:
    from gati_runtime_min.playground.export import export_tests

    export.parent.mkdir(parents=True, exist_ok=True)
    export.write_text(export_tests(traces, ignore=ignore), encoding="utf-8")
    click.echo(f"wrote {len(traces)} test{'s' if len(traces) != 1 else ''} to {export}", err=True)
    return EXIT_SAME


def _remote(
    url: str,
    rid: str,
    version: str | None,
    export: Path | None,
    headers: Mapping[str, str],
    ignore: frozenset[str],
    fmt: str,
) -> int:
    import httpx

    from gati_runtime_min.playground.trace import Trace

    def call(method: str, path: str, body: Any = None) -> Any:
        try:
            r = httpx.request(method, url + API + path, json=body, timeout=60.0)
        except httpx.HTTPError as exc:
            _fail(f"cannot reach {url}: {exc}")
        if r.status_code == 404 and path.startswith("/traces/"):
            _fail(f"no request {rid} on {url} (is it the server that recorded it, with --dev?)")
        if r.status_code >= 400:
            try:
                error = r.json()["error"]
                what = f"{error['code']} {error['message']}"
            except (ValueError, KeyError, TypeError):
                what = r.text[:200]
            _fail(f"{method} {url}{API}{path} answered {r.status_code}: {what}")
        return r.json()

    if export is not None:
        if rid == "all":
            rows = call("GET", "/traces?limit=10000")["traces"]
            ids = [row["requestId"] for row in reversed(rows) if row.get("replayOf") is None]
        else:
            ids = [rid]
        return _write_tests([Trace.from_json(call("GET", f"/traces/{i}")) for i in ids], export, ignore)
    recorded = call("GET", f"/traces/{rid}")
    result = call("POST", "/replay", {"requestId": rid, "version": version or recorded.get("version")})
    if ignore and "answer" in result.get("left", {}):  # the same comparison, with keys left out
        from gati_runtime_min.playground.diff import diff_json
        from gati_runtime_min.playground.replay import Answer

        sides = [result[s]["answer"] for s in ("left", "right")]
        left, right = (Answer(a["status"], [tuple(h) for h in a["headers"]], a["body"]) for a in sides)
        result["responseDiff"] = [c.to_json() for c in diff_json(left.compared(ignore), right.compared(ignore))]
        result["same"] = not result["responseDiff"]
    if headers:
        click.echo("note: --header is not sent through --url (the server has the request as it recorded it)", err=True)
    return _show(result, fmt, {})


def _show(result: Mapping[str, Any], fmt: str, labels: Mapping[str, str]) -> int:
    if fmt == "json":
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        click.echo(render_text(result, labels), nl=False)
    return EXIT_SAME if result["same"] else EXIT_DIFFER


def _ms(value: Any) -> str:
    return "-" if value is None else f"{value:.3f} ms"


def render_text(result: Mapping[str, Any], labels: Mapping[str, str]) -> str:
    """The `ReplayResult` JSON, readably: the two runs, then one line per difference."""

    def name(tsv: str | None) -> str:
        return "the current version" if tsv is None else labels.get(tsv, tsv)

    left, right = result["left"], result["right"]
    lines = [f"replay of {left['method']} {left['path']} (request {result['requestId']})"]
    upgraded = result.get("upgradedFrom")
    how = f", upgraded from {name(upgraded)}" if upgraded else ""
    for side, title, detail in (
        (left, "left ", f"as {name(result['version'])}"),
        (right, "right", f"as current {name(result['current'])}{how}"),
    ):
        took = _ms(side.get("durationMs"))
        lines.append(f"  {title}: {detail}: {side['status']} in {took} (trace {side['requestId']})")
        lines.extend(f"         note: {note}" for note in side.get("notes") or ())
    changes = result["responseDiff"]
    lines.append(f"response: {len(changes)} difference{'' if len(changes) == 1 else 's'}")
    for change in changes:
        lines.append("  " + _render_change(change))
    steps = result.get("traceDiff") or []
    if steps:
        width = max(len(s["step"]) for s in steps)
        lines.append(f"steps:{' ' * width}{'left':>10}  {'right':>10}")
        mark = {"both": "=", "left": "<", "right": ">"}
        for s in steps:
            flag = mark[s["side"]] if not s["changed"] or s["side"] != "both" else "!"
            lines.append(f"  {flag} {s['step']:<{width}}  {_ms(s['leftMs']):>10}  {_ms(s['rightMs']):>10}")
    lines.append("same answer" if result["same"] else "the answers differ")
    return "\n".join(lines) + "\n"


def _render_change(change: Mapping[str, Any]) -> str:
    from gati_runtime_min.playground.diff import Change

    return Change(change["op"], change["path"], change.get("old"), change.get("new")).render()
