"""`model_config` is honoured or refused, never ignored (issue 11, item 8; alias generators: item 2)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fidelity.built import built

MODELS = """
from typing import ClassVar
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

class Forbid(BaseModel):
    model_config = ConfigDict(extra="forbid")
    x: int

class ForbidClassVar(BaseModel):
    model_config: ClassVar[ConfigDict] = ConfigDict(extra="forbid")
    x: int

class ForbidDict(BaseModel):
    model_config = {"extra": "forbid"}
    x: int

class ForbidChild(Forbid):
    y: int = 0

class Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, extra="forbid")
    first_name: str
    last_seen_at: int | None = None

class CamelChild(Camel):
    zip_code: str = ""

class Allow(BaseModel):
    model_config = ConfigDict(extra="allow")
    x: int
    note: str = ""

class SdkBase(BaseModel):
    # an SDK base model whose `model_construct` drops values given by field name (as openai's does)
    model_config = ConfigDict(extra="allow")

    @classmethod
    def model_construct(cls, _fields_set=None, **values):  # type: ignore[no-untyped-def]
        return super().model_construct(_fields_set, **{k: v for k, v in values.items() if not k.endswith("_")})

class Compaction(SdkBase):
    async_: bool = Field(alias="async")
    label: str = ""

from pydantic import with_config
from typing_extensions import TypedDict

@with_config(ConfigDict(extra="forbid"))
class ForbidTyped(TypedDict):
    a: int

class ForbidTypedChild(ForbidTyped):
    b: int

@with_config(ConfigDict(extra="allow"))
class AllowTyped(TypedDict):
    a: int

@with_config(extra="forbid")
class ForbidKeywords(TypedDict):
    first_name: str
