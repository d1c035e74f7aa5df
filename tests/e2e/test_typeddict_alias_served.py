"""A TypedDict field with an alias, through `gatic build` and `gatic serve`: the handler reads the
body by the field names its TypedDict declares, the client sends and receives the aliases."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
from test_scaleout import gatic_serve  # type: ignore[import-not-found, unused-ignore]

GATIC = str(Path(sys.executable).parent / "gatic")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

PYPROJECT = """
[project]
name = "people"
version = "0.1.0"
requires-python = ">=3.11"

[tool.gati]
name = "people"
sources = ["."]
"""

HANDLERS = """
from __future__ import annotations

from typing import Annotated

from pydantic import Field
from typing_extensions import NotRequired, TypedDict

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, post


class Person(TypedDict):
    first_name: Annotated[str, Field(alias="firstName")]
    last_seen: NotRequired[Annotated[int, Field(alias="lastSeen")]]


class Greeting(TypedDict):
    text: str
    person: Person


@post("/greet")
async def greet(req: Request[Person], res: Response[Greeting], lctx: LocalContext, gctx: GlobalContext) -> None:
    person = req.body
    again: Person = {"first_name": person["first_name"], "last_seen": person.get("last_seen", 0) + 1}
    res.json({"text": "hello " + person["first_name"], "person": again})
"""


def test_a_served_handler_reads_field_names_and_the_client_sees_aliases(tmp_path: Path) -> None:
    app = tmp_path / "people"
    (app / "people").mkdir(parents=True)
    (app / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT).lstrip(), encoding="utf-8")
    (app / "people" / "__init__.py").write_text("", encoding="utf-8")
    (app / "people" / "handlers.py").write_text(textwrap.dedent(HANDLERS).lstrip(), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATI_")}
    built = subprocess.run([GATIC, "build", str(app)], env=env, capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stdout + built.stderr
    with gatic_serve(app, 1, env) as base:
        ok = httpx.post(f"{base}/greet", json={"firstName": "Ada", "lastSeen": 4}, timeout=30)
        assert ok.status_code == 200, ok.text
        assert ok.json() == {"text": "hello Ada", "person": {"firstName": "Ada", "lastSeen": 5}}
        bad = httpx.post(f"{base}/greet", json={"first_name": "Ada"}, timeout=30)
        assert bad.status_code == 422, bad.text
        assert "$.body.firstName" in bad.text
