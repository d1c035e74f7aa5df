"""pydantic validators, serializers and computed fields are refused with a hint, never dropped
(issue 11, item 2; the supported surface is docs/pydantic.md)."""

from __future__ import annotations

from typing import Any

import pytest

HANDLERS = (
    "from gati_runtime_min import GlobalContext, LocalContext, Request, Response, handler\n"
    "from app.models import M\n"
    '@handler("POST", "/x")\n'
    "def h(req: Request[M], res: Response[M], lctx: LocalContext, gctx: GlobalContext) -> None: ...\n"
)


@pytest.mark.parametrize(
    ("decorator", "line"),
    [
        ('field_validator("coupon")\n    @classmethod', 5),
        ('model_validator(mode="after")', 5),
        ("computed_field\n    @property", 5),
        ('field_serializer("coupon")', 5),
        ("pydantic.field_validator('coupon')\n    @classmethod", 5),
    ],
)
def test_a_pydantic_hook_on_a_model_is_a_diagnostic(project: Any, decorator: str, line: int) -> None:
    models = (
        "import pydantic\nfrom pydantic import BaseModel, computed_field, field_serializer, field_validator, "
        "model_validator\nclass M(BaseModel):\n    coupon: str\n"
        f"    @{decorator}\n    def upper(cls, v: str) -> str:\n        return v.upper()\n"
    )
    result = project({"app/__init__.py": "", "app/models.py": models, "app/handlers.py": HANDLERS})
    assert [(d.code, d.span.line) for d in result.diagnostics] == [("GATI110", line)]
    assert "M.upper" in result.diagnostics[0].message
    assert result.diagnostics[0].help is not None and "docs/pydantic.md" in result.diagnostics[0].help


def test_a_pydantic_dataclass_validator_is_a_diagnostic(project: Any) -> None:
    models = (
        "from pydantic import field_validator\nfrom pydantic.dataclasses import dataclass\n"
        "@dataclass\nclass M:\n    coupon: str\n"
        "    @field_validator('coupon')\n    @classmethod\n    def upper(cls, v: str) -> str:\n        return v\n"
    )
    result = project({"app/__init__.py": "", "app/models.py": models, "app/handlers.py": HANDLERS})
    assert [(d.code, d.span.line) for d in result.diagnostics] == [("GATI110", 6)]


def test_plain_methods_and_properties_are_fine(project: Any) -> None:
    models = (
        "from functools import cached_property\nfrom pydantic import BaseModel\nclass M(BaseModel):\n"
        "    coupon: str\n    @property\n    def shout(self) -> str:\n        return self.coupon.upper()\n"
        "    @classmethod\n    def make(cls) -> 'M':\n        return cls(coupon='x')\n"
    )
    result = project({"app/__init__.py": "", "app/models.py": models, "app/handlers.py": HANDLERS})
    assert result.diagnostics == []
