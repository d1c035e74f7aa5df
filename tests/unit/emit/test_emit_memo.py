"""`emit.memo`: IR objects are interned only when they are the same with the same types, and the
artifacts joined from memoised pieces are byte for byte the whole-program ones."""

from __future__ import annotations

from pathlib import Path

from gati_compiler.canonical import canonical_bytes, compact_json
from gati_compiler.emit.manifest import emit_manifests, program_content_hash
from gati_compiler.emit.memo import EmitMemo, gtypes_file, program_compact_json, same
from gati_compiler.ir.canonical import dump_gtype, dump_ir
from gati_compiler.ir.gtype import LiteralType, PrimitiveType
from gati_compiler.ir.models import Program
from gati_compiler.pipeline import build
from tests.incremental_project import model_source, write_project


def _program(root: Path) -> Program:
    result = build(root, jobs=1, write=False)
    assert result.ok and result.program is not None
    return result.program


def test_same_tells_apart_values_python_calls_equal() -> None:
    assert LiteralType(values=(1,)) == LiteralType(values=(True,))  # why `same` exists
    assert not same(LiteralType(values=(1,)), LiteralType(values=(True,)))
    assert not same(PrimitiveType(type="number", minimum=1), PrimitiveType(type="number", minimum=1.0))
    assert not same(
        PrimitiveType(type="number", minimum=float("nan")), PrimitiveType(type="number", minimum=float("nan"))
    )
    assert same(PrimitiveType(type="integer", minimum=1), PrimitiveType(type="integer", minimum=1))
    assert not same({"a": 1, "b": 2}, {"b": 2, "a": 1})  # dump order is output order


def test_interning_keeps_the_objects_that_are_the_same_and_only_those(tmp_path: Path) -> None:
    root = tmp_path / "app"
    write_project(root)
    memo = EmitMemo()
    first = memo.intern(_program(root))
    assert memo.intern(_program(root)) is first  # nothing changed: the very same program
    (root / "app" / "models.py").write_text(model_source(extra_fields=1))
    second = memo.intern(_program(root))
    assert second is not first and second.gtypes["Item"] is not first.gtypes["Item"]
    assert "extra_0" in second.gtypes["Item"].model_dump_json()
    by_id = {h.handlerId: h for h in first.handlers}
    for h in second.handlers:  # the handlers answering an Item have a new fingerprint; the rest are kept
        assert (h is by_id[h.handlerId]) == (h.fingerprint == by_id[h.handlerId].fingerprint)
    assert any(h is by_id[h.handlerId] for h in second.handlers)


def test_artifacts_joined_from_pieces_are_the_whole_program_ones(tmp_path: Path) -> None:
    root = tmp_path / "app"
    write_project(root)
    memo = EmitMemo()
    for extra in (0, 2):
        (root / "app" / "models.py").write_text(model_source(extra_fields=extra))
        program = memo.intern(_program(root))
        assert program_compact_json(memo, program) == compact_json(dump_ir(program)).encode()
        assert program_content_hash(program, memo) == program_content_hash(program)
        whole = canonical_bytes({ref: dump_gtype(g) for ref, g in sorted(program.gtypes.items())})
        assert gtypes_file(memo, program.gtypes) == whole
        assert emit_manifests(program, memo) == emit_manifests(program)
        memo.end_build()
    assert gtypes_file(memo, {}) == canonical_bytes({})
