"""Positions: a file parsed again with node positions, once per file that has a diagnostic, and
the `Span` of a fact's anchor (the path from the module to the node) in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from gati_compiler.diagnostics.model import Span
from gati_compiler.stages.facts import (
    Anchor,
)
from gati_compiler.stages.handler_uses import _collect_uses


class Positions(NamedTuple):
    """One file parsed with positions: computed once per file that has a diagnostic."""

    module: cst.Module
    ranges: Mapping[cst.CSTNode, CodeRange]


def positions(text: str) -> Positions | None:
    """Parse `text` with node positions (only on the diagnostic path); None when it does not parse."""
    try:
        module = cst.parse_module(text)
    except (cst.ParserSyntaxError, cst.CSTValidationError, RecursionError):
        return None
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    return Positions(module, wrapper.resolve(PositionProvider))


def locate(text: str, rel_path: str, anchor: Anchor) -> Span:
    """Turn an anchor into a `Span`, parsing `text` once for it (`Reporter` keeps the parse per file)."""
    return span_at(positions(text), rel_path, anchor)


def span_at(found: Positions | None, rel_path: str, anchor: Anchor) -> Span:
    """The span of the node `anchor` points at, in a file parsed by `positions`."""
    if found is None:
        return Span.point(rel_path)
    module, ranges = found
    node: object = module
    for step in _expand(anchor):
        if isinstance(step, tuple):
            kind, k = step
            assert type(node) is cst.FunctionDef
            uses = _collect_uses(node)
            pairs = {"#module_use": uses.modules, "#secret_use": uses.secrets}.get(kind, uses.params)
            if k >= len(pairs):
                break
            node = pairs[k][1]
            continue
        nxt = node[step] if isinstance(step, int) and isinstance(node, Sequence) else getattr(node, str(step), None)
        if not isinstance(nxt, cst.CSTNode | Sequence) or isinstance(nxt, str):
            break  # the anchor points inside a string (a forward reference): keep the string's node
        node = nxt
    if not isinstance(node, cst.CSTNode) or node not in ranges:
        return Span.point(rel_path)
    rng = ranges[node]
    return Span(
        path=rel_path,
        line=rng.start.line,
        col=rng.start.column + 1,
        end_line=rng.end.line,
        end_col=rng.end.column + 1,
    )


def _expand(anchor: Anchor) -> Iterable[str | int | tuple[str, int]]:
    steps = list(anchor)
    i = 0
    while i < len(steps):
        step = steps[i]
        if isinstance(step, str) and step.startswith("#") and i + 1 < len(steps):
            count = steps[i + 1]
            yield (step, int(count))
            i += 2
        else:
            yield step
            i += 1
