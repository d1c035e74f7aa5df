"""lower: constructs real type libraries use, honoured exactly or refused with a diagnostic (issue 11).

Each test failed before its fix: the construct was refused (GATI110/GATI205) or silently not honoured.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gati_compiler.ir.canonical import dump_gtype
from gati_compiler.ir.models import Program
from gati_compiler.pipeline import BuildResult

Project = Callable[..., BuildResult]

STR: dict[str, Any] = {"kind": "primitive", "type": "string"}
INT: dict[str, Any] = {"kind": "primitive", "type": "integer"}
NUM: dict[str, Any] = {"kind": "primitive", "type": "number"}
BOOL: dict[str, Any] = {"kind": "primitive", "type": "boolean"}


def handlers_for(body: str) -> str:
    return (
        "from gati_runtime_min import GlobalContext, LocalContext, Request, Response, handler\n"
        "from app.models import *\n\n"
        '@handler("POST", "/x")\n'
        f"def h(req: Request[{body}], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None: ...\n"
    )


def build(project: Project, models: str, body: str) -> BuildResult:
    return project({"app/__init__.py": "", "app/models.py": models, "app/handlers.py": handlers_for(body)})


def clean(result: BuildResult) -> Program:
    assert result.diagnostics == [], [(d.code, d.span.line, d.message) for d in result.diagnostics]
    assert result.program is not None
    return result.program


def props(program: Program, ref: str) -> dict[str, dict[str, Any]]:
    dumped: Any = dump_gtype(program.gtypes[ref])
    return {p["name"]: p for p in dumped["properties"]}


# -- item 9: constructs of generated SDK type libraries -------------------------------------------


def test_project_class_as_annotated_metadata_is_ignored_like_pydantic(project: Project) -> None:
    models = """
from typing import Annotated, TypedDict, Union, Literal

class PropertyInfo:
    def __init__(self, *, alias: str | None = None, discriminator: str | None = None) -> None: ...

class Cat(TypedDict):
    type: Literal["cat"]

class Dog(TypedDict):
    type: Literal["dog"]

class T(TypedDict):
    pet: Annotated[Union[Cat, Dog], PropertyInfo(discriminator="type")]
    n: Annotated[int, PropertyInfo]
"""
    program = clean(build(project, models, "T"))
    assert props(program, "T")["n"]["type"] == INT
    assert props(program, "T")["pet"]["type"]["kind"] == "union"


def test_project_metadata_with_a_pydantic_hook_is_reported(project: Project) -> None:
    models = """
from typing import Annotated, Any, TypedDict

class Upper:
    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any: ...

class T(TypedDict):
    s: Annotated[str, Upper()]
"""
    result = build(project, models, "T")
    assert [(d.code, d.span.line) for d in result.diagnostics] == [("GATI110", 9)]
    assert "__get_pydantic_core_schema__" in result.diagnostics[0].message


def test_bare_generic_alias_then_subscripted(project: Project) -> None:
    models = """
from typing import Sequence, TypedDict, Dict
SequenceNotStr = Sequence
Table = Dict

class T(TypedDict):
    tags: SequenceNotStr[str]
    counts: Table[str, int]
"""
    program = clean(build(project, models, "T"))
    found = props(program, "T")
    assert found["tags"]["type"] == {"kind": "array", "items": STR, "container": "sequence", "uniqueItems": False}
    assert found["counts"]["type"] == {"kind": "map", "keys": STR, "values": INT}


def test_functional_typeddict_with_keyword_keys_also_as_base(project: Project) -> None:
    models = """
from typing import TypedDict
from typing_extensions import Required

_Params = TypedDict("_Params", {"async": bool, "from": "str"}, total=False)

class Params(_Params):
    name: Required[str]
"""
    program = clean(build(project, models, "Params"))
    found = props(program, "Params")
    assert list(found) == ["async", "from", "name"]
    assert (found["async"]["type"], found["async"]["required"]) == (BOOL, False)
    assert (found["from"]["type"], found["from"]["required"]) == (STR, False)
    assert found["name"]["required"] is True


def test_functional_call_of_something_else_named_typeddict_is_not_trusted(project: Project) -> None:
    models = """
from mylib import TypedDict
X = TypedDict("X", {"a": int})
"""
    result = build(project, models, "X")
    assert [d.code for d in result.diagnostics] == ["GATI110"]


def test_pydantic_strict_and_constrained_scalars(project: Project) -> None:
    models = """
from typing import TypedDict
from pydantic import StrictStr, StrictInt, StrictBool, StrictFloat, PositiveInt, NonNegativeFloat
from pydantic.types import StrictStr as S2

class T(TypedDict):
    a: StrictStr
    b: StrictInt
    c: StrictBool
    d: StrictFloat
    e: PositiveInt
    f: NonNegativeFloat
    g: S2
