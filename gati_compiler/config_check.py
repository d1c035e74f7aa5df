"""Reading the configuration files and checking them against the models, with real positions.

`_read_toml` turns a TOML file into data and a `TomlLocator` (line and column of any key or value);
`_Checker` walks the data against `config_models` and reports GATI002-004 at the offending key or
value. Used by `gati_compiler.config.load_config` only.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path, PurePosixPath
from types import NoneType, UnionType
from typing import Annotated, Any, Final, Literal, Union, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt, MinLen
from pydantic import BaseModel

from gati_compiler.config_locate import TomlLocator
from gati_compiler.config_models import (
    _INTERNAL_FIELDS,
    DNS_LABEL,
    DeployConfig,
    DeployOverlay,
    GatiConfig,
    MiddlewareEntry,
    SecretsConfig,
)
from gati_compiler.diagnostics import codes
from gati_compiler.diagnostics.model import DiagnosticSink, Span

# --- reading -----------------------------------------------------------------------------------


@dataclass
class _TomlFile:
    name: str
    text: str
    data: dict[str, Any]
    locator: TomlLocator
    failed: bool = False


_TOML_POS: Final = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def _is_dir(project_dir: Path, rel: str, files: Mapping[str, bytes] | None) -> bool:
    if files is None:
        return (project_dir / rel).is_dir()
    prefix = PurePosixPath(rel).as_posix().strip("/")
    return prefix in ("", ".") or any(k.startswith(prefix + "/") for k in files)


def _read_toml(
    project_dir: Path, name: str, sink: DiagnosticSink, files: Mapping[str, bytes] | None = None
) -> _TomlFile | None:
    path = project_dir / name
    if files is not None:
        raw = files.get(name)
    elif path.is_file():
        raw = None
    else:
        return None
    if files is not None and raw is None:
        return None
    try:
        text = (raw if raw is not None else path.read_bytes()).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        sink.emit(codes.CONFIG_SYNTAX, f"`{name}` cannot be read as UTF-8: {exc}", Span.point(name))
        return _TomlFile(name, "", {}, TomlLocator("", name), failed=True)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        line, col = 1, 1
        match = _TOML_POS.search(message)
        if match:
            line, col = int(match.group(1)), int(match.group(2))
            message = message[: match.start()]
        elif message.endswith("(at end of document)"):
            message = message.removesuffix("(at end of document)").rstrip()
            lines = text.split("\n")
            line, col = len(lines), len(lines[-1]) + 1
        message = message[:1].lower() + message[1:]
        sink.emit(
            codes.CONFIG_SYNTAX,
            f"`{name}` is not valid TOML: {message}",
            Span.point(name, line, col),
            help="see https://toml.io for the syntax",
        )
        return _TomlFile(name, text, {}, TomlLocator(text, name), failed=True)
    return _TomlFile(name, text, data, TomlLocator(text, name))


# --- checking ----------------------------------------------------------------------------------


def _type_name(value: object) -> str:
    if isinstance(value, dict):
        return "table"
    return type(value).__name__


def _show(value: object) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str | int | float) else _type_name(value)


def _strip_optional(tp: Any) -> Any:
    if get_origin(tp) in (Union, UnionType):
        args = [a for a in get_args(tp) if a is not NoneType]
        if len(args) == 1:
            return args[0]
    return tp


def _split_annotated(tp: Any) -> tuple[Any, list[Any]]:
    if get_origin(tp) is Annotated:
        base, *meta = get_args(tp)
        return base, list(meta)
    return tp, []


def _literal_text(values: tuple[Any, ...]) -> str:
    return ", ".join(f"`{v}`" for v in values)


def _describe(tp: Any) -> str:
    tp, _ = _split_annotated(_strip_optional(tp))
    if get_origin(tp) is Literal:
        return f"one of {_literal_text(get_args(tp))}"
    if get_origin(tp) in (tuple, list):
        item, _ = _split_annotated(get_args(tp)[0])
        if get_origin(item) is Literal:
            return f"a list of strings, each one of {_literal_text(get_args(item))}"
        return "a list of " + {str: "strings", int: "integers", float: "numbers"}.get(item, "values")
    if get_origin(tp) is tuple and isinstance(get_args(tp)[0], type) and issubclass(get_args(tp)[0], BaseModel):
        return "an array of tables"
    names = {str: "a string", int: "an integer", float: "a number", bool: "a boolean", date: "a date (`2027-01-31`)"}
    return names.get(tp, "a table")


def _matches(value: object, tp: Any) -> bool:
    if get_origin(tp) is Literal:
        return value in get_args(tp) and type(value) in {type(a) for a in get_args(tp)}
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if tp is str:
        return isinstance(value, str)
    if tp is date:
        return isinstance(value, date) and not isinstance(value, datetime)
    return False


def _constraint_problem(value: object, meta: list[Any]) -> str | None:
    for m in meta:
        if isinstance(m, MinLen) and isinstance(value, str | list) and len(value) < m.min_length:
            return "must not be empty"
        if not isinstance(value, int | float):
            continue
        if isinstance(m, Gt) and isinstance(m.gt, int | float) and not value > m.gt:
            return f"must be greater than {m.gt}"
        if isinstance(m, Ge) and isinstance(m.ge, int | float) and not value >= m.ge:
            return f"must be at least {m.ge}"
        if isinstance(m, Lt) and isinstance(m.lt, int | float) and not value < m.lt:
            return f"must be less than {m.lt}"
        if isinstance(m, Le) and isinstance(m.le, int | float) and not value <= m.le:
            return f"must be at most {m.le}"
    return None


def _dotted(where: tuple[str, ...]) -> str:
    out = ""
    for part in where:
        out += part if part.startswith("[") or not out else f".{part}"
    return out


@dataclass
class _Checker:
    """Walks user data against the pydantic models and reports with real positions."""

    source: _TomlFile | None
    prefix: tuple[str, ...]
    sink: DiagnosticSink
    failed: bool = field(default=False)

    def key_span(self, where: tuple[str, ...]) -> Span:
        if self.source is None:
            return Span.point(".")
        return self.source.locator.key_span(self.prefix + where)

    def value_span(self, where: tuple[str, ...]) -> Span:
        if self.source is None:
            return Span.point(".")
        return self.source.locator.value_span(self.prefix + where)

    def error(self, where: tuple[str, ...], message: str, help: str | None = None) -> None:
        self.failed = True
        self.sink.emit(codes.CONFIG_INVALID, message, self.value_span(where), help=help)

    def error_type(self, where: tuple[str, ...], expected: str, value: object) -> None:
        name = _dotted(where) or "the configuration"
        self.error(where, f"`{name}` must be {expected}, got `{_type_name(value)}`")

    def check_model(self, data: dict[str, Any], model: type[BaseModel], where: tuple[str, ...]) -> None:
        fields = {k: f for k, f in model.model_fields.items() if k not in _INTERNAL_FIELDS}
        for key, value in data.items():
            here = (*where, key)
            info = fields.get(key)
            if info is None and model is DeployConfig and isinstance(value, dict):
                if DNS_LABEL.match(key) is None:
                    self.error(here, f"environment `{key}` must be a DNS-1123 label (lower case, digits, `-`)")
                else:
                    self.check_model(value, DeployOverlay, here)
                continue
            if info is None or (model is DeployConfig and key == "environments"):
                self.unknown_key(here, sorted(f for f in fields if not (model is DeployConfig and f == "environments")))
                continue
            tp = _strip_optional(info.annotation)
            if isinstance(tp, type) and issubclass(tp, BaseModel):
                if isinstance(value, dict):
                    self.check_model(value, tp, here)
                else:
                    self.error_type(here, "a table", value)
            elif (
                (key == "config" and model is GatiConfig)
                or (key == "options" and model is MiddlewareEntry)
                or (key == "vault_options" and model is SecretsConfig)
            ):  # free JSON tables
                if isinstance(value, dict):
                    self.check_json(value, here)
                else:
                    self.error_type(here, "a table", value)
            else:
                self.check_leaf(value, info.annotation, list(info.metadata), here)

    def check_leaf(self, value: object, annotation: Any, meta: list[Any], where: tuple[str, ...]) -> None:
        tp, inner_meta = _split_annotated(_strip_optional(annotation))
        meta = meta + inner_meta
        if get_origin(tp) in (Union, UnionType):  # `bool | list[str]`: the arm the value's shape picks
            arms = [a for a in get_args(tp) if a is not NoneType]
            lists = [a for a in arms if get_origin(_split_annotated(a)[0]) in (tuple, list)]
            if isinstance(value, list) and lists:
                self.check_leaf(value, lists[0], meta, where)
                return
            for arm in arms:
                if arm not in lists and _matches(value, _split_annotated(arm)[0]):
                    self.check_leaf(value, arm, meta, where)
                    return
            self.error_type(where, " or ".join(_describe(a) for a in arms), value)
            return
        if get_origin(tp) in (tuple, list):
            if not isinstance(value, list):
                self.error_type(where, _describe(tp), value)
                return
            item_tp, item_meta = _split_annotated(get_args(tp)[0])
            for index, item in enumerate(value):
                if isinstance(item_tp, type) and issubclass(item_tp, BaseModel):
                    if isinstance(item, dict):
                        self.check_model(item, item_tp, (*where, f"[{index}]"))
                    else:
                        self.error_type((*where, f"[{index}]"), "a table", item)
                    continue
                self.check_leaf(item, item_tp, item_meta, (*where, f"[{index}]"))
            tp = list  # only length constraints remain
        elif not _matches(value, tp):
            if isinstance(value, float) and not math.isfinite(value):
                self.error(where, f"`{_dotted(where)}` must be a finite number, got `{value}`")
            elif get_origin(tp) is Literal and isinstance(value, str):
                self.error(where, f"`{_dotted(where)}` must be {_describe(tp)}, got `{_show(value)}`")
            else:
                self.error_type(where, _describe(tp), value)
            return
        for m in meta:
            if isinstance(m, MinLen) and isinstance(value, list) and len(value) < m.min_length:
                self.error(where, f"`{_dotted(where)}` must not be empty")
                return
        problem = _constraint_problem(value, meta)
        if problem is not None:
            self.error(where, f"`{_dotted(where)}` {problem}, got `{_show(value)}`")

    def check_json(self, value: object, where: tuple[str, ...]) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                self.check_json(item, (*where, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.check_json(item, (*where, f"[{index}]"))
        elif isinstance(value, datetime | date | time):
            self.error(
                where,
                f"`{_dotted(where)}` must be JSON-compatible, got `{_type_name(value)}`",
                help="write dates and times as strings",
            )
        elif isinstance(value, float) and not math.isfinite(value):
            self.error(where, f"`{_dotted(where)}` must be a finite number, got `{value}`")

    def unknown_key(self, where: tuple[str, ...], known: list[str]) -> None:
        self.failed = True
        key = where[-1]
        table = _dotted(where[:-1])
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        known_text = ", ".join(f"`{k}`" for k in known)
        help = f"did you mean `{close[0]}`?" if close else f"known keys here: {known_text}"
        where_text = f" in `{table}`" if table else ""
        self.sink.emit(codes.CONFIG_UNKNOWN_KEY, f"unknown key `{key}`{where_text}", self.key_span(where), help=help)


# --- locating keys in TOML text ----------------------------------------------------------------