"""

TYPED_DOCS: list[tuple[str, Any]] = [
    ("ForbidTyped", {"a": 1}),
    ("ForbidTyped", {"a": 1, "b": 2}),
    ("ForbidTypedChild", {"a": 1, "b": 2, "c": 3}),
    ("AllowTyped", {"a": 1, "b": [2, {"c": None}]}),
    ("ForbidKeywords", {"first_name": "x"}),
    ("ForbidKeywords", {"first_name": "x", "firstName": "y"}),
]

DOCS: list[tuple[str, Any]] = [
    ("Forbid", {"x": 1}),
    ("Forbid", {"x": 1, "y": 2}),
    ("ForbidClassVar", {"x": 1, "y": 2}),
    ("ForbidDict", {"x": 1, "y": 2}),
    ("ForbidChild", {"x": 1, "y": 2}),
    ("ForbidChild", {"x": 1, "z": 2}),
    ("Camel", {"firstName": "a"}),
    ("Camel", {"firstName": "a", "lastSeenAt": 3}),
    ("Camel", {"first_name": "a"}),
    ("Camel", {"firstName": "a", "last_seen_at": 3}),
    ("CamelChild", {"firstName": "a", "zipCode": "x"}),
    ("CamelChild", {"firstName": "a", "zip_code": "x"}),
    ("Allow", {"x": 1}),
    ("Allow", {"x": 1, "y": [2, {"z": None}]}),
    ("Allow", {"x": 1, "note": "n", "y": 2}),
    ("Compaction", {"async": True}),
    ("Compaction", {"async": False, "label": "l", "other": 1}),
]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    names = sorted({name for name, _ in DOCS + TYPED_DOCS})
    with built(tmp_path_factory.mktemp("cfg"), MODELS, names) as b:
        yield b


@pytest.mark.parametrize(("name", "doc"), DOCS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(DOCS)])
def test_config_dict_decoders_agree_with_pydantic_strict(app: Any, name: str, doc: Any) -> None:
    ours_ok, ours = app.ours(name, doc)
    theirs_ok, theirs = app.theirs(name, doc)
    assert ours_ok == theirs_ok, (ours, theirs)
    if ours_ok:
        assert ours == theirs
        # what counts as set decides what `model_dump(exclude_unset=True)` keeps (kept extras too)
        assert ours.model_fields_set == theirs.model_fields_set
        assert ours.model_dump(exclude_unset=True) == theirs.model_dump(exclude_unset=True)


@pytest.mark.parametrize(("name", "doc"), TYPED_DOCS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(TYPED_DOCS)])
def test_with_config_on_a_typeddict_agrees_with_pydantic_strict(app: Any, name: str, doc: Any) -> None:
    ours_ok, ours = app.ours(name, doc)
    theirs_ok, theirs = app.theirs(name, doc)
    assert ours_ok == theirs_ok, (ours, theirs)
    if ours_ok:
        assert ours == theirs
    assert app.schema_ok(name, doc) == ours_ok


def test_forbid_is_in_the_gtype_and_the_schema(app: Any) -> None:
    program = app.result.program
    for name in ("Forbid", "ForbidClassVar", "ForbidDict", "ForbidChild"):
        assert program.gtypes[app.ref(name)].extra == "forbid", name


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ("ConfigDict(str_strip_whitespace=True)", "str_strip_whitespace"),
        ("ConfigDict(populate_by_name=True)", "populate_by_name"),
        ("ConfigDict(alias_generator=lambda s: s.upper())", "alias_generator"),
        ("ConfigDict(use_enum_values=True)", "use_enum_values"),
        ("ConfigDict(val_json_bytes='base64')", "val_json_bytes"),
        ("ConfigDict(some_future_key=1)", "some_future_key"),
    ],
)
def test_config_keys_gati_cannot_honour_are_diagnostics(project: Any, config: str, key: str) -> None:
    models = (
        f"from pydantic import BaseModel, ConfigDict\nclass M(BaseModel):\n    model_config = {config}\n    x: int\n"
    )
    handlers = (
        "from gati_runtime_min import GlobalContext, LocalContext, Request, Response, handler\n"
        "from app.models import M\n"
        '@handler("POST", "/x")\n'
        "def h(req: Request[M], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None: ...\n"
    )
    result = project({"app/__init__.py": "", "app/models.py": models, "app/handlers.py": handlers})
    assert [(d.code, d.span.line) for d in result.diagnostics] == [("GATI110", 3)]
    assert f"ConfigDict({key}=...)" in result.diagnostics[0].message


def test_inert_config_keys_build_clean(project: Any) -> None:
    models = (
        "from pydantic import BaseModel, ConfigDict\n"
        "class M(BaseModel):\n"
        "    model_config = ConfigDict(frozen=True, title='M', strict=True, populate_by_name=False)\n"
        "    x: int\n"
    )
    handlers = (
        "from gati_runtime_min import GlobalContext, LocalContext, Request, Response, handler\n"
        "from app.models import M\n"
        '@handler("POST", "/x")\n'
        "def h(req: Request[M], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None: ...\n"
    )
    result = project({"app/__init__.py": "", "app/models.py": models, "app/handlers.py": handlers})
    assert result.diagnostics == []


@pytest.mark.parametrize(
    ("decorator", "message"),
    [
        ('@with_config({"extra": "forbid"})', "`@with_config(...)` must be a `ConfigDict(...)` call gati can read"),
        ("@with_config(ConfigDict(alias_generator=to_camel))", "`@with_config(alias_generator=...)` on `T`"),
        ("@with_config(ConfigDict(str_to_lower=True))", "ConfigDict(str_to_lower=...)"),
    ],
)
def test_with_config_gati_cannot_honour_is_a_diagnostic(project: Any, decorator: str, message: str) -> None:
    models = (
        "from pydantic import ConfigDict, with_config\nfrom pydantic.alias_generators import to_camel\n"
        f"from typing_extensions import TypedDict\n{decorator}\nclass T(TypedDict):\n    first_name: str\n"
    )
    handlers = (
        "from gati_runtime_min import GlobalContext, LocalContext, Request, Response, handler\n"
        "from app.models import T\n"
        '@handler("POST", "/x")\n'
        "def h(req: Request[T], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None: ...\n"
    )
    result = project({"app/__init__.py": "", "app/models.py": models, "app/handlers.py": handlers})
    assert [d.code for d in result.diagnostics] == ["GATI110"], result.diagnostics
    assert message in result.diagnostics[0].message
