"""Manifest artifacts: handler and module manifests, `gtypes.json` and the `manifest.json` index.

Input: a `Program`. Output: relative path → bytes, built as dicts and serialized canonically.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import JsonValue

from gati_compiler.canonical import canonical_bytes, compact_json, sha256_digest
from gati_compiler.ir.canonical import dump_gtype, dump_ir
from gati_compiler.ir.models import IR_VERSION, Handler, ModuleDecl, Program
from gati_compiler.version import __version__


def handler_path(h: Handler) -> str:
    return f"handlers/{h.handlerId}.json"


def module_path(m: ModuleDecl) -> str:
    return f"modules/{m.moduleId}.json"


def emit_manifests(program: Program) -> dict[str, bytes]:
    """Handler manifests, module manifests and `gtypes.json`."""
    out: dict[str, bytes] = {}
    for h in program.handlers:
        out[handler_path(h)] = canonical_bytes(h.model_dump(mode="json", exclude_none=True))
    for m in program.modules:
        out[module_path(m)] = canonical_bytes(m.model_dump(mode="json", exclude_none=True))
    gtypes: dict[str, JsonValue] = {ref: dump_gtype(g) for ref, g in sorted(program.gtypes.items())}
    out["gtypes.json"] = canonical_bytes(gtypes)
    if program.topics:
        out[TOPICS_FILE] = emit_topics(program)
    return out


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
) -> bytes:
    """`manifest.json`: the build index with a digest of every other artifact.

    `content_hash` is `program_content_hash(program)` when the caller computed it already."""
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
        "artifacts": {path: sha256_digest(data) for path, data in sorted(artifacts.items())},
        "contentHash": content_hash if content_hash is not None else program_content_hash(program),
    }
    return canonical_bytes(index)


def program_content_hash(program: Program) -> str:
    """The `contentHash` of the build index: a digest of the canonical IR."""
    return sha256_digest(compact_json(dump_ir(program)).encode())
