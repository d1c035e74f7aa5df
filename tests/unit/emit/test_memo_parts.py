"""`emit.memo_parts`: a validators part kept between builds is reused only when it makes the same
bytes, and every artifact emitted through the memo is byte for byte what a build without it emits
(server validators, the Python SDK's decoders; in one process and with forked workers)."""

from __future__ import annotations

from pathlib import Path

import pytest

import gati_compiler.emit as emit
from gati_compiler.emit import emit_all
from gati_compiler.emit.memo import EmitMemo
from gati_compiler.emit.memo_parts import cached, call
from gati_compiler.emit.validators import ValidatorsPart, build_validators_part, module_aliases
from gati_compiler.ir.models import Handler, Program
from gati_compiler.pipeline import build
from tests.incremental_project import handler_source, model_source, write_project

NEW_TYPE_HANDLER = (
    "from typing_extensions import TypedDict\n\n"
    "from gati_runtime_min import GlobalContext, LocalContext, Request, Response, post\n\n\n"
    "class Note(TypedDict):\n    text: str\n\n\n"
    '@post("/aa/note")\n'
    "async def aa_note(req: Request[Note], res: Response[Note], lctx: LocalContext, gctx: GlobalContext) -> None:\n"
    "    res.json(req.body)\n"
)


def _program(root: Path) -> Program:
    result = build(root, jobs=1, write=False)
    assert result.ok and result.program is not None
    return result.program


def _emit(program: Program, memo: EmitMemo | None, jobs: int = 1) -> dict[str, bytes]:
    return emit_all(program, project_root="..", settings={}, jobs=jobs, memo=memo)


# each step edits the project, then says whether the server's two validators parts can be reused
STEPS: list[tuple[str, bool]] = [
    ("first build", False),
    ("a route added whose types are in use", True),
    ("a handler's answer edited", True),
    ("a handler module deleted", True),
    ("a handler with a type of its own, first in handler order", False),
    ("nothing", True),
    ("a field added to the shared model", False),
]


def _edit(root: Path, step: str) -> None:
    handlers = root / "app" / "handlers"
    if step == "a route added whose types are in use":
        (handlers / "h7.py").write_text(handler_source(7))
    elif step == "a handler's answer edited":
        (handlers / "h1.py").write_text(handler_source(1, "other"))
    elif step == "a handler module deleted":
        (handlers / "h2.py").unlink()
    elif step == "a handler with a type of its own, first in handler order":
        (handlers / "aa.py").write_text(NEW_TYPE_HANDLER)
    elif step == "a field added to the shared model":
        (root / "app" / "models.py").write_text(model_source(extra_fields=1))


@pytest.mark.parametrize("jobs", [1, 2])
def test_artifacts_through_the_parts_memo_are_those_of_a_build_without_it(
    tmp_path: Path, jobs: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    if jobs > 1:  # forked workers even for this small app
        monkeypatch.setattr(emit, "PARALLEL_MIN_ITEMS", 0)
    root = tmp_path / "app"
    write_project(root)
    memo = EmitMemo()
    for step, reused in STEPS:
        _edit(root, step)
        program = memo.intern(_program(root))
        through_memo = _emit(program, memo, jobs)
        hits = memo.parts.hits
        memo.end_build()
        assert through_memo == _emit(program, None), step
        if reused:  # the server's decoders and encoders, and the SDK's decoders
            assert hits >= 2, step


def test_a_part_is_made_again_when_the_first_use_of_the_types_moves(tmp_path: Path) -> None:
    root = tmp_path / "app"
    write_project(root)
    memo = EmitMemo()
    program = memo.intern(_program(root))
    aliases = module_aliases(program.gtypes)

    def encoders(handlers: tuple[Handler, ...]) -> ValidatorsPart:
        return cached(memo.parts, call(memo.parts, "enc", program.gtypes, handlers, "enc", aliases=aliases))

    first = encoders(program.handlers)
    # the same handlers in another order are sorted by id: the same part, from the memo
    assert encoders(tuple(reversed(program.handlers))) == first and memo.parts.hits == 1
    # without the handlers answering an `Item`, its encoder is no handler's: the part is made again
    fewer = tuple(h for h in program.handlers if "item" not in h.handlerId)
    assert encoders(fewer) == build_validators_part(program.gtypes, fewer, "enc", aliases=aliases)
    assert memo.parts.misses == 2 and memo.parts.hits == 1
    assert encoders(fewer) != first and memo.parts.hits == 2
