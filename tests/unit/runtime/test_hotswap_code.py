"""`hotswap_code.ChunkedImporter`: importing a generated module group by group gives the module an
ordinary import gives, compiles only the groups that changed, keeps the file's line numbers, and
falls back to the ordinary import whenever a cut is not a statement boundary."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from types import ModuleType

import pytest

from gati_runtime_min.hotswap_code import ChunkedImporter, split_statements

SOURCE = '''# a generated header
"""The module docstring."""

from __future__ import annotations

import re
from typing import Final

_RE0: Final = re.compile("^a+$")
TABLE: Final = {
    "a": 1,
}


def first(value: int) -> int:
    return value + TABLE["a"]


def _dec(fn):
    return fn


@_dec
def decorated(
    value: str,
) -> bool:
    return _RE0.match(value) is not None


class Box:
    size: int

    def area(self) -> int:
        return self.size * self.size


try:
    import _no_such_module_for_this_test
except ImportError:
    FALLBACK = True
else:
    FALLBACK = False


def fails() -> None:
    raise ValueError("boom")
'''


def _write(tmp_path: Path, text: str) -> Path:
    init = tmp_path / "pkg" / "__init__.py"
    init.parent.mkdir(exist_ok=True)
    init.write_text(text)
    return init


def _load(importer: ChunkedImporter, init: Path) -> ModuleType:
    module = importer.load(init, "_gati_test_chunked_")
    assert module is not None
    sys.modules.pop(module.__name__, None)
    return module


def test_groups_join_back_to_the_source_and_keep_decorators_and_else_with_their_statement() -> None:
    groups = split_statements(SOURCE)
    assert "".join(text for _, text in groups) == SOURCE
    starts = [text.splitlines()[0] for _, text in groups]
    assert "@_dec" in starts and "def decorated(" not in starts
    assert "try:" in starts and "except ImportError:" not in starts and "else:" not in starts
    for line, text in groups:  # each group's first line is its line in the file
        assert SOURCE.splitlines()[line - 1] == text.splitlines()[0]


def test_a_module_imported_group_by_group_behaves_as_one_imported_whole(tmp_path: Path) -> None:
    init = _write(tmp_path, SOURCE)
    module = _load(ChunkedImporter(), init)
    assert module.__doc__ == "The module docstring."
    assert module.first(1) == 2
    assert module.decorated("aaa") and not module.decorated("b")
    assert module.FALLBACK is True
    assert module.first.__annotations__ == {"value": "int", "return": "int"}
    assert module.Box.__module__ == module.__name__
    assert module.__file__ == str(init)


def test_tracebacks_name_the_generated_file_and_line(tmp_path: Path) -> None:
    init = _write(tmp_path, SOURCE)
    module = _load(ChunkedImporter(), init)
    with pytest.raises(ValueError) as caught:
        module.fails()
    frame = traceback.extract_tb(caught.value.__traceback__)[-1]
    assert frame.filename == str(init)
    assert frame.line == 'raise ValueError("boom")'
    assert frame.lineno == SOURCE.splitlines().index('    raise ValueError("boom")') + 1


def test_only_the_changed_groups_are_compiled_again(tmp_path: Path) -> None:
    importer = ChunkedImporter()
    init = _write(tmp_path, SOURCE)
    _load(importer, init)
    assert importer.compiled == len(split_statements(SOURCE))
    edited = SOURCE.replace("return value + TABLE", "return value * 10 + TABLE").replace(
        "class Box:", "def added() -> int:\n    return 7\n\n\nclass Box:"
    )
    _write(tmp_path, edited)
    module = _load(importer, init)
    assert importer.compiled == 2  # `first` and `added`; every other group's code is reused
    assert module.first(1) == 11 and module.added() == 7
    with pytest.raises(ValueError) as caught:  # lines below the insertion moved down
        module.fails()
    assert traceback.extract_tb(caught.value.__traceback__)[-1].line == 'raise ValueError("boom")'


def test_a_group_moved_down_then_up_keeps_its_lines(tmp_path: Path) -> None:
    importer = ChunkedImporter()
    init = _write(tmp_path, SOURCE)
    extra = "def added() -> int:\n    return 7\n\n\n"
    for i, text in enumerate([SOURCE, SOURCE.replace("class Box:", extra + "class Box:")] * 2):
        _write(tmp_path, text)
        line = text.splitlines().index('    raise ValueError("boom")') + 1
        module = _load(importer, init)
        with pytest.raises(ValueError) as caught:
            module.fails()
        frame = traceback.extract_tb(caught.value.__traceback__)[-1]
        assert (frame.lineno, frame.line) == (line, 'raise ValueError("boom")')
        # `added` alone (the importer keeps the groups of the last import only)
        assert importer.compiled == (len(split_statements(SOURCE)) if i == 0 else i % 2)


@pytest.mark.parametrize(
    "text",
    [
        # a column-0 line inside a string: the cut leaves an unterminated string
        'TEXT = """\nfirst line\nsecond = line\n"""\n',
        # a column-0 name inside brackets
        "VALUES = [\n1,\nx,\n]\nx = 1\n",
        # an import of __future__ below another statement: an error only the whole file shows
        "import re\nfrom __future__ import annotations\n",
    ],
)
def test_a_file_the_cuts_do_not_fit_is_left_to_the_ordinary_import(tmp_path: Path, text: str) -> None:
    init = _write(tmp_path, text)
    assert ChunkedImporter().load(init, "_gati_test_chunked_") is None


def test_an_error_while_the_module_runs_propagates_and_leaves_no_module_behind(tmp_path: Path) -> None:
    init = _write(tmp_path, "VALUE = 1\nBROKEN = 1 / 0\n")
    before = set(sys.modules)
    with pytest.raises(ZeroDivisionError):
        ChunkedImporter().load(init, "_gati_test_chunked_")
    assert set(sys.modules) == before
