"""Timescape transformers: found in the sources, bound to the steps of the timeline, gated by
`gatic check`, and written by `gatic transformers write` (real CLI runs on projects on disk)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gati_compiler.cli import main
from gati_compiler.diagnostics import codes
from gati_compiler.pipeline import build
from gati_compiler.timescape.transformer_code import generated_body

T1, T2 = "2026-09-01T09:00:00Z", "2026-10-01T09:00:00Z"
STEP = "create_user__v2026_09_01T090000Z"
RUFF = Path(sys.executable).with_name("ruff")

HANDLERS = """
from typing import Literal, TypedDict

from typing_extensions import NotRequired

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, post


class NewUser(TypedDict):
{request}


class User(TypedDict):
{response}


@post("/users")
async def create_user(req: Request[NewUser], res: Response[User], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json(None)  # type: ignore[arg-type]
"""
V1_REQUEST = "    full_name: str\n    email: str"
V1_RESPONSE = "    id: int\n    full_name: str\n    email: str"


def gatic(*args: str, at: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env={"NO_COLOR": "1", "GATI_TIMESCAPE_AT": at or ""})


def write_handlers(app: Path, request: str, response: str) -> None:
    (app / "app" / "handlers.py").write_text(
        HANDLERS.format(request=request, response=response).lstrip(), encoding="utf-8"
    )


def recorded_app(tmp_path: Path, request: str = V1_REQUEST, response: str = V1_RESPONSE) -> Path:
    """A project whose version v1.0.0 (at T1) is recorded in `timescape.lock`."""
    app = tmp_path / "proj"
    (app / "app").mkdir(parents=True)
    (app / "pyproject.toml").write_text('[tool.gati]\nname = "users"\n', encoding="utf-8")
    (app / "app" / "__init__.py").write_text("", encoding="utf-8")
    write_handlers(app, request, response)
    done = gatic("version", "record", str(app), "--tag", "v1.0.0", at=T1)
    assert done.exit_code == 0, done.output
    return app


def check_codes(app: Path) -> tuple[int, str]:
    assert gatic("build", str(app)).exit_code in (0, 1)
    result = gatic("check", str(app))
    return result.exit_code, result.output


def test_renamed_property_fails_check_until_transformers_write_writes_the_pair(tmp_path: Path) -> None:
    app = recorded_app(tmp_path)
    write_handlers(app, "    name: str\n    email: str", "    id: int\n    name: str\n    email: str")
    status, out = check_codes(app)
    assert status == 1 and f"error[{codes.TRANSFORMER_MISSING.id}]" in out
    assert "breaking change for clients of v1.0.0" in out and "renamed `full_name` -> `name`" in out
    assert "app/handlers.py:20:" in out  # at the handler

    written = gatic("transformers", "write", str(app))
    assert written.exit_code == 0, written.output
    target = app / "app" / "transformers" / f"{STEP}.py"
    assert f"wrote app/transformers/{STEP}.py" in written.output and "complete" in written.output
    assert (app / "app" / "transformers" / "__init__.py").is_file()
    text = target.read_text(encoding="utf-8")
    assert '"name": request["body"]["full_name"]' in text and '"full_name": response["name"]' in text
    assert f"from gati_versions.steps.{STEP} import" in text
    status, out = check_codes(app)
    assert status == 0, out

    again = gatic("transformers", "write", str(app))
    assert "nothing to write" in again.output and target.read_text(encoding="utf-8") == text


@pytest.mark.parametrize(
    ("request_fields", "response_fields"),
    [
        pytest.param("    name: str\n    email: str", V1_RESPONSE.replace("email", "mail"), id="complete"),
        pytest.param("    full_name: int\n    email: str", "    id: int", id="stubs"),
    ],
)
def test_written_code_passes_ruff(request_fields: str, response_fields: str, tmp_path: Path) -> None:
    app = recorded_app(tmp_path)
    write_handlers(app, request_fields, response_fields)
    assert gatic("transformers", "write", str(app)).exit_code == 0
    folder = app / "app" / "transformers"
    lint = [str(RUFF), "check", "--isolated", "--select", "E,F,I,UP,B,SIM,RUF", str(folder)]
    assert subprocess.run(lint, capture_output=True, text=True).returncode == 0
    fmt = [str(RUFF), "format", "--isolated", "--check", str(folder)]
    done = subprocess.run(fmt, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


# (old request, new request, old response, new response, a line the written code holds, or None
# when the change does not break old clients and nothing is written)
MECHANICAL: dict[str, tuple[str, str, str, str, str | None]] = {
    "request enum value renamed": (
        '    full_name: str\n    role: Literal["admin", "guest"]',
        '    full_name: str\n    role: Literal["admin", "visitor"]',
        V1_RESPONSE,
        V1_RESPONSE,
        '"visitor" if value_1 == "guest" else value_1',
    ),
    "response enum value renamed, with a renamed property": (
        V1_REQUEST,
        V1_REQUEST,
        '    full_name: str\n    role: Literal["admin", "guest"]',
        '    name: str\n    role: Literal["admin", "visitor"]',
        '"guest" if value_1 == "visitor" else value_1',
    ),
    "renamed and a new optional property": (
        "    full_name: str",
        "    name: str\n    nick: NotRequired[str]",
        V1_RESPONSE,
        V1_RESPONSE,
        '"name": request["body"]["full_name"]',
    ),
    "optional response property copied when present": (
        V1_REQUEST,
        V1_REQUEST,
        "    full_name: str\n    nick: NotRequired[str]",
        "    name: str\n    nick: NotRequired[str]",
        'out["nick"] = response["nick"]',
    ),
    "optional property added": (
        V1_REQUEST,
        V1_REQUEST + "\n    plan: NotRequired[str]",
        V1_RESPONSE,
        V1_RESPONSE,
        None,
    ),
    "request property removed": (V1_REQUEST, "    full_name: str", V1_RESPONSE, V1_RESPONSE, None),
    "int widened to float": ("    age: int", "    age: float", V1_RESPONSE, V1_RESPONSE, None),
    "enum widened": (
        '    role: Literal["admin"]',
        '    role: Literal["admin", "guest"]',
        V1_RESPONSE,
        V1_RESPONSE,
        None,
    ),
}


@pytest.mark.parametrize("case", sorted(MECHANICAL))
def test_mechanical_changes_get_complete_code_and_pass_check(case: str, tmp_path: Path) -> None:
    old_req, new_req, old_res, new_res, snippet = MECHANICAL[case]
    app = recorded_app(tmp_path, request=old_req, response=old_res)
    write_handlers(app, new_req, new_res)
    written = gatic("transformers", "write", str(app))
    assert written.exit_code == 0, written.output
    if snippet is None:
        assert "nothing to write" in written.output, written.output
    else:
        assert "wrote" in written.output and "a stub" not in written.output, written.output
        assert snippet in (app / "app" / "transformers" / f"{STEP}.py").read_text(encoding="utf-8")
    status, out = check_codes(app)
    assert status == 0, out


def test_a_change_that_is_not_mechanical_gets_a_stub_and_check_keeps_failing(tmp_path: Path) -> None:
    app = recorded_app(tmp_path)
    write_handlers(app, "    full_name: int\n    email: str", V1_RESPONSE)
    written = gatic("transformers", "write", str(app))
    assert written.exit_code == 0 and "a stub to fill in" in written.output
    text = (app / "app" / "transformers" / f"{STEP}.py").read_text(encoding="utf-8")
    assert "# TODO [" in text and "raise NotImplementedError" in text
    status, out = check_codes(app)
    assert status == 1 and codes.TRANSFORMER_MISSING.id in out and "only a stub" in out


def test_an_edited_file_is_never_overwritten_and_an_untouched_stub_is_rewritten(tmp_path: Path) -> None:
    app = recorded_app(tmp_path)
    write_handlers(app, "    full_name: int\n    email: str", V1_RESPONSE)
    assert gatic("transformers", "write", str(app)).exit_code == 0
    target = app / "app" / "transformers" / f"{STEP}.py"
    first = target.read_text(encoding="utf-8")
    assert generated_body(first) is not None

    write_handlers(app, "    full_name: int\n    mail: str", V1_RESPONSE)  # the step changes
    assert "wrote" in gatic("transformers", "write", str(app)).output
    rewritten = target.read_text(encoding="utf-8")
    assert rewritten != first and "mail" in rewritten

    edited = rewritten.replace("raise NotImplementedError", "raise NotImplementedError  # mine")
    target.write_text(edited, encoding="utf-8")
    kept = gatic("transformers", "write", str(app))
    assert "kept" in kept.output and "edited by hand" in kept.output
    assert target.read_text(encoding="utf-8") == edited

    target.rename(target.with_name("mine.py"))  # a stub of the user's own: not written again
    again = gatic("transformers", "write", str(app))
    assert "these stubs still need filling in: app/transformers/mine.py" in again.output, again.output
    assert not target.exists()


def test_an_accepted_break_needs_no_transformer(tmp_path: Path) -> None:
    app = recorded_app(tmp_path)
    write_handlers(app, "    full_name: int\n    email: str", V1_RESPONSE)
    with (app / "pyproject.toml").open("a", encoding="utf-8") as f:
        f.write('\n[[tool.gati.timescape.accept]]\nrule = "*"\nhandler = "create_user"\nreason = "no clients yet"\n')
    _, out = check_codes(app)
    assert codes.TRANSFORMER_MISSING.id not in out, out
    assert "nothing to write" in gatic("transformers", "write", str(app)).output


SPELLINGS = {
    "from-import": (
        "from gati_runtime_min.timescape import upgrade_request\n",
        '@upgrade_request("create_user", "v1.0.0")',
    ),
    "alias": (
        "from gati_runtime_min.timescape import upgrade_request as up\n",
        '@up(handler="create_user", version="v1.0.0")',
    ),
    "module alias": ("import gati_runtime_min.timescape as ts\n", '@ts.upgrade_request("create_user", "v1.0.0")'),
}


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_every_import_spelling_of_a_marker_is_found(spelling: str, tmp_path: Path) -> None:
    app = recorded_app(tmp_path)
    write_handlers(app, "    name: str\n    email: str", V1_RESPONSE)
    imports, decorator = SPELLINGS[spelling]
    source = f"""
        from __future__ import annotations
        from typing import TYPE_CHECKING
        {imports}
        if TYPE_CHECKING:
            from gati_versions.steps import {STEP} as step
            from gati_versions.steps.{STEP} import OldRequest as Old

        {decorator}
        def up_v1(request: Old) -> step.NewRequest:
            '''To fill in.'''
            # later
            raise NotImplementedError("later")
    """
    (app / "app" / "xf.py").write_text(textwrap.dedent(source), encoding="utf-8")
    result = build(app, write=False)
    assert result.ok, [d.message for d in result.diagnostics]
    assert result.program is not None
    (decl,) = result.program.transformers
    assert (decl.kind, decl.handlerId, decl.version, decl.stub) == ("request", "create_user", "v1.0.0", True)
    assert decl.params == (f"gati_versions.steps.{STEP}.OldRequest",)
    assert decl.returns == f"gati_versions.steps.{STEP}.NewRequest"
    assert decl.source.file == "app/xf.py"


SIGNATURE = "\ndef f(request: OldRequest) -> NewRequest:"
BAD = {
    codes.TRANSFORMER_MARKER.id: '@upgrade_request("create_user", VERSION)' + SIGNATURE,
    codes.TRANSFORMER_UNKNOWN_HANDLER.id: '@upgrade_request("nope", "v1.0.0")' + SIGNATURE,
    codes.TRANSFORMER_UNKNOWN_VERSION.id: '@upgrade_request("create_user", "v9")' + SIGNATURE,
    codes.TRANSFORMER_WRONG_SHAPE.id: '@upgrade_request("create_user", "v1.0.0")' + SIGNATURE.replace("Old", "New"),
    codes.TRANSFORMER_MISPLACED.id: 'class K:\n    @upgrade_request("create_user", "v1.0.0")\n    def f(self) -> None:',
}


@pytest.mark.parametrize("code", sorted(BAD))
def test_a_transformer_that_binds_to_nothing_is_reported(code: str, tmp_path: Path) -> None:
    app = recorded_app(tmp_path)
    write_handlers(app, "    name: str\n    email: str", V1_RESPONSE)
    head = f"""from __future__ import annotations
from typing import TYPE_CHECKING
from gati_runtime_min.timescape import upgrade_request
if TYPE_CHECKING:
    from gati_versions.steps.{STEP} import NewRequest, OldRequest
VERSION = "v1.0.0"
"""
    body = BAD[code] + "\n" + ("        ...\n" if code == codes.TRANSFORMER_MISPLACED.id else "    return {}\n")
    (app / "app" / "xf.py").write_text(head + body, encoding="utf-8")
    result = build(app, write=False)
    assert [d.code for d in result.diagnostics if d.code.startswith("GATI73")] == [code]
    (found,) = [d for d in result.diagnostics if d.code == code]
    assert found.span.path == "app/xf.py"


def test_two_transformers_for_one_step_and_types_of_another_step(tmp_path: Path) -> None:
    app = recorded_app(tmp_path)
    write_handlers(app, "    name: str\n    email: str", V1_RESPONSE)
    other = "create_user__v2026_10_01T090000Z"
    source = f"""from __future__ import annotations
from typing import TYPE_CHECKING
from gati_runtime_min.timescape import upgrade_request
if TYPE_CHECKING:
    from gati_versions.steps import {other} as wrong
    from gati_versions.steps.{STEP} import NewRequest, OldRequest


@upgrade_request("create_user", "v1.0.0")
def one(request: OldRequest) -> NewRequest:
    return {{"body": {{"name": "", "email": ""}}}}


@upgrade_request("create_user", "{T1}")
def two(request: OldRequest) -> NewRequest:
    return {{"body": {{"name": "", "email": ""}}}}


@upgrade_request("create_user", "v1.0.0")
def three(request: wrong.OldRequest) -> NewRequest:
    return {{"body": {{"name": "", "email": ""}}}}
"""
    (app / "app" / "xf.py").write_text(source, encoding="utf-8")
    result = build(app, write=False)
    found = sorted((d.span.line, d.code) for d in result.diagnostics)
    assert found == [(15, codes.TRANSFORMER_DUPLICATE.id), (20, codes.TRANSFORMER_WRONG_SHAPE.id)]
    wrong_shape = next(d for d in result.diagnostics if d.code == codes.TRANSFORMER_WRONG_SHAPE.id)
    assert f"`gati_versions.steps.{STEP}`" in wrong_shape.message and other in wrong_shape.message


def test_a_version_after_which_the_handler_did_not_change_has_no_step(tmp_path: Path) -> None:
    app = recorded_app(tmp_path)
    source = f"""from __future__ import annotations
from typing import TYPE_CHECKING
from gati_runtime_min.timescape import upgrade_request
if TYPE_CHECKING:
    from gati_versions.steps.{STEP} import NewRequest, OldRequest


@upgrade_request("create_user", "v1.0.0")
def one(request: OldRequest) -> NewRequest:
    raise NotImplementedError
"""
    (app / "app" / "xf.py").write_text(source, encoding="utf-8")
    result = build(app, write=False)
    assert [d.code for d in result.diagnostics] == [codes.TRANSFORMER_NO_STEP.id]


# What the emit helper generates for this step (the brief's layout), written by hand so the
# transformers can be type-checked here; the integrated build produces the same module.
FAKE_STEP_TYPES = """
from typing import Literal, TypedDict


class OldBody(TypedDict):
    full_name: str
    role: Literal["admin", "guest"]


class NewBody(TypedDict):
    name: str
    role: Literal["admin", "visitor"]


class OldRequest(TypedDict):
    body: OldBody


class NewRequest(TypedDict):
    body: NewBody


class OldResponse(TypedDict):
    id: int
    full_name: str
    role: Literal["admin", "guest"]


class NewResponse(TypedDict):
    id: int
    name: str
    role: Literal["admin", "visitor"]
"""


def test_written_code_passes_mypy_strict_against_the_step_types(tmp_path: Path) -> None:
    app = recorded_app(
        tmp_path,
        request='    full_name: str\n    role: Literal["admin", "guest"]',
        response='    id: int\n    full_name: str\n    role: Literal["admin", "guest"]',
    )
    write_handlers(
        app,
        '    name: str\n    role: Literal["admin", "visitor"]',
        '    id: int\n    name: str\n    role: Literal["admin", "visitor"]',
    )
    written = gatic("transformers", "write", str(app))
    assert "a stub" not in written.output and "complete" in written.output, written.output
    types = tmp_path / "types" / "gati_versions" / "steps"
    types.mkdir(parents=True)
    for folder in (types.parent, types):
        (folder / "__init__.py").write_text("", encoding="utf-8")
    (types / f"{STEP}.py").write_text(FAKE_STEP_TYPES, encoding="utf-8")
    target = app / "app" / "transformers" / f"{STEP}.py"
    env = {"MYPYPATH": str(tmp_path / "types")}
    cmd = [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--follow-imports=silent", str(target)]
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **env})
    assert done.returncode == 0, done.stdout + done.stderr


LISTING = """
from typing import TypedDict

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get


class Entry(TypedDict):
    id: int
{entry}


class Listing(TypedDict):
    items: list[Entry]
    total: int


@get("/users")
async def list_users(req: Request[None], res: Response[Listing], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json({{"items": [], "total": 0}})
"""


def test_a_rename_inside_a_list_of_objects_is_converted_element_by_element(tmp_path: Path) -> None:
    app = tmp_path / "proj"
    (app / "app").mkdir(parents=True)
    (app / "pyproject.toml").write_text('[tool.gati]\nname = "users"\n', encoding="utf-8")
    (app / "app" / "__init__.py").write_text("", encoding="utf-8")
    handlers = app / "app" / "handlers.py"
    handlers.write_text(LISTING.format(entry="    full_name: str\n    email_address: str"), encoding="utf-8")
    assert gatic("version", "record", str(app), "--tag", "v1", at=T1).exit_code == 0
    handlers.write_text(LISTING.format(entry="    name: str\n    email_address: str"), encoding="utf-8")
    written = gatic("transformers", "write", str(app))
    assert "complete" in written.output and "a stub" not in written.output, written.output
    target = app / "app" / "transformers" / "list_users__v2026_09_01T090000Z.py"
    text = target.read_text(encoding="utf-8")
    assert 'for item in response["items"]' in text and '"full_name": item["name"]' in text, text
    fmt = subprocess.run([str(RUFF), "format", "--isolated", "--diff", str(target)], capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
    status, out = check_codes(app)
    assert status == 0, out