"""
    found = props(clean(build(project, models, "T")), "T")
    assert [found[k]["type"] for k in "abcdefg"] == [
        STR,
        INT,
        BOOL,
        NUM,
        {**INT, "exclusiveMinimum": 0},
        {**NUM, "minimum": 0},
        STR,
    ]


def test_the_run_time_branch_of_type_checking_wins_as_pydantic_sees_it(project: Project) -> None:
    models = """
from typing import TYPE_CHECKING, Protocol, Sequence, TypeVar, TypedDict

_T = TypeVar("_T")

if TYPE_CHECKING:
    class SequenceNotStr(Protocol[_T]):
        def __len__(self) -> int: ...
else:
    SequenceNotStr = Sequence

class T(TypedDict):
    tags: SequenceNotStr[str]
"""
    found = props(clean(build(project, models, "T")), "T")
    assert found["tags"]["type"] == {"kind": "array", "items": STR, "container": "sequence", "uniqueItems": False}


VERSIONED_BASE = """
from typing import TYPE_CHECKING, ClassVar, Optional
import pydantic
from pydantic import ConfigDict

PYDANTIC_V1 = pydantic.VERSION.startswith("1.")
FLAG = True


class Base(pydantic.BaseModel):
    if PYDANTIC_V1:
        class Config(pydantic.BaseConfig):
            extra = pydantic.Extra.forbid
    else:
        model_config: ClassVar[ConfigDict] = ConfigDict(extra="allow")

    if TYPE_CHECKING:
        checker_only: Optional[str] = None


class Item(Base):
    name: str
    if not PYDANTIC_V1:
        qty: int = 0
    if FLAG:
        colour: str = ""
    else:
        colour: int = 0  # an unknown condition: both branches read, the later one wins
"""


def test_class_body_ifs_are_read_as_pydantic_2_runs_them(project: Project) -> None:
    """SDK generators switch on the pydantic version inside class bodies (`if PYDANTIC_V1: ...
    else: model_config = ...`); the run-time pydantic 2 branch decides, and a `TYPE_CHECKING`
    block is not seen by pydantic at all (it was all ignored: `extra` fell back to `ignore`)."""
    program = clean(build(project, VERSIONED_BASE, "Item"))
    item: Any = dump_gtype(program.gtypes["Item"])
    assert item["extra"] == "allow"
    names = [p["name"] for p in item["properties"]]
    assert "checker_only" not in names
    assert names.count("colour") == 1 and "qty" in names
    assert props(program, "Item")["colour"]["type"] == INT


COMPAT = """
from typing import TYPE_CHECKING
import pydantic

PYDANTIC_V1 = pydantic.VERSION.startswith("1.")

if TYPE_CHECKING:
    from pydantic import ConfigDict as ConfigDict
else:
    if PYDANTIC_V1:
        ConfigDict = None
    else:
        from pydantic import ConfigDict as ConfigDict
"""

COMPAT_MODELS = """
from typing import ClassVar
import pydantic
from app._compat import ConfigDict, PYDANTIC_V1


class Base(pydantic.BaseModel):
    if PYDANTIC_V1:
        pass
    else:
        model_config: ClassVar[ConfigDict] = ConfigDict(extra="allow")


class Item(Base):
    name: str
"""


def test_a_module_level_pydantic_version_switch_takes_the_pydantic_2_branch(project: Project) -> None:
    """`ConfigDict` re-exported through a version switch (`ConfigDict = None` under pydantic 1):
    reading both branches let the `None` win, and `model_config` was refused (GATI110)."""
    result = project(
        {
            "app/__init__.py": "",
            "app/_compat.py": COMPAT,
            "app/models.py": COMPAT_MODELS,
            "app/handlers.py": handlers_for("Item"),
        }
    )
    program = clean(result)
    item: Any = dump_gtype(program.gtypes["Item"])
    assert item["extra"] == "allow"


def test_field_info_written_directly_is_a_field_like_field(project: Project) -> None:
    """`async_: bool = FieldInfo(alias="async")` (SDK generators write pydantic's `FieldInfo`
    directly, for keys that are Python keywords): an alias and no default, as pydantic reads it.
    It was taken for a default value, so `async` was not read at all."""
    models = """
from pydantic import BaseModel
from pydantic.fields import FieldInfo

class Compaction(BaseModel):
    async_: bool = FieldInfo(alias="async")
    note: str = FieldInfo(default="", description="a note")
"""
    program = clean(build(project, models, "Compaction"))
    found = props(program, "Compaction")
    assert set(found) == {"async", "note"}
    assert found["async"]["required"] is True and found["async"]["pyName"] == "async_"
    assert found["note"]["required"] is False and found["note"]["default"] == ""
