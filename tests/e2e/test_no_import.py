"""User code is never imported or executed by the compiler (issue 2, point 4).

The handler module's top level raises, imports a package that is not installed, and would leave a
sentinel file behind if it ever ran; the build must still succeed and write its manifests.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

from click.testing import CliRunner

from gati_compiler.cli import main
from gati_compiler.pipeline import build

HANDLERS = '''
    """Handlers whose module must never run at build time."""

    import pathlib

    pathlib.Path(__file__).with_name("SENTINEL_HANDLERS").write_text("the compiler ran user code")

    import package_that_is_not_installed_xyz
    from package_that_is_not_installed_xyz.sub import Thing

    from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get, post

    from noimport_models_q7 import Note, NewNote

    raise RuntimeError("must not run")


    @get("/notes/{id:int}")
    async def get_note(req: Request[None], res: Response[Note], lctx: LocalContext, gctx: GlobalContext) -> None:
        """Read one note."""
        res.json({"id": req.params["id"], "text": "x"})


    @post("/notes", status=201)
    async def create_note(req: Request[NewNote], res: Response[Note], lctx: LocalContext, gctx: GlobalContext) -> None:
        res.status(201).json({"id": 1, "text": req.body["text"]})
'''

MODELS = '''
    """Models imported by the handlers; this module must not run either."""

    import pathlib
    from typing import TypedDict

    pathlib.Path(__file__).with_name("SENTINEL_MODELS").write_text("the compiler ran user code")
    import sys

    sys.exit("must not run")


    class NewNote(TypedDict):
        text: str


    class Note(NewNote):
        id: int
'''


def make_app(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text('[tool.gati]\nname = "noimport"\n', encoding="utf-8")
    (root / "noimport_handlers_q7.py").write_text(textwrap.dedent(HANDLERS).lstrip(), encoding="utf-8")
    (root / "noimport_models_q7.py").write_text(textwrap.dedent(MODELS).lstrip(), encoding="utf-8")
    return root


def _assert_never_ran(root: Path) -> None:
    assert not (root / "SENTINEL_HANDLERS").exists()
    assert not (root / "SENTINEL_MODELS").exists()
    assert "noimport_handlers_q7" not in sys.modules
    assert "noimport_models_q7" not in sys.modules
    assert "package_that_is_not_installed_xyz" not in sys.modules


def test_build_never_imports_or_runs_user_code(tmp_path: Path) -> None:
    root = make_app(tmp_path / "app")
    result = build(root, jobs=1)
    assert result.diagnostics == [], [f"{d.code} {d.message}" for d in result.diagnostics]
    assert result.ok and result.program is not None
    assert sorted(h.handlerId for h in result.program.handlers) == ["create_note", "get_note"]
    out = root / ".gati"
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert sorted(h["handlerId"] for h in manifest["handlers"]) == ["create_note", "get_note"]
    note = json.loads((out / "handlers" / "get_note.json").read_text(encoding="utf-8"))
    assert note["module"] == "noimport_handlers_q7"
    assert note["gtypes"]["response"] == {"kind": "ref", "ref": "Note"}
    gtypes = json.loads((out / "gtypes.json").read_text(encoding="utf-8"))
    assert [p["name"] for p in gtypes["Note"]["properties"]] == ["text", "id"]
    _assert_never_ran(root)


def test_cli_build_with_parallel_parsing_never_runs_user_code(tmp_path: Path) -> None:
    root = make_app(tmp_path / "app")
    result = CliRunner().invoke(main, ["build", str(root), "--jobs", "2"], env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert (root / ".gati" / "handlers" / "create_note.json").is_file()
    _assert_never_ran(root)
