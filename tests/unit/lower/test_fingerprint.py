"""lower: a handler's fingerprint hashes its wire contract, and only that."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gati_compiler.pipeline import BuildResult

Project = Callable[..., BuildResult]

BASE_MODELS = '''\
from typing import NotRequired, TypedDict

class Address(TypedDict):
    """Where."""
    city: str
    zip: str

class User(TypedDict):
    """A user."""
    name: str
    "The name."
    age: int
    address: Address
'''

HANDLERS = '''\
from gati_runtime_min import GlobalContext, LocalContext, Request, Response, handler
from app.models import User

@handler("POST", "/users/{id:int}")
def update_user(req: Request[User], res: Response[User], lctx: LocalContext, gctx: GlobalContext) -> None:
    """Update a user."""
'''


def fingerprint(project: Project, models: str = BASE_MODELS, handlers: str = HANDLERS) -> str:
    result = project({"app/__init__.py": "", "app/models.py": models, "app/handlers.py": handlers})
    assert result.program is not None, [(d.code, d.message) for d in result.diagnostics]
    [h] = result.program.handlers
    assert h.fingerprint.startswith("sha256:")
    return h.fingerprint


def test_fingerprint_is_stable_across_rebuilds(project: Project) -> None:
    assert fingerprint(project) == fingerprint(project)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('"""A user."""', '"""A person, documented differently."""'),
        ('    "The name."\n', ""),
        ('    "The name."\n', '    "The full name."\n'),
        ('    name: str\n    "The name."\n    age: int\n', '    age: int\n    name: str\n    "The name."\n'),
        ("    city: str\n    zip: str\n", "    zip: str\n    city: str\n"),
        ('"""Where."""', ""),
    ],
    ids=["class-doc", "drop-field-doc", "edit-field-doc", "reorder", "reorder-nested", "nested-doc"],
)
def test_fingerprint_ignores_documentation_order_and_names(project: Project, old: str, new: str) -> None:
    models = BASE_MODELS.replace(old, new)
    assert models != BASE_MODELS
    assert fingerprint(project, models) == fingerprint(project)


def test_fingerprint_ignores_handler_docstring_and_function_name(project: Project) -> None:
    handlers = (
        HANDLERS.replace('"""Update a user."""', '"""Changed."""')
        .replace("def update_user", "def renamed")
        .replace('"/users/{id:int}")', '"/users/{id:int}", id="update_user")')
    )
    assert fingerprint(project, handlers=handlers) == fingerprint(project)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("    age: int\n", "    age: str\n"),
        ("    age: int\n", "    age: int\n    email: str\n"),
        ("    age: int\n", "    age: NotRequired[int]\n"),
        ("    zip: str\n", "    zip: int\n"),
        ("    zip: str\n", ""),
    ],
    ids=["field-type", "new-required-field", "required-to-optional", "nested-field-type", "removed-nested-field"],
)
def test_fingerprint_changes_with_the_contract(project: Project, old: str, new: str) -> None:
    assert fingerprint(project, BASE_MODELS.replace(old, new)) != fingerprint(project)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('"POST"', '"PUT"'),
        ("{id:int}", "{id:uuid}"),
        ("Response[User]", "Response[list[User]]"),
        ("Request[User]", "Request[User, None, None]"),
    ],
)
def test_fingerprint_follows_method_path_and_parts(project: Project, old: str, new: str) -> None:
    changed = fingerprint(project, handlers=HANDLERS.replace(old, new))
    if new == "Request[User, None, None]":
        assert changed == fingerprint(project)
    else:
        assert changed != fingerprint(project)
