"""Diagnostic positions cost one parse per file, not one per diagnostic (issue 11, item 10)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import libcst
import pytest

from gati_compiler.pipeline import BuildResult

Project = Callable[..., BuildResult]


def test_many_diagnostics_in_one_file_parse_it_once_for_positions(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    fields = "\n".join(f"    f{i}: Unknown{i}" for i in range(40))
    models = f"from typing import TypedDict\n\nclass T(TypedDict):\n{fields}\n"
    handlers = (
        "from gati_runtime_min import GlobalContext, LocalContext, Request, Response, handler\n"
        "from app.models import T\n\n"
        '@handler("POST", "/x")\n'
        "def h(req: Request[T], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None: ...\n"
    )
    parsed: list[int] = []
    real = libcst.parse_module

    def counting(source: Any, *args: Any, **kwargs: Any) -> libcst.Module:
        parsed.append(len(source))
        return real(source, *args, **kwargs)

    monkeypatch.setattr(libcst, "parse_module", counting)
    result = project({"app/__init__.py": "", "app/models.py": models, "app/handlers.py": handlers})
    located = [(d.code, d.span.line, d.span.col) for d in result.diagnostics]
    assert located == [("GATI201", 4 + i, 8 + len(str(i))) for i in range(40)]
    # three files read once each, plus one parse with positions of the one file with diagnostics
    assert len(parsed) == 4
