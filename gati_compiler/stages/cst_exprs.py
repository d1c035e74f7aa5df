"""Reading libcst nodes into the facts' `Expr` trees, and the small CST readers `parse` shares:
dotted names, string values, docstrings, blocks, attribute docstrings, type parameters, assignment
targets, and which `if` conditions are known without running anything (`_static_branch`).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Sequence
from typing import Final

import libcst as cst

from gati_compiler.stages.facts import (
    Anchor,
    ClassFact,
    ExBad,
    ExCall,
    ExConst,
    ExList,
    ExName,
    ExOr,
    Expr,
    ExSub,
    FieldFact,
)

_EMPTY = cst.Module(body=[])


def _code(node: cst.CSTNode) -> str:
    return _EMPTY.code_for_node(node)


def _string_value(node: cst.BaseExpression) -> str | None:
    if type(node) is cst.SimpleString:
        raw = node.value
        # the common case: a plain quoted string with no prefix and no escapes
        if raw[0] in "\"'" and "\\" not in raw and raw[:3] not in ('"""', "'''"):
            return raw[1:-1]
    if type(node) is cst.SimpleString or type(node) is cst.ConcatenatedString:
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _dotted(node: cst.BaseExpression) -> str | None:
    if type(node) is cst.Name:
        return node.value
    if type(node) is cst.Attribute:
        head = _dotted(node.value)
        return None if head is None else f"{head}.{node.attr.value}"
    return None


def to_expr(node: cst.BaseExpression, anchor: Anchor) -> Expr:
    """Convert an expression to a static `Expr`; anything without static meaning becomes `ExBad`."""
    if type(node) is cst.Ellipsis:
        return ExName("...", anchor)
    if type(node) is cst.Name:
        if node.value in ("None", "True", "False"):
            return ExConst({"None": None, "True": True, "False": False}[node.value], anchor)
        return ExName(node.value, anchor)
    if type(node) is cst.Attribute:
        dotted = _dotted(node)
        return ExName(dotted, anchor) if dotted is not None else ExBad(_code(node), anchor)
    if type(node) is cst.SimpleString or type(node) is cst.ConcatenatedString:
        text = _string_value(node)
        return ExConst(text, anchor) if text is not None else ExBad(_code(node), anchor)
    if type(node) is cst.Integer or type(node) is cst.Float:
        return ExConst(node.evaluated_value, anchor)
    if type(node) is cst.UnaryOperation and (type(node.operator) is cst.Minus or type(node.operator) is cst.Plus):
        inner = node.expression
        if type(inner) is cst.Integer or type(inner) is cst.Float:
            number = inner.evaluated_value
            return ExConst(-number if type(node.operator) is cst.Minus else number, anchor)
        return ExBad(_code(node), anchor)
    if type(node) is cst.Subscript:
        args: list[Expr] = []
        for i, element in enumerate(node.slice):
            if type(element.slice) is not cst.Index:
                return ExBad(_code(node), anchor)
            args.append(to_expr(element.slice.value, (*anchor, "slice", i, "slice", "value")))
        return ExSub(to_expr(node.value, (*anchor, "value")), tuple(args), anchor)
    if type(node) is cst.BinaryOperation and type(node.operator) is cst.BitOr:
        left = to_expr(node.left, (*anchor, "left"))
        right = to_expr(node.right, (*anchor, "right"))
        items = (*(left.items if isinstance(left, ExOr) else (left,)), right)
        return ExOr(items, anchor)
    if type(node) is cst.List or type(node) is cst.Tuple or type(node) is cst.Set:
        return ExList(
            tuple(to_expr(el.value, (*anchor, "elements", i, "value")) for i, el in enumerate(node.elements)),
            anchor,
        )
    if type(node) is cst.Call:
        pos: list[Expr] = []
        kws: list[tuple[str, Expr]] = []
        for i, arg in enumerate(node.args):
            if arg.star:
                return ExBad(_code(node), anchor)
            converted = to_expr(arg.value, (*anchor, "args", i, "value"))
            if arg.keyword is not None:
                kws.append((arg.keyword.value, converted))
            else:
                pos.append(converted)
        return ExCall(to_expr(node.func, (*anchor, "func")), tuple(pos), tuple(kws), anchor)
    return ExBad(_code(node), anchor)


def _docstring(body: Sequence[cst.BaseStatement | cst.BaseSmallStatement]) -> str | None:
    if not body:
        return None
    first = body[0]
    if type(first) is cst.SimpleStatementLine and first.body and type(first.body[0]) is cst.Expr:
        value = _string_value(first.body[0].value)
        if value is not None:
            return inspect.cleandoc(value)
    return None


def _is_type_checking(test: cst.BaseExpression) -> bool:
    name = _dotted(test)
    return name is not None and name.rsplit(".", 1)[-1] == "TYPE_CHECKING"


_PYDANTIC_1: Final = frozenset({"PYDANTIC_V1", "IS_PYDANTIC_V1", "PYDANTIC_1", "IS_PYDANTIC_1"})
_PYDANTIC_2: Final = frozenset({"PYDANTIC_V2", "IS_PYDANTIC_V2", "PYDANTIC_2", "IS_PYDANTIC_2"})


