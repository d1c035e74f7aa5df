"""A mypy plugin that types module calls: `gctx.modules["pricing"]` and `gctx.modules.pricing`
are the declared `@module` class, so mypy checks every argument and result; an id no module
declares is an error (`[gati-module]`).

Enable it in the mypy configuration of the app (`plugins = ["gati_compiler.mypy_plugin"]`). The
ids come from the build: `<out>/manifest.json` and `<out>/modules/<id>.json` (`out` from
`[tool.gati]` or `gati.toml`, default `.gati`), found from the folder of the mypy configuration
file (else the working directory); `GATI_BUILD_DIR` names the build folder directly. Each file
that imports `gati_runtime_min` depends on the modules that declare the module classes, so they
are part of the mypy run. Without a build the plugin falls back to the `@module` classes mypy
has analysed so far and reports no unknown id (run `gatic build` first).

The plugin imports only mypy and the standard library.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

from mypy.checker import TypeChecker
from mypy.errorcodes import ErrorCode
from mypy.nodes import CallExpr, Import, ImportAll, ImportFrom, MypyFile, StrExpr, TypeInfo
from mypy.options import Options
from mypy.plugin import AttributeContext, ClassDefContext, MethodContext, Plugin, ReportConfigContext
from mypy.typeops import try_getting_str_literals
from mypy.types import AnyType, Instance, Type, TypeOfAny

MODULES_CLASS: Final = "gati_runtime_min.context.Modules"
MODULE_DECORATOR: Final = "gati_runtime_min.authoring.module"
RUNTIME: Final = "gati_runtime_min"
GATI_MODULE: Final = ErrorCode("gati-module", "A Gati module id that no @module class declares", "Gati")


def _config_root(options: Options) -> Path:
    return Path(options.config_file).resolve().parent if options.config_file else Path.cwd()


def _out_dir(root: Path) -> str:
    """`out` of the app's gati settings (`gati.toml` or `[tool.gati]`), default `.gati`."""
    for name, table in (("gati.toml", ()), ("pyproject.toml", ("tool", "gati"))):
        try:
            data: Any = tomllib.loads((root / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for key in table:
            data = data.get(key) if isinstance(data, dict) else None
        if isinstance(data, dict) and isinstance(data.get("out"), str):
            return str(data["out"])
    return ".gati"


def read_module_classes(build_dir: Path) -> dict[str, str] | None:
    """Module id -> the declaring class's full name, from a build's manifests; None without a build."""
    try:
        index = json.loads((build_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    out: dict[str, str] = {}
    for entry in index.get("modules") or ():
        try:
            manifest = json.loads((build_dir / entry["file"]).read_text(encoding="utf-8"))
            out[str(manifest["moduleId"])] = f"{manifest['module']}.{manifest['className']}"
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return dict(sorted(out.items()))


def _imports_runtime(file: MypyFile) -> bool:
    for imp in file.imports:
        if isinstance(imp, Import):
            if any(name == RUNTIME or name.startswith(RUNTIME + ".") for name, _ in imp.ids):
                return True
        elif isinstance(imp, ImportFrom | ImportAll) and (imp.id == RUNTIME or imp.id.startswith(RUNTIME + ".")):
            return True
    return False


class GatiPlugin(Plugin):
    def __init__(self, options: Options) -> None:
        super().__init__(options)
        env = os.environ.get("GATI_BUILD_DIR")
        root = _config_root(options)
        build_dir = Path(env) if env else root / _out_dir(root)
        self.build_dir = build_dir
        self.declared = read_module_classes(build_dir)  # None: no build to trust
        self.discovered: dict[str, str] = {}  # `@module` classes mypy analysed in this run

    # -- the build -------------------------------------------------------------------------

    def report_config_data(self, ctx: ReportConfigContext) -> Any:
        # a module checked against other manifests is checked again
        return self.declared

    def get_additional_deps(self, file: MypyFile) -> list[tuple[int, str, int]]:
        if not self.declared or not _imports_runtime(file):
            return []
        modules = sorted({cls.rsplit(".", 1)[0] for cls in self.declared.values()} - {file.fullname})
        return [(10, module, -1) for module in modules]

    def get_class_decorator_hook_2(self, fullname: str) -> Callable[[ClassDefContext], bool] | None:
        return self._discover if fullname == MODULE_DECORATOR else None

    def _discover(self, ctx: ClassDefContext) -> bool:
        call = ctx.reason
        if isinstance(call, CallExpr):
            given = [a for a, name in zip(call.args, call.arg_names, strict=True) if name in (None, "id")]
            if given and isinstance(given[0], StrExpr):
                self.discovered.setdefault(given[0].value, ctx.cls.info.fullname)
        return True

    # -- the lookups -----------------------------------------------------------------------

    def get_method_hook(self, fullname: str) -> Callable[[MethodContext], Type] | None:
        return self._getitem if fullname == MODULES_CLASS + ".__getitem__" else None

    def get_attribute_hook(self, fullname: str) -> Callable[[AttributeContext], Type] | None:
        owner, _, name = fullname.rpartition(".")
        if owner != MODULES_CLASS or name.startswith("_"):
            return None

        def attribute(ctx: AttributeContext) -> Type:
            return self._module_type(name, ctx.api, ctx.context, ctx.default_attr_type)

        return attribute

    def _getitem(self, ctx: MethodContext) -> Type:
        if not ctx.args or not ctx.args[0]:
            return ctx.default_return_type
        ids = try_getting_str_literals(ctx.args[0][0], ctx.arg_types[0][0])
        if ids is None or len(ids) != 1:
            return ctx.default_return_type  # a computed id: the runtime checks it
        return self._module_type(ids[0], ctx.api, ctx.context, ctx.default_return_type)

    def _module_type(self, module_id: str, api: Any, context: Any, default: Type) -> Type:
        declared: Mapping[str, str] = self.declared or {}
        fullname = declared.get(module_id) or self.discovered.get(module_id)
        if fullname is None:
            if self.declared is not None:
                known = ", ".join(f'"{m}"' for m in sorted(self.declared)) or "none"
                api.fail(
                    f'Gati module "{module_id}" is not declared by any @module class (declared: {known}); '
                    "if you just added it, run `gatic build`",
                    context,
                    code=GATI_MODULE,
                )
                return AnyType(TypeOfAny.from_error)
            return default
        info = self._lookup(api, fullname)
        if info is None:
            api.fail(
                f'Gati module "{module_id}" is declared by `{fullname}`, which is not part of this mypy run',
                context,
                code=GATI_MODULE,
            )
            return AnyType(TypeOfAny.from_error)
        return Instance(info, [AnyType(TypeOfAny.special_form)] * len(info.defn.type_vars))

    @staticmethod
    def _lookup(api: Any, fullname: str) -> TypeInfo | None:
        if not isinstance(api, TypeChecker):
            return None
        module, _, name = fullname.rpartition(".")
        file = api.modules.get(module)
        sym = file.names.get(name) if file is not None else None
        return sym.node if sym is not None and isinstance(sym.node, TypeInfo) else None


def plugin(version: str) -> type[Plugin]:
    """mypy's entry point."""
    return GatiPlugin
