"""resolve: what a name written in a module refers to, across the project's modules."""

from __future__ import annotations

import textwrap

import pytest

from gati_compiler.stages.facts import ImportFact
from gati_compiler.stages.parse import SourceFile, parse_source
from gati_compiler.stages.resolve import (
    ClassMember,
    External,
    Missing,
    ProjectDef,
    ProjectModule,
    ResolvedProject,
    absolute_module,
    imported_modules,
    resolve_project,
)


def project_of(files: dict[str, str], extra_known: tuple[str, ...] = ()) -> ResolvedProject:
    facts = []
    for rel, text in files.items():
        parts = rel.removesuffix(".py").split("/")
        is_package = parts[-1] == "__init__"
        module = ".".join(parts[:-1] if is_package else parts)
        facts.append(parse_source(SourceFile(rel, module, is_package, textwrap.dedent(text), "0")))
    return resolve_project(facts, known_modules=[f.module for f in facts] + list(extra_known))


def where(target: object) -> str:
    """A short string for a resolution target."""
    match target:
        case ProjectDef(module=m, name=n):
            return f"def {m}.{n}"
        case ProjectModule(module=m):
            return f"module {m}"
        case External(qualname=q):
            return f"external {q}"
        case ClassMember(owner=o, name=n):
            return f"member {o.key}.{n}"
        case Missing():
            return "missing"
    raise AssertionError(target)


PROJECT = {
    "app/__init__.py": "from .models import User\nfrom .models import Role as PublicRole\n",
    "app/models.py": """
        from enum import Enum
        from typing import TypedDict
        class Role(Enum):
            ADMIN = "admin"
        class User(TypedDict):
            name: str
        """,
    "app/sub/__init__.py": "",
    "app/sub/deep.py": """
        from .. import models
        from ..models import User as U
        from ...app import models as again
        from . import sibling
        class Local: ...
        """,
    "app/sub/sibling.py": "from app.models import *\nfrom typing import *\n",
    "app/handlers.py": """
        import app.models
        import app.sub.deep as deep
        import typing as t
        import collections.abc
        from app import User, PublicRole
        from app.models import User as Person
        from typing import Optional
        from datetime import datetime as DT
        list = "shadowed builtin"
        """,
}


@pytest.mark.parametrize(
    ("module", "name", "expected"),
    [
        # local definitions and builtins
        ("app.models", "User", "def app.models.User"),
        ("app.models", "Role.ADMIN", "member app.models.Role.ADMIN"),
        ("app.models", "str", "external builtins.str"),
        ("app.models", "TypedDict", "external typing.TypedDict"),
        ("app.models", "Nope", "missing"),
        # `import a.b.c` binds `a`, and attribute access walks the modules
        ("app.handlers", "app", "module app"),
        ("app.handlers", "app.models", "module app.models"),
        ("app.handlers", "app.models.User", "def app.models.User"),
        ("app.handlers", "app.models.Role.ADMIN", "member app.models.Role.ADMIN"),
        ("app.handlers", "app.sub.deep.Local", "def app.sub.deep.Local"),
        # `import x as y`
        ("app.handlers", "deep", "module app.sub.deep"),
        ("app.handlers", "deep.Local", "def app.sub.deep.Local"),
        ("app.handlers", "t.Optional", "external typing.Optional"),
        ("app.handlers", "collections.abc.Mapping", "external collections.abc.Mapping"),
        ("app.handlers", "DT", "external datetime.datetime"),
        ("app.handlers", "Optional", "external typing.Optional"),
        # re-exports through `__init__.py`, with and without renaming
        ("app.handlers", "User", "def app.models.User"),
        ("app.handlers", "PublicRole", "def app.models.Role"),
        ("app.handlers", "Person", "def app.models.User"),
        ("app", "User", "def app.models.User"),
        # relative imports
        ("app.sub.deep", "models", "module app.models"),
        ("app.sub.deep", "models.User", "def app.models.User"),
        ("app.sub.deep", "U", "def app.models.User"),
        ("app.sub.deep", "again.Role", "def app.models.Role"),
        ("app.sub.deep", "sibling", "module app.sub.sibling"),
        # star imports, from the project and from outside
        ("app.sub.sibling", "User", "def app.models.User"),
        ("app.sub.sibling", "Role", "def app.models.Role"),
        ("app.sub.sibling", "Enum", "external enum.Enum"),
        ("app.sub.deep", "sibling.User", "def app.models.User"),
        # shadowing: a module-level name hides the builtin
        ("app.handlers", "list", "def app.handlers.list"),
        ("app.models", "list", "external builtins.list"),
        # a module has no such attribute
        ("app.handlers", "app.models.Nope", "missing"),
        ("app.handlers", "app.nope", "missing"),
    ],
)
def test_resolve(module: str, name: str, expected: str) -> None:
    assert where(project_of(PROJECT).resolve(module, name)) == expected


def test_star_import_from_outside_the_project_falls_back_to_external() -> None:
    p = project_of({"m.py": "from typing import *\n"})
    assert where(p.resolve("m", "Optional")) == "external typing.Optional"


def test_a_definition_shadows_an_earlier_import() -> None:
    p = project_of({"a.py": "from typing import List\nclass List: ...\n"})
    assert where(p.resolve("a", "List")) == "def a.List"


@pytest.mark.parametrize(
    "files",
    [
        {"a.py": "from b import X\n", "b.py": "from a import X\n"},
        {"a.py": "from a import X\n"},
        {"a.py": "from b import *\n", "b.py": "from a import *\n"},
        {"a/__init__.py": "from a.b import X\n", "a/b.py": "from a import X\n"},
    ],
)
def test_import_cycles_end_as_missing_without_hanging(files: dict[str, str]) -> None:
    p = project_of(files)
    target = p.resolve("a", "X")
    assert isinstance(target, Missing)


def test_import_of_an_unparsed_project_module_is_not_external() -> None:
    p = project_of({"a.py": "from b import Thing\nimport b\n"}, extra_known=("b",))
    target = p.resolve("a", "Thing")
    assert isinstance(target, Missing) and "not analysed" in target.reason
    assert where(p.resolve("a", "b")) == "module b"


@pytest.mark.parametrize(
    ("current", "is_package", "module", "level", "expected"),
    [
        ("app.sub.deep", False, "models", 2, "app.models"),
        ("app.sub.deep", False, "", 1, "app.sub"),
        ("app.sub", True, "deep", 1, "app.sub.deep"),
        ("app.sub", True, "", 2, "app"),
        ("app", True, "models", 1, "app.models"),
        ("app.x", False, "y", 0, "y"),
    ],
)
def test_absolute_module(current: str, is_package: bool, module: str, level: int, expected: str) -> None:
    assert absolute_module(current, is_package, ImportFact(module, "n", None, level, ())) == expected


def test_imported_modules_lists_project_modules_to_parse_next() -> None:
    facts = parse_source(
        SourceFile(
            "app/handlers.py",
            "app.handlers",
            False,
            "from . import models\nfrom .sub.deep import Local\nimport os\nfrom typing import Any\n",
            "0",
        )
    )
    known = frozenset({"app", "app.models", "app.sub", "app.sub.deep", "app.handlers"})
    assert imported_modules(facts, known) == {"app", "app.models", "app.sub", "app.sub.deep"}
