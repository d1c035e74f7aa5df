"""The public surfaces are exactly the documented ones."""

from __future__ import annotations

import gati_compiler
import gati_runtime_min

COMPILER_API = {"BuildResult", "Diagnostic", "GatiError", "Severity", "__version__", "build", "check"}
RUNTIME_AUTHORING = {
    "handler", "get", "post", "put", "patch", "delete", "Request", "Response", "LocalContext", "GlobalContext",
    "HTTPError", "before", "after", "catch", "module", "method", "topic", "Topic", "Delivery",
}  # fmt: skip
RUNTIME_SERVING = {"GatiApp", "serve", "ManifestError", "Principal"}


def test_compiler_exports_exactly_the_documented_names() -> None:
    assert set(gati_compiler.__all__) == COMPILER_API
    for name in COMPILER_API:
        assert getattr(gati_compiler, name) is not None


def test_runtime_exports_the_authoring_api_of_the_build_format_doc() -> None:
    assert set(gati_runtime_min.__all__) == RUNTIME_AUTHORING | RUNTIME_SERVING
    for name in gati_runtime_min.__all__:
        assert getattr(gati_runtime_min, name) is not None


def test_every_authoring_name_is_documented() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "build-format.md").read_text(encoding="utf-8")
    for name in RUNTIME_AUTHORING:
        assert name in doc, name


def test_importing_the_compiler_leaves_garbage_collection_as_it_found_it() -> None:
    # the package pauses collection while it imports; a fresh interpreter shows both states
    import subprocess
    import sys

    for before, expected in (("", "True"), ("gc.disable();", "False")):
        code = f"import gc; {before} import gati_compiler; print(gc.isenabled())"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert out.stdout.strip() == expected
