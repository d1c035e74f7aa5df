"""The runtime never imports the compiler, and the decorators cost nothing at import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from rt_fixture import make_build  # type: ignore[import-not-found, unused-ignore]  # a sibling module

import gati_runtime_min
from gati_runtime_min import get, handler

REPO = Path(gati_runtime_min.__file__).resolve().parent.parent

SCRIPT = """
import sys
import gati_runtime_min
assert not [m for m in sys.modules if m.split(".")[0] == "gati_compiler"], "import"
assert "uvicorn" not in sys.modules and "httpx" not in sys.modules, "decorators pull in the server"
from gati_runtime_min import GatiApp
app = GatiApp(sys.argv[1])
import gati_runtime_min.testing, gati_runtime_min.serving
bad = sorted(m for m in sys.modules if m.split(".")[0] == "gati_compiler")
assert not bad, bad
print("ok", len(app.build.routes))
"""


def test_no_compiler_module_is_imported(tmp_path: Path) -> None:
    build = make_build(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(build)], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ok ")


def test_decorators_return_the_function_and_attach_metadata() -> None:
    def f(*args: object) -> None: ...

    assert handler("post", "/a", roles=["admin"])(f) is f
    assert f.__gati__["method"] == "POST"  # type: ignore[attr-defined]
    assert f.__gati__["roles"] == ("admin",)  # type: ignore[attr-defined]
    assert get("/b")(f) is f
    assert f.__gati__["path"] == "/b"  # type: ignore[attr-defined]
