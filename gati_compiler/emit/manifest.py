"""Manifest artifacts: handler and module manifests, `gtypes.json` and the `manifest.json` index.

Input: a `Program`. Output: relative path → bytes, built as dicts and serialized canonically.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from pydantic import JsonValue

from gati_compiler.canonical import canonical_bytes, compact_json, sha256_digest
from gati_compiler.ir.canonical import dump_gtype, dump_ir
from gati_compiler.ir.models import IR_VERSION, Handler, ModuleDecl, Program
from gati_compiler.version import __version__

if TYPE_CHECKING:
    from gati_compiler.emit.memo import EmitMemo


def handler_path(h: Handler) -> str:
    return f"handlers/{h.handlerId}.json"


def module_path(m: ModuleDecl) -> str:
    return f"modules/{m.moduleId}.json"


def emit_manifests(program: Program, memo: EmitMemo | None = None) -> dict[str, bytes]:
    """Handler manifests, module manifests and `gtypes.json`; with a `memo` (`gatic watch`), from
    the pieces made for the same IR objects by an earlier build."""
    out: dict[str, bytes] = {}
    for h in program.handlers:
        if memo is None:
            out[handler_path(h)] = canonical_bytes(h.model_dump(mode="json", exclude_none=True))
        else:
            out[handler_path(h)] = memo.piece("manifest", h, lambda h=h: _manifest_bytes(h))  # type: ignore[misc]
    for m in program.modules:
        out[module_path(m)] = canonical_bytes(m.model_dump(mode="json", exclude_none=True))
    joined = None
    if memo is not None:
        from gati_compiler.emit.memo import gtypes_file

        joined = gtypes_file(memo, program.gtypes)
    if joined is None:
        gtypes: dict[str, JsonValue] = {ref: dump_gtype(g) for ref, g in sorted(program.gtypes.items())}
        joined = canonical_bytes(gtypes)
    out["gtypes.json"] = joined
    if program.topics:
        out[TOPICS_FILE] = emit_topics(program)
    return out


def _manifest_bytes(h: Handler) -> bytes:
    return canonical_bytes(h.model_dump(mode="json", exclude_none=True))


TOPICS_FILE = "topics.json"


def emit_topics(program: Program) -> bytes:
    """`topics.json`: topic name -> its message type (a GType, refs into `gtypes.json`) and where
    it is declared (the `Topic` object the runtime attaches the generated check to)."""
    topics: dict[str, JsonValue] = {
        t.name: {
            "type": dump_gtype(t.type),
            "module": t.module,
            "variable": t.variable,
            "source": t.source.model_dump(mode="json", exclude_none=True),
        }
        for t in program.topics or ()
    }
    return canonical_bytes(topics)


def build_index(
    program: Program,
    artifacts: Mapping[str, bytes],
    *,
    project_root: str,
    settings: Mapping[str, JsonValue],
    content_hash: str | None = None,
    versions: Sequence[JsonValue] = (),
    memo: EmitMemo | None = None,
) -> bytes:
    """`manifest.json`: the build index with a digest of every other artifact.

    `content_hash` is `program_content_hash(program)` when the caller computed it already; with a
    `memo`, an artifact whose bytes are the very object an earlier build hashed is not hashed again."""

    def digest(data: bytes) -> str:
        return sha256_digest(data) if memo is None else memo.piece("sha256", data, lambda: sha256_digest(data))

    index: dict[str, JsonValue] = {
        "app": program.app,
        "compilerVersion": __version__,
        "irVersion": IR_VERSION,
        "projectRoot": project_root,
        "sourceRoots": list(program.sourceRoots),
        "handlers": [
            {
                "handlerId": h.handlerId,
                "method": h.method,
                "path": h.path,
                "file": handler_path(h),
                "fingerprint": h.fingerprint,
            }
            for h in program.handlers
        ],
        "modules": [{"moduleId": m.moduleId, "file": module_path(m)} for m in program.modules],
        "globalHooks": [hk.model_dump(mode="json", exclude_none=True) for hk in program.globalHooks],
        **({"topics": TOPICS_FILE} if program.topics else {}),
        "settings": dict(settings),
        "versions": list(versions),
        "artifacts": {path: digest(data) for path, data in sorted(artifacts.items())},
        "contentHash": content_hash if content_hash is not None else program_content_hash(program, memo),
    }
    return canonical_bytes(index)


def program_content_hash(program: Program, memo: EmitMemo | None = None) -> str:
    """The `contentHash` of the build index: a digest of the canonical IR (with a `memo`, joined
    from the pieces of the handlers and types an earlier build dumped)."""
    if memo is not None:
        from gati_compiler.emit.memo import program_compact_json

        joined = program_compact_json(memo, program)
        if joined is not None:
            return sha256_digest(joined)
    return sha256_digest(compact_json(dump_ir(program)).encode())
