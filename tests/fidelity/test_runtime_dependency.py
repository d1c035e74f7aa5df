"""`EmailStr` says at build time that the server needs `email-validator` (issue 11, item 7)."""

from __future__ import annotations

from typing import Any

import pytest

from gati_compiler.stages import lower_types

MODELS = "from pydantic import BaseModel, EmailStr\nclass M(BaseModel):\n    email: EmailStr\n"
HANDLERS = (
    "from gati_runtime_min import GlobalContext, LocalContext, Request, Response, handler\n"
    "from app.models import M\n"
    '@handler("POST", "/x")\n'
    "def h(req: Request[M], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None: ...\n"
)


def test_email_str_without_email_validator_is_a_build_warning(project: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lower_types, "package_installed", lambda name: False)
    result = project({"app/__init__.py": "", "app/models.py": MODELS, "app/handlers.py": HANDLERS})
    assert [(d.code, d.severity.value, d.span.line) for d in result.diagnostics] == [("GATI120", "warning", 3)]
    assert "email-validator" in result.diagnostics[0].message
    assert result.ok  # a warning: the build still writes its artifacts


def test_email_str_with_email_validator_installed_builds_clean(project: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lower_types, "package_installed", lambda name: name == "email_validator")
    result = project({"app/__init__.py": "", "app/models.py": MODELS, "app/handlers.py": HANDLERS})
    assert result.diagnostics == []
