"""Property 2, manifest generation completeness: for every handler of a generated app, the build
writes `handlers/<handlerId>.json` holding everything the declaration says: id, method, path and
its typed parameters, module and function, sync/async, status, the GTypes of the parts it declares
(request, response, params), roles, rate limit (limit and window in seconds), timeout, modules,
its hooks, a fingerprint and its source location; and `manifest.json` lists each handler once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given

from gati_compiler.diagnostics.render import render_text
from tests.property.handlergen import CONFIG, HANDLER_FILE, AppSpec, HandlerSpec, apps
from tests.unit.conftest import project_from_sources


def build_spec(tmp: Path, spec: AppSpec) -> dict[str, bytes]:
    result = project_from_sources(tmp, spec.sources(), CONFIG)
    assert result.ok, render_text(result.diagnostics, result.sources)
    return result.artifacts


def check_handler(h: HandlerSpec, manifest: dict[str, Any], spec: AppSpec) -> None:
    assert manifest["handlerId"] == h.handler_id
    assert manifest["method"] == h.method
    assert manifest["path"] == h.path
    assert manifest["pathParams"] == h.path_params
    assert (manifest["module"], manifest["function"]) == ("app.handlers", h.name)
    assert manifest["isAsync"] is h.is_async
    assert manifest["status"] == h.expected_status
    assert manifest["source"] == {"file": HANDLER_FILE, "line": spec.lines[h.name]}
    gtypes = manifest["gtypes"]
    assert (gtypes.get("request") is not None) == h.body
    assert (gtypes.get("response") is not None) == h.response
    assert (gtypes.get("params") is not None) == bool(h.path_params)
    if h.path_params:
        names = [p["name"] for p in gtypes["params"]["properties"]]
        assert names == [p["name"] for p in h.path_params]
    policies = manifest["policies"]
    assert policies["roles"] == sorted(h.roles)
    assert policies.get("rateLimit") == h.rate_limit
    assert policies.get("timeout") == h.timeout
    assert sorted(manifest["dependencies"]["modules"]) == sorted(h.modules)
    for kind in ("before", "after", "catch"):
        assert [d["function"] for d in manifest["hooks"][kind]] == list(getattr(h, kind))
    assert manifest["fingerprint"].startswith("sha256:") and len(manifest["fingerprint"]) == 71


@given(spec=apps())
def test_property_2_manifest_generation_completeness(tmp_path_factory: Any, spec: AppSpec) -> None:
    artifacts = build_spec(tmp_path_factory.mktemp("p2"), spec)
    index = json.loads(artifacts["manifest.json"])
    listed = {e["handlerId"]: e for e in index["handlers"]}
    assert sorted(listed) == sorted(h.handler_id for h in spec.handlers)
    for h in spec.handlers:
        entry = listed[h.handler_id]
        assert (entry["method"], entry["path"]) == (h.method, h.path)
        check_handler(h, json.loads(artifacts[entry["file"]]), spec)
