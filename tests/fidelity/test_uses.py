"""The corpus report follows a type's source to the aliases it uses (benchmarks/fidelity/uses.py):
an alias is inlined where it is used, so only the source says a type reaches one."""

from __future__ import annotations

from pathlib import Path

from benchmarks.fidelity.uses import Uses


def test_a_type_reaches_an_alias_defined_in_an_if_block_through_relative_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "sdk"
    (pkg / "types").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "_types.py").write_text(
        "from typing import IO, TYPE_CHECKING, Union\nfrom os import PathLike\n"
        "if TYPE_CHECKING:\n    FileInput = Union[IO[bytes], PathLike[str]]\n"
        "else:\n    FileInput = Union[IO[bytes], PathLike]\n"
        "Plain = str\n"
    )
    (pkg / "types" / "__init__.py").write_text("")
    (pkg / "types" / "source.py").write_text(
        "from typing import Union\nfrom typing_extensions import Required, TypedDict\n"
        "from .._types import FileInput\nfrom .. import _types as t\n"
        "class Source(TypedDict, total=False):\n    data: Required[Union[str, FileInput]]\n"
        "class Other(TypedDict):\n    name: 't.Plain'\n"
    )
    uses = Uses(tmp_path, "sdk")
    assert ("sdk._types", "FileInput") in uses.reached(("sdk.types.source", "Source"))
    assert uses.reached(("sdk.types.source", "Other")) == {("sdk.types.source", "Other"), ("sdk._types", "Plain")}