def _static_branch(test: cst.BaseExpression) -> bool | None:
    """Whether an `if` condition holds at run time, when that is known without running anything:
    `TYPE_CHECKING` never does; a pydantic version flag holds for pydantic 2 (the one gati reads
    types as); `not` flips. None: not known."""
    if type(test) is cst.UnaryOperation and type(test.operator) is cst.Not:
        inner = _static_branch(test.expression)
        return None if inner is None else not inner
    name = _dotted(test)
    last = name.rsplit(".", 1)[-1] if name is not None else None
    if last == "TYPE_CHECKING" or last in _PYDANTIC_1:
        return False
    if last in _PYDANTIC_2:
        return True
    return None


def _config_expr(value: cst.BaseExpression, anchor: Anchor) -> Expr:
    """A class attribute's value; a dict literal with string keys (`model_config = {"extra": "forbid"}`)
    reads as the equivalent `dict(extra="forbid")` call, so configuration has one static form."""
    if type(value) is not cst.Dict:
        return to_expr(value, anchor)
    kwargs: list[tuple[str, Expr]] = []
    for k, element in enumerate(value.elements):
        key = _string_value(element.key) if type(element) is cst.DictElement else None
        if key is None or type(element) is not cst.DictElement:
            return to_expr(value, anchor)
        kwargs.append((key, to_expr(element.value, (*anchor, "elements", k, "value"))))
    return ExCall(ExName("builtins.dict", anchor), (), tuple(kwargs), anchor)


def _block(body: cst.BaseSuite) -> Sequence[cst.BaseStatement]:
    return body.body if type(body) is cst.IndentedBlock else ()


def _attribute_doc(body: Sequence[cst.BaseStatement], i: int) -> str | None:
    """The string statement right after a field, by the attribute-docstring convention."""
    if i + 1 < len(body):
        nxt = body[i + 1]
        if type(nxt) is cst.SimpleStatementLine and len(nxt.body) == 1 and type(nxt.body[0]) is cst.Expr:
            value = _string_value(nxt.body[0].value)
            if value is not None:
                return inspect.cleandoc(value)
    return None


def _type_params(params: cst.TypeParameters | None) -> tuple[str, ...]:
    if params is None:
        return ()
    out: list[str] = []
    for tp in params.params:
        inner = tp.param
        name = getattr(inner, "name", None)
        if type(name) is cst.Name:
            out.append(name.value)
    return tuple(out)


def _string_list(node: cst.BaseExpression) -> tuple[str, ...] | None:
    if type(node) is cst.List or type(node) is cst.Tuple:
        values = [_string_value(el.value) for el in node.elements]
        if all(v is not None for v in values):
            return tuple(v for v in values if v is not None)
    return None


def _target_names(node: cst.BaseExpression) -> Iterable[str]:
    if type(node) is cst.Name:
        yield node.value
    elif type(node) is cst.Tuple or type(node) is cst.List:
        for el in node.elements:
            yield from _target_names(el.value)


def _functional_typeddict(name: str, value: cst.BaseExpression, anchor: Anchor) -> ClassFact | None:
    """`X = TypedDict("X", {"async": bool}, total=False)` as the class it declares.

    The functional form is how keys that are Python keywords are declared. The call's function
    becomes the base, so it means a TypedDict only when it resolves to `typing.TypedDict`.
    """
    if type(value) is not cst.Call or len(value.args) < 2:
        return None
    func = _dotted(value.func)
    if func is None or func.rsplit(".", 1)[-1] != "TypedDict":
        return None
    first, second = value.args[0], value.args[1]
    if first.keyword is not None or second.keyword is not None or first.star or second.star:
        return None
    if type(second.value) is not cst.Dict or _string_value(first.value) is None:
        return None
    at: Anchor = (*anchor, "value")
    fields: list[FieldFact] = []
    for k, element in enumerate(second.value.elements):
        if type(element) is not cst.DictElement:
            return None
        key = _string_value(element.key)
        if key is None:
            return None
        where: Anchor = (*at, "args", 1, "value", "elements", k)
        fields.append(FieldFact(key, to_expr(element.value, (*where, "value")), None, None, where))
    keywords = tuple(
        (arg.keyword.value, to_expr(arg.value, (*at, "args", i, "value")))
        for i, arg in enumerate(value.args)
        if arg.keyword is not None
    )
    return ClassFact(
        name=name,
        bases=(to_expr(value.func, (*at, "func")),),
        keywords=keywords,
        decorators=(),
        type_params=(),
        fields=tuple(fields),
        methods=(),
        docstring=None,
        line=0,
        anchor=anchor,
    )


def _raises_not_implemented(body: Sequence[cst.BaseStatement]) -> bool:
    """Whether a function body (a docstring aside) is a lone `raise NotImplementedError[(...)]`."""
    stmts = list(body[1:] if _docstring(body) is not None else body)
    if len(stmts) != 1 or type(stmts[0]) is not cst.SimpleStatementLine or len(stmts[0].body) != 1:
        return False
    small = stmts[0].body[0]
    if type(small) is not cst.Raise or small.exc is None:
        return False
    exc = small.exc.func if type(small.exc) is cst.Call else small.exc
    return type(exc) is cst.Name and exc.value == "NotImplementedError"
