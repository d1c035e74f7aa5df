"""Build a small project from source, load what gati generated for it next to the source module
itself, and compare verdicts with pydantic strict JSON on the same documents.

The test process imports the user's module (the compiler never does) so pydantic can judge.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
from pydantic import TypeAdapter, ValidationError

from gati_compiler.ir.gtype import RefType
from gati_compiler.ir.jsonschema import gtypes_json_schema
from gati_compiler.pipeline import BuildResult, build

_serial = count()


@dataclass
class Built:
    result: BuildResult
    validators: ModuleType
    models: ModuleType
    root: Path

    def ref(self, name: str) -> str:
        """The GType ref of the class `name` of the models module."""
        assert self.result.program is not None
        for ref, g in self.result.program.gtypes.items():
            origin = getattr(g, "origin", None)
            if origin is not None and origin.qualname == name:
                return ref
        raise AssertionError(f"no GType for {name}")

    def ours(self, name: str, doc: Any) -> tuple[bool, Any]:
        value = json.loads(json.dumps(doc))
        try:
            return True, self.validators.decode(self.ref(name), value)
        except self.validators.DecodeError as exc:
            return False, exc.issues

    def schema_ok(self, name: str, doc: Any) -> bool:
        """The verdict of the emitted JSON Schema (format assertions on, as schemathesis checks)."""
        assert self.result.program is not None
        schema = gtypes_json_schema(self.result.program.gtypes, RefType(ref=self.ref(name)))
        validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
        return bool(validator.is_valid(doc))

    def theirs(self, name: str, doc: Any) -> tuple[bool, Any]:
        adapter: TypeAdapter[Any] = TypeAdapter(getattr(self.models, name))
        try:
            return True, adapter.validate_json(json.dumps(doc), strict=True)
        except ValidationError as exc:
            return False, exc.errors()


def handlers_source(names: list[str], package: str) -> str:
    lines = [
        "from gati_runtime_min import GlobalContext, LocalContext, Request, Response, handler",
        f"from {package}.models import {', '.join(names)}",
        "",
    ]
    for i, name in enumerate(names):
        lines += [
            f'@handler("POST", "/t{i}")',
            f"def h{i}(req: Request[{name}], res: Response[{name}], lctx: LocalContext, gctx: GlobalContext)"
            " -> None: ...",
            "",
        ]
    return "\n".join(lines)


@contextmanager
def built(tmp_path: Path, models: str, names: list[str]) -> Iterator[Built]:
    """Build `models` (as `<pkg>/models.py`) with a handler taking and answering each of `names`."""
    package = f"fidelity_app_{next(_serial)}"
    root = tmp_path / package
    (root / package).mkdir(parents=True)
    (root / "pyproject.toml").write_text(f'[tool.gati]\nname = "{package}"\n', encoding="utf-8")
    (root / package / "__init__.py").write_text("", encoding="utf-8")
    (root / package / "models.py").write_text(textwrap.dedent(models), encoding="utf-8")
    (root / package / "handlers.py").write_text(handlers_source(names, package), encoding="utf-8")
    result = build(root, write=True, jobs=1)
    assert result.ok, [(d.code, d.span.line, d.message) for d in result.diagnostics]
    sys.path.insert(0, str(root))
    spec = importlib.util.spec_from_file_location(
        f"{package}_validators",
        root / ".gati" / "validators" / "__init__.py",
        submodule_search_locations=[str(root / ".gati" / "validators")],
    )
    assert spec is not None and spec.loader is not None
    validators = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = validators
    try:
        spec.loader.exec_module(validators)
        yield Built(result, validators, importlib.import_module(f"{package}.models"), root)
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m.startswith(package)]:
            del sys.modules[name]
