"""What a handler's body uses, read from its CST: the `gctx.modules[...]` keys, the `req.params` /
`req.query` keys, the names of `gctx.secrets.get("<literal>")`, and the status codes set with
`res.status(<literal>)`, each with the anchor of its node (the `#module_use` / `#param_use` /
`#secret_use` steps that `positions` resolves).
"""

from __future__ import annotations

import dataclasses

import libcst as cst

from gati_compiler.stages.cst_exprs import (
    _dotted,
    _string_value,
)

_SKIP_FIELDS = frozenset({"header", "footer", "leading_lines", "lines_after_decorators", "lpar", "rpar"})
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}
_NODE_TYPES: dict[type, bool] = {}


def _is_node(kind: type) -> bool:
    known = _NODE_TYPES.get(kind)
    if known is None:
        known = _NODE_TYPES[kind] = issubclass(kind, cst.CSTNode)
    return known


def _child_fields(kind: type) -> tuple[str, ...]:
    names = _CHILD_FIELDS.get(kind)
    if names is None:
        names = tuple(
            f.name
            for f in dataclasses.fields(kind)
            if f.name not in _SKIP_FIELDS and "whitespace" not in f.name and f.name not in ("comma", "semicolon")
        )
        _CHILD_FIELDS[kind] = names
    return names


class _UseCollector:
    """Finds `gctx.modules["x"]`, `gctx.modules.x` and `req.params["x"]` inside one function.

    A hand-rolled walk over node fields: libcst's visitor machinery costs as much as parsing.
    """

    def __init__(self, gctx: str | None, req: str | None, res: str | None = None) -> None:
        self.gctx = gctx
        self.req = req
        self.res = res
        self.modules: list[tuple[str, cst.CSTNode]] = []
        self.params: list[tuple[str, cst.CSTNode]] = []
        self.secrets: list[tuple[str, cst.CSTNode]] = []
        self.statuses: set[int] = set()

    def _owner(self, node: cst.BaseExpression, attr: str) -> str | None:
        if type(node) is cst.Attribute and node.attr.value == attr and type(node.value) is cst.Name:
            return node.value.value
        return None

    def walk(self, root: cst.CSTNode) -> None:
        stack: list[cst.CSTNode] = [root]
        while stack:
            node = stack.pop()
            if type(node) is cst.Subscript:
                self._subscript(node)
            elif type(node) is cst.Attribute:
                self._attribute(node)
            elif type(node) is cst.Call:
                if self.res is not None:
                    self._status(node)
                if self.gctx is not None:
                    self._secret(node)
            children: list[cst.CSTNode] = []
            for name in _child_fields(type(node)):
                value = getattr(node, name)
                kind = type(value)
                if kind is tuple or kind is list:
                    children.extend(v for v in value if _is_node(type(v)))
                elif _is_node(kind):
                    children.append(value)
            stack.extend(reversed(children))

    def _subscript(self, node: cst.Subscript) -> None:
        if len(node.slice) != 1 or type(node.slice[0].slice) is not cst.Index:
            return
        key = _string_value(node.slice[0].slice.value)
        if key is None:
            return
        if self.gctx is not None and self._owner(node.value, "modules") == self.gctx:
            self.modules.append((key, node))
        elif self.req is not None and self._owner(node.value, "params") == self.req:
            self.params.append((key, node))

    def _status(self, node: cst.Call) -> None:
        """`res.status(201)` with a literal code (`res.status(201).json(...)` too)."""
        func = node.func
        if (
            type(func) is cst.Attribute
            and func.attr.value == "status"
            and type(func.value) is cst.Name
            and func.value.value == self.res
            and len(node.args) == 1
            and node.args[0].keyword is None
            and type(node.args[0].value) is cst.Integer
        ):
            code = int(node.args[0].value.value, 0)
            if 100 <= code <= 599:
                self.statuses.add(code)

    def _secret(self, node: cst.Call) -> None:
        """`gctx.secrets.get("name")` (or `name="name"`) with a literal name."""
        func = node.func
        if type(func) is not cst.Attribute or func.attr.value != "get" or len(node.args) != 1:
            return
        if self._owner(func.value, "secrets") != self.gctx:
            return
        arg = node.args[0]
        if arg.keyword is not None and arg.keyword.value != "name":
            return
        name = _string_value(arg.value)
        if name is not None:
            self.secrets.append((name, node))

    def _attribute(self, node: cst.Attribute) -> None:
        if self.gctx is not None and self._owner(node.value, "modules") == self.gctx:
            self.modules.append((node.attr.value, node))


def _param_names(fn: cst.FunctionDef) -> tuple[str | None, str | None, str | None]:
    params = [*fn.params.posonly_params, *fn.params.params]
    req = params[0].name.value if params else None
    res = params[1].name.value if len(params) >= 2 else None
    gctx = params[3].name.value if len(params) >= 4 else None
    for p in params:
        if p.annotation is not None:
            ann = _dotted(p.annotation.annotation) or ""
            if ann.endswith("GlobalContext"):
                gctx = p.name.value
    return req, res, gctx


def _collect_uses(fn: cst.FunctionDef) -> _UseCollector:
    req, res, gctx = _param_names(fn)
    collector = _UseCollector(gctx, req, res)
    collector.walk(fn.body)
    return collector
