"""Property 37, hook manifest recording: every hook a handler lists is recorded in its manifest,
in the listed order, with its id (`module:function`), kind, module, function, sync/async, timeout,
retries, scope and source location; every hook of a global-hooks module is recorded once in
`manifest.json` (`globalHooks`, in definition order, scope `global`), and in no handler manifest."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given

from tests.property.handlergen import AppSpec, HookSpec, apps
from tests.property.test_property_02_manifest_generation_completeness import build_spec


def recorded(h: HookSpec, spec: AppSpec) -> dict[str, Any]:
    return {
        "id": f"{h.module}:{h.name}",
        "kind": h.kind,
        "module": h.module,
        "function": h.name,
        "isAsync": h.is_async,
        "timeout": h.timeout,
        "retries": h.retries,
        "scope": h.scope,
        "source": {"file": h.file, "line": spec.lines[h.name]},
    }


def normal(d: dict[str, Any]) -> dict[str, Any]:
    """A recorded hook with absent optional keys written out (`timeout` None, `retries` 0)."""
    return {"timeout": None, "retries": 0, **d}


@given(spec=apps())
def test_property_37_hook_manifest_recording(tmp_path_factory: Any, spec: AppSpec) -> None:
    artifacts = build_spec(tmp_path_factory.mktemp("p37"), spec)
    index = json.loads(artifacts["manifest.json"])
    global_hooks = [h for h in spec.hooks if h.scope == "global"]
    assert [normal(d) for d in index["globalHooks"]] == [recorded(h, spec) for h in global_hooks]
    for entry in index["handlers"]:
        manifest = json.loads(artifacts[entry["file"]])
        (h,) = [h for h in spec.handlers if h.handler_id == manifest["handlerId"]]
        for kind in ("before", "after", "catch"):
            want = [recorded(spec.hook(name), spec) for name in getattr(h, kind)]
            assert [normal(d) for d in manifest["hooks"][kind]] == want
